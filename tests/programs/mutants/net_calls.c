/* Socket calls with hand-made addresses, printing how each ended (ok, or the errno):
 *   connect|bind|sendto LEN HEX     the sockaddr whose bytes HEX gives (zero-padded to
 *                                   256 bytes), passed with length LEN
 *   raw-connect LEN HEX             connect through syscall(), LEN a long (so -1 is -1)
 *   sendto-null LEN                 sendto with no address and address length LEN
 *   sendmsg HEX DECOY               one msghdr naming HEX ("-": none), followed in
 *                                   memory by a second one naming DECOY
 *   sendmmsg VLEN I=HEX,I=HEX...    an array of 1100 mmsghdrs, entry I naming HEX, the
 *                                   others no address, sent with vlen VLEN
 * Sockets are made on fd 3 (stdin's twin: socket() may not exist). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ENTRIES 1100

static struct mmsghdr msgs[ENTRIES];
static unsigned char names[ENTRIES][256];

static const char *errname(int e)
{
	static char other[24];
	switch (e) {
	case EACCES: return "EACCES";
	case EINVAL: return "EINVAL";
	case ENOSYS: return "ENOSYS";
	case EBADF: return "EBADF";
	case ENOTSOCK: return "ENOTSOCK";
	}
	snprintf(other, sizeof other, "errno %d", e);
	return other;
}

/* HEX into `out` (256 bytes, zero-filled first); its length in bytes. */
static int unhex(unsigned char *out, const char *hex)
{
	memset(out, 0, 256);
	int n = 0;
	for (; hex[0] && hex[1] && n < 256; hex += 2)
		sscanf(hex, "%2hhx", &out[n++]);
	return n;
}

static void report(const char *what, const char *arg, long r)
{
	printf("%s %s: %s\n", what, arg, r >= 0 ? "ok" : errname(errno));
}

static void fill(struct msghdr *m, unsigned char *name, const char *hex)
{
	static struct iovec iov = {.iov_base = "x", .iov_len = 1};
	memset(m, 0, sizeof *m);
	m->msg_iov = &iov;
	m->msg_iovlen = 1;
	if (strcmp(hex, "-")) {
		m->msg_name = name;
		m->msg_namelen = unhex(name, hex);
	}
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	int fd = dup(0);
	for (int i = 1; i < argc; i++) {
		const char *op = argv[i];
		if (i + 1 >= argc) {
			fprintf(stderr, "%s wants arguments\n", op);
			return 2;
		}
		const char *a = argv[++i];
		if (!strcmp(op, "sendto-null")) {
			report(op, a, sendto(fd, "x", 1, 0, NULL, (socklen_t)atol(a)));
			continue;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "%s wants two arguments\n", op);
			return 2;
		}
		const char *b = argv[++i];
		char label[64];
		snprintf(label, sizeof label, "%.20s %.40s", a, b);
		if (!strcmp(op, "raw-connect")) {
			unhex(names[0], b);
			report(op, label, syscall(SYS_connect, fd, names[0], atol(a)));
		} else if (!strcmp(op, "connect") || !strcmp(op, "bind") || !strcmp(op, "sendto")) {
			socklen_t len = (socklen_t)atol(a);
			unhex(names[0], b);
			struct sockaddr *sa = (struct sockaddr *)names[0];
			long r = !strcmp(op, "connect") ? connect(fd, sa, len)
				 : !strcmp(op, "bind") ? bind(fd, sa, len)
				 : sendto(fd, "x", 1, 0, sa, len);
			report(op, label, r);
		} else if (!strcmp(op, "sendmsg")) {
			fill(&msgs[0].msg_hdr, names[0], a);
			fill(&msgs[1].msg_hdr, names[1], b);
			struct msghdr pair[2] = {msgs[0].msg_hdr, msgs[1].msg_hdr};
			report(op, label, sendmsg(fd, &pair[0], 0));
		} else if (!strcmp(op, "sendmmsg")) {
			for (int k = 0; k < ENTRIES; k++)
				fill(&msgs[k].msg_hdr, names[k], "-");
			char *list = strdup(b);
			for (char *item = strtok(list, ","); item; item = strtok(NULL, ",")) {
				int k = atoi(item);
				char *hex = strchr(item, '=');
				if (k < 0 || k >= ENTRIES || !hex) {
					fprintf(stderr, "bad entry %s\n", item);
					return 2;
				}
				fill(&msgs[k].msg_hdr, names[k], hex + 1);
			}
			free(list);
			report(op, label, sendmmsg(fd, msgs, (unsigned)strtoul(a, NULL, 0), 0));
		} else {
			fprintf(stderr, "unknown operation %s\n", op);
			return 2;
		}
	}
	return 0;
}
