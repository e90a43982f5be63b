/* Prints the raw result of a few syscalls (negative = -errno), without libc, so the test sees exactly
 * what the seccomp filter answers: RuntimeDefault gives ENOSYS (-38) for calls it does not know or
 * hides on purpose, EPERM (-1) for known privileged ones. Built with:
 *   gcc -nostdlib -static -O1 -fno-builtin -fno-stack-protector -fno-pie -no-pie -o probe seccomp_probe.c
 * (x86_64 syscall numbers.) */
static long sys(long n, long a, long b, long c) {
    long r;
    __asm__ volatile ("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return r;
}
static void out(const char *s) { long n = 0; while (s[n]) n++; sys(1, 1, (long)s, n); }
static void num(long v) {
    char b[24]; int i = 23; int neg = v < 0; b[i] = 0;
    if (neg) v = -v;
    do { b[--i] = '0' + v % 10; v /= 10; } while (v);
    if (neg) b[--i] = '-';
    out(b + i);
}
static void row(const char *name, long r) { out(name); out("="); num(r); out("\n"); }
void _start(void) {
    row("io_uring_setup", sys(425, 0, 0, 0));         /* not in the allow-list: ENOSYS */
    row("add_key", sys(248, 0, 0, 0));                /* keyrings: EPERM */
    row("clone3", sys(435, 0, 0, 0));                 /* ENOSYS, so glibc falls back to clone */
    long p = sys(135, 0x0040000, 0, 0);               /* personality(ADDR_NO_RANDOMIZE): not allowed */
    row("personality", p >= 0 ? 0 : p);
    row("getppid_ok", sys(110, 0, 0, 0) >= 0);
    sys(60, 0, 0, 0);
}
