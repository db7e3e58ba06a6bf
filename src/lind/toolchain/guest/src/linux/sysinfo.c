/* wasm32-lind: the host fills in the x86_64 kernel's struct sysinfo
 * (112 bytes, 64-bit fields); convert it to the guest's 32-bit one,
 * scaling the memory sizes through mem_unit when they do not fit. */
#include <sys/sysinfo.h>
#include <stdint.h>
#include "syscall.h"

struct lind_ksysinfo {
	int64_t uptime;
	uint64_t loads[3];
	uint64_t totalram, freeram, sharedram, bufferram;
	uint64_t totalswap, freeswap;
	uint16_t procs, pad;
	uint32_t pad2;
	uint64_t totalhigh, freehigh;
	uint32_t mem_unit;
	char reserved[4];
};

_Static_assert(sizeof(struct lind_ksysinfo) == 112, "x86_64 struct sysinfo");

int __lsysinfo(struct sysinfo *info)
{
	struct lind_ksysinfo k = {0};
	int r = syscall(SYS_sysinfo, &k);
	if (r < 0) return r;

	uint64_t biggest = k.totalram | k.totalswap | k.totalhigh;
	unsigned shift = 0;
	while ((biggest >> shift) > 0xffffffffu) shift++;
	uint64_t unit = k.mem_unit ? k.mem_unit : 1;

	*info = (struct sysinfo){
		.uptime = k.uptime,
		.loads = { k.loads[0], k.loads[1], k.loads[2] },
		.totalram = k.totalram >> shift,
		.freeram = k.freeram >> shift,
		.sharedram = k.sharedram >> shift,
		.bufferram = k.bufferram >> shift,
		.totalswap = k.totalswap >> shift,
		.freeswap = k.freeswap >> shift,
		.procs = k.procs,
		.totalhigh = k.totalhigh >> shift,
		.freehigh = k.freehigh >> shift,
		.mem_unit = unit << shift,
	};
	return r;
}

weak_alias(__lsysinfo, sysinfo);
