/* One direction of the emulated serial link: a byte queue that delays, drops and corrupts
 * bytes as the fault options ask. Fixed capacity, no heap. Single-threaded. */
#ifndef EMU_LINK_FAULTS_H
#define EMU_LINK_FAULTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EMU_LINK_CAPACITY 65536u

typedef struct {
    double drop_rate;     /* probability that a byte is lost */
    double corrupt_rate;  /* probability that a byte gets one random bit flipped */
    uint32_t latency_us;  /* every byte is released this long after it entered */
} emu_link_faults;

typedef struct {
    uint8_t byte[EMU_LINK_CAPACITY];
    uint64_t release_us[EMU_LINK_CAPACITY];
    size_t head, count;
    emu_link_faults faults;
    uint64_t rng;
    /* Statistics. */
    uint64_t bytes_in, bytes_out, dropped, corrupted, overflowed;
} emu_link;

void emu_link_init(emu_link *l, emu_link_faults faults, uint64_t seed);

/* Puts bytes that entered at `now_us`, applying drop and corruption. */
void emu_link_push(emu_link *l, const uint8_t *bytes, size_t n, uint64_t now_us);

/* Takes up to `cap` bytes whose release time has come. */
size_t emu_link_pop(emu_link *l, uint8_t *out, size_t cap, uint64_t now_us);

/* Puts back `n` bytes popped last (a write that did not go through), in order. */
void emu_link_unpop(emu_link *l, size_t n);

/* Release time of the oldest byte, or UINT64_MAX when empty. */
uint64_t emu_link_next_release(const emu_link *l);

#endif
