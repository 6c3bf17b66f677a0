// See setup_window.h.
#include "setup_window.h"

#include <sys/prctl.h>
#include <unistd.h>

#include <mutex>

namespace {

std::mutex g_mu;
int g_open = 0;    // windows open now
int g_saved = -1;  // Node's own flag, read when the first one opened
bool g_set = false;  // we set it to 0 for the windows open now

}  // namespace

void nsb_setup_window_open(bool unsafe) {
  static const bool privileged = geteuid() == 0;
  std::lock_guard<std::mutex> lk(g_mu);
  if (g_open++ == 0) {
    g_saved = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
    g_set = false;
  }
  if (privileged && !unsafe && !g_set && g_saved == 1) {
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    g_set = true;
  }
}

void nsb_setup_window_close() {
  std::lock_guard<std::mutex> lk(g_mu);
  if (--g_open > 0) return;
  // Also undoes what a child's credential change did to the shared flag (root Node only:
  // lib/plan.ts keeps credential changes out of Node's memory otherwise).
  if (g_saved == 1 && prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 1) prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
  g_set = false;
}
