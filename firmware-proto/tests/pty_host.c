/* See pty_host.h. */
#define _GNU_SOURCE
#include "pty_host.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

double pty_host_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void pty_host_sleep_until(double t) {
    double d = t - pty_host_now();
    if (d <= 0) return;
    struct timespec ts = {(time_t)d, (long)((d - (double)(time_t)d) * 1e9)};
    nanosleep(&ts, NULL);
}

int pty_host_start(pty_host *h, const char *const *argv) {
    memset(h, 0, sizeof *h);
    h->fd = -1;
    int out[2];
    if (pipe(out) != 0) return -1;
    h->pid = fork();
    if (h->pid < 0) return -1;
    if (h->pid == 0) {
        dup2(out[1], 1);
        close(out[0]);
        close(out[1]);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(out[1]);
    char line[256];
    size_t len = 0;
    while (len + 1 < sizeof line) {
        ssize_t r = read(out[0], line + len, 1);
        if (r <= 0 || line[len] == '\n') break;
        len++;
    }
    line[len] = 0;
    close(out[0]);
    const char *prefix = "robot-emulator: pty /dev/";
    if (strncmp(line, prefix, strlen(prefix)) != 0) {
        fprintf(stderr, "%s: first line was '%s', not '%s...'\n", argv[0], line, prefix);
        return -1;
    }
    const char *path = line + strlen("robot-emulator: pty ");
    h->fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK);
    if (h->fd < 0) {
        fprintf(stderr, "%s: cannot open %s\n", argv[0], path);
        return -1;
    }
    struct termios t;
    tcgetattr(h->fd, &t);
    cfmakeraw(&t);
    tcsetattr(h->fd, TCSANOW, &t);
    tcflush(h->fd, TCIOFLUSH);
    fp_receiver_init(&h->rx);
    uint8_t zero = 0;
    if (write(h->fd, &zero, 1) != 1) h->write_failures++;
    return 0;
}

int pty_host_stop(pty_host *h) {
    if (h->fd >= 0) close(h->fd);
    h->fd = -1;
    kill(h->pid, SIGTERM);
    int status = 0;
    waitpid(h->pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

uint16_t pty_host_send(pty_host *h, fp_message *m) {
    uint8_t wire[FP_MAX_WIRE];
    m->seq = h->seq++;
    size_t n = fp_message_encode(m, wire, sizeof wire);
    if (n == 0 || write(h->fd, wire, n) != (ssize_t)n) h->write_failures++;
    return m->seq;
}

uint16_t pty_host_send_simple(pty_host *h, uint8_t type) {
    fp_message m;
    memset(&m, 0, sizeof m);
    m.type = type;
    return pty_host_send(h, &m);
}

uint16_t pty_host_send_configure(pty_host *h, uint8_t mode, uint16_t watchdog_ms, int32_t torque_limit) {
    fp_message m;
    memset(&m, 0, sizeof m);
    m.type = FP_MSG_CONFIGURE;
    m.u.configure = (fp_configure_msg){mode, watchdog_ms, torque_limit, 0};
    return pty_host_send(h, &m);
}

uint16_t pty_host_send_command(pty_host *h, int32_t setpoint) {
    fp_message m;
    memset(&m, 0, sizeof m);
    m.type = FP_MSG_COMMAND;
    m.u.command.count = 1;
    m.u.command.setpoint[0] = setpoint;
    return pty_host_send(h, &m);
}

int pty_host_recv(pty_host *h, uint16_t echo, double timeout_s, fp_message *m, int *bad) {
    double end = pty_host_now() + timeout_s;
    for (;;) {
        uint8_t buf[256];
        ssize_t n = read(h->fd, buf, sizeof buf);
        for (ssize_t i = 0; i < n; i++) {
            fp_frame f;
            if (fp_receiver_feed(&h->rx, buf[i], &f) != FP_RX_FRAME) continue;
            if (fp_message_parse(&f, m) != FP_PARSE_OK) {
                if (bad) (*bad)++;
                continue;
            }
            /* Request/reply strictly: there is never more than one reply outstanding, so
             * the rest of this read holds nothing the next call needs. */
            if (m->echo_seq == echo) return 1;
        }
        double left = end - pty_host_now();
        if (left <= 0) return 0;
        if (n <= 0) {
            struct pollfd p = {h->fd, POLLIN, 0};
            int ms = (int)(left * 1000) + 1;
            poll(&p, 1, ms > 5 ? 5 : ms);
        }
    }
}
