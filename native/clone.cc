// Clone trampolines: start fn(arg) on a stack of our own in a child that shares our
// memory (CLONE_VM), without going through libc (whose wrappers may touch TLS).
//
// Why CLONE_VM: a plain fork copies the Node process's page tables, so its cost grows
// with the heap (libuv forks: ~40 ms at 1 GiB). Sharing the memory until exec makes the
// spawn cost independent of how much memory Node holds.
#include "clone.h"

#include "sys.h"

#if defined(__x86_64__)
// long nsb_clone3_call(struct clone_args* args, size_t size, int (*fn)(void*), void* arg)
// long nsb_clone_call(unsigned long flags, void* stack_top, int* parent_tid,
//                     int (*fn)(void*), void* arg)
__asm__(
    ".text\n"
    ".globl nsb_clone3_call\n"
    ".hidden nsb_clone3_call\n"
    ".type nsb_clone3_call,@function\n"
    "nsb_clone3_call:\n"
    "  mov %rdx, %r9\n"  // fn  (r8/r9 survive the syscall and are copied to the child)
    "  mov %rcx, %r8\n"  // arg
    "  mov $435, %eax\n"  // __NR_clone3
    "  syscall\n"
    "  test %rax, %rax\n"
    "  jnz 1f\n"
    "  xor %ebp, %ebp\n"
    "  mov %r8, %rdi\n"
    "  call *%r9\n"
    "  mov %eax, %edi\n"
    "  mov $231, %eax\n"  // exit_group (fn never returns; belt and braces)
    "  syscall\n"
    "  hlt\n"
    "1: ret\n"
    ".size nsb_clone3_call,.-nsb_clone3_call\n"
    ".globl nsb_clone_call\n"
    ".hidden nsb_clone_call\n"
    ".type nsb_clone_call,@function\n"
    "nsb_clone_call:\n"
    // clone(flags=rdi, stack=rsi, ptid=rdx, ctid=r10, tls=r8): without CLONE_SETTLS
    // the kernel ignores tls, so r8 carries arg into the child.
    "  mov %rcx, %r9\n"
    "  xor %r10d, %r10d\n"
    "  mov $56, %eax\n"
    "  syscall\n"
    "  test %rax, %rax\n"
    "  jnz 2f\n"
    "  xor %ebp, %ebp\n"
    "  mov %r8, %rdi\n"
    "  call *%r9\n"
    "  mov %eax, %edi\n"
    "  mov $231, %eax\n"
    "  syscall\n"
    "  hlt\n"
    "2: ret\n"
    ".size nsb_clone_call,.-nsb_clone_call\n");
#elif defined(__aarch64__)
__asm__(
    ".text\n"
    ".globl nsb_clone3_call\n"
    ".hidden nsb_clone3_call\n"
    ".type nsb_clone3_call,%function\n"
    "nsb_clone3_call:\n"
    "  mov x9, x2\n"   // fn
    "  mov x10, x3\n"  // arg
    "  mov x8, #435\n"
    "  svc #0\n"
    "  cbnz x0, 1f\n"
    "  mov x29, #0\n"
    "  mov x30, #0\n"
    "  mov x0, x10\n"
    "  blr x9\n"
    "  mov x8, #94\n"  // exit_group
    "  svc #0\n"
    "1: ret\n"
    ".size nsb_clone3_call,.-nsb_clone3_call\n"
    ".globl nsb_clone_call\n"
    ".hidden nsb_clone_call\n"
    ".type nsb_clone_call,%function\n"
    "nsb_clone_call:\n"
    "  mov x9, x3\n"   // fn
    "  mov x10, x4\n"  // arg
    "  mov x3, #0\n"   // tls
    "  mov x4, #0\n"   // ctid
    "  mov x8, #220\n"  // __NR_clone(flags, stack, ptid, tls, ctid)
    "  svc #0\n"
    "  cbnz x0, 2f\n"
    "  mov x29, #0\n"
    "  mov x30, #0\n"
    "  mov x0, x10\n"
    "  blr x9\n"
    "  mov x8, #94\n"
    "  svc #0\n"
    "2: ret\n"
    ".size nsb_clone_call,.-nsb_clone_call\n");
#endif
