#include "sandbox/seccomp_filter.h"

namespace runbox::sandbox {
namespace {

constexpr sock_filter kDefaultFilter[] = {
#include "default_filter.inc"
};

}  // namespace

const SeccompProgram& DefaultFilter() {
  static const SeccompProgram program{
      std::vector<sock_filter>(std::begin(kDefaultFilter), std::end(kDefaultFilter))};
  return program;
}

}  // namespace runbox::sandbox
