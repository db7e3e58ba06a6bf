"""Run as an unprivileged user by test_network: the private network's helper makes
its namespace through a user namespace, and sockets it hands over bind port 80 there
and talk, while the host's loopback does not see them. Prints what it found."""

import os
import socket
import struct
import subprocess
import sys

helper = sys.argv[1]
ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
proc = subprocess.Popen([sys.executable, "-I", "-S", helper, str(theirs.fileno()), str(os.getpid())],
                        pass_fds=[theirs.fileno()])
theirs.close()
print("ready", struct.unpack("<i", ours.recv(4))[0])


def private_socket() -> socket.socket:
    ours.send(struct.pack("<iiii", socket.AF_INET, socket.SOCK_STREAM, 0, 1))   # one socket
    answer, fds, _, _ = socket.recv_fds(ours, 4, 1)
    assert struct.unpack("<i", answer)[0] == 0 and len(fds) == 1
    made = socket.socket(fileno=fds[0])
    made.setblocking(True)      # the helper makes them non-blocking, as Lind keeps them
    return made


server = private_socket()
server.bind(("127.0.0.1", 80))
server.listen()
print("bound", server.getsockname()[1], "as uid", os.getuid())
client = private_socket()
client.connect(("127.0.0.1", 80))
accepted, _ = server.accept()
client.sendall(b"x")
print("talked", accepted.recv(1).decode())
try:
    socket.create_connection(("127.0.0.1", 80), timeout=1).close()
    print("the host reached it")
except OSError as exc:
    print("the host gets errno", exc.errno)
ours.close()
print("helper exit", proc.wait())
