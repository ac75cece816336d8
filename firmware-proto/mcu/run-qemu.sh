#!/usr/bin/env bash
# Runs the reference firmware on an emulated STM32F405 (qemu-system-arm -M netduinoplus2) and
# prints "robot-emulator: pty /dev/pts/N" as its first stdout line, exactly as robot-emulator
# does, so anything that starts the emulator can start this instead. Options: see
# `run-qemu.sh --help` (--task, --param NAME=VALUE, --seed, --duration, --link, --diag, ...).
# Builds the image and the runner first if they are missing or stale (make's output goes to
# stderr: stdout carries only the pty line).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
make -s -C "$here" image runner >&2
exec "$here/../build/mcu/robot-mcu-qemu" "$@"
