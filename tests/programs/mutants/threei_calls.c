/* make_threei_call, register_handler and copy_data_between_cages from a grate (the
 * first cage) and from its children: what each may name, and what comes back.
 * Prints one line per step; a result < 0 is -errno. */
#include <errno.h>
#include <lind_syscall.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static char mark[17];

long long pass_fptr_to_wt(uint64_t fn_ptr, uint64_t cageid, uint64_t a1, uint64_t c1,
                          uint64_t a2, uint64_t c2, uint64_t a3, uint64_t c3, uint64_t a4,
                          uint64_t c4, uint64_t a5, uint64_t c5, uint64_t a6, uint64_t c6)
{
	return 70 + (long long)fn_ptr;
}

/* Call `nr` for `target`, all arguments in the target's memory except a2 (in `a2cage`). */
static long call(unsigned nr, uint64_t target, uint64_t a1, uint64_t a2, uint64_t a2cage,
                 uint64_t a3)
{
	return make_threei_call(nr, 0, getpid(), target, a1, target, a2, a2cage, a3, target,
	                        0, target, 0, target, 0, target, 0);
}

/* The result of a grate API call: >= 0, or -errno. */
static int rc(int r)
{
	return r < 0 ? -errno : r;
}

static void wait_byte(int fd)
{
	char c;
	read(fd, &c, 1);
}

/* Under a Python grate on getuid: the child routes its getuid to this grate, which
 * keeps the Python grate as the layer below (this grate's own table): allowed. */
static int over_python_grate(void)
{
	uint64_t parent = getpid();
	int go[2], status;
	pipe(go);
	pid_t child = fork();
	if (child == 0) {
		wait_byte(go[0]);
		printf("child getuid: %d\n", (int)getuid());
		printf("child routes getuid to the grate: %d\n",
		       rc(register_handler(getpid(), SYS_getuid, parent, 5)));
		printf("child getuid: %d\n", (int)getuid());
		_exit(0);
	}
	printf("grate copies its table to the child: %d\n",
	       rc(copy_handler_table_to_cage(parent, child)));
	write(go[1], "g", 1);
	waitpid(child, &status, 0);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc > 1)
		return over_python_grate();
	uint64_t parent = getpid();
	int go_s[2], go_c[2], back[2];
	pipe(go_s);
	pipe(go_c);
	pipe(back);
	memcpy(mark, "parent-memory-16", 16);
	pid_t sibling = fork();
	if (sibling == 0) {
		memcpy(mark, "sibling-memory16", 16);
		write(back[1], "s", 1);
		wait_byte(go_s[0]);
		_exit(0);
	}
	pid_t child = fork();
	if (child == 0) {
		uint64_t me = getpid();
		memcpy(mark, "child--memory-16", 16);
		write(back[1], "c", 1);
		wait_byte(go_c[0]);
		printf("child getuid through the grate: %d\n", (int)getuid());
		printf("child routes getuid around the grate to itself: %d\n",
		       rc(register_handler(me, SYS_getuid, me, 2)));
		write(back[1], "c", 1);
		wait_byte(go_c[0]);
		printf("child getuid after deregister is the grate's: %s\n", getuid() == 75 ? "yes" : "no");
		long r400 = syscall(400);
		printf("child call 400 after deregister: %ld %d\n", r400, r400 < 0 ? errno : 0);
		printf("child own memory: %ld\n", call(SYS_write, me, 1, (uintptr_t)mark, me, 16));
		printf("\nchild own memory, flagged: %ld\n",
		       call(SYS_write, me, 1, (uintptr_t)mark, me | GRATE_MEMORY_FLAG, 16));
		printf("child names its memory with bit 62: %ld\n",
		       call(SYS_write, me, 1, (uintptr_t)mark, me | 1ULL << 62, 16));
		printf("child names the sibling's memory: %ld\n",
		       call(SYS_write, me, 1, (uintptr_t)mark, sibling, 16));
		printf("child names the parent's memory: %ld\n",
		       call(SYS_write, me, 1, (uintptr_t)mark, parent, 16));
		printf("child acts for the parent: %ld\n", call(SYS_getpid, parent, 0, 0, parent, 0));
		printf("child acts for the sibling: %ld\n", call(SYS_getpid, sibling, 0, 0, sibling, 0));
		printf("child routes call 402 into the sibling's code: %d\n",
		       rc(register_handler(me, 402, sibling, 11)));
		_exit(0);
	}
	wait_byte(back[0]);
	wait_byte(back[0]);
	printf("getpid for the child is the child's: %s\n",
	       call(SYS_getpid, child, 0, 0, child, 0) == child ? "yes" : "no");
	printf("parent writes the child's memory: %ld\n",
	       call(SYS_write, parent, 1, (uintptr_t)mark, child, 16));
	printf("\nparent writes its own memory for the child: %ld\n",
	       make_threei_call(SYS_write, 0, parent, child, 1, child, (uintptr_t)mark,
	                        parent | GRATE_MEMORY_FLAG, 16, child, 0, child, 0, child, 0, child, 0));
	int p[2];
	pipe(p);
	write(p[1], "read", 4);
	char buf[8] = {0};
	printf("read (call 0) through 3i: %ld %s\n", call(SYS_read, parent, p[0], (uintptr_t)buf,
	       parent, 4), buf);
	printf("write to a bad fd for the child: %ld\n", call(SYS_write, child, 99, 0, child, 0));
	printf("call number 1024: %ld\n", call(1024, parent, 0, 0, parent, 0));
	printf("call number 400 for the child: %ld\n", call(400, child, 0, 0, child, 0));
	printf("no such cage: %ld\n", call(SYS_getpid, 4242, 0, 0, 4242, 0));

	char text[8] = "copied";
	memset(buf, 'x', sizeof buf - 1);
	printf("copy string of 7: %d ", rc(copy_data_between_cages(parent, parent, (uintptr_t)text,
	       parent, (uintptr_t)buf, parent, 7, COPY_STRING)));
	printf("%s\n", buf);
	printf("copy string of 0: %d\n", rc(copy_data_between_cages(parent, parent,
	       (uintptr_t)"a", parent, (uintptr_t)buf, parent, 0, COPY_STRING)));
	printf("copy empty string of 0: %d ", rc(copy_data_between_cages(parent, parent,
	       (uintptr_t)"", parent, (uintptr_t)buf, parent, 0, COPY_STRING)));
	printf("%s\n", buf);
	printf("copy empty string of 1: %d ", rc(copy_data_between_cages(parent, parent,
	       (uintptr_t)"", parent, (uintptr_t)buf + 1, parent, 1, COPY_STRING)));
	printf("%s\n", buf);
	printf("copy string of -1: %d ", rc(copy_data_between_cages(parent, parent,
	       (uintptr_t)"abc", parent, (uintptr_t)buf, parent, (uint64_t)-1, COPY_STRING)));
	printf("%s\n", buf);
	printf("copy string of 6: %d\n", rc(copy_data_between_cages(parent, parent,
	       (uintptr_t)text, parent, (uintptr_t)buf, parent, 6, COPY_STRING)));
	memset(buf, 'x', sizeof buf - 1);
	printf("copy raw of 3: %d ", rc(copy_data_between_cages(parent, parent, (uintptr_t)text,
	       parent, (uintptr_t)buf, parent, 3, COPY_RAW)));
	printf("%s\n", buf);
	printf("copy type 2: %d\n", rc(copy_data_between_cages(parent, parent, (uintptr_t)text,
	       parent, (uintptr_t)buf, parent, 3, 2)));

	printf("register call 1024: %d\n", rc(register_handler(child, 1024, parent, 5)));
	printf("register call -1: %d\n", rc(register_handler(child, (uint64_t)-1, parent, 5)));
	printf("register to grate 0: %d\n", rc(register_handler(child, SYS_getuid, 0, 1)));
	printf("register call 400 in the child: %d\n", rc(register_handler(child, 400, parent, 5)));
	printf("register in the child: %d\n", rc(register_handler(child, SYS_getuid, parent, 5)));
	/* Into a descendant's code: a clamping grate routes calls into grates it started. */
	printf("route own call 401 into the sibling's code: %d\n",
	       rc(register_handler(parent, 401, sibling, 11)));
	printf("own call 401 in the sibling's code: %ld\n", syscall(401));
	write(go_c[1], "g", 1);
	wait_byte(back[0]);
	printf("deregister in the child: %d\n", rc(register_handler(child, SYS_getuid,
	       THREEI_DEREGISTER, 0)));
	printf("deregister call 400 in the child: %d\n", rc(register_handler(child, 400,
	       THREEI_DEREGISTER, 0)));
	write(go_c[1], "g", 1);
	int status;
	waitpid(child, &status, 0);
	write(go_s[1], "g", 1);
	waitpid(sibling, &status, 0);

	/* A middle grate between this one and its own child: it may take its own layer
	 * away, never the one below it. */
	int go_m[2];
	pipe(go_m);
	pid_t middle = fork();
	if (middle == 0) {
		uint64_t me = getpid();
		int go_k[2];
		pipe(go_k);
		pid_t early = fork();   /* made before the grate registered the middle's getuid */
		if (early == 0) {
			wait_byte(go_k[0]);
			_exit(0);
		}
		write(back[1], "m", 1);
		wait_byte(go_m[0]);
		printf("middle takes the table of a child without the grate: %d\n",
		       rc(copy_handler_table_to_cage(early, me)));
		printf("middle getuid: %d\n", (int)getuid());
		pid_t k = fork();
		if (k == 0) {
			wait_byte(go_k[0]);
			printf("grandchild getuid: %d\n", (int)getuid());
			_exit(0);
		}
		printf("middle registers in its child: %d\n",
		       rc(register_handler(k, SYS_getuid, me, 6)));
		printf("middle removes the grate below it: %d\n",
		       rc(register_handler(k, SYS_getuid, THREEI_DEREGISTER, 0)));
		printf("middle routes its child to the grate below: %d\n",
		       rc(register_handler(k, SYS_getuid, parent, 7)));
		write(go_k[1], "gg", 2);
		waitpid(k, &status, 0);
		waitpid(early, &status, 0);
		_exit(0);
	}
	wait_byte(back[0]);
	printf("register in the middle: %d\n", rc(register_handler(middle, SYS_getuid, parent, 5)));
	write(go_m[1], "g", 1);
	waitpid(middle, &status, 0);

	/* This grate routes its own getuid to itself; a child inherits that route, and
	 * the grate may change the child's entry for another of its functions. */
	printf("route own getuid to itself: %d\n", rc(register_handler(parent, SYS_getuid, parent, 8)));
	printf("own getuid: %d\n", (int)getuid());
	pid_t last = fork();
	if (last == 0) {
		wait_byte(go_m[0]);
		printf("last child getuid: %d\n", (int)getuid());
		_exit(0);
	}
	printf("replace the child's route: %d\n", rc(register_handler(last, SYS_getuid, parent, 9)));
	write(go_m[1], "g", 1);
	waitpid(last, &status, 0);
	return 0;
}
