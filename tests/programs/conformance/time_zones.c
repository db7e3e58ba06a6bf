/* Local time by TZ: zone names read from the time zone database (a cage with an empty
 * root gets the host's /usr/share/zoneinfo read-only), POSIX rules written out, UTC;
 * localtime, mktime back, strftime's %Z and %z, around daylight saving changes. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void show(const char *zone)
{
    setenv("TZ", zone, 1);
    tzset();
    /* a winter and a summer day, an hour either side of the 2024 changes in the US and
     * in Europe */
    static const time_t moments[] = {1700000000, 1720000000, 1710053999, 1710054000,
                                     1711846799, 1711846800, 1730613599, 1730613600};
    printf("%-22s", zone);
    for (size_t i = 0; i < sizeof moments / sizeof *moments; i++) {
        struct tm tm;
        char text[64];
        localtime_r(&moments[i], &tm);
        strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S %Z %z", &tm);
        time_t back = mktime(&tm);
        printf(" | %s dst %d%s", text, tm.tm_isdst, back == moments[i] ? "" : " (mktime differs)");
    }
    printf("\n");
}

int main(void)
{
    const char *zones[] = {"America/New_York", "Europe/Paris", "Asia/Kolkata",
                           "Australia/Lord_Howe", ":Europe/London", "UTC", "EST5EDT,M3.2.0,M11.1.0",
                           "CET-1CEST,M3.5.0,M10.5.0/3", "<+0330>-3:30"};
    for (size_t i = 0; i < sizeof zones / sizeof *zones; i++)
        show(zones[i]);
    return 0;
}
