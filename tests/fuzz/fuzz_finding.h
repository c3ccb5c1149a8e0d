#pragma once
// Finding(): how a fuzz target reports a broken promise that no sanitizer sees. It aborts, so
// libFuzzer saves the input as a crash like any other.

#include <cstdio>
#include <cstdlib>
#include <string>

namespace runbox::fuzz {

[[noreturn]] inline void Finding(const std::string& what) {
  std::fprintf(stderr, "FUZZ FINDING: %s\n", what.c_str());
  std::abort();
}

}  // namespace runbox::fuzz
