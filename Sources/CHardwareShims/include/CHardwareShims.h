// CHardwareShims: the few calls Swift cannot make directly, for the Hardware module only.
// Every symbol carries the `hwshim_` prefix. Why each one exists:
//  - hwshim_poll_ns: ppoll() is only declared under _GNU_SOURCE, which Swift's Glibc module
//    does not define; poll() has millisecond granularity, too coarse for a 5 ms tick.
//  - hwshim_open_pty: posix_openpt/grantpt/unlockpt/ptsname_r need _XOPEN_SOURCE/_GNU_SOURCE.
//  - hwshim_terminal_*: restoring a terminal from a signal handler needs async-signal-safe
//    C state (a saved struct termios and sigaction), which Swift cannot express safely.
#ifndef CHARDWARESHIMS_H
#define CHARDWARESHIMS_H

#include <stddef.h>
#include <stdint.h>

/// Waits until `fd` has one of `events` (poll flags) or `timeout_ns` nanoseconds passed
/// (negative: wait forever). Retries EINTR with the remaining time. Returns the revents
/// (> 0), 0 on timeout, or -errno. Does not allocate.
int hwshim_poll_ns(int fd, short events, int64_t timeout_ns);

/// Opens a new pseudo-terminal master (O_RDWR | O_NOCTTY | O_CLOEXEC), grants and unlocks
/// its slave and writes the slave path into `name` (capacity `capacity`). Returns the
/// master fd or -errno.
int hwshim_open_pty(char *name, size_t capacity);

/// Saves the current termios of `fd` and installs handlers for SIGINT, SIGTERM, SIGHUP and
/// SIGQUIT that restore it before the default action runs, and restores it at exit(). Returns 0 or -errno.
/// One terminal at a time per process.
int hwshim_terminal_save_and_guard(int fd);

/// Restores the termios saved by hwshim_terminal_save_and_guard and removes the handlers.
/// Safe to call more than once. Returns 0 or -errno.
int hwshim_terminal_restore(void);

#endif
