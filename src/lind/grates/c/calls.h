/* The Linux x86_64 system calls the shipped C grates know by name, and how strace
 * shows each one's arguments (shared by strace.c and ns.c). */
#ifndef LIND_GRATE_CALLS_H
#define LIND_GRATE_CALLS_H

#include <string.h>
#include <sys/syscall.h>

#define MAX_CALL 335            /* Linux x86_64 numbers 0..334 */

/* How each argument is shown: d int, u unsigned, x hex, s string, b buffer
 * (length in the next argument, contents after the call for reads),
 * f open flags, a dirfd (AT_FDCWD), p pointer, l a 64-bit offset or length,
 * w lseek's whence. */
struct call_info {
	const char *name;
	const char *args;
	int out_buffer;             /* the buffer is filled by the call */
};

static const struct call_info calls[MAX_CALL] = {
	[SYS_read] = {"read", "dbu", 1},
	[SYS_write] = {"write", "dbu", 0},
	[SYS_open] = {"open", "sfo"},
	[SYS_close] = {"close", "d"},
	[SYS_stat] = {"stat", "sp"},
	[SYS_fstat] = {"fstat", "dp"},
	[SYS_lstat] = {"lstat", "sp"},
	[SYS_poll] = {"poll", "pud"},
	[SYS_lseek] = {"lseek", "dlw"},
	[SYS_mmap] = {"mmap", "pxxxdx"},
	[SYS_mprotect] = {"mprotect", "pxx"},
	[SYS_munmap] = {"munmap", "px"},
	[SYS_brk] = {"brk", "p"},
	[SYS_rt_sigaction] = {"rt_sigaction", "dppu"},
	[SYS_rt_sigprocmask] = {"rt_sigprocmask", "dppu"},
	[SYS_ioctl] = {"ioctl", "dxp"},
	[SYS_pread64] = {"pread64", "dbul", 1},
	[SYS_pwrite64] = {"pwrite64", "dbul", 0},
	[SYS_readv] = {"readv", "dpd"},
	[SYS_writev] = {"writev", "dpd"},
	[SYS_access] = {"access", "sd"},
	[SYS_pipe] = {"pipe", "p"},
	[SYS_select] = {"select", "dpppp"},
	[SYS_sched_yield] = {"sched_yield", ""},
	[SYS_mremap] = {"mremap", "pxxxp"},
	[SYS_dup] = {"dup", "d"},
	[SYS_dup2] = {"dup2", "dd"},
	[SYS_pause] = {"pause", ""},
	[SYS_nanosleep] = {"nanosleep", "pp"},
	[SYS_alarm] = {"alarm", "u"},
	[SYS_getpid] = {"getpid", ""},
	[SYS_socket] = {"socket", "ddd"},
	[SYS_connect] = {"connect", "dpd"},
	[SYS_clone] = {"clone", "xpppp"},
	[SYS_fork] = {"fork", ""},
	[SYS_vfork] = {"vfork", ""},
	[SYS_execve] = {"execve", "spp"},
	[SYS_exit] = {"exit", "d"},
	[SYS_wait4] = {"wait4", "dpxp"},
	[SYS_kill] = {"kill", "dd"},
	[SYS_uname] = {"uname", "p"},
	[SYS_fcntl] = {"fcntl", "ddx"},
	[SYS_flock] = {"flock", "dd"},
	[SYS_fsync] = {"fsync", "d"},
	[SYS_truncate] = {"truncate", "sl"},
	[SYS_ftruncate] = {"ftruncate", "dl"},
	[SYS_getcwd] = {"getcwd", "pu"},
	[SYS_chdir] = {"chdir", "s"},
	[SYS_fchdir] = {"fchdir", "d"},
	[SYS_rename] = {"rename", "ss"},
	[SYS_mkdir] = {"mkdir", "so"},
	[SYS_rmdir] = {"rmdir", "s"},
	[SYS_creat] = {"creat", "so"},
	[SYS_link] = {"link", "ss"},
	[SYS_unlink] = {"unlink", "s"},
	[SYS_symlink] = {"symlink", "ss"},
	[SYS_readlink] = {"readlink", "spu"},
	[SYS_chmod] = {"chmod", "so"},
	[SYS_fchmod] = {"fchmod", "do"},
	[SYS_chown] = {"chown", "sdd"},
	[SYS_umask] = {"umask", "o"},
	[SYS_gettimeofday] = {"gettimeofday", "pp"},
	[SYS_getrlimit] = {"getrlimit", "dp"},
	[SYS_getuid] = {"getuid", ""},
	[SYS_getgid] = {"getgid", ""},
	[SYS_geteuid] = {"geteuid", ""},
	[SYS_getegid] = {"getegid", ""},
	[SYS_setpgid] = {"setpgid", "dd"},
	[SYS_getppid] = {"getppid", ""},
	[SYS_getpgrp] = {"getpgrp", ""},
	[SYS_setsid] = {"setsid", ""},
	[SYS_getpgid] = {"getpgid", "d"},
	[SYS_getsid] = {"getsid", "d"},
	[SYS_rt_sigpending] = {"rt_sigpending", "pu"},
	[SYS_rt_sigsuspend] = {"rt_sigsuspend", "pu"},
	[SYS_utime] = {"utime", "sp"},
	[SYS_statfs] = {"statfs", "sp"},
	[SYS_fstatfs] = {"fstatfs", "dp"},
	[SYS_getitimer] = {"getitimer", "dp"},
	[SYS_setitimer] = {"setitimer", "dpp"},
	[SYS_gettid] = {"gettid", ""},
	[SYS_tkill] = {"tkill", "dd"},
	[SYS_time] = {"time", "p"},
	[SYS_futex] = {"futex", "pdd"},
	[SYS_shmget] = {"shmget", "xux"},
	[SYS_shmat] = {"shmat", "dpx"},
	[SYS_shmctl] = {"shmctl", "ddp"},
	[SYS_shmdt] = {"shmdt", "p"},
	[SYS_semget] = {"semget", "xdx"},
	[SYS_semop] = {"semop", "dpu"},
	[SYS_semctl] = {"semctl", "dddx"},
	[SYS_semtimedop] = {"semtimedop", "dpup"},
	[SYS_msgget] = {"msgget", "xx"},
	[SYS_msgsnd] = {"msgsnd", "dpux"},
	[SYS_msgrcv] = {"msgrcv", "dpudx"},
	[SYS_msgctl] = {"msgctl", "ddp"},
	[SYS_getdents64] = {"getdents64", "dpu"},
	[SYS_set_tid_address] = {"set_tid_address", "p"},
	[SYS_clock_gettime] = {"clock_gettime", "dp"},
	[SYS_clock_getres] = {"clock_getres", "dp"},
	[SYS_clock_nanosleep] = {"clock_nanosleep", "ddpp"},
	[SYS_exit_group] = {"exit_group", "d"},
	[SYS_tgkill] = {"tgkill", "ddd"},
	[SYS_openat] = {"openat", "asfo"},
	[SYS_mkdirat] = {"mkdirat", "aso"},
	[SYS_fchownat] = {"fchownat", "asddx"},
	[SYS_newfstatat] = {"newfstatat", "aspx"},
	[SYS_unlinkat] = {"unlinkat", "asx"},
	[SYS_renameat] = {"renameat", "asas"},
	[SYS_linkat] = {"linkat", "asasx"},
	[SYS_symlinkat] = {"symlinkat", "sas"},
	[SYS_readlinkat] = {"readlinkat", "aspu"},
	[SYS_fchmodat] = {"fchmodat", "aso"},
	[SYS_faccessat] = {"faccessat", "asd"},
	[SYS_pselect6] = {"pselect6", "dppppp"},
	[SYS_ppoll] = {"ppoll", "pupp"},
	[SYS_utimensat] = {"utimensat", "aspx"},
	[SYS_dup3] = {"dup3", "ddx"},
	[SYS_pipe2] = {"pipe2", "px"},
	[SYS_prlimit64] = {"prlimit64", "ddpp"},
	[SYS_renameat2] = {"renameat2", "asasx"},
	[SYS_getrandom] = {"getrandom", "pux"},
};

/* The number of the call named `name`, or -1. */
static int call_number(const char *name)
{
	for (int nr = 0; nr < MAX_CALL; nr++)
		if (calls[nr].name && strcmp(calls[nr].name, name) == 0)
			return nr;
	return -1;
}

#endif
