#include "link_faults.h"

/* splitmix64: one generator per direction, seeded from --seed. */
static uint64_t emu_next(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1). The emulator (not the firmware core) uses floating point freely. */
static double emu_uniform(uint64_t *s) { return (double)(emu_next(s) >> 11) * (1.0 / 9007199254740992.0); }

void emu_link_init(emu_link *l, emu_link_faults faults, uint64_t seed) {
    l->head = 0;
    l->count = 0;
    l->faults = faults;
    l->rng = seed;
    l->bytes_in = l->bytes_out = l->dropped = l->corrupted = l->overflowed = 0;
}

void emu_link_push(emu_link *l, const uint8_t *bytes, size_t n, uint64_t now_us) {
    for (size_t i = 0; i < n; i++) {
        uint8_t b = bytes[i];
        l->bytes_in++;
        if (l->faults.drop_rate > 0 && emu_uniform(&l->rng) < l->faults.drop_rate) {
            l->dropped++;
            continue;
        }
        if (l->faults.corrupt_rate > 0 && emu_uniform(&l->rng) < l->faults.corrupt_rate) {
            b ^= (uint8_t)(1u << (emu_next(&l->rng) % 8));
            l->corrupted++;
        }
        if (l->count == EMU_LINK_CAPACITY) {
            l->overflowed++;
            continue;
        }
        size_t at = (l->head + l->count) % EMU_LINK_CAPACITY;
        l->byte[at] = b;
        l->release_us[at] = now_us + l->faults.latency_us;
        l->count++;
    }
}

size_t emu_link_pop(emu_link *l, uint8_t *out, size_t cap, uint64_t now_us) {
    size_t n = 0;
    while (n < cap && l->count > 0 && l->release_us[l->head] <= now_us) {
        out[n++] = l->byte[l->head];
        l->head = (l->head + 1) % EMU_LINK_CAPACITY;
        l->count--;
    }
    l->bytes_out += n;
    return n;
}

void emu_link_unpop(emu_link *l, size_t n) {
    /* The popped bytes are still in the array just before head. */
    l->head = (l->head + EMU_LINK_CAPACITY - n) % EMU_LINK_CAPACITY;
    l->count += n;
    l->bytes_out -= n;
}

uint64_t emu_link_next_release(const emu_link *l) {
    return l->count > 0 ? l->release_us[l->head] : UINT64_MAX;
}
