#include <stdio.h>
#include <unistd.h>
int main(void)
{
	printf("euid %d\n", (int)geteuid());
	return 3;
}
