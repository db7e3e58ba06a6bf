/* Paths whose last character or a `..` says more than the name: a trailing slash
 * asks for a directory, and `x/..` needs x to be a directory that exists. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static void show(const char *what, int r)
{
	printf("%s: %s\n", what, r < 0 ? (errno == ENOTDIR ? "ENOTDIR" : errno == ENOENT ? "ENOENT"
	       : errno == EISDIR ? "EISDIR" : errno == EEXIST ? "EEXIST" : errno == EINVAL ? "EINVAL"
	       : "other") : "ok");
}

/* O_CREAT through a chain of `n` dangling symlinks (c<n>_0 -> c<n>_1 -> ... -> a name
 * that does not exist) makes the file at the end: 40 links are followed, the 41st is
 * ELOOP, as Linux's limit on the links one lookup follows. */
static void dangling_chain(int n)
{
	char name[32], target[32], what[48];
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof name, "c%d_%d", n, i);
		snprintf(target, sizeof target, "c%d_%d", n, i + 1);
		symlink(target, name);
	}
	snprintf(name, sizeof name, "c%d_0", n);
	snprintf(what, sizeof what, "O_CREAT through %d dangling links", n);
	int fd = open(name, O_WRONLY | O_CREAT, 0644);
	printf("%s: %s\n", what, fd >= 0 ? "made" : errno == ELOOP ? "ELOOP" : "other");
	if (fd >= 0)
		close(fd);
	snprintf(name, sizeof name, "c%d_%d", n, n);
	printf("  its end %s\n", access(name, F_OK) == 0 ? "exists" : "does not exist");
}

static void dangling_chains(void)
{
	dangling_chain(40);
	dangling_chain(41);
}

static const char *kind(const struct stat *st)
{
	return S_ISLNK(st->st_mode) ? "link" : S_ISDIR(st->st_mode) ? "dir" : "other";
}

/* Calls that leave a final symlink alone still go through it when the path ends in
 * `/`, `/.` or `/..`: "link/" is the directory it leads to. */
static void through_links(void)
{
	struct stat st;
	char buf[64];
	mkdir("ld", 0755);
	symlink("ld", "L");
	symlink("f2", "Lf");
	symlink("nowhere", "Ldang");
	close(open("f2", O_WRONLY | O_CREAT, 0644));
	const char *paths[] = {"L", "L/", "L/.", "L/./", "ld/../L", "L/..", "Lf/", "Lf/.",
	                       "Ldang/", "Ldang/.", "./L", 0};
	for (int i = 0; paths[i]; i++) {
		int r = lstat(paths[i], &st);
		printf("lstat %s: %s\n", paths[i], r < 0 ? "fails" : kind(&st));
		show("  errno", r);
		r = fstatat(AT_FDCWD, paths[i], &st, AT_SYMLINK_NOFOLLOW);
		printf("fstatat nofollow %s: %s\n", paths[i], r < 0 ? "fails" : kind(&st));
	}
	show("readlink L/", (int)readlink("L/", buf, sizeof buf));
	show("readlink L", (int)readlink("L", buf, sizeof buf) - 2);
	show("lchown L/", lchown("L/", getuid(), getgid()));
	show("utimensat nofollow L/", utimensat(AT_FDCWD, "L/", NULL, AT_SYMLINK_NOFOLLOW));
	show("unlink L/", unlink("L/"));
	show("unlink Lf/", unlink("Lf/"));
	show("unlink Ldang/", unlink("Ldang/"));
	show("unlink ld/", unlink("ld/"));
	show("unlink missing/", unlink("missing/"));
	show("unlinkat L/", unlinkat(AT_FDCWD, "L/", 0));
	show("rmdir L/", rmdir("L/"));
	show("rmdir L/.", rmdir("L/."));
	/* O_CREAT through a dangling link makes what it names; O_EXCL or O_NOFOLLOW do not */
	int fd = open("Ldang", O_WRONLY | O_CREAT | O_EXCL, 0644);
	show("create Ldang O_EXCL", fd);
	show("create Ldang O_NOFOLLOW", fd = open("Ldang", O_WRONLY | O_CREAT | O_NOFOLLOW, 0644));
	printf("  (ELOOP: %d)\n", errno == ELOOP);
	show("create Ldang", fd = open("Ldang", O_WRONLY | O_CREAT, 0644));
	if (fd >= 0) close(fd);
	show("stat nowhere", stat("nowhere", &st));
	symlink("nodir/x", "Lnodir");
	show("create Lnodir", open("Lnodir", O_WRONLY | O_CREAT, 0644));
	symlink("ld/", "Lslash");
	show("create Lslash", open("Lslash", O_WRONLY | O_CREAT, 0644));
	const char *gone[] = {"L", "Lf", "Ldang", "f2", "nowhere", "Lnodir", "Lslash", 0};
	for (int i = 0; gone[i]; i++)
		show("unlink", unlink(gone[i]));
	show("rmdir ld", rmdir("ld"));
}

int main(void)
{
	struct stat st;
	int fd = open("f", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	close(fd);
	mkdir("d", 0755);
	show("open f/", fd = open("f/", O_RDONLY));
	if (fd >= 0) close(fd);
	show("open f/ O_CREAT", fd = open("f/", O_WRONLY | O_CREAT, 0644));
	if (fd >= 0) close(fd);
	show("open new/ O_CREAT", fd = open("new/", O_WRONLY | O_CREAT, 0644));
	if (fd >= 0) close(fd);
	show("open d/", fd = open("d/", O_RDONLY));
	if (fd >= 0) close(fd);
	show("stat f/", stat("f/", &st));
	show("stat d/", stat("d/", &st));
	show("stat f/.", stat("f/.", &st));
	show("stat f/..", stat("f/..", &st));
	show("stat nodir/..", stat("nodir/..", &st));
	show("stat d/../f", stat("d/../f", &st));
	show("stat nodir/../f", stat("nodir/../f", &st));
	show("stat f/../f", stat("f/../f", &st));
	show("access f/", access("f/", F_OK));
	show("unlink f/", unlink("f/"));
	show("rmdir f/", rmdir("f/"));
	show("mkdir f/", mkdir("f/", 0755));
	show("mkdir e/", mkdir("e/", 0755));
	show("rmdir e/", rmdir("e/"));
	show("rename f g/", rename("f", "g/"));
	show("rename f/ g", rename("f/", "g"));
	show("rename d d2/", rename("d", "d2/"));
	show("link f g/", link("f", "g/"));
	show("symlink f g/", symlink("f", "g/"));
	show("chdir f/..", chdir("f/.."));
	show("truncate f/", truncate("f/", 0));
	show("unlink f", unlink("f"));
	show("rmdir d2", rmdir("d2"));
	through_links();
	dangling_chains();
	return 0;
}
