/* The emulator's end of a pseudo-terminal: the master, non-blocking, with the slave kept
 * open by the emulator too so that a host closing and reopening the port never hangs the
 * link up. Both sides are in raw mode (no echo, no line editing, 8 data bits). */
#ifndef EMU_PTY_H
#define EMU_PTY_H

#include <stddef.h>

typedef struct {
    int master;
    int slave; /* held open; never read */
    char path[128];
} emu_pty;

/* Opens the pair. Returns 0, or -1 with a message on stderr naming the failing call. */
int emu_pty_open(emu_pty *p);
void emu_pty_close(emu_pty *p);

#endif
