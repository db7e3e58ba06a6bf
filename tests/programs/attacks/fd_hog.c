/* Opens files until open fails, says how many it holds, then keeps them until its
 * stdin closes. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	int n = 0;
	close(creat("/hog", 0644));
	while (open("/hog", O_RDONLY) >= 0 && n < 100000)
		n++;
	printf("holding %d errno=%d\n", n, errno);
	fflush(stdout);
	char c;
	while (read(0, &c, 1) > 0)
		;
	return 0;
}
