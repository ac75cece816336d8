/* A minimal firmware-proto host over a pseudo-terminal, for end-to-end tests: starts a
 * program that follows the robot-emulator start-up contract (first stdout line
 * "robot-emulator: pty <path>"), opens that pty raw, and exchanges messages with the C codec.
 * Used by tests/emulator_test.c (the host emulator) and mcu/test_mcu.c (the STM32F405
 * image under QEMU). */
#ifndef FP_PTY_HOST_H
#define FP_PTY_HOST_H

#include <stdint.h>
#include <sys/types.h>

#include "fp_link.h"
#include "fp_protocol.h"

typedef struct {
    pid_t pid;
    int fd;
    fp_receiver rx;
    uint16_t seq;
    int write_failures; /* messages that could not be written whole */
} pty_host;

double pty_host_now(void);              /* CLOCK_MONOTONIC, seconds */
void pty_host_sleep_until(double t);    /* absolute, pty_host_now() time base */

/* Starts argv[0] with argv (NULL-terminated), reads its first stdout line, opens the pty
 * raw and non-blocking, and sends one 0x00 delimiter. 0 on success; -1 with a message on
 * stderr (the first line, if it was not the pty line) otherwise. */
int pty_host_start(pty_host *h, const char *const *argv);
/* Closes the pty, sends SIGTERM, waits. The exit code, or -1 if killed by a signal. */
int pty_host_stop(pty_host *h);

/* Sends `m` with the next sequence number; returns that number. */
uint16_t pty_host_send(pty_host *h, fp_message *m);
uint16_t pty_host_send_simple(pty_host *h, uint8_t type);
uint16_t pty_host_send_configure(pty_host *h, uint8_t mode, uint16_t watchdog_ms, int32_t torque_limit);
uint16_t pty_host_send_command(pty_host *h, int32_t setpoint);

/* Waits up to timeout_s for the reply whose echo_seq is `echo` (other replies are skipped).
 * 1 and *m filled, or 0 on timeout. Frames that fail to parse are counted in *bad (if set). */
int pty_host_recv(pty_host *h, uint16_t echo, double timeout_s, fp_message *m, int *bad);

#endif
