/* A grate copying through copy_data_between_cages from and into pages its caller made
 * PROT_NONE or PROT_READ (Linux's process_vm_readv/writev answer EFAULT there). The
 * grate serves pwrite by copying the caller's buffer into its own memory (COPY_RAW),
 * pread by copying its own bytes into the caller's buffer, chdir by copying the path
 * (COPY_STRING); each answers what the copy did. The grate's copy read a PROT_NONE page
 * of its caller (the secret on it came back) where it must be EFAULT. Prints each
 * result ("WHAT RESULT ERRNO") and whether the grate ever read the secret. */
#define _GNU_SOURCE
#include <errno.h>
#include <lind_syscall.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096

static char box[64] = "the grate's bytes";
static volatile int saw_secret;     /* in the grate's memory, which its workers share */
static uint64_t grate_id;

long long pass_fptr_to_wt(uint64_t fn_ptr, uint64_t cage, uint64_t a1, uint64_t c1,
                          uint64_t a2, uint64_t c2, uint64_t a3, uint64_t c3, uint64_t a4,
                          uint64_t c4, uint64_t a5, uint64_t c5, uint64_t a6, uint64_t c6)
{
	uint64_t mine = (uint64_t)(uintptr_t)box;
	if (fn_ptr == SYS_chdir) {
		int r = copy_data_between_cages(grate_id, cage, a1, c1, mine, grate_id, sizeof box,
		                                COPY_STRING);
		saw_secret |= memmem(box, sizeof box, "secret", 6) != NULL;
		return r < 0 ? -errno : 0;
	}
	if (a3 > sizeof box)
		return -EINVAL;
	memset(box, 0, sizeof box);
	if (fn_ptr == SYS_pwrite64) {
		int r = copy_data_between_cages(grate_id, cage, a2, c2, mine, grate_id, a3, COPY_RAW);
		saw_secret |= memmem(box, sizeof box, "secret", 6) != NULL;
		return r < 0 ? -errno : (long long)a3;
	}
	strcpy(box, "the grate's bytes");
	int r = copy_data_between_cages(grate_id, cage, mine, grate_id, a2, c2, a3, COPY_RAW);
	return r < 0 ? -errno : (long long)a3;
}

static void show(const char *what, long r)
{
	printf("%s %ld %d\n", what, r < 0 ? -1 : r, r < 0 ? errno : 0);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	grate_id = getpid();
	pid_t child = fork();
	if (child == 0) {
		char *p = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		               -1, 0);
		strcpy(p, "ordinary");
		strcpy(p + PAGE, "secret");
		strcpy(p + 2 * PAGE, "read-only");
		if (mprotect(p + PAGE, PAGE, PROT_NONE) || mprotect(p + 2 * PAGE, PAGE, PROT_READ))
			_exit(2);
		register_handler(getpid(), SYS_pwrite64, grate_id, SYS_pwrite64);
		register_handler(getpid(), SYS_pread64, grate_id, SYS_pread64);
		register_handler(getpid(), SYS_chdir, grate_id, SYS_chdir);
		show("from_ordinary", pwrite(5, p, 16, 0));
		show("from_readonly", pwrite(5, p + 2 * PAGE, 16, 0));
		show("from_none", pwrite(5, p + PAGE, 16, 0));
		show("from_straddling", pwrite(5, p + PAGE - 8, 16, 0));
		show("into_ordinary", pread(5, p, 16, 0));
		show("into_readonly", pread(5, p + 2 * PAGE, 16, 0));
		show("into_none", pread(5, p + PAGE, 16, 0));
		show("path_none", chdir(p + PAGE));
		show("path_ordinary", chdir(p));
		_exit(0);
	}
	int status;
	waitpid(child, &status, 0);
	printf("grate saw the secret %d\n", saw_secret);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
