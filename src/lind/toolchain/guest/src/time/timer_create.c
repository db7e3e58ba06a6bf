/* wasm32-lind: timer_create. SIGEV_NONE, SIGEV_SIGNAL and SIGEV_THREAD_ID are the
 * microvisor's (sys_timers.py). SIGEV_THREAD is the C library's, as in musl: a
 * detached thread waits for the timer's signal (SIGTIMER, sent to it alone) and calls
 * the notify function at each expiry; timer_delete marks the thread's timer_id and
 * wakes it, and the thread deletes the timer and ends. Unlike musl's, the thread
 * keeps no setjmp buffer for a notify function that calls pthread_exit (setjmp in the
 * library goes through the host, which a program that does not fork cannot do): such
 * a function ends the notifications. The timer_t of a SIGEV_THREAD timer names the
 * thread, as musl's timer_settime and the others expect. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <time.h>
#include "pthread_impl.h"
#include "atomic.h"

struct ksigevent {
	union sigval value;
	int signo;
	int notify;
	int tid;
};

struct notifier_start {
	pthread_barrier_t ready;
	void (*notify)(union sigval);
	union sigval value;
};

static void *notifier(void *arg)
{
	struct notifier_start *start = arg;
	void (*notify)(union sigval) = start->notify;
	union sigval value = start->value;
	pthread_t self = __pthread_self();
	pthread_barrier_wait(&start->ready);
	if (self->cancel)                /* the timer could not be made */
		return 0;
	for (;;) {
		siginfo_t si;
		while (sigwaitinfo(SIGTIMER_SET, &si) < 0)
			;
		if (si.si_code == SI_TIMER)
			notify(value);
		if (self->timer_id < 0)  /* timer_delete marked it */
			break;
	}
	__syscall(SYS_timer_delete, self->timer_id & INT_MAX);
	return 0;
}

static int notified_by_thread(clockid_t clock, const struct sigevent *evp, timer_t *res)
{
	static volatile int sigtimer_reset;
	if (!sigtimer_reset) {
		struct sigaction sa = {.sa_handler = SIG_DFL};
		__libc_sigaction(SIGTIMER, &sa, 0);
		a_store(&sigtimer_reset, 1);
	}
	pthread_attr_t attr;
	if (evp->sigev_notify_attributes)
		attr = *evp->sigev_notify_attributes;
	else
		pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	struct notifier_start start = {.notify = evp->sigev_notify_function,
	                               .value = evp->sigev_value};
	pthread_barrier_init(&start.ready, 0, 2);

	sigset_t saved;
	pthread_t td;
	__block_app_sigs(&saved);       /* the thread starts with SIGTIMER blocked */
	__syscall(SYS_rt_sigprocmask, SIG_BLOCK, SIGTIMER_SET, 0, _NSIG / 8);
	int r = pthread_create(&td, &attr, notifier, &start);
	__restore_sigs(&saved);
	if (r) {
		errno = r;
		return -1;
	}
	struct ksigevent ksev = {.signo = SIGTIMER, .notify = SIGEV_THREAD_ID, .tid = td->tid};
	int timer_id;
	if (syscall(SYS_timer_create, clock, &ksev, &timer_id) < 0) {
		timer_id = -1;
		td->cancel = 1;
	}
	td->timer_id = timer_id;
	pthread_barrier_wait(&start.ready);
	if (timer_id < 0)
		return -1;
	*res = (void *)(INTPTR_MIN | (uintptr_t)td >> 1);
	return 0;
}

int timer_create(clockid_t clock, struct sigevent *restrict evp, timer_t *restrict res)
{
	if (evp && evp->sigev_notify == SIGEV_THREAD)
		return notified_by_thread(clock, evp, res);
	struct ksigevent ksev, *ksevp = 0;
	if (evp) {
		if (evp->sigev_notify != SIGEV_NONE && evp->sigev_notify != SIGEV_SIGNAL &&
		    evp->sigev_notify != SIGEV_THREAD_ID) {
			errno = EINVAL;
			return -1;
		}
		ksev.value = evp->sigev_value;
		ksev.signo = evp->sigev_signo;
		ksev.notify = evp->sigev_notify;
		ksev.tid = evp->sigev_notify == SIGEV_THREAD_ID ? evp->sigev_notify_thread_id : 0;
		ksevp = &ksev;
	}
	int timer_id;
	if (syscall(SYS_timer_create, clock, ksevp, &timer_id) < 0)
		return -1;
	*res = (void *)(intptr_t)timer_id;
	return 0;
}
