/* For conformance programs that compare permission checks: natively the program is
 * root at first; it makes a directory "work" of uid 1000, enters it and becomes that
 * user (a cage is uid 1000 already, Lind's default), so both runs are the same user's. */
#include <grp.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static void become_user_1000(void)
{
    if (mkdir("work", 0755) || chdir("work"))
        exit(1);
    if (geteuid() == 0 && (chown(".", 1000, 1000) || setgroups(0, NULL) ||
                           setgid(1000) || setuid(1000)))
        exit(2);
    if (geteuid() != 1000)
        exit(3);
}
