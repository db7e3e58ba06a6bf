/* wasm32-lind: semctl's fourth argument is a `union semun` the program defines, or a
 * plain int or pointer (`semctl(id, 0, SETVAL, 1)`). clang's wasm32 ABI passes a union
 * among variadic arguments by reference and an int by value, so semctl itself cannot
 * tell which it got; this macro hands it the argument's first word by value, whichever
 * the program wrote (on x86_64 the two are the same, so programs use both). */
#include_next <sys/sem.h>

#ifndef __LIND_SYS_SEM_H
#define __LIND_SYS_SEM_H

int __lind_semctl(int, int, int, unsigned long);

#define __lind_semun_word(a) (__extension__({ \
	__typeof__(a) __lind_a = (a); \
	unsigned long __lind_w = 0; \
	__builtin_memcpy(&__lind_w, &__lind_a, \
		sizeof __lind_a < sizeof __lind_w ? sizeof __lind_a : sizeof __lind_w); \
	__lind_w; }))
#define __lind_semctl_pick(_1, _2, _3, _4, name, ...) name
#define __lind_semctl3(id, num, cmd) __lind_semctl(id, num, cmd, 0)
#define __lind_semctl4(id, num, cmd, arg) __lind_semctl(id, num, cmd, __lind_semun_word(arg))
#define semctl(...) \
	__lind_semctl_pick(__VA_ARGS__, __lind_semctl4, __lind_semctl3, )(__VA_ARGS__)

#endif
