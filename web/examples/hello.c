/* The first program: its arguments, and a line of standard input if there is one. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	char line[256];

	printf("hello from a cage: %d argument%s\n", argc - 1, argc == 2 ? "" : "s");
	for (int i = 1; i < argc; i++)
		printf("  argv[%d] = %s\n", i, argv[i]);
	if (fgets(line, sizeof line, stdin)) {
		line[strcspn(line, "\n")] = 0;
		printf("you typed: %s\n", line);
	}
	return 0;
}
