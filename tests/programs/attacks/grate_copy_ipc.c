/* A grate that filters System V messages through copies in its own memory, and the
 * program under it (a fork of it, so it knows where those copies lie). The grate
 * copies each message the program sends into `outbox`, refuses one that says "BYPASS",
 * and sends its copy (GRATE_MEMORY_FLAG); it receives each message into `inbox`,
 * blanks the word "secret" there, and copies the result to the program. The microvisor
 * took the address of such a copy for one in the calling cage's memory (its handlers
 * cut the argument to 32 bits, losing which memory it named): the program's own
 * `outbox` went out instead of the grate's checked copy, and the message received
 * landed, unblanked, in the program's own `inbox`. Prints what the program saw. */
#include <errno.h>
#include <lind_syscall.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/msg.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

struct message {
	int type;       /* the guest's long */
	char text[32];
};

static struct message outbox, inbox;    /* the grate's copies (the program's: the same
                                         * addresses in its own memory) */
static uint64_t grate_id;

static long forward(uint64_t cage, int nr, uint64_t q, uint64_t msgp, uint64_t size,
                    uint64_t a4, uint64_t a5)
{
	uint64_t mine = grate_id | GRATE_MEMORY_FLAG;
	return make_threei_call(nr, 0, grate_id, cage, q, cage, msgp, mine, size, cage, a4, cage,
	                        a5, cage, 0, cage, 0);
}

long long pass_fptr_to_wt(uint64_t fn_ptr, uint64_t cage, uint64_t q, uint64_t c1,
                          uint64_t msgp, uint64_t c2, uint64_t size, uint64_t c3, uint64_t a4,
                          uint64_t c4, uint64_t a5, uint64_t c5, uint64_t a6, uint64_t c6)
{
	if (size > sizeof outbox.text)
		return -EINVAL;
	if (fn_ptr == SYS_msgsnd) {
		if (copy_data_between_cages(grate_id, cage, msgp, c2, (uint64_t)(uintptr_t)&outbox,
		                            grate_id, sizeof outbox.type + size, COPY_RAW) < 0)
			return -EFAULT;
		if (memmem(outbox.text, size, "BYPASS", 6))
			return -EPERM;
		return forward(cage, SYS_msgsnd, q, (uint64_t)(uintptr_t)&outbox, size, a4, 0);
	}
	memset(&inbox, 0, sizeof inbox);
	long n = forward(cage, SYS_msgrcv, q, (uint64_t)(uintptr_t)&inbox, size, a4, a5);
	if (n < 0)
		return n;
	char *word = memmem(inbox.text, sizeof inbox.text, "secret", 6);
	if (word)
		memcpy(word, "------", 6);
	if (copy_data_between_cages(grate_id, cage, (uint64_t)(uintptr_t)&inbox, grate_id, msgp,
	                            c2, sizeof inbox.type + n, COPY_RAW) < 0)
		return -EFAULT;
	return n;
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	grate_id = getpid();
	int q = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
	pid_t child = fork();
	if (child == 0) {       /* the program: its own outbox says what the grate refuses */
		register_handler(getpid(), SYS_msgsnd, grate_id, SYS_msgsnd);
		register_handler(getpid(), SYS_msgrcv, grate_id, SYS_msgrcv);
		struct message refused = {1, "BYPASS"}, hello = {1, "hello"}, got = {0, ""};
		outbox = refused;
		printf("send refused %d\n", msgsnd(q, &refused, sizeof refused.text, 0) < 0 ? errno : 0);
		printf("send %d\n", msgsnd(q, &hello, sizeof hello.text, 0) < 0 ? errno : 0);
		long n = msgrcv(q, &got, sizeof got.text, 0, IPC_NOWAIT);
		printf("received %ld \"%s\"\n", n, got.text);
		struct message secret = {1, "a secret"};
		msgsnd(q, &secret, sizeof secret.text, 0);
		n = msgrcv(q, &got, sizeof got.text, 0, IPC_NOWAIT);
		printf("received %ld \"%s\", in its own inbox \"%s\"\n", n, got.text, inbox.text);
		_exit(0);
	}
	int status;
	waitpid(child, &status, 0);
	msgctl(q, IPC_RMID, NULL);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
