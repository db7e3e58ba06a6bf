/* unlink, rmdir and rename through links the cage plants, aimed out of its root: at
 * the directory holding the canary by its absolute host path (argv[1]) and by `..`s, at
 * a tenant's tree beside it (argv[2], its name there), a file of the cage's moved onto
 * the canary and the tenant's file, a directory outside (argv[1]/outside) removed or
 * taken. Each is tried by name from "/", from the working directory and from a directory
 * fd, and through the *at calls. Prints "NAME RESULT ERRNO". */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static void show(const char *name, int r)
{
	printf("%s %d %d\n", name, r < 0 ? -1 : r, r < 0 ? errno : 0);
}

static void own(const char *name)
{
	close(open(name, O_CREAT | O_WRONLY, 0644));
}

int main(int argc, char **argv)
{
	char tenant[600];
	symlink(argv[1], "/host");                  /* the canary's directory, by name */
	symlink("../../../../../../../..", "/up");  /* as many `..`s as it may take */
	snprintf(tenant, sizeof tenant, "../../%s", argv[2]);
	symlink(tenant, "/tenant");
	mkdir("/sub", 0755);
	symlink("../up", "/sub/up");                /* a chain from a deeper directory */
	chdir("/sub");

	show("unlink_host", unlink("/host/canary.txt"));
	show("unlink_up", unlink("/up/canary.txt"));
	show("unlink_chain", unlink("up/canary.txt"));
	show("unlinkat_host", unlinkat(AT_FDCWD, "/host/canary.txt", 0));
	show("unlink_tenant", unlink("/tenant/victim.txt"));
	show("rmdir_host", rmdir("/host/outside"));
	show("rmdir_up", rmdir("/up/outside"));
	show("unlinkat_rmdir", unlinkat(AT_FDCWD, "up/outside", AT_REMOVEDIR));
	show("rename_from_host", rename("/host/canary.txt", "/taken.txt"));
	show("rename_from_up", rename("/up/canary.txt", "/taken.txt"));
	show("renameat_from_chain", renameat(AT_FDCWD, "up/canary.txt", AT_FDCWD, "/taken.txt"));
	show("rename_dir_from_host", rename("/host/outside", "/taken_dir"));
	int here = open("/sub", O_RDONLY | O_DIRECTORY);     /* names from a directory fd */
	show("unlinkat_dirfd", unlinkat(here, "up/canary.txt", 0));
	show("renameat_dirfd", renameat(here, "up/canary.txt", here, "taken.txt"));
	show("openat_dirfd", openat(here, "up/canary.txt", O_WRONLY | O_TRUNC));
	own("/own1");
	show("rename_onto_host", rename("/own1", "/host/canary.txt"));
	own("/own2");
	show("rename_onto_tenant", rename("/own2", "/tenant/victim.txt"));
	own("/own3");
	show("renameat_onto_chain", renameat(AT_FDCWD, "/own3", AT_FDCWD, "up/canary.txt"));
	own("/own4");
	show("rename_onto_up", rename("/own4", "/up/canary.txt"));
	return 0;
}
