// execvpe without libc: shared by the sandbox child and the init, both of which must
// stay async-signal-safe. The PATH search happens inside the sandbox, after its mounts,
// so a program is found in the sandbox's view of the filesystem, not the host's.
#pragma once

#include "sys.h"

// A file the kernel will not run (ENOEXEC: no #!, not an ELF) is a shell script, as
// execvp has it: run /bin/sh with the file's path and the rest of argv. The new argv
// lives on this stack frame (no allocator here). Returns ENOEXEC when no shell runs
// either, which names the real problem better than /bin/sh's own error.
static inline int nsb_exec_script(const char* path, char* const* argv, char* const* envp) {
  size_t argc = 0;
  while (argv[argc]) argc++;
  const char** a = (const char**)__builtin_alloca((argc + 3) * sizeof(char*));
  a[0] = "/bin/sh";
  a[1] = path;
  size_t n = 2;
  for (size_t i = 1; i < argc; i++) a[n++] = argv[i];
  a[n] = nullptr;
  nsb_sys(SYS_execve, NSB_P("/bin/sh"), NSB_P(a), NSB_P(envp));
  return 8;  // ENOEXEC
}

// Returns the errno to report (execve only returns on failure). As execvp does, EACCES
// from any candidate wins over ENOENT from the others, so "found but not executable"
// is not hidden by a later miss.
static inline int nsb_execvpe(const char* file, char* const* argv, char* const* envp,
                              const char* path) {
  bool has_slash = false;
  for (const char* p = file; *p; p++)
    if (*p == '/') has_slash = true;
  if (has_slash || !path || !*path) {
    int e = (int)-nsb_sys(SYS_execve, NSB_P(file), NSB_P(argv), NSB_P(envp));
    return e == 8 /* ENOEXEC */ ? nsb_exec_script(file, argv, envp) : e;
  }
  char buf[4096];
  size_t flen = nsb_strlen(file);
  int err = 2;  // ENOENT
  bool seen_eacces = false;
  const char* p = path;
  for (;;) {
    const char* end = p;
    while (*end && *end != ':') end++;
    size_t dlen = (size_t)(end - p);
    if (dlen + flen + 2 <= sizeof(buf)) {
      size_t i = 0;
      if (dlen == 0) {
        buf[i++] = '.';  // an empty PATH entry means the current directory
      } else {
        for (size_t k = 0; k < dlen; k++) buf[i++] = p[k];
      }
      buf[i++] = '/';
      for (size_t k = 0; k < flen; k++) buf[i++] = file[k];
      buf[i] = 0;
      int e = (int)-nsb_sys(SYS_execve, NSB_P(buf), NSB_P(argv), NSB_P(envp));
      if (e == 8 /* ENOEXEC */) return nsb_exec_script(buf, argv, envp);
      if (e == 13 /* EACCES */) seen_eacces = true;
      // Keep searching only for the errors execvp skips over.
      if (e != 2 && e != 13 && e != 20 /* ENOTDIR */ && e != 40 /* ELOOP */ &&
          e != 36 /* ENAMETOOLONG */ && e != 19 /* ENODEV */ && e != 116 /* ESTALE */)
        return e;
      err = e;
    }
    if (!*end) break;
    p = end + 1;
  }
  return seen_eacces ? 13 : (err == 13 ? 13 : 2);
}
