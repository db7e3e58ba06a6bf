/* A jmp_buf is its bytes: saved, overwritten by a second setjmp and put back, or
 * copied elsewhere, it jumps where the original setjmp was (interpreters nest their
 * error handlers this way). */
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

static jmp_buf env;

static void fail(int code) { longjmp(env, code); }

static int protected_call(void (*body)(void), int *out)
{
	jmp_buf saved;
	memcpy(saved, env, sizeof env);       /* the enclosing handler */
	int code = setjmp(env);
	if (code == 0)
		body();
	memcpy(env, saved, sizeof env);       /* back to the enclosing one */
	*out = code;
	return code;
}

static void inner_fails(void) { fail(7); }

static void nested(void)
{
	int code;
	protected_call(inner_fails, &code);
	printf("inner handler caught %d\n", code);
	fail(9);                               /* reaches the outer handler */
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	int code;
	protected_call(nested, &code);
	printf("outer handler caught %d\n", code);

	static jmp_buf copy;
	static volatile int round;
	if (setjmp(env) == 0) {
		memcpy(copy, env, sizeof env);
		memset(env, 0, sizeof env);     /* only the copy still holds the jump */
	}
	if (++round < 3)
		longjmp(copy, round);
	printf("rounds through a copied jmp_buf: %d\n", round);
	return 0;
}
