# runbox: the two commands a fresh Debian 12 machine needs, as root:
#   make serve   install what is missing, build, start the server on http://127.0.0.1:8080
#   make test    the same set-up, then every test
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo

.PHONY: all deps test-deps languages build test vm-test serve bench clean

all: build

deps:
	@scripts/install-deps.sh build

test-deps:
	@scripts/install-deps.sh test

# Every catalog language's runtime, from Debian's packages (~4.7 GB the first time).
languages:
	@scripts/install-languages.sh

build: deps
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# Every test: unit and integration tests on this host's cgroups, then the cgroup and limit tests
# again inside a cgroup-v2-only VM (shared/vm/cgroup2-vm).
test: test-deps languages build
	cd $(BUILD) && ctest --output-on-failure -j 1
	scripts/vm-test.sh $(BUILD)

vm-test: build
	scripts/vm-test.sh $(BUILD)

serve: build
	@echo "runbox: the server is not built yet; run a command in a box with:"
	@echo "  $(BUILD)/runbox exec -- /bin/echo hello"

bench: build
	bench/exec_bench.sh $(BUILD)

clean:
	rm -rf $(BUILD)
