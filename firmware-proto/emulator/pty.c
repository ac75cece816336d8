#define _GNU_SOURCE /* posix_openpt, ptsname_r, cfmakeraw */
#include "pty.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static int emu_raw(int fd) {
    struct termios t;
    if (tcgetattr(fd, &t) != 0) return -1;
    cfmakeraw(&t);
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    return tcsetattr(fd, TCSANOW, &t);
}

int emu_pty_open(emu_pty *p) {
    p->master = p->slave = -1;
    p->master = posix_openpt(O_RDWR | O_NOCTTY);
    if (p->master < 0) {
        fprintf(stderr, "robot-emulator: posix_openpt failed: %s (is /dev/ptmx available?)\n", strerror(errno));
        return -1;
    }
    if (grantpt(p->master) != 0 || unlockpt(p->master) != 0) {
        fprintf(stderr, "robot-emulator: grantpt/unlockpt failed: %s\n", strerror(errno));
        emu_pty_close(p);
        return -1;
    }
    if (ptsname_r(p->master, p->path, sizeof p->path) != 0) {
        fprintf(stderr, "robot-emulator: ptsname_r failed: %s\n", strerror(errno));
        emu_pty_close(p);
        return -1;
    }
    p->slave = open(p->path, O_RDWR | O_NOCTTY);
    if (p->slave < 0) {
        fprintf(stderr, "robot-emulator: open %s failed: %s\n", p->path, strerror(errno));
        emu_pty_close(p);
        return -1;
    }
    if (emu_raw(p->slave) != 0 || emu_raw(p->master) != 0) {
        fprintf(stderr, "robot-emulator: setting raw mode on %s failed: %s\n", p->path, strerror(errno));
        emu_pty_close(p);
        return -1;
    }
    int flags = fcntl(p->master, F_GETFL);
    if (flags < 0 || fcntl(p->master, F_SETFL, flags | O_NONBLOCK) != 0) {
        fprintf(stderr, "robot-emulator: fcntl O_NONBLOCK failed: %s\n", strerror(errno));
        emu_pty_close(p);
        return -1;
    }
    return 0;
}

void emu_pty_close(emu_pty *p) {
    if (p->slave >= 0) close(p->slave);
    if (p->master >= 0) close(p->master);
    p->slave = p->master = -1;
}
