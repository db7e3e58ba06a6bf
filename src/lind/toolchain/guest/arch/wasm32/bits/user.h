/* wasm32-lind: there is no user-visible register file (no ptrace of
 * register state), so <sys/user.h> declares nothing architecture specific. */
