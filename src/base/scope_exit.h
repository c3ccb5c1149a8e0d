#pragma once
// ScopeExit: runs a callable when the scope ends, unless dismissed. For one-off cleanups only;
// a cleanup that repeats deserves a real owner type.

#include <utility>

namespace runbox {

template <typename F>
class [[nodiscard]] ScopeExit {
 public:
  explicit ScopeExit(F f) : f_(std::move(f)) {}
  ScopeExit(const ScopeExit&) = delete;
  ScopeExit& operator=(const ScopeExit&) = delete;
  ~ScopeExit() {
    if (armed_) {
      f_();
    }
  }
  void Dismiss() { armed_ = false; }

 private:
  F f_;
  bool armed_ = true;
};

}  // namespace runbox
