/* Reaches for another tree: argv[1] is a cage id of that tree, argv[2] the host's
 * pid. Signals (kill -1 included) and 3i operations must stay inside this tree.
 * Prints "WHAT RESULT ERRNO". */
#include <errno.h>
#include <lind_syscall.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

static char scratch[64] = "overwrite";

static void report(const char *what, long r)
{
	printf("%s %ld %d\n", what, r < 0 ? -1L : r, r < 0 ? errno : 0);
	errno = 0;
}

int main(int argc, char **argv)
{
	uint64_t victim = strtoull(argv[1], NULL, 10), me = getpid();
	long host = atol(argv[2]);
	report("kill_victim", kill(victim, SIGKILL));
	report("kill_host", kill(host, SIGKILL));
	report("kill_minus1", kill(-1, SIGKILL));
	report("kill_group", kill(-(long)victim, SIGKILL));
	report("tkill_victim", syscall(SYS_tkill, (long)victim, SIGKILL));
	report("tgkill_victim", syscall(SYS_tgkill, (long)victim, (long)victim, SIGKILL));
	siginfo_t si = {0};
	si.si_code = SI_QUEUE;
	report("sigqueue_victim", syscall(SYS_rt_sigqueueinfo, (long)victim, SIGKILL, &si));
	report("tgsigqueue_victim", syscall(SYS_rt_tgsigqueueinfo, (long)victim, (long)victim, SIGKILL, &si));
	report("getpgid_victim", getpgid(victim));
	report("getsid_victim", getsid(victim));
	report("setpgid_victim", setpgid(0, victim));
	report("register", register_handler(victim, SYS_getpid, me, THREEI_DEREGISTER));
	report("copy_data_to", copy_data_between_cages(me, victim, (uint64_t)(uintptr_t)scratch,
	                                               me, 4096, victim, 16, 0));
	report("copy_data_from", copy_data_between_cages(me, victim, 4096, victim,
	                                                 (uint64_t)(uintptr_t)scratch, me, 16, 0));
	report("copy_table_to", copy_handler_table_to_cage(me, victim));
	report("copy_table_from", copy_handler_table_to_cage(victim, me));
	report("threei_call", make_threei_call(SYS_kill, 0, me, victim, victim, victim, SIGKILL,
	                                       victim, 0, victim, 0, victim, 0, victim, 0,
	                                       victim, 1));
	printf("alive\n");
	return 0;
}
