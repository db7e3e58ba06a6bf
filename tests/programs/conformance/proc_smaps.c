/* /proc/self/smaps, smaps_rollup and statm are there and read as Linux writes them:
 * Redis sums smaps' Private_Dirty for the copy-on-write its fork's child reports (none
 * was in a cage: no such file). Every region of smaps is a line of maps followed by
 * Linux's fields ("Name:  N kB", VmFlags last), their sizes add up to what maps spans,
 * and the memory a program writes shows in Rss and Private_Dirty of all three. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned long long sum(const char *path, const char *field)
{
	FILE *f = fopen(path, "r");
	char line[512];
	unsigned long long total = 0, kib;
	size_t n = strlen(field);
	if (!f)
		return 0;
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, field, n) && line[n] == ':' &&
		    sscanf(line + n + 1, "%llu kB", &kib) == 1)
			total += kib;
	fclose(f);
	return total;
}

static unsigned long long maps_kib(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	unsigned long long total = 0, from, to;
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "%llx-%llx", &from, &to) == 2)
			total += (to - from) / 1024;
	if (f)
		fclose(f);
	return total;
}

static unsigned long long statm_resident_kib(void)
{
	unsigned long long size, resident;
	FILE *f = fopen("/proc/self/statm", "r");
	int got = f ? fscanf(f, "%llu %llu", &size, &resident) : 0;
	if (f)
		fclose(f);
	return got == 2 ? resident * 4 : 0;
}

static void check_layout(void)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	int regions = 0, in_region = 0, ok = f != NULL, fields = 0;
	unsigned long long from, to, kib;
	char name[64];
	while (f && fgets(line, sizeof line, f)) {
		if (sscanf(line, "%llx-%llx ", &from, &to) == 2 && strchr(line, ' ')) {
			if (in_region)
				ok = 0;         /* the one before had no VmFlags */
			regions++;
			in_region = 1;
		} else if (!strncmp(line, "VmFlags:", 8)) {
			ok &= in_region;
			in_region = 0;
		} else if (!strncmp(line, "THPeligible:", 12)) {
			ok &= in_region;
		} else if (sscanf(line, "%63[^:]: %llu kB", name, &kib) == 2) {
			ok &= in_region && line[strlen(line) - 4] == ' ' &&
			      !strcmp(line + strlen(line) - 3, "kB\n");
			fields++;
		} else {
			ok = 0;
		}
	}
	if (f)
		fclose(f);
	printf("smaps: regions %s, every one maps line, fields, VmFlags: %s\n",
	       regions > 0 ? "some" : "none", ok && !in_region && fields ? "yes" : "no");
	printf("smaps Size adds up to maps: %s\n", sum("/proc/self/smaps", "Size") == maps_kib()
	       ? "yes" : "no");
	f = fopen("/proc/self/smaps_rollup", "r");
	ok = f && fgets(line, sizeof line, f) && strstr(line, "[rollup]\n") != NULL;
	if (f)
		fclose(f);
	printf("smaps_rollup starts with its [rollup] line: %s\n", ok ? "yes" : "no");
}

static char *volatile kept;     /* so that no compiler drops the writes */

int main(void)
{
	check_layout();
	unsigned long long rss = sum("/proc/self/smaps", "Rss");
	unsigned long long dirty = sum("/proc/self/smaps", "Private_Dirty");
	unsigned long long rollup = sum("/proc/self/smaps_rollup", "Private_Dirty");
	unsigned long long statm = statm_resident_kib();
	size_t size = 32 << 20;
	char *p = malloc(size);
	if (!p)
		return 1;
	kept = p;
	memset(p, 0x5a, size);
	printf("Rss grew by the 32 MiB written: %s\n",
	       sum("/proc/self/smaps", "Rss") >= rss + 32 * 1024 ? "yes" : "no");
	printf("Private_Dirty grew by them: %s\n",
	       sum("/proc/self/smaps", "Private_Dirty") >= dirty + 32 * 1024 ? "yes" : "no");
	printf("smaps_rollup's too: %s\n",
	       sum("/proc/self/smaps_rollup", "Private_Dirty") >= rollup + 32 * 1024 ? "yes" : "no");
	printf("statm's resident too: %s\n", statm_resident_kib() >= statm + 32 * 1024 ? "yes" : "no");
	printf("last byte %d\n", kept[size - 1]);
	free(p);
	return 0;
}
