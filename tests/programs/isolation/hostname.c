/* Prints the host name it sees and its pid: run natively under `lind isolate`, with the
 * policy it carries in its ELF note (tests/test_isolation.py). */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	char name[65] = "";
	gethostname(name, sizeof name - 1);
	printf("hostname %s, pid %d\n", name, (int)getpid());
	return 0;
}
