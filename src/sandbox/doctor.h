#pragma once
// Host checks for `runbox doctor`: what works, what does not, and how to fix it.

#include <string>
#include <vector>

#include "sandbox/sandbox.h"

namespace runbox::sandbox {

struct Check {
  std::string name;    // "user namespaces"
  bool ok = false;
  std::string detail;  // what was found
  std::string fix;     // empty when ok
};

// Runs every check, including one real box (`/bin/true`) when the others pass.
std::vector<Check> Doctor(const HostConfig& host);

}  // namespace runbox::sandbox
