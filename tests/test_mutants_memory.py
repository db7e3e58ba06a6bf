"""MAP_SHARED file mappings at their edges: the tests that kill the mutants of
microvisor/shared_pages.py the rest of the suite let through (see
tests/mutation/SUMMARY.md). Where Linux has an answer the program runs natively too and
the outputs and files are compared; where Linux would fault (a write into a read-only
mapping, past a grown shared anonymous mapping) the cage gets Lind's answer.
"""

from __future__ import annotations

import os
import subprocess

from test_limits import Scratch, _python

import lind
from lind.microvisor import fs

PAGE = 4096
# Not shrink.data: a page cut off by ftruncate and grown back holds zeros on Linux and
# the cage's change in Lind (the mapping shows the same as the file in both).
DATA_FILES = ("edges.data", "offset.data", "two.data", "two-before.data", "big.data", "fork.data",
              "offsets.data")


def test_shared_file_mappings_at_their_edges_match_native(builds, tmp_path):
    root, native_dir = tmp_path / "root", tmp_path / "native"
    root.mkdir()
    native_dir.mkdir()
    native = subprocess.run([builds.native("mutants/shm_edges")], cwd=native_dir,
                            capture_output=True, timeout=120)
    caged = lind.run([builds.wasm("mutants/shm_edges")], root=root, capture_output=True,
                     timeout=120)
    assert caged.stderr == native.stderr == b""
    assert caged.stdout.decode() == native.stdout.decode()
    assert caged.returncode == native.returncode == 0
    for name in DATA_FILES:
        assert (root / name).read_bytes() == (native_dir / name).read_bytes(), name
    out = caged.stdout.decode()
    # Changed bits at both ends of a byte and of a page, pwrite()s beside them kept,
    # nothing past EOF; later mappings see pwrite()s and earlier mappings' changes.
    assert ("edges after msync: size 12388 read 12388 [100]=d7 [4095]=4f [4096]=cf "
            "[6096]=cd [6097]=77 [6146]=76 [11092]=75 [11192]=4c [12387]=4d") in out
    assert "two: page 4 through b: x\ntwo: page 5 through c: y, page 4: x\n" in out
    assert "two: a's change through e: #, d: C\n" in out
    assert "two-before: page 3 through late: %, page 1 through early: O\n" in out
    assert "shrink: the file holds what the mapping showed: yes\n" in out
    # Offsets past the largest file offset: EOVERFLOW, not a failure in the host.
    assert "offsets shared 7ffffffffffff000: EOVERFLOW\n" in out
    edges = (root / "edges.data").read_bytes()
    assert len(edges) == 3 * PAGE + 100 and edges[PAGE + 2001:PAGE + 2002] == b"w"


def test_a_grown_shared_anonymous_mapping_has_pages_behind_it(builds, tmp_path):
    # Linux raises SIGBUS past the first size (the shmem object does not grow with
    # mremap); Lind must not leave host pages missing under a cage's memory.
    s = Scratch(tmp_path)
    result = s.run([builds.wasm("mutants/shm_edges"), "anon-grow"])
    assert result.stdout.decode() == "anon: first page / child wrote the third page\n"
    assert result.returncode == 0
    assert s.intact()


def test_writes_into_a_read_only_shared_mapping_never_reach_the_file(builds, tmp_path):
    # Wasm has no read-only pages: the cage can write into a PROT_READ mapping (Linux
    # would fault), but neither through an O_APPEND fd nor a read-only one may those
    # bytes reach the file.
    s = Scratch(tmp_path)
    result = s.run([builds.wasm("mutants/shm_edges"), "ro-write", "/data"])
    assert result.stdout.decode() == ("ro-write 0: msync 0 munmap 0\n"
                                      "ro-write 1: msync 0 munmap 0\n")
    assert result.returncode == 0
    assert (s.root / "data").read_bytes() == b"data\n"
    assert s.intact()


def test_each_file_mapping_holds_two_host_fds_of_the_budget(builds, tmp_path):
    # A read-only fd gets pages of its own per mapping: a memfd and a dup of the file.
    s = Scratch(tmp_path)
    script = """
        import os, resource, sys
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))
        import lind
        from lind.microvisor import limits
        program, root, scratch = sys.argv[1:]
        held = limits.host_fds.held
        with open(scratch + "/stdin", "rb") as i, open(scratch + "/out", "wb") as o:
            # A first run caches the module's memory image (one memfd, kept).
            lind.run([program, "anon-grow"], root=root, stdin=i, stdout=o, stderr=o, timeout=120)
            o.seek(0)
            o.truncate()
            fds = len(os.listdir("/proc/self/fd"))
            result = lind.run([program, "map-until-fail", "/data"], root=root, stdin=i,
                              stdout=o, stderr=o, timeout=120)
            fds = len(os.listdir("/proc/self/fd")) - fds
        print(result.returncode, limits.host_fds.limit - held, limits.host_fds.held - held, fds)
        print(open(scratch + "/out").read().strip())
    """
    proc = _python(script, str(builds.wasm("mutants/shm_edges")), str(s.root), str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    ran, mapped = proc.stdout.splitlines()
    returncode, room, left, fds_left = map(int, ran.split())
    # Nothing held once the cage is gone: no budget, no host fd (not even the file's
    # dup made for the mapping that the budget refused).
    assert (returncode, left, fds_left) == (0, 0, 0)
    # 3 for the cage's stdio, 2 for each of its tree's mount directories (the
    # microvisor's and the trampoline's: the root, /tmp, /dev/shm and the host's time
    # zone database where there is one), 2 held on its private /tmp and /dev/shm
    # (fs.PrivateDir), 1 for its fd of the file, 2 per mapping.
    mounts = 3 + os.path.isdir(fs.HOST_ZONEINFO)
    assert mapped == f"mapped {(room - 3 - 2 * mounts - 2 - 1) // 2} ENFILE"
    assert s.intact()


def test_the_top_of_the_address_space(builds, tmp_path):
    """Lind's own answers at the 4 GiB top of a cage's memory (Linux has more above):
    a range may end exactly there, not a page past; MAP_FIXED may not replace the
    program's own data below its heap."""
    result = lind.run([builds.wasm("mutants/address_top")], root=tmp_path, capture_output=True,
                      timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == """\
the freed page is reused: 1 (1)
map the 64 KiB below the last: 1 errno 0
grow it in place up to the top: 1 errno 0
map the last 64 KiB: 1 errno 0
mlock up to the top: 0 errno 0
map 128 KiB there: -1 errno 12
map past the top: -1 errno 12
munmap ending at the top: 0 errno 0
munmap one page past it: -1 errno 22
mlock ending at the top: 0 errno 0
mlock one page past it: -1 errno 12
mremap growing past the top: -1 errno 12
mprotect the memory's last page: 0 errno 0
mprotect one page past it (the top, not mapped): -1 errno 12
MAP_FIXED over the program's data: -1 errno 12
data kept: the program's own data
length of 4 GiB: -1 errno 12
"""


def test_a_break_the_memory_limit_refuses_stays_where_it_was(builds, tmp_path):
    result = lind.run([builds.wasm("mutants/address_top"), "brk"], root=tmp_path,
                      capture_output=True, timeout=120, memory=64 << 20)
    assert result.stdout == b"raw brk past the limit returns the old break: 1\n"
