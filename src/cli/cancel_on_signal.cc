#include "cli/cancel_on_signal.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

namespace runbox::cli {
namespace {

volatile sig_atomic_t g_cancel_write = -1;
volatile sig_atomic_t g_signal = 0;

void OnSignal(int sig) {
  g_signal = sig;
  if (g_cancel_write >= 0) {
    (void)!::write(g_cancel_write, "x", 1);
  }
}

}  // namespace

Result<CancelOnSignals> CancelOnSignals::Install() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
    return ErrnoError("pipe2 for signal handling");
  }
  CancelOnSignals c;
  c.read_.reset(fds[0]);
  c.write_.reset(fds[1]);
  g_cancel_write = fds[1];
  struct sigaction sa = {};
  sa.sa_handler = OnSignal;
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    ::sigaction(sig, &sa, nullptr);
  }
  return c;
}

CancelOnSignals::~CancelOnSignals() {
  if (write_.valid() && g_cancel_write == write_.get()) {
    g_cancel_write = -1;
  }
}

int CancelOnSignals::signal() const { return g_signal; }

}  // namespace runbox::cli
