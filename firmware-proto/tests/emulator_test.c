/* End-to-end test of robot-emulator over its pseudo-terminal, with the C codec as the host:
 * the first stdout line, HELLO/CONFIGURE, COMMAND/STATE at 200 Hz, watchdog expiry and its
 * latched fault, CLEAR_FAULT, ESTOP, and the fault options (motor fault, byte drops and
 * corruption, a stalled link, latency), SIGTERM and parent death; --task chain with N joints.
 * Usage: emulator_test PATH_TO_ROBOT_EMULATOR */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "fp_link.h"
#include "fp_protocol.h"
#include "pty_host.h"

#include "check.h"

static const char *emulator_path;

/* Starts the emulator with extra arguments (NULL-terminated) and opens its pty. */
static int start(pty_host *h, const char *const *extra) {
    const char *argv[32];
    int n = 0;
    argv[n++] = emulator_path;
    while (extra && *extra && n < 30) argv[n++] = *extra++;
    argv[n] = NULL;
    int rc = pty_host_start(h, argv);
    CHECK(rc == 0);
    return rc;
}

/* Stops it; every message must have been written whole. */
static int stop(pty_host *h) {
    CHECK(h->write_failures == 0);
    return pty_host_stop(h);
}

static void test_session(void) {
    pty_host h;
    const char *args[] = {"--seed", "7", NULL};
    if (start(&h, args) != 0) return;
    fp_message m;
    uint16_t s = pty_host_send_simple(&h, FP_MSG_HELLO);
    CHECK(pty_host_recv(&h, s, 1.0, &m, NULL));
    CHECK(m.type == FP_MSG_CAPABILITIES);
    CHECK(m.u.capabilities.motor_count == 1);
    CHECK(m.u.capabilities.counts_per_rev[0] == 4096);
    CHECK(m.u.capabilities.torque_max_mnm[0] == 2000);
    CHECK(m.u.capabilities.control_rate_hz == 1000);

    s = pty_host_send_configure(&h, FP_MODE_TORQUE, 100, 2000);
    CHECK(pty_host_recv(&h, s, 1.0, &m, NULL) && m.type == FP_MSG_ACK);

    /* 200 Hz for one second: every COMMAND answered by its STATE; the pendulum moves. */
    int replies = 0, motors_on = 0;
    int32_t first = 0, last = 0;
    double t0 = pty_host_now(), last_command = t0;
    for (int k = 0; k < 200; k++) {
        pty_host_sleep_until(t0 + k * 0.005);
        s = pty_host_send_command(&h, k < 100 ? 2000 : -2000);
        last_command = pty_host_now();
        if (pty_host_recv(&h, s, 0.1, &m, NULL) && m.type == FP_MSG_STATE) {
            replies++;
            if (replies == 1) first = m.u.state.position[0];
            last = m.u.state.position[0];
            motors_on += (m.u.state.status & FP_STATUS_MOTORS_ON) != 0;
            CHECK(m.u.state.faults == 0);
        }
    }
    CHECK(replies == 200);
    CHECK(motors_on >= 195);
    CHECK(last != first);
    printf("emulator: 200 commands at 200 Hz, %d states, position %d -> %d counts\n", replies, first, last);

    /* Silence: the watchdog turns the motors off ~100 ms after the last command. */
    double tripped = -1;
    while (pty_host_now() - last_command < 1.0) {
        s = pty_host_send_simple(&h, FP_MSG_STATE_REQUEST);
        if (pty_host_recv(&h, s, 0.1, &m, NULL) && (m.u.state.faults & FP_FAULT_WATCHDOG)) {
            tripped = pty_host_now() - last_command;
            CHECK(!(m.u.state.status & FP_STATUS_MOTORS_ON));
            break;
        }
        pty_host_sleep_until(pty_host_now() + 0.002);
    }
    printf("emulator: watchdog fault seen %.1f ms after the last command (period 100 ms)\n", tripped * 1e3);
    CHECK(tripped >= 0.095 && tripped < 0.250);
    /* Latched: a command is ignored, the fault stays, the motor current decays to zero. */
    s = pty_host_send_command(&h, 2000);
    CHECK(pty_host_recv(&h, s, 0.1, &m, NULL) && m.u.state.faults == FP_FAULT_WATCHDOG);
    pty_host_sleep_until(pty_host_now() + 0.05);
    s = pty_host_send_simple(&h, FP_MSG_STATE_REQUEST);
    CHECK(pty_host_recv(&h, s, 0.1, &m, NULL));
    CHECK(m.u.state.faults == FP_FAULT_WATCHDOG);
    CHECK(!(m.u.state.status & FP_STATUS_MOTORS_ON));
    CHECK(m.u.state.current_ma[0] > -100 && m.u.state.current_ma[0] < 100);
    s = pty_host_send_simple(&h, FP_MSG_CLEAR_FAULT);
    CHECK(pty_host_recv(&h, s, 0.1, &m, NULL) && m.type == FP_MSG_ACK);
    s = pty_host_send_command(&h, 500);
    CHECK(pty_host_recv(&h, s, 0.1, &m, NULL) && m.u.state.faults == 0);
    /* E-stop. */
    s = pty_host_send_simple(&h, FP_MSG_ESTOP);
    CHECK(pty_host_recv(&h, s, 0.1, &m, NULL) && m.type == FP_MSG_ACK);
    s = pty_host_send_simple(&h, FP_MSG_STATE_REQUEST);
    CHECK(pty_host_recv(&h, s, 0.1, &m, NULL) && (m.u.state.faults & FP_FAULT_ESTOP));
    CHECK(stop(&h) == 0);
}

static void test_motor_fault(void) {
    pty_host h;
    const char *args[] = {"--motor-fault-at", "0.4", "--motor-fault-for", "0.4", NULL};
    if (start(&h, args) != 0) return;
    double t0 = pty_host_now();
    fp_message m;
    uint16_t s = pty_host_send_configure(&h, FP_MODE_TORQUE, 100, 2000);
    CHECK(pty_host_recv(&h, s, 1.0, &m, NULL) && m.type == FP_MSG_ACK);
    double seen = -1;
    for (int k = 0; k < 200 && seen < 0; k++) {
        pty_host_sleep_until(t0 + k * 0.005);
        s = pty_host_send_command(&h, 300);
        if (pty_host_recv(&h, s, 0.1, &m, NULL) && (m.u.state.faults & FP_FAULT_MOTOR)) seen = pty_host_now() - t0;
    }
    printf("emulator: motor fault (at 0.4 s) seen at %.3f s\n", seen);
    CHECK(seen > 0.35 && seen < 0.6);
    s = pty_host_send_simple(&h, FP_MSG_CLEAR_FAULT); /* still asserted until 0.8 s */
    CHECK(pty_host_recv(&h, s, 0.1, &m, NULL) && m.type == FP_MSG_NACK && m.u.reply.error == FP_ERR_FAULT_ACTIVE);
    pty_host_sleep_until(t0 + 0.9);
    s = pty_host_send_simple(&h, FP_MSG_CLEAR_FAULT);
    CHECK(pty_host_recv(&h, s, 0.1, &m, NULL) && m.type == FP_MSG_ACK);
    CHECK(stop(&h) == 0);
}

static void test_noisy_link(void) {
    pty_host h;
    const char *args[] = {"--drop", "0.002", "--corrupt", "0.002", "--seed", "3", NULL};
    if (start(&h, args) != 0) return;
    fp_message m;
    int bad = 0, replies = 0;
    uint16_t s = pty_host_send_configure(&h, FP_MODE_TORQUE, 1000, 2000);
    for (int tries = 0; tries < 10 && !pty_host_recv(&h, s, 0.05, &m, &bad); tries++)
        s = pty_host_send_configure(&h, FP_MODE_TORQUE, 1000, 2000);
    double t0 = pty_host_now();
    for (int k = 0; k < 300; k++) {
        pty_host_sleep_until(t0 + k * 0.005);
        s = pty_host_send_command(&h, 100);
        if (pty_host_recv(&h, s, 0.004, &m, &bad)) {
            replies++;
            CHECK(m.type == FP_MSG_STATE);
        }
        uint8_t zero = 0; /* resynchronise after a lost reply, as a host should */
        CHECK(write(h.fd, &zero, 1) == 1);
    }
    printf("emulator: 0.2 %% drop + 0.2 %% corruption: %d of 300 commands answered, %d bad frames\n", replies, bad);
    CHECK(replies > 240 && replies < 300); /* ~35 bytes per exchange: ~13 %% of exchanges hit */
    CHECK(bad == 0);                       /* CRC-32C: nothing corrupted gets through */
    CHECK(stop(&h) == 0);
}

static void test_stall_and_latency(void) {
    pty_host h;
    const char *args[] = {"--stall-at", "0.5", "--stall-for", "0.3", NULL};
    if (start(&h, args) != 0) return;
    fp_message m;
    double t0 = pty_host_now();
    uint16_t s = pty_host_send_configure(&h, FP_MODE_TORQUE, 100, 2000);
    CHECK(pty_host_recv(&h, s, 1.0, &m, NULL) && m.type == FP_MSG_ACK);
    int during = 0, before = 0, after = 0, fault_after = 0;
    for (int k = 0; k < 240; k++) {
        pty_host_sleep_until(t0 + k * 0.005);
        double t = pty_host_now() - t0;
        s = pty_host_send_command(&h, 100);
        int got = pty_host_recv(&h, s, 0.004, &m, NULL);
        if (t < 0.45) before += got;
        if (t > 0.55 && t < 0.75) during += got;
        if (t > 0.85) {
            after += got;
            if (got && (m.u.state.faults & FP_FAULT_WATCHDOG)) fault_after++;
        }
    }
    printf("emulator: stall 0.5..0.8 s: answered %d before, %d during, %d after (%d with the watchdog fault)\n",
           before, during, after, fault_after);
    CHECK(before > 70);
    CHECK(during == 0);
    CHECK(after > 20 && fault_after == after);
    CHECK(stop(&h) == 0);

    const char *lat[] = {"--latency-ms", "20", NULL};
    if (start(&h, lat) != 0) return;
    double t = pty_host_now();
    s = pty_host_send_simple(&h, FP_MSG_HELLO);
    CHECK(pty_host_recv(&h, s, 1.0, &m, NULL));
    double rtt = pty_host_now() - t;
    printf("emulator: --latency-ms 20: round trip %.1f ms\n", rtt * 1e3);
    CHECK(rtt >= 0.040 && rtt < 0.2);
    CHECK(stop(&h) == 0);
}

/* Sends a COMMAND with one setpoint per motor. */
static uint16_t send_command_n(pty_host *h, const int32_t *setpoints, uint8_t count) {
    fp_message m;
    memset(&m, 0, sizeof m);
    m.type = FP_MSG_COMMAND;
    m.u.command.count = count;
    for (uint8_t i = 0; i < count; i++) m.u.command.setpoint[i] = setpoints[i];
    return pty_host_send(h, &m);
}

/* Runs the emulator with `extra` arguments to its exit; its exit code (stderr silenced). */
static int exit_code(const char *const *extra) {
    pid_t pid = fork();
    if (pid == 0) {
        const char *argv[16];
        int n = 0;
        argv[n++] = emulator_path;
        while (*extra && n < 15) argv[n++] = *extra++;
        argv[n] = NULL;
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        execv(emulator_path, (char *const *)argv);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* --task chain: the default acrobot (passive shoulder, 1 N*m elbow) as 2 axes; STATE carries
 * both; the elbow's torque swings both links; a 3-joint chain with a prismatic base. */
static void test_chain(void) {
    pty_host h;
    const char *args[] = {"--task", "chain", "--param", "joints=2", "--param", "j1.backlash=0.01", "--seed", "4", NULL};
    if (start(&h, args) != 0) return;
    fp_message m;
    uint16_t s = pty_host_send_simple(&h, FP_MSG_HELLO);
    CHECK(pty_host_recv(&h, s, 1.0, &m, NULL) && m.type == FP_MSG_CAPABILITIES);
    CHECK(m.u.capabilities.motor_count == 2);
    CHECK(m.u.capabilities.counts_per_rev[0] == 4096 && m.u.capabilities.counts_per_rev[1] == 4096);
    CHECK(m.u.capabilities.torque_max_mnm[0] == 0);    /* the passive shoulder */
    CHECK(m.u.capabilities.torque_max_mnm[1] == 1000); /* the elbow motor */
    s = pty_host_send_configure(&h, FP_MODE_TORQUE, 100, 1000);
    CHECK(pty_host_recv(&h, s, 1.0, &m, NULL) && m.type == FP_MSG_ACK);
    /* A one-setpoint COMMAND does not fit two motors: refused. */
    s = pty_host_send_command(&h, 100);
    CHECK(pty_host_recv(&h, s, 0.1, &m, NULL) && m.type == FP_MSG_NACK && m.u.reply.error == FP_ERR_MOTOR_COUNT);
    int replies = 0, two_axes = 0, shoulder_current = 0, elbow_current = 0;
    int32_t first[2] = {0, 0}, last[2] = {0, 0};
    double t0 = pty_host_now();
    for (int k = 0; k < 200; k++) {
        pty_host_sleep_until(t0 + k * 0.005);
        int32_t sp[2] = {800, 1000}; /* the shoulder's setpoint is ignored */
        s = send_command_n(&h, sp, 2);
        if (pty_host_recv(&h, s, 0.1, &m, NULL) && m.type == FP_MSG_STATE) {
            replies++;
            two_axes += m.u.state.count == 2;
            if (replies == 1) memcpy(first, m.u.state.position, sizeof first);
            memcpy(last, m.u.state.position, sizeof last);
            shoulder_current += m.u.state.current_ma[0] != 0;
            elbow_current += m.u.state.current_ma[1] > 1000 || m.u.state.current_ma[1] < -1000;
            CHECK(m.u.state.faults == 0);
        }
    }
    printf("emulator --task chain: %d states (%d with 2 axes), shoulder %d -> %d, elbow %d -> %d counts, "
           "elbow current above 1 A in %d\n",
           replies, two_axes, first[0], last[0], first[1], last[1], elbow_current);
    CHECK(replies == 200 && two_axes == 200);
    CHECK(last[1] - first[1] > 40); /* 1 N*m on the elbow bends it (~0.2 rad: ~130 counts) */
    CHECK(last[0] != first[0]);                                 /* and, by reaction, the shoulder */
    CHECK(shoulder_current == 0);
    CHECK(elbow_current > 150);
    CHECK(stop(&h) == 0);

    const char *three[] = {"--task", "chain", "--param", "joints=3", "--param", "j0.type=1", "--param",
                           "j0.counts_per_rev=20000", "--param", "j0.actuated=1", "--param", "j0.max_effort=5",
                           "--param", "j0.offset=0", NULL};
    if (start(&h, three) != 0) return;
    s = pty_host_send_simple(&h, FP_MSG_HELLO);
    CHECK(pty_host_recv(&h, s, 1.0, &m, NULL) && m.type == FP_MSG_CAPABILITIES);
    CHECK(m.u.capabilities.motor_count == 3);
    CHECK(m.u.capabilities.counts_per_rev[0] == 20000 && m.u.capabilities.counts_per_rev[2] == 4096);
    CHECK(m.u.capabilities.torque_max_mnm[0] == 5000 && m.u.capabilities.torque_max_mnm[1] == 1000 &&
          m.u.capabilities.torque_max_mnm[2] == 0);
    CHECK(stop(&h) == 0);

    /* Bad chain options: one line, exit 2, before any pty. */
    const char *kind[] = {"--task", "chain", "--param", "cart_mass=2", NULL};
    const char *play[] = {"--task", "chain", "--param", "j0.backlash=0.1", NULL};
    const char *many[] = {"--task", "chain", "--param", "joints=9", NULL};
    const char *task[] = {"--task", "arm", NULL};
    CHECK(exit_code(kind) == 2);
    CHECK(exit_code(play) == 2);
    CHECK(exit_code(many) == 2);
    CHECK(exit_code(task) == 2);
}

static void test_parent_death(void) {
    int p[2];
    CHECK(pipe(p) == 0);
    pid_t mid = fork();
    if (mid == 0) {
        /* An intermediate parent that starts the emulator and exits at once. */
        pid_t emu = fork();
        if (emu == 0) {
            int devnull = open("/dev/null", O_WRONLY);
            dup2(devnull, 1);
            execl(emulator_path, emulator_path, (char *)NULL);
            _exit(127);
        }
        CHECK(write(p[1], &emu, sizeof emu) == (ssize_t)sizeof emu);
        struct timespec life = {0, 300000000}; /* let the emulator start and see its parent */
        nanosleep(&life, NULL);
        _exit(0);
    }
    pid_t emu = 0;
    CHECK(read(p[0], &emu, sizeof emu) == (ssize_t)sizeof emu);
    waitpid(mid, NULL, 0);
    close(p[0]);
    close(p[1]);
    /* Gone (or a zombie of whoever adopted it) within a second. */
    int alive = 1;
    for (int i = 0; i < 100 && alive; i++) {
        char path[64], state = 0;
        snprintf(path, sizeof path, "/proc/%d/stat", (int)emu);
        FILE *f = fopen(path, "r");
        if (!f) {
            alive = 0;
            break;
        }
        if (fscanf(f, "%*d (%*[^)]) %c", &state) == 1 && state == 'Z') alive = 0;
        fclose(f);
        if (alive) pty_host_sleep_until(pty_host_now() + 0.01);
    }
    CHECK(!alive);
    if (alive) kill(emu, SIGKILL);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s PATH_TO_ROBOT_EMULATOR\n", argv[0]);
        return 2;
    }
    emulator_path = argv[1];
    signal(SIGPIPE, SIG_IGN);
    test_session();
    test_motor_fault();
    test_noisy_link();
    test_stall_and_latency();
    test_chain();
    test_parent_death();
    printf("emulator tests: %d checks, %d failures\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
