# The project's commands. See README.md.
#   make run    install what is missing, build release, run robotctl on the emulated robot
#               for 10 minutes (override: make run RUN_ARGS="--duration 120 --seed 2")
#   make test   install what tests need, run every test (C firmware, Swift, thread sanitizer)
#   make bench  run the benchmarks side by side with their peers; writes bench-results/

SHELL := /bin/bash
SWIFT ?= swift
RUNTIME_PACKAGES := libgpiod-dev libserialport-dev pkg-config gcc make
TEST_PACKAGES := $(RUNTIME_PACKAGES) chromium python3-venv
BENCH_PACKAGES := $(RUNTIME_PACKAGES) rt-tests python3-venv
# Release build with testable imports: tests run on optimised code, so allocation
# counts and timings are those of the shipped binary.
SWIFT_TEST_FLAGS := -c release -Xswiftc -enable-testing
RUN_ARGS ?= --duration 600

.PHONY: run test bench build deps test-deps bench-deps firmware-test swift-test tsan-test clean

run: deps build
	.build/release/robotctl run $(RUN_ARGS)

build:
	$(SWIFT) build -c release

deps:
	@scripts/install-packages.sh $(RUNTIME_PACKAGES)

test-deps:
	@scripts/install-packages.sh $(TEST_PACKAGES)

bench-deps:
	@scripts/install-packages.sh $(BENCH_PACKAGES)

test: test-deps firmware-test swift-test tsan-test

firmware-test:
	$(MAKE) -C firmware-proto test

swift-test:
	$(SWIFT) build $(SWIFT_TEST_FLAGS) --build-tests
	$(SWIFT) test $(SWIFT_TEST_FLAGS) --skip-build 2>&1 | tee .build/swift-test.log; exit $${PIPESTATUS[0]}

# The cross-thread structures (policy slot, transition ring) under the thread sanitizer.
tsan-test:
	ROBOTCTL_TSAN_ONLY=1 $(SWIFT) test --sanitize=thread --scratch-path .build-tsan --filter 'ThreadSanitized'

bench: bench-deps build
	scripts/bench.sh

clean:
	rm -rf .build .build-tsan bench-results
	$(MAKE) -C firmware-proto clean
