// See include/CHardwareShims.h for why each shim exists.
#define _GNU_SOURCE
#include "CHardwareShims.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static int64_t hwshim_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int hwshim_poll_ns(int fd, short events, int64_t timeout_ns) {
    struct pollfd pfd = {.fd = fd, .events = events, .revents = 0};
    int64_t deadline = timeout_ns < 0 ? -1 : hwshim_now_ns() + timeout_ns;
    for (;;) {
        struct timespec ts, *tsp = NULL;
        if (deadline >= 0) {
            int64_t left = deadline - hwshim_now_ns();
            if (left < 0) left = 0;
            ts.tv_sec = (time_t)(left / 1000000000);
            ts.tv_nsec = (long)(left % 1000000000);
            tsp = &ts;
        }
        int r = ppoll(&pfd, 1, tsp, NULL);
        if (r > 0) return pfd.revents;
        if (r == 0) return 0;
        if (errno != EINTR) return -errno;
    }
}

int hwshim_open_pty(char *name, size_t capacity) {
    int fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) return -errno;
    if (grantpt(fd) != 0 || unlockpt(fd) != 0 || ptsname_r(fd, name, capacity) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

static int hwshim_saved_fd = -1;
static struct termios hwshim_saved_termios;
static const int hwshim_guarded_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
static struct sigaction hwshim_previous_actions[4];

static void hwshim_restore_and_reraise(int signo) {
    if (hwshim_saved_fd >= 0) tcsetattr(hwshim_saved_fd, TCSAFLUSH, &hwshim_saved_termios);
    signal(signo, SIG_DFL);
    raise(signo);
}

static void hwshim_terminal_atexit(void) { (void)hwshim_terminal_restore(); }

int hwshim_terminal_save_and_guard(int fd) {
    static int atexit_registered = 0;
    if (tcgetattr(fd, &hwshim_saved_termios) != 0) return -errno;
    if (!atexit_registered) atexit_registered = atexit(hwshim_terminal_atexit) == 0;
    hwshim_saved_fd = fd;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = hwshim_restore_and_reraise;
    sigemptyset(&action.sa_mask);
    for (int i = 0; i < 4; i++) sigaction(hwshim_guarded_signals[i], &action, &hwshim_previous_actions[i]);
    return 0;
}

int hwshim_terminal_restore(void) {
    if (hwshim_saved_fd < 0) return 0;
    int result = 0;
    if (tcsetattr(hwshim_saved_fd, TCSAFLUSH, &hwshim_saved_termios) != 0) result = -errno;
    for (int i = 0; i < 4; i++) sigaction(hwshim_guarded_signals[i], &hwshim_previous_actions[i], NULL);
    hwshim_saved_fd = -1;
    return result;
}
