# runbox: the two commands a fresh Debian 12 machine needs, as root:
#   make serve   install what is missing, build, start the server on http://127.0.0.1:8080
#   make test    the same set-up, then every test
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo
RUNBOX = $(BUILD)/src/cli/runbox
NPM_CI = npm ci --no-audit --no-fund --loglevel=error
LISTEN ?= 127.0.0.1:8080
DATA_DIR ?= /var/lib/runbox
FUZZ_SECONDS ?= 20

.PHONY: lint format format-check
.PHONY: all deps test-deps languages build web browser node-deps test sanitize-test fuzz vm-test serve \
	bench clean

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

# The web page: npm packages (only when the lock file changed), then a Vite build into web/dist.
web/node_modules/.package-lock.json: web/package-lock.json
	cd web && $(NPM_CI)
web: deps web/node_modules/.package-lock.json
	@cd web && npm run --silent build >/dev/null

# Debian's Chromium, driven by playwright-core in the page's end-to-end tests.
browser:
	@web/scripts/install-browser.sh

# Real third-party API clients (piston-client, paiza-io) for the server's compatibility tests.
tests/server/node/node_modules/.package-lock.json: tests/server/node/package-lock.json
	cd tests/server/node && $(NPM_CI)
node-deps: tests/server/node/node_modules/.package-lock.json

# Every test: ctest (unit tests, real boxes, the real server with real clients, every catalog
# language), the page in a real browser against the real server, the cgroup, limit and cleanup
# tests again inside a cgroup-v2-only VM (shared/vm/cgroup2-vm), the unit tests under ASan+UBSan,
# then every fuzz target for FUZZ_SECONDS. (TSan: `make sanitize-test`; it still reports races, see README.)
test: test-deps languages build web browser node-deps
	cd $(BUILD) && ctest --output-on-failure -j 1
	cd web && RUNBOX_BIN=$(abspath $(RUNBOX)) RUNBOX_SERVE_ARGS="--languages $(CURDIR)/languages" \
	  node --test --test-concurrency=1 test/*.test.mjs
	scripts/vm-test.sh $(BUILD)
	scripts/sanitize-test.sh asan
	bench/fuzz.sh $(FUZZ_SECONDS)

# The unit tests with ASan+UBSan, the concurrency tests with TSan (each in its own build dir).
sanitize-test: test-deps
	scripts/sanitize-test.sh asan
	scripts/sanitize-test.sh tsan

# Every libFuzzer target for FUZZ_SECONDS each (bench/fuzz.sh SECONDS TARGET... for more).
fuzz: test-deps
	bench/fuzz.sh $(FUZZ_SECONDS)

# clang-tidy with .clang-tidy's checks over the build's units; the .clang-format check, and its fix.
lint: build
	scripts/lint.sh $(BUILD)
format-check:
	scripts/check-format.sh
format:
	scripts/check-format.sh --fix

vm-test: build
	scripts/vm-test.sh $(BUILD)

serve: deps languages build web
	$(RUNBOX) serve --listen $(LISTEN) --languages languages --static web/dist --data-dir $(DATA_DIR)

bench: build
	bench/exec_bench.sh $(BUILD)
	bench/lang_bench.sh $(BUILD) 3
	bench/api_bench.sh $(BUILD)

clean:
	rm -rf $(BUILD) build-asan build-tsan build-fuzz
