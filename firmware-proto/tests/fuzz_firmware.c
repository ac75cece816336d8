/* libFuzzer target: the firmware core fed arbitrary input through a fake HAL.
 *   make -C firmware-proto fuzz FUZZ_SECONDS=60
 * Input byte 0 picks the mode: even = the rest is a raw byte stream for the receiver (COBS,
 * CRC, resync); odd = the rest is a list of [len][version][type][body...] records that are
 * framed with a valid CRC, so the fuzzer reaches the message handling, modes and limits.
 * Between chunks the clock advances and the firmware ticks. Invariant checked after every
 * tick: with a fault latched or in idle mode, every torque output is 0 and the drivers are
 * disabled; a torque is never beyond the motor's peak. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fp_firmware.h"

typedef struct {
    const uint8_t *in;
    size_t in_len, in_pos;
    uint32_t now_us;
    int32_t encoder[FP_MAX_MOTORS];
    int32_t torque[FP_MAX_MOTORS];
    bool enabled, fault;
} fz_hw;

static size_t fz_read(void *c, uint8_t *b, size_t cap) {
    fz_hw *h = c;
    size_t n = h->in_len - h->in_pos;
    if (n > cap) n = cap;
    memcpy(b, h->in + h->in_pos, n);
    h->in_pos += n;
    return n;
}
static bool fz_write(void *c, const uint8_t *b, size_t n) {
    (void)c;
    (void)b;
    return n <= FP_MAX_WIRE;
}
static uint32_t fz_clock(void *c) { return ((fz_hw *)c)->now_us; }
static int32_t fz_enc(void *c, uint8_t m) { return ((fz_hw *)c)->encoder[m]; }
static int32_t fz_cur(void *c, uint8_t m) { return ((fz_hw *)c)->encoder[m] * 7; }
static void fz_torque(void *c, uint8_t m, int32_t t) { ((fz_hw *)c)->torque[m] = t; }
static void fz_enable(void *c, bool on) { ((fz_hw *)c)->enabled = on; }
static bool fz_fault(void *c) { return ((fz_hw *)c)->fault; }

static void fz_check(const fp_firmware *fw, const fz_hw *h) {
    for (uint8_t i = 0; i < fw->board.motor_count; i++) {
        if (h->torque[i] > fw->board.torque_max_mnm[i] || h->torque[i] < -fw->board.torque_max_mnm[i])
            __builtin_trap();
        if ((fw->faults != 0 || fw->mode == FP_MODE_IDLE) && (h->torque[i] != 0 || h->enabled)) __builtin_trap();
    }
}

static void fz_feed(fp_firmware *fw, fz_hw *h, const uint8_t *bytes, size_t n, uint8_t step) {
    h->in = bytes;
    h->in_len = n;
    h->in_pos = 0;
    while (h->in_pos < h->in_len) fp_firmware_poll(fw);
    h->now_us += 1000u * (step & 0x7Fu); /* up to 127 ms: crosses watchdog periods */
    h->encoder[0] += (int8_t)step;
    h->encoder[1] -= (int8_t)step * 3;
    h->fault = (step & 0x3Fu) == 0x3Fu;
    fp_firmware_tick(fw);
    fz_check(fw, h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static fp_firmware fw;
    fz_hw h;
    memset(&h, 0, sizeof h);
    fp_hal hal = {&h, fz_read, fz_write, fz_clock, fz_enc, fz_cur, fz_torque, fz_enable, fz_fault};
    fp_board board = {.motor_count = 2, .control_rate_hz = 1000};
    board.counts_per_rev[0] = board.counts_per_rev[1] = 4096;
    board.torque_max_mnm[0] = 2000;
    board.torque_max_mnm[1] = 0;
    fp_firmware_init(&fw, &hal, &board);
    if (size == 0) return 0;
    const uint8_t *p = data + 1;
    size_t left = size - 1;
    if ((data[0] & 1) == 0) {
        while (left > 0) {
            size_t chunk = left < 32 ? left : 32;
            fz_feed(&fw, &h, p, chunk, p[0]);
            p += chunk;
            left -= chunk;
        }
        return 0;
    }
    while (left >= 3) {
        size_t len = p[0];
        if (len > left - 3) len = left - 3;
        uint8_t wire[FP_MAX_WIRE];
        size_t n = fp_frame_encode(p[1], p[2], (uint16_t)left, p + 3, len, wire, sizeof wire);
        fz_feed(&fw, &h, wire, n, p[0]);
        p += 3 + len;
        left -= 3 + len;
    }
    return 0;
}
