/* Waiting for signals: sigsuspend, pause with alarm, busy loops that only a
 * SIGALRM handler ends (no system calls inside), setitimer's repeated ticks
 * with getitimer, alarm's answer, nanosleep cut short.  Output must match a
 * native run. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t alarms, usr1s, done;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
	done = 1;
}

static void on_usr1(int sig)
{
	(void)sig;
	usr1s++;
}

static void install(int sig, void (*fn)(int), int flags)
{
	struct sigaction sa = { .sa_handler = fn, .sa_flags = flags };
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, 0);
}

static void arm_ms(long first, long every)
{
	struct itimerval it = {
		.it_interval = { every / 1000, every % 1000 * 1000 },
		.it_value = { first / 1000, first % 1000 * 1000 },
	};
	setitimer(ITIMER_REAL, &it, 0);
}

static int blocked(int sig)
{
	sigset_t now;
	sigprocmask(SIG_BLOCK, 0, &now);
	return sigismember(&now, sig);
}

/* A leaf function: its locals may sit below the stack pointer (the wasm red
 * zone), and the handler interrupts it between two instructions. */
__attribute__((noinline)) static int spin_with_locals(void)
{
	volatile int slots[16] = { 0 };
	long n = 0, sum = 0;
	while (!done) {
		slots[n & 15]++;
		n++;
	}
	for (int i = 0; i < 16; i++)
		sum += slots[i];
	return sum == n;
}

int main(void)
{
	setvbuf(stdout, 0, _IONBF, 0);
	sigset_t none, usr1, alrm;
	sigemptyset(&none);
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	install(SIGALRM, on_alarm, 0);
	install(SIGUSR1, on_usr1, 0);

	/* sigsuspend: a signal already pending is handled at once */
	sigprocmask(SIG_BLOCK, &usr1, 0);
	raise(SIGUSR1);
	int r = sigsuspend(&none);
	printf("sigsuspend with usr1 pending: %d %s usr1s=%d usr1 blocked again=%d\n", r,
	       strerror(errno), (int)usr1s, blocked(SIGUSR1));
	sigprocmask(SIG_UNBLOCK, &usr1, 0);

	/* sigsuspend: waits for the timer, with SIGALRM blocked around it */
	sigprocmask(SIG_BLOCK, &alrm, 0);
	arm_ms(20, 0);
	r = sigsuspend(&none);
	printf("sigsuspend for SIGALRM: %d %s alarms=%d alrm blocked again=%d\n", r,
	       strerror(errno), (int)alarms, blocked(SIGALRM));
	sigprocmask(SIG_UNBLOCK, &alrm, 0);

	/* pause, woken by alarm */
	alarms = 0;
	alarm(1);
	r = pause();
	printf("pause: %d %s alarms=%d\n", r, strerror(errno), (int)alarms);

	/* a busy loop without system calls, ended by the handler */
	done = 0;
	alarm(1);
	while (!done)
		;
	printf("busy loop ended by SIGALRM\n");

	/* the same in a leaf function with locals below the stack pointer */
	done = 0;
	arm_ms(20, 0);
	printf("leaf loop: locals intact=%d\n", spin_with_locals());

	/* alarm answers what the previous one had left */
	alarm(10);
	printf("alarm(0) after alarm(10): %u\n", alarm(0));

	/* setitimer: repeated ticks, getitimer, then disarmed */
	alarms = 0;
	arm_ms(20, 20);
	while (alarms < 5)
		pause();
	struct itimerval now;
	getitimer(ITIMER_REAL, &now);
	printf("ticks=%d interval=%ld.%06ld value in (0, 20ms]=%d\n", alarms >= 5,
	       (long)now.it_interval.tv_sec, (long)now.it_interval.tv_usec,
	       now.it_value.tv_sec == 0 && now.it_value.tv_usec > 0 && now.it_value.tv_usec <= 20000);
	arm_ms(0, 0);
	getitimer(ITIMER_REAL, &now);
	printf("disarmed: %ld %ld %ld %ld\n", (long)now.it_interval.tv_sec,
	       (long)now.it_interval.tv_usec, (long)now.it_value.tv_sec, (long)now.it_value.tv_usec);

	/* nanosleep: cut short, never restarted, even with SA_RESTART (ticking,
	 * so that a tick finds it asleep however late it starts) */
	install(SIGALRM, on_alarm, SA_RESTART);
	struct timespec req = { 30, 0 }, rem = { 0, 0 };
	arm_ms(20, 20);
	r = nanosleep(&req, &rem);
	arm_ms(0, 0);
	printf("nanosleep: %d %s time left in (0, 30s)=%d\n", r, strerror(errno),
	       rem.tv_sec < 30 && (rem.tv_sec > 0 || rem.tv_nsec > 0));
	return 0;
}
