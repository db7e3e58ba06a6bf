/* 3i permissions: a cage may change only its own table or its descendants',
 * route calls only to itself or an ancestor, and copy only between those. */
#include <errno.h>
#include <lind_syscall.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

long long pass_fptr_to_wt(uint64_t fn_ptr, uint64_t cageid, uint64_t a1, uint64_t c1,
                          uint64_t a2, uint64_t c2, uint64_t a3, uint64_t c3, uint64_t a4,
                          uint64_t c4, uint64_t a5, uint64_t c5, uint64_t a6, uint64_t c6)
{
	return 77;
}

static void check(const char *what, int r)
{
	printf("%s: %s\n", what, r == 0 ? "ok" : errno == EPERM ? "EPERM" : "other error");
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	int parent = getpid();
	int fds[2];
	pipe(fds);
	pid_t sibling = fork();
	if (sibling == 0) {
		char c;
		read(fds[0], &c, 1);
		_exit(0);
	}
	pid_t child = fork();
	if (child == 0) {
		char buf[8] = "child";
		check("register in own table", register_handler(getpid(), SYS_getuid, parent, 1));
		printf("getuid through parent grate: %d\n", (int)getuid());
		check("register in sibling", register_handler(sibling, SYS_getuid, getpid(), 1));
		check("route own call into sibling", register_handler(getpid(), SYS_getgid, sibling, 1));
		check("copy from sibling", copy_data_between_cages(getpid(), sibling, 4096, sibling,
		      (uint64_t)(uintptr_t)buf, getpid(), 4, COPY_RAW));
		check("copy from parent", copy_data_between_cages(getpid(), parent, 4096, parent,
		      (uint64_t)(uintptr_t)buf, getpid(), 4, COPY_RAW));
		check("table of parent", copy_handler_table_to_cage(getpid(), parent));
		check("table from sibling", copy_handler_table_to_cage(sibling, getpid()));
		check("pin fds of sibling", pin_fds(sibling, 1, 0, -1, -1));
		check("pin fds of parent", pin_fds(parent, 1, 0, -1, -1));
		_exit(0);
	}
	int status;
	waitpid(child, &status, 0);
	write(fds[1], "x", 1);
	waitpid(sibling, &status, 0);
	check("parent registers in child (gone)", register_handler(child, SYS_getuid, parent, 1));
	return 0;
}
