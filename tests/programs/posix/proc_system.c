/* The system files of /proc as programs parse them, against what sysinfo, sysconf and
 * uname say in the same cage: MemTotal, the processors listed, the CPU lines of
 * /proc/stat (as libuv's uv_cpu_info reads them) and their growth with the program's
 * own work, the boot time, the uptime, the load line, the kernel version, and the
 * environment the program started with. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static char text[16384];

static const char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	size_t n = fread(text, 1, sizeof text - 1, f);
	fclose(f);
	text[n] = 0;
	return text;
}

int main(void)
{
	struct sysinfo si;
	sysinfo(&si);
	const char *t = slurp("/proc/meminfo");
	unsigned long total = 0;
	printf("meminfo: %s\n", t && sscanf(t, "MemTotal: %lu kB", &total) == 1 &&
	       total == si.totalram * si.mem_unit / 1024 ? "MemTotal is sysinfo's" : "differs");
	int processors = 0;
	for (t = slurp("/proc/cpuinfo"); t && (t = strstr(t, "processor")); t++)
		processors++;
	printf("cpuinfo: %s\n", processors == sysconf(_SC_NPROCESSORS_ONLN) ? "one per CPU" : "differs");
	unsigned long long user, nice, sys, idle_ticks, busy_before = 0, busy_after = 0;
	int cpus = 0, at = 0;
	long long btime = 0;
	for (t = slurp("/proc/stat"); t && !strncmp(t, "cpu", 3); t = strchr(t, '\n') + 1) {
		if (sscanf(t + strcspn(t, " "), "%llu %llu %llu %llu", &user, &nice, &sys, &idle_ticks) != 4)
			break;
		if (at++ == 0)
			busy_before = user + sys;
		else
			cpus++;
	}
	const char *b = t ? strstr(t, "btime ") : NULL;
	if (b)
		sscanf(b, "btime %lld", &btime);
	printf("stat: %s\n", cpus == sysconf(_SC_NPROCESSORS_ONLN) ? "a line per CPU" : "differs");
	printf("stat btime: %s\n", llabs(btime + si.uptime - (long long)time(NULL)) <= 2 ? "boot" : "differs");
	volatile unsigned long spin = 0;
	for (clock_t end = clock() + CLOCKS_PER_SEC / 4; clock() < end;)
		spin++;
	t = slurp("/proc/stat");
	if (t && sscanf(t, "cpu  %llu %llu %llu", &user, &nice, &sys) == 3)
		busy_after = user + sys;
	printf("stat: %s\n", busy_after >= busy_before + 15 ? "its CPU time grows" : "differs");
	double up = 0, idle = 0;
	t = slurp("/proc/uptime");
	printf("uptime: %s\n", t && sscanf(t, "%lf %lf", &up, &idle) == 2 &&
	       up >= si.uptime - 1 && up <= si.uptime + 2 ? "sysinfo's" : "differs");
	double l1, l5, l15;
	int running, procs, last;
	t = slurp("/proc/loadavg");
	printf("loadavg: %s\n", t && sscanf(t, "%lf %lf %lf %d/%d %d", &l1, &l5, &l15, &running,
	                                    &procs, &last) == 6 && procs == si.procs ? "parses" : "differs");
	struct utsname u;
	uname(&u);
	t = slurp("/proc/version");
	printf("version: %s\n", t && strstr(t, u.release) ? "uname's release" : "differs");
	FILE *f = fopen("/proc/self/environ", "r");
	char env[256] = {0};
	size_t n = f ? fread(env, 1, sizeof env - 1, f) : 0;
	for (size_t i = 0; i < n; i++)
		if (!env[i])
			env[i] = '|';
	printf("environ: %s\n", env);
	setenv("LATER", "1", 1);
	printf("setenv leaves it: %d\n", strstr(slurp("/proc/self/environ") ? text : "", "LATER") == NULL);
	return 0;
}
