#pragma once
// CancelOnSignals: while alive, SIGINT, SIGTERM and SIGHUP make fd() readable instead of killing
// runbox, so a run in progress can end its box and still report. One per process at a time.

#include "base/result.h"
#include "base/unique_fd.h"

namespace runbox::cli {

class CancelOnSignals {
 public:
  static Result<CancelOnSignals> Install();
  CancelOnSignals(CancelOnSignals&&) = default;
  CancelOnSignals& operator=(CancelOnSignals&&) = default;
  ~CancelOnSignals();

  int fd() const { return read_.get(); }  // readable once a signal came: give it as cancel_fd
  int signal() const;                     // the signal that came, or 0

 private:
  CancelOnSignals() = default;
  UniqueFd read_, write_;
};

}  // namespace runbox::cli
