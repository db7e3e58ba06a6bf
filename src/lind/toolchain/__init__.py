"""Lind's C toolchain: `lind cc`, the guest libc sysroot and Asyncify."""
