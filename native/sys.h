// Raw system calls for code that runs between clone and exec, and for the init.
//
// Why not libc's syscall(): the sandbox child shares the Node process's memory
// (CLONE_VM) and its thread pointer, so anything that writes errno, takes a lock or
// allocates would write into the Node thread that cloned it. These wrappers touch only
// registers and return -errno on failure, as the kernel does.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>

#if defined(__x86_64__)

static inline long nsb_sys6(long n, long a, long b, long c, long d, long e, long f) {
  long ret;
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  __asm__ __volatile__("syscall"
                       : "=a"(ret)
                       : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                       : "rcx", "r11", "memory");
  return ret;
}

#elif defined(__aarch64__)

static inline long nsb_sys6(long n, long a, long b, long c, long d, long e, long f) {
  register long x8 __asm__("x8") = n;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  register long x3 __asm__("x3") = d;
  register long x4 __asm__("x4") = e;
  register long x5 __asm__("x5") = f;
  __asm__ __volatile__("svc 0"
                       : "+r"(x0)
                       : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                       : "memory", "cc");
  return x0;
}

#else
#error "nsbind supports x86_64 and aarch64"
#endif

static inline long nsb_sys(long n) { return nsb_sys6(n, 0, 0, 0, 0, 0, 0); }
static inline long nsb_sys(long n, long a) { return nsb_sys6(n, a, 0, 0, 0, 0, 0); }
static inline long nsb_sys(long n, long a, long b) { return nsb_sys6(n, a, b, 0, 0, 0, 0); }
static inline long nsb_sys(long n, long a, long b, long c) { return nsb_sys6(n, a, b, c, 0, 0, 0); }
static inline long nsb_sys(long n, long a, long b, long c, long d) {
  return nsb_sys6(n, a, b, c, d, 0, 0);
}
static inline long nsb_sys(long n, long a, long b, long c, long d, long e) {
  return nsb_sys6(n, a, b, c, d, e, 0);
}

// Pointer arguments read better without a cast at every call site.
#define NSB_P(x) ((long)(uintptr_t)(x))

[[noreturn]] static inline void nsb_exit(int code) {
  for (;;) nsb_sys(SYS_exit_group, code);
}

static inline size_t nsb_strlen(const char* s) {
  size_t n = 0;
  while (s[n]) n++;
  return n;
}

// Writes all of buf, retrying on EINTR and short writes. Returns 0 or -errno.
static inline long nsb_write_all(int fd, const void* buf, size_t len) {
  const char* p = (const char*)buf;
  while (len > 0) {
    long r = nsb_sys(SYS_write, fd, NSB_P(p), (long)len);
    if (r == -4 /* EINTR */) continue;
    if (r < 0) return r;
    p += r;
    len -= (size_t)r;
  }
  return 0;
}
