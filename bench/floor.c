// The floor: what the kernel charges for "new namespaces, exec /bin/true, wait", with
// nothing of nsbind's in the way. nsbind's figures are compared with this.
//
//   floor MODE FLAGS COUNT [WIDTH]
//     MODE   vfork: clone(FLAGS | CLONE_VM | CLONE_VFORK) on a small stack, as
//                   posix_spawn does (the parent sleeps until the child has exec'd);
//            fork:  clone(FLAGS) without CLONE_VM, as fork() does (page tables copied).
//     FLAGS  CLONE_NEW* bits, decimal or 0x hex.
//     COUNT  spawns per thread; WIDTH threads (default 1) each keep one in flight.
//   prints: the mean microseconds per spawn and the spawns per second, as JSON.
//
// CLONE_NEWTIME is 0x80, inside the low byte that clone() reads as the exit signal
// (CSIGNAL = 0xff): clone() cannot express it at all (the flag silently becomes part of
// a bogus exit signal and no time namespace is made); only clone3() and unshare() take
// it. So the floor, which uses clone() for both variants, asks for it the way the kernel
// allows: unshare(CLONE_NEWTIME) in the child before execve. unshare(CLONE_NEWTIME) only
// sets the namespace for the task's children (time_for_children), and execve moves the
// task into it, so the program runs in the new time namespace. (nsbind uses clone3 with
// CLONE_VM, where the child likewise enters the new time namespace at its exec.)
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static int vfork_mode;
static unsigned long ns_flags;
static long count;
static int time_by_unshare;  // CLONE_NEWTIME asked for: the child unshares it

static char* const true_argv[] = {"/bin/true", NULL};
static char* const no_env[] = {NULL};

static int getenv_probe;
static char* const probe_argv[] = {"/bin/readlink", "/proc/self/ns/time", NULL};

struct child_arg {
  int unshare_time;
};

static int child(void* p) {
  struct child_arg* a = p;
  if (a->unshare_time && syscall(SYS_unshare, CLONE_NEWTIME) < 0) syscall(SYS_exit, 126);
  if (getenv_probe) {
    // FLOOR_PROBE=1: show the namespaces the program runs in (checked by the smoke test).
    syscall(SYS_execve, "/bin/readlink", probe_argv, no_env);
    syscall(SYS_exit, 127);
  }
  syscall(SYS_execve, "/bin/true", true_argv, no_env);
  syscall(SYS_exit, 127);
  return 127;
}

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

// One spawn: returns 0, or -errno of the clone.
static int spawn_once(char* stack_top) {
  pid_t pid;
  struct child_arg a = {time_by_unshare};
  unsigned long flags = ns_flags;
  if (time_by_unshare) flags &= ~(unsigned long)CLONE_NEWTIME;
  if (vfork_mode) {
    pid = clone(child, stack_top, (int)(flags | CLONE_VM | CLONE_VFORK | SIGCHLD), &a);
  } else {
    pid = (pid_t)syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) child(&a);
  }
  if (pid < 0) return -errno;
  int st;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) return -ECHILD;
  return 0;
}

static void* worker(void* unused) {
  (void)unused;
  size_t size = 64 * 1024;
  char* stack = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) return (void*)(long)ENOMEM;
  for (long i = 0; i < count; i++) {
    int r = spawn_once(stack + size);
    if (r < 0) return (void*)(long)-r;
  }
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: floor vfork|fork FLAGS COUNT [WIDTH]\n");
    return 2;
  }
  vfork_mode = strcmp(argv[1], "vfork") == 0;
  getenv_probe = getenv("FLOOR_PROBE") != NULL;
  ns_flags = strtoul(argv[2], NULL, 0);
  count = strtol(argv[3], NULL, 10);
  int width = argc > 4 ? atoi(argv[4]) : 1;

  time_by_unshare = (ns_flags & CLONE_NEWTIME) != 0;
  // Probe once (also warms the page cache and the kernel's namespace caches).
  long saved = count;
  count = 1;
  long err = (long)worker(NULL);
  if (err) {
    fprintf(stderr, "floor: clone(0x%lx): %s\n", ns_flags, strerror((int)err));
    return 1;
  }
  count = saved;

  pthread_t th[64];
  if (width < 1 || width > 64) width = 1;
  double t0 = now_us();
  for (int i = 0; i < width; i++) pthread_create(&th[i], NULL, worker, NULL);
  for (int i = 0; i < width; i++) {
    void* r;
    pthread_join(th[i], &r);
    if (r) {
      fprintf(stderr, "floor: %s\n", strerror((int)(long)r));
      return 1;
    }
  }
  double dt = now_us() - t0;
  double n = (double)count * width;
  printf("{\"usPerSpawn\":%.2f,\"perSecond\":%.1f,\"timeByUnshare\":%s}\n", dt / n * width,
         n / (dt / 1e6), time_by_unshare ? "true" : "false");
  return 0;
}
