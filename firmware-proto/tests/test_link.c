/* CRC-32C, COBS and the receiver, checked against properties (round trips, resync). */
#include <string.h>

#include "fp_crc32c.h"
#include "fp_link.h"
#include "test.h"

static void test_crc(void) {
    const uint8_t check[] = "123456789";
    CHECK_EQ(fp_crc32c(check, 9), 0xE3069283u);
    uint32_t s = fp_crc32c_begin();
    s = fp_crc32c_update(s, check, 4);
    s = fp_crc32c_update(s, check + 4, 5);
    CHECK_EQ(fp_crc32c_end(s), 0xE3069283u);
}

static void test_cobs_round_trip(void) {
    fp_rng rng = {0x9E3779B97F4A7C15ull};
    uint8_t data[600], enc[700], dec[700];
    for (int iter = 0; iter < 20000; iter++) {
        size_t len = fp_rng_below(&rng, 600);
        unsigned zero_odds = 1 + fp_rng_below(&rng, 300); /* from mostly zeros to almost none */
        for (size_t i = 0; i < len; i++)
            data[i] = fp_rng_below(&rng, zero_odds) == 0 ? 0 : (uint8_t)(1 + fp_rng_below(&rng, 255));
        size_t n = fp_cobs_encode(data, len, enc, sizeof enc);
        CHECK(n > 0 && n <= FP_COBS_MAX_ENCODED(len));
        CHECK(memchr(enc, 0, n) == NULL);
        long m = fp_cobs_decode(enc, n, dec, sizeof dec);
        CHECK_EQ(m, (long)len);
        if (m == (long)len) CHECK(memcmp(dec, data, len) == 0);
        /* Too small an output buffer is refused, never overrun. */
        if (n > 1) CHECK_EQ(fp_cobs_encode(data, len, enc, n - 1), 0);
    }
}

static void test_frame_round_trip(void) {
    uint8_t body[FP_MAX_BODY], wire[FP_MAX_WIRE];
    fp_rng rng = {12345};
    for (int iter = 0; iter < 5000; iter++) {
        size_t len = fp_rng_below(&rng, FP_MAX_BODY + 1);
        for (size_t i = 0; i < len; i++) body[i] = (uint8_t)fp_rng_below(&rng, 4) == 0 ? 0 : (uint8_t)fp_rng_next(&rng);
        uint16_t seq = (uint16_t)fp_rng_next(&rng);
        size_t n = fp_frame_encode(1, 0x42, seq, body, len, wire, sizeof wire);
        CHECK(n > 0 && n <= FP_MAX_WIRE);
        fp_receiver r;
        fp_receiver_init(&r);
        int frames = 0;
        for (size_t i = 0; i < n; i++) {
            fp_frame f;
            fp_rx_result res = fp_receiver_feed(&r, wire[i], &f);
            if (i + 1 < n) {
                CHECK_EQ(res, FP_RX_NONE);
            } else if (res == FP_RX_FRAME) {
                frames++;
                CHECK_EQ(f.version, 1);
                CHECK_EQ(f.type, 0x42);
                CHECK_EQ(f.seq, seq);
                CHECK_EQ(f.body_len, len);
                CHECK(memcmp(f.body, body, len) == 0);
            }
        }
        CHECK_EQ(frames, 1);
    }
    CHECK_EQ(fp_frame_encode(1, 1, 0, body, FP_MAX_BODY + 1, wire, sizeof wire), 0);
    CHECK_EQ(fp_frame_encode(1, 1, 0, body, 4, wire, 5), 0);
}

static void test_resync(void) {
    uint8_t wire[FP_MAX_WIRE];
    const uint8_t body[] = {1, 2, 3};
    size_t n = fp_frame_encode(1, 7, 99, body, sizeof body, wire, sizeof wire);
    fp_receiver r;
    fp_receiver_init(&r);
    fp_frame f;
    /* 1000 bytes of non-zero garbage: oversize once, then the next frame is received. */
    for (int i = 0; i < 1000; i++) CHECK_EQ(fp_receiver_feed(&r, (uint8_t)(1 + i % 255), &f), FP_RX_NONE);
    CHECK_EQ(fp_receiver_feed(&r, 0, &f), FP_RX_ERR_OVERSIZE);
    fp_rx_result last = FP_RX_NONE;
    for (size_t i = 0; i < n; i++) last = fp_receiver_feed(&r, wire[i], &f);
    CHECK_EQ(last, FP_RX_FRAME);
    CHECK_EQ(f.seq, 99);
}

void test_link(void) {
    test_crc();
    test_cobs_round_trip();
    test_frame_round_trip();
    test_resync();
}
