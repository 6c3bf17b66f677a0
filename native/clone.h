// Clone trampolines (clone.cc): the child runs fn(arg) on the given stack and exits
// with its result; the parent gets the child's pid or -errno.
#pragma once

#include <stddef.h>

// Hidden: called directly, never through a PLT or GOT entry (interp.h).
#pragma GCC visibility push(hidden)

extern "C" {
// clone3(args, size); args->stack/stack_size give the child's stack.
long nsb_clone3_call(void* clone_args, size_t size, int (*fn)(void*), void* arg);
// clone(flags, stack_top, parent_tid): for kernels without clone3 (before 5.3).
long nsb_clone_call(unsigned long flags, void* stack_top, int* parent_tid,
                    int (*fn)(void*), void* arg);
}

#pragma GCC visibility pop
