/* Unit tests of Sources/CHardwareShims (the calls Hardware cannot make from Swift), built
 * natively and for aarch64 (run under qemu-aarch64-static) by firmware-proto/cross-test/Makefile.
 *
 * What is checked: hwshim_open_pty gives a master whose slave path opens and carries bytes
 * both ways; hwshim_poll_ns reports readiness, times out after (not before) its timeout and
 * returns -errno for a bad descriptor; hwshim_terminal_save_and_guard / _restore put the saved
 * termios back, are safe to call twice, and a guarded SIGTERM restores the terminal before the
 * default action kills the process. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "CHardwareShims.h"

#include "../tests/check.h"

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Opens a pty pair through the shim; the slave in raw mode. Returns the master or -1. */
static int open_pair(int *slave, char *name, size_t cap) {
    int master = hwshim_open_pty(name, cap);
    CHECK(master >= 0);
    if (master < 0) return -1;
    *slave = open(name, O_RDWR | O_NOCTTY);
    CHECK(*slave >= 0);
    if (*slave < 0) return -1;
    struct termios t;
    CHECK(tcgetattr(*slave, &t) == 0);
    cfmakeraw(&t);
    CHECK(tcsetattr(*slave, TCSANOW, &t) == 0);
    return master;
}

static void test_pty_and_poll(void) {
    char name[64];
    int slave = -1;
    int master = open_pair(&slave, name, sizeof name);
    if (master < 0) return;
    CHECK(strncmp(name, "/dev/pts/", 9) == 0);
    CHECK((fcntl(master, F_GETFD) & FD_CLOEXEC) != 0);

    /* Nothing to read yet: a 20 ms timeout returns 0, not early. */
    int64_t t0 = now_ns();
    CHECK(hwshim_poll_ns(master, POLLIN, 20000000) == 0);
    CHECK(now_ns() - t0 >= 20000000);
    /* Zero timeout: an immediate answer. */
    CHECK(hwshim_poll_ns(master, POLLIN, 0) == 0);
    /* Writable at once. */
    CHECK((hwshim_poll_ns(master, POLLOUT, 1000000000) & POLLOUT) != 0);

    const char msg[] = "\x00\x01\x02hello\xff";
    CHECK(write(slave, msg, sizeof msg) == (ssize_t)sizeof msg);
    CHECK((hwshim_poll_ns(master, POLLIN, 2000000000) & POLLIN) != 0);
    char got[32] = {0};
    ssize_t n = 0;
    while (n < (ssize_t)sizeof msg && hwshim_poll_ns(master, POLLIN, 2000000000) > 0) {
        ssize_t r = read(master, got + n, sizeof got - (size_t)n);
        if (r <= 0) break;
        n += r;
    }
    CHECK(n == (ssize_t)sizeof msg && memcmp(got, msg, sizeof msg) == 0); /* raw: bytes intact */

    CHECK(write(master, "ok", 2) == 2);
    CHECK((hwshim_poll_ns(slave, POLLIN, -1) & POLLIN) != 0); /* negative: waits for ever */
    CHECK(read(slave, got, 2) == 2 && memcmp(got, "ok", 2) == 0);

    /* A closed descriptor: -EBADF or POLLNVAL, never a hang. */
    int dead = dup(master);
    close(dead);
    int rc = hwshim_poll_ns(dead, POLLIN, 1000000);
    CHECK(rc == -EBADF || (rc > 0 && (rc & POLLNVAL)));

    /* A name buffer too small: -errno, no fd leaked as a success. */
    char small[4];
    CHECK(hwshim_open_pty(small, sizeof small) == -ERANGE);
    close(slave);
    close(master);
}

static void test_terminal_restore(void) {
    char name[64];
    int slave = -1;
    int master = open_pair(&slave, name, sizeof name);
    if (master < 0) return;
    struct termios saved, changed, now;
    CHECK(tcgetattr(slave, &saved) == 0);
    CHECK(hwshim_terminal_save_and_guard(slave) == 0);
    changed = saved;
    changed.c_lflag |= ECHO | ICANON;
    cfsetospeed(&changed, B9600);
    CHECK(tcsetattr(slave, TCSANOW, &changed) == 0);
    CHECK(tcgetattr(slave, &now) == 0 && (now.c_lflag & ICANON));
    CHECK(hwshim_terminal_restore() == 0);
    CHECK(tcgetattr(slave, &now) == 0);
    CHECK(!(now.c_lflag & ICANON) && !(now.c_lflag & ECHO));
    CHECK(cfgetospeed(&now) == cfgetospeed(&saved));
    CHECK(hwshim_terminal_restore() == 0); /* twice: a no-op */
    CHECK(hwshim_terminal_save_and_guard(-1) == -EBADF);

    /* A child guards the terminal, changes it, and is killed by SIGTERM: the handler puts the
     * saved settings back, then the default action still ends the child by the signal. */
    pid_t child = fork();
    if (child == 0) {
        if (hwshim_terminal_save_and_guard(slave) != 0) _exit(3);
        if (tcsetattr(slave, TCSANOW, &changed) != 0) _exit(4);
        if (write(master, "r\n", 2) != 2) _exit(5); /* ready (a line: ICANON is on now) */
        for (;;) pause();
    }
    char ready[2] = {0};
    CHECK(hwshim_poll_ns(slave, POLLIN, 5000000000) > 0 && read(slave, ready, 2) == 2);
    CHECK(tcgetattr(slave, &now) == 0 && (now.c_lflag & ICANON)); /* the child's change */
    kill(child, SIGTERM);
    int status = 0;
    CHECK(waitpid(child, &status, 0) == child);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
    CHECK(tcgetattr(slave, &now) == 0 && !(now.c_lflag & ICANON)); /* restored by the handler */
    close(slave);
    close(master);
    printf("hwshims: pty pair, poll timeouts, terminal restore (direct and on SIGTERM)\n");
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    test_pty_and_poll();
    test_terminal_restore();
    printf("hwshims tests: %d checks, %d failures\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
