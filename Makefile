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
# The C parts for aarch64 under qemu-user, and the firmware's Cortex-M4F port (issue 12).
CROSS_PACKAGES := gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm
# Release build with testable imports: tests run on optimised code, so allocation
# counts and timings are those of the shipped binary.
SWIFT_TEST_FLAGS := -c release -Xswiftc -enable-testing
# numpy + safetensors for the tests that read our files from Python (scripts/test-venv.sh).
export H2O_REFERENCE_PYTHON := $(CURDIR)/.venv-test/bin/python
RUN_ARGS ?= --duration 600

.PHONY: run test bench build deps test-deps bench-deps firmware-test cross-test swift-test tsan-test fuzz-test clean

run: deps build
	.build/release/robotctl run $(RUN_ARGS)

build:
	$(SWIFT) build -c release

deps:
	@scripts/install-packages.sh $(RUNTIME_PACKAGES)

test-deps:
	@scripts/install-packages.sh $(TEST_PACKAGES)
	@scripts/test-venv.sh

bench-deps:
	@scripts/install-packages.sh $(BENCH_PACKAGES)

test: test-deps firmware-test cross-test swift-test tsan-test fuzz-test

firmware-test:
	$(MAKE) -C firmware-proto test

# Every C target for aarch64 under qemu-aarch64-static (firmware-proto/cross-test/Makefile),
# and the firmware's Cortex-M4F image end to end under qemu-system-arm (firmware-proto/mcu).
cross-test:
	@scripts/install-packages.sh $(CROSS_PACKAGES)
	$(MAKE) -C firmware-proto cross-test mcu-test

# Timing-sensitive suites (a real-time loop, the emulated robot over a pty, wall-clock bounds)
# run one at a time after the rest, never beside the CPU-heavy suites: a regex over suite type
# names. A new suite that drives the emulator or judges time belongs here.
TIMING_SUITES := EmulatorEndToEndTests|AnyRobotRunTests|HardwareCommandTests|TransportTests|SerialErrorTests|EmulatorDrivingCommandTests|RunCommandTests|OnRobotDecisionTests|OnRobotSessionTests|SystemIDTests|TeleopSessionTests|TeleopLoopTests|LoopTests|PacerTests|RealtimeSetupTests|CrashSafetyTests|BringupTests|BringupCommandTests|ServoBusEndToEndTests|ServoBusRunTests|ServoBusSetupTests|MCURobotRunTests|ServoRobotFileEndToEndTests|MCUEmulatorEndToEndTests|ChainSystemIDEmulatorTests|TeleopEmulatorTests|LiveViewEndToEndTests|browserReportOfARealRun

swift-test:
	$(SWIFT) build $(SWIFT_TEST_FLAGS) --build-tests
	$(SWIFT) test $(SWIFT_TEST_FLAGS) --skip-build --skip '$(TIMING_SUITES)' 2>&1 | tee .build/swift-test.log; exit $${PIPESTATUS[0]}
	$(SWIFT) test $(SWIFT_TEST_FLAGS) --skip-build --no-parallel --filter '$(TIMING_SUITES)' 2>&1 | tee .build/swift-test-timing.log; exit $${PIPESTATUS[0]}

# The cross-thread structures (policy slot, transition ring) under the thread sanitizer.
tsan-test:
	ROBOTCTL_TSAN_ONLY=1 $(SWIFT) test --sanitize=thread --scratch-path .build-tsan --filter 'ThreadSanitized'

# Every file reader under libFuzzer for FUZZ_TEST_SECONDS each (6 readers, 25 s: 2.5 min), from
# the committed seeds; fails on any crash. The long run is part of `make bench` (docs/fuzz.md).
FUZZ_TEST_SECONDS ?= 25
fuzz-test:
	scripts/fuzz.sh $(FUZZ_TEST_SECONDS)

bench: bench-deps build
	scripts/bench.sh

clean:
	rm -rf .build .build-tsan .build-fuzz bench-results
	$(MAKE) -C firmware-proto clean
