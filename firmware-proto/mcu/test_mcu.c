/* End-to-end test of the reference firmware on the emulated STM32F405 (qemu-system-arm -M
 * netduinoplus2), through the runner that follows robot-emulator's start-up contract:
 *   test_mcu RUNNER    (RUNNER: run-qemu.sh or build/mcu/robot-mcu-qemu)
 *
 * 1. The boot-parameter codec (host side): round trip, damaged blocks refused.
 * 2. Pendulum session over the pty: HELLO/CAPABILITIES, CONFIGURE, 200 COMMAND/STATE
 *    exchanges at 200 Hz, the watchdog's latched fault ~100 ms after the last command,
 *    CLEAR_FAULT, ESTOP, the counters read back as parameters.
 * 3. Boot parameters reach the firmware: --task cartpole (2 axes, passive pole) and
 *    --param encoder_cpr=8192 change what CAPABILITIES reports; a bad option exits 2.
 * 4. Timing, in a second run with --icount (QEMU -icount shift=0) and 400 COMMAND/STATE
 *    exchanges: the calibration loop proves that one SysTick cycle count is 1e9/168e6
 *    instructions, and the worst fp_firmware_tick + plant_step + one-frame fp_firmware_poll,
 *    read from the MCU's diagnostics UART, fits a 168 MHz M4's 1 ms period at 2 cycles per
 *    instruction. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "boot_params.h"
#include "fp_protocol.h"
#include "pty_host.h"

#include "../tests/check.h"

static const char *runner;
static char diag_path[64];

/* Starts the runner with extra arguments, the diagnostics UART into diag_path. */
static int start(pty_host *h, const char *const *extra) {
    const char *argv[32];
    int n = 0;
    argv[n++] = runner;
    argv[n++] = "--diag";
    argv[n++] = diag_path;
    while (extra && *extra && n < 30) argv[n++] = *extra++;
    argv[n] = NULL;
    int rc = pty_host_start(h, argv);
    CHECK(rc == 0);
    return rc;
}

static int stop(pty_host *h) {
    CHECK(h->write_failures == 0);
    return pty_host_stop(h);
}

static void test_boot_codec(void) {
    mcu_boot_config c = {.task = PLANT_CARTPOLE, .seed = 0x0123456789ABCDEFull, .count = 3};
    c.index[0] = 0, c.value[0] = 9.5;
    c.index[1] = 7, c.value[1] = -0.125;
    c.index[2] = 2, c.value[2] = 1e-300;
    uint8_t buf[MCU_BOOT_BYTES(MCU_BOOT_MAX_PARAMS)];
    size_t n = mcu_boot_encode(&c, buf, sizeof buf);
    CHECK(n == MCU_BOOT_BYTES(3));
    mcu_boot_config d;
    CHECK(mcu_boot_decode(buf, n, &d) == MCU_BOOT_OK);
    CHECK(d.task == c.task && d.seed == c.seed && d.count == 3);
    for (int i = 0; i < 3; i++) CHECK(d.index[i] == c.index[i] && d.value[i] == c.value[i]);
    for (size_t i = 0; i < n; i++) { /* any one flipped bit is refused */
        buf[i] ^= 0x10;
        int rc = mcu_boot_decode(buf, n, &d);
        CHECK(rc != MCU_BOOT_OK);
        buf[i] ^= 0x10;
    }
    CHECK(mcu_boot_decode(buf, n - 1, &d) == MCU_BOOT_ERR_FORMAT); /* truncated */
    memset(buf, 0, sizeof buf);
    CHECK(mcu_boot_decode(buf, sizeof buf, &d) == MCU_BOOT_ERR_MAGIC); /* no block */
    c.count = MCU_BOOT_MAX_PARAMS + 1;
    CHECK(mcu_boot_encode(&c, buf, sizeof buf) == 0);
    /* Applying: an index past the table, and a value out of range, name the entry. */
    plant_params p;
    int bad = -2;
    mcu_boot_config e = {.task = PLANT_PENDULUM, .seed = 1, .count = 2};
    e.index[0] = 1, e.value[0] = 1.0;
    e.index[1] = 9999, e.value[1] = 1.0;
    CHECK(mcu_boot_apply(&e, &p, &bad) == PLANT_ERR_UNKNOWN_PARAM && bad == 1);
    e.count = 1, e.value[0] = -5.0; /* index 1 is a mass or length: must be positive */
    CHECK(mcu_boot_apply(&e, &p, &bad) != PLANT_OK && bad == 0);
    e.task = 7;
    CHECK(mcu_boot_apply(&e, &p, &bad) == PLANT_ERR_KIND);
}

static void test_session(void) {
    pty_host h;
    const char *args[] = {"--seed", "7", NULL};
    if (start(&h, args) != 0) return;
    fp_message m;
    uint16_t s = pty_host_send_simple(&h, FP_MSG_HELLO);
    CHECK(pty_host_recv(&h, s, 2.0, &m, NULL)); /* the runner printed the pty after boot */
    CHECK(m.type == FP_MSG_CAPABILITIES);
    CHECK(m.u.capabilities.motor_count == 1);
    CHECK(m.u.capabilities.counts_per_rev[0] == 4096);
    CHECK(m.u.capabilities.torque_max_mnm[0] == 2000);
    CHECK(m.u.capabilities.control_rate_hz == 1000);

    s = pty_host_send_configure(&h, FP_MODE_TORQUE, 100, 2000);
    CHECK(pty_host_recv(&h, s, 1.0, &m, NULL) && m.type == FP_MSG_ACK);

    /* 200 Hz for one second: every COMMAND answered by its STATE; the pendulum moves. */
    int replies = 0, motors_on = 0, bad = 0;
    int32_t first = 0, last = 0;
    double rtt_max = 0, rtt_sum = 0;
    double t0 = pty_host_now(), last_command = t0;
    for (int k = 0; k < 200; k++) {
        pty_host_sleep_until(t0 + k * 0.005);
        s = pty_host_send_command(&h, k < 100 ? 2000 : -2000);
        last_command = pty_host_now();
        if (pty_host_recv(&h, s, 0.5, &m, &bad) && m.type == FP_MSG_STATE) {
            double rtt = pty_host_now() - last_command;
            rtt_sum += rtt;
            if (rtt > rtt_max) rtt_max = rtt;
            replies++;
            if (replies == 1) first = m.u.state.position[0];
            last = m.u.state.position[0];
            motors_on += (m.u.state.status & FP_STATUS_MOTORS_ON) != 0;
            CHECK(m.u.state.faults == 0);
        }
    }
    CHECK(replies == 200);
    CHECK(bad == 0);
    CHECK(motors_on >= 195);
    CHECK(last != first);
    printf("mcu: 200 commands at 200 Hz, %d states (round trip mean %.2f ms, max %.2f ms), position %d -> %d counts\n",
           replies, replies ? rtt_sum / replies * 1e3 : 0.0, rtt_max * 1e3, (int)first, (int)last);

    /* Silence: the watchdog turns the motors off ~100 ms after the last command. */
    double tripped = -1;
    while (pty_host_now() - last_command < 2.0) {
        s = pty_host_send_simple(&h, FP_MSG_STATE_REQUEST);
        if (pty_host_recv(&h, s, 0.2, &m, NULL) && (m.u.state.faults & FP_FAULT_WATCHDOG)) {
            tripped = pty_host_now() - last_command;
            CHECK(!(m.u.state.status & FP_STATUS_MOTORS_ON));
            break;
        }
        pty_host_sleep_until(pty_host_now() + 0.002);
    }
    printf("mcu: watchdog fault seen %.1f ms after the last command (period 100 ms)\n", tripped * 1e3);
    CHECK(tripped >= 0.095 && tripped < 0.5); /* virtual time may lag real time on a busy host */
    s = pty_host_send_command(&h, 2000); /* latched: ignored */
    CHECK(pty_host_recv(&h, s, 0.5, &m, NULL) && m.u.state.faults == FP_FAULT_WATCHDOG);
    CHECK(!(m.u.state.status & FP_STATUS_MOTORS_ON));
    s = pty_host_send_simple(&h, FP_MSG_CLEAR_FAULT);
    CHECK(pty_host_recv(&h, s, 0.5, &m, NULL) && m.type == FP_MSG_ACK);
    s = pty_host_send_command(&h, 500);
    CHECK(pty_host_recv(&h, s, 0.5, &m, NULL) && m.type == FP_MSG_STATE && m.u.state.faults == 0);

    /* The counters, read back as parameters: every frame so far arrived intact. */
    fp_message q;
    memset(&q, 0, sizeof q);
    q.type = FP_MSG_PARAM_GET;
    q.u.param.id = FP_PARAM_RX_CRC_ERRORS;
    s = pty_host_send(&h, &q);
    CHECK(pty_host_recv(&h, s, 0.5, &m, NULL) && m.type == FP_MSG_PARAM_VALUE && m.u.param.value == 0);
    q.u.param.id = FP_PARAM_RX_FRAMES_OK;
    s = pty_host_send(&h, &q);
    CHECK(pty_host_recv(&h, s, 0.5, &m, NULL) && m.type == FP_MSG_PARAM_VALUE && m.u.param.value >= 200);
    q.u.param.id = FP_PARAM_WATCHDOG_TRIPS;
    s = pty_host_send(&h, &q);
    CHECK(pty_host_recv(&h, s, 0.5, &m, NULL) && m.type == FP_MSG_PARAM_VALUE && m.u.param.value == 1);

    s = pty_host_send_simple(&h, FP_MSG_ESTOP);
    CHECK(pty_host_recv(&h, s, 0.5, &m, NULL) && m.type == FP_MSG_ACK);
    s = pty_host_send_simple(&h, FP_MSG_STATE_REQUEST);
    CHECK(pty_host_recv(&h, s, 0.5, &m, NULL) && (m.u.state.faults & FP_FAULT_ESTOP));
    CHECK(stop(&h) == 0);
}

/* Fields of the last diagnostics line that starts with `prefix`; 0 if absent. */
static int diag_value(const char *prefix, const char *key, unsigned long *out) {
    FILE *f = fopen(diag_path, "r");
    if (!f) return 0;
    char line[512], found[512] = "";
    while (fgets(line, sizeof line, f))
        if (strncmp(line, prefix, strlen(prefix)) == 0) strcpy(found, line);
    fclose(f);
    char pattern[64];
    snprintf(pattern, sizeof pattern, " %s=", key);
    const char *at = strstr(found, pattern);
    if (!at) return 0;
    *out = strtoul(at + strlen(pattern), NULL, 10);
    return 1;
}

static void test_timing(void) {
    pty_host h;
    const char *args[] = {"--icount", NULL};
    if (start(&h, args) != 0) return;
    fp_message m;
    uint16_t s = pty_host_send_simple(&h, FP_MSG_HELLO);
    CHECK(pty_host_recv(&h, s, 2.0, &m, NULL) && m.type == FP_MSG_CAPABILITIES);
    s = pty_host_send_configure(&h, FP_MODE_TORQUE, 1000, 2000);
    CHECK(pty_host_recv(&h, s, 1.0, &m, NULL) && m.type == FP_MSG_ACK);
    int replies = 0;
    double t0 = pty_host_now();
    for (int k = 0; k < 400; k++) { /* 2 s at 200 Hz: the poll path runs 400 times */
        pty_host_sleep_until(t0 + k * 0.005);
        s = pty_host_send_command(&h, (k / 50) % 2 ? 2000 : -2000);
        replies += pty_host_recv(&h, s, 0.5, &m, NULL) && m.type == FP_MSG_STATE;
    }
    CHECK(replies == 400);
    /* Wait for a once-a-second diagnostics line that covers all 400 exchanges (a second of
     * firmware time can take several real seconds under -icount on a loaded host). */
    unsigned long covered = 0;
    double wait_end = pty_host_now() + 20.0;
    while (pty_host_now() < wait_end && !(diag_value("mcu: t_ms", "polls", &covered) && covered >= 400))
        pty_host_sleep_until(pty_host_now() + 0.2);
    CHECK(covered >= 400);
    CHECK(stop(&h) == 0);
    double real_s = pty_host_now() - t0;

    unsigned long cal = 0, cal_insns = 0, dwt = 9, tick_max = 0, tick_mean = 0, plant_max = 0, poll_max = 0,
                  frame_max = 0, frame_mean = 0, frame_polls = 0,
                  polls = 0, skipped = 9, dropped = 9, ticks = 0;
    CHECK(diag_value("mcu: boot", "calibration_cycles", &cal));
    CHECK(diag_value("mcu: boot", "calibration_instructions", &cal_insns));
    CHECK(diag_value("mcu: boot", "dwt_counts", &dwt));
    CHECK(diag_value("mcu: t_ms", "tick_max", &tick_max));
    CHECK(diag_value("mcu: t_ms", "tick_mean", &tick_mean));
    CHECK(diag_value("mcu: t_ms", "plant_max", &plant_max));
    CHECK(diag_value("mcu: t_ms", "poll_max", &poll_max));
    CHECK(diag_value("mcu: t_ms", "polls", &polls));
    CHECK(diag_value("mcu: t_ms", "frame_max", &frame_max));
    CHECK(diag_value("mcu: t_ms", "frame_mean", &frame_mean));
    CHECK(diag_value("mcu: t_ms", "frame_polls", &frame_polls));
    CHECK(diag_value("mcu: t_ms", "skipped", &skipped));
    CHECK(diag_value("mcu: t_ms", "rx_dropped", &dropped));
    CHECK(diag_value("mcu: t_ms", "ticks", &ticks));
    /* -icount shift=0: 1 instruction = 1 ns; SysTick counts 168 per µs, so the loop's
     * instructions * 0.168 cycles (+ the few of the two clock reads). */
    double expected = (double)cal_insns * 0.168;
    CHECK(cal_insns > 0 && (double)cal > expected * 0.999 && (double)cal < expected * 1.001 + 20);
    double insn_per_cycle = cal > 0 ? (double)cal_insns / (double)cal : 0;
    CHECK(dwt == 0); /* QEMU 7.2 models no DWT: why SysTick is the clock here */
    /* Under -icount, virtual time follows instructions and only roughly real time (it lags on
     * a loaded host), so the run covers fewer ticks than its real seconds; lines come every
     * 1000 ticks. */
    CHECK(ticks >= 1000);
    CHECK(skipped == 0);
    CHECK(dropped == 0);
    CHECK(polls >= 400);
    CHECK(frame_polls >= 100); /* most exchanges arrive as one frame per poll */
    CHECK(frame_max > 0 && frame_max <= poll_max);
    /* The worst tick, plant step and one-frame poll together, in instructions, fit a 168 MHz
     * M4's 168 000-cycle period even at a pessimistic 2 cycles per instruction. */
    double per_period = (double)(tick_max + plant_max + frame_max) * insn_per_cycle;
    CHECK(tick_max > 0 && per_period * 2.0 < 168000.0);
    printf("mcu: --icount run: %lu ticks (1 ms each) in %.1f s of real time\n", ticks, real_s);
    printf("mcu: worst fp_firmware_tick %lu counts = %.0f instructions (mean %.0f)\n", tick_max,
           tick_max * insn_per_cycle, tick_mean * insn_per_cycle);
    printf("mcu: worst poll of one frame (COMMAND in, STATE out) %lu counts = %.0f instructions (mean %.0f, %lu polls); "
           "worst poll of any bytes %lu counts = %.0f instructions\n",
           frame_max, frame_max * insn_per_cycle, frame_mean * insn_per_cycle, frame_polls, poll_max,
           poll_max * insn_per_cycle);
    printf("mcu: worst plant_step (soft double, hardware-in-the-loop only) %lu counts = %.0f instructions\n", plant_max,
           plant_max * insn_per_cycle);
    printf("mcu: at 168 MHz and 1 cycle per instruction: tick %.2f us, one frame %.2f us, of the 1000 us period\n",
           tick_max * insn_per_cycle / 168.0, frame_max * insn_per_cycle / 168.0);
}

static void test_boot_parameters(void) {
    pty_host h;
    fp_message m;
    const char *cart[] = {"--task", "cartpole", "--seed", "3", NULL};
    if (start(&h, cart) == 0) {
        uint16_t s = pty_host_send_simple(&h, FP_MSG_HELLO);
        CHECK(pty_host_recv(&h, s, 2.0, &m, NULL) && m.type == FP_MSG_CAPABILITIES);
        CHECK(m.u.capabilities.motor_count == 2);
        CHECK(m.u.capabilities.counts_per_rev[0] == 20000 && m.u.capabilities.counts_per_rev[1] == 4096);
        CHECK(m.u.capabilities.torque_max_mnm[0] == 10000 && m.u.capabilities.torque_max_mnm[1] == 0);
        CHECK(stop(&h) == 0);
    }
    const char *cpr[] = {"--param", "encoder_cpr=8192", NULL};
    if (start(&h, cpr) == 0) {
        uint16_t s = pty_host_send_simple(&h, FP_MSG_HELLO);
        CHECK(pty_host_recv(&h, s, 2.0, &m, NULL) && m.type == FP_MSG_CAPABILITIES);
        CHECK(m.u.capabilities.motor_count == 1 && m.u.capabilities.counts_per_rev[0] == 8192);
        s = pty_host_send_simple(&h, FP_MSG_STATE_REQUEST);
        CHECK(pty_host_recv(&h, s, 1.0, &m, NULL) && m.type == FP_MSG_STATE);
        printf("mcu: --param encoder_cpr=8192: position %d counts at rest\n", (int)m.u.state.position[0]);
        CHECK(m.u.state.position[0] > 4000 && m.u.state.position[0] < 4200); /* hanging down: half a turn */
        CHECK(stop(&h) == 0);
    }
    /* Bad options: exit code 2 before QEMU starts. */
    const char *bad_sets[][4] = {{"--param", "mass=-1", NULL}, {"--param", "no_such=1", NULL}, {"--drop", "0.1", NULL}};
    for (int i = 0; i < 3; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            const char *argv[6] = {runner, bad_sets[i][0], bad_sets[i][1], NULL};
            freopen("/dev/null", "w", stderr);
            execv(runner, (char *const *)argv);
            _exit(127);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 2);
    }
}

/* 1 while `pid` exists and is not a zombie. */
static int process_alive(pid_t pid) {
    char path[64], state = 0;
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    int ok = fscanf(f, "%*d (%*[^)]) %c", &state) == 1;
    fclose(f);
    return ok && state != 'Z';
}

/* The runner follows its parent: an intermediate parent starts it and exits; the runner
 * stops QEMU (it waits for it) and is gone within a few seconds. */
static void test_parent_death(void) {
    int p[2];
    CHECK(pipe(p) == 0);
    pid_t mid = fork();
    if (mid == 0) {
        pid_t child = fork();
        if (child == 0) {
            int devnull = open("/dev/null", O_WRONLY);
            dup2(devnull, 1);
            dup2(devnull, 2);
            execl(runner, runner, (char *)NULL);
            _exit(127);
        }
        if (write(p[1], &child, sizeof child) != (ssize_t)sizeof child) _exit(1);
        struct timespec life = {1, 0}; /* let QEMU start and the runner see its parent */
        nanosleep(&life, NULL);
        _exit(0);
    }
    pid_t child = 0;
    CHECK(read(p[0], &child, sizeof child) == (ssize_t)sizeof child);
    waitpid(mid, NULL, 0);
    close(p[0]);
    close(p[1]);
    /* Gone (or a zombie of whoever adopted it) within 5 s. */
    int still = 1;
    double end = pty_host_now() + 5.0;
    while (still && pty_host_now() < end) {
        still = process_alive(child);
        if (still) pty_host_sleep_until(pty_host_now() + 0.02);
    }
    CHECK(!still);
    if (still) kill(child, SIGKILL);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s RUNNER (firmware-proto/mcu/run-qemu.sh)\n", argv[0]);
        return 2;
    }
    runner = argv[1];
    signal(SIGPIPE, SIG_IGN);
    snprintf(diag_path, sizeof diag_path, "/tmp/mcu-test-diag-%d.txt", (int)getpid());
    test_boot_codec();
    test_session();
    test_timing();
    test_boot_parameters();
    test_parent_death();
    unlink(diag_path);
    printf("mcu tests: %d checks, %d failures\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
