/* A pre-forking server over pipes: workers take fixed-size jobs from one shared
 * pipe (each record is written atomically), answer on another, and the parent
 * gathers the answers, then reaps the workers after closing the job pipe. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define WORKERS 3
#define JOBS 60

struct job { int id; int n; };
struct answer { int id; int worker; long square; };

static void serve(int jobs, int answers, int worker)
{
	struct job j;
	while (read(jobs, &j, sizeof j) == sizeof j) {
		struct answer a = {j.id, worker, (long)j.n * j.n};
		write(answers, &a, sizeof a);
	}
	_exit(0);
}

int main(void)
{
	int jobs[2], answers[2];
	if (pipe(jobs) || pipe(answers))
		return 1;
	for (int w = 0; w < WORKERS; w++) {
		pid_t pid = fork();
		if (pid < 0)
			return 1;
		if (pid == 0) {
			close(jobs[1]);
			close(answers[0]);
			serve(jobs[0], answers[1], w);
		}
	}
	close(jobs[0]);
	close(answers[1]);
	for (int i = 0; i < JOBS; i++) {
		struct job j = {i, i + 1};
		write(jobs[1], &j, sizeof j);
	}
	close(jobs[1]);
	long total = 0;
	int seen[JOBS] = {0}, count = 0;
	struct answer a;
	while (read(answers[0], &a, sizeof a) == sizeof a) {
		total += a.square;
		seen[a.id]++;
		count++;
	}
	int status, clean = 0;
	while (wait(&status) > 0)
		clean += WIFEXITED(status) && WEXITSTATUS(status) == 0;
	int each_once = 1;
	for (int i = 0; i < JOBS; i++)
		each_once &= seen[i] == 1;
	printf("answers %d, each job once: %s, sum of squares %ld, workers exited cleanly %d\n",
	       count, each_once ? "yes" : "no", total, clean);
	return 0;
}
