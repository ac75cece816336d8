/* Randomised stream test of the link layer: millions of random valid messages, half of them
 * mutated (bit flips, dropped, inserted and replaced bytes, bursts, truncation), with random
 * garbage between frames, fed byte by byte to one receiver. Checks that
 *   - no frame is ever delivered whose content differs from the original being sent
 *     (no corrupted frame accepted),
 *   - every intact frame that follows a delimiter is delivered (resync after garbage),
 * and, by running under AddressSanitizer/UBSan, that nothing crashes or overflows. */
#include <string.h>

#include "fp_link.h"
#include "fp_protocol.h"
#include "test.h"

static void random_message(fp_rng *r, fp_message *m) {
    static const uint8_t types[] = {FP_MSG_HELLO, FP_MSG_CONFIGURE, FP_MSG_COMMAND, FP_MSG_ESTOP,
                                    FP_MSG_CLEAR_FAULT, FP_MSG_PARAM_GET, FP_MSG_PARAM_SET, FP_MSG_STATE_REQUEST,
                                    FP_MSG_CAPABILITIES, FP_MSG_STATE, FP_MSG_PARAM_VALUE, FP_MSG_ACK,
                                    FP_MSG_NACK};
    memset(m, 0, sizeof *m);
    m->type = types[fp_rng_below(r, sizeof types)];
    m->seq = (uint16_t)fp_rng_next(r);
    m->echo_seq = (uint16_t)fp_rng_next(r);
    uint8_t n = (uint8_t)(1 + fp_rng_below(r, FP_MAX_MOTORS));
    /* Values biased to small magnitudes so that zero bytes are common. */
    for (unsigned i = 0; i < FP_MAX_MOTORS; i++) {
        int32_t v = fp_rng_below(r, 2) ? (int32_t)(fp_rng_below(r, 2001)) - 1000 : (int32_t)(uint32_t)fp_rng_next(r);
        m->u.command.setpoint[i] = v;
    }
    switch (m->type) {
    case FP_MSG_CONFIGURE:
        m->u.configure.mode = (uint8_t)fp_rng_below(r, 4);
        m->u.configure.watchdog_ms = (uint16_t)fp_rng_below(r, 1000);
        m->u.configure.torque_limit_mnm = (int32_t)fp_rng_below(r, 5000);
        m->u.configure.velocity_limit_cps = (int32_t)fp_rng_below(r, 100000);
        break;
    case FP_MSG_COMMAND: m->u.command.count = n; break;
    case FP_MSG_PARAM_GET:
    case FP_MSG_PARAM_SET:
    case FP_MSG_PARAM_VALUE:
        m->u.param.id = (uint16_t)fp_rng_below(r, 0x120);
        m->u.param.index = (uint8_t)fp_rng_below(r, 8);
        m->u.param.value = (int32_t)(uint32_t)fp_rng_next(r);
        break;
    case FP_MSG_CAPABILITIES: {
        fp_capabilities_msg *c = &m->u.capabilities;
        c->protocol_version = 1;
        c->motor_count = n;
        c->control_rate_hz = 1000;
        c->max_payload = FP_MAX_PAYLOAD;
        for (int i = 0; i < n; i++) {
            c->counts_per_rev[i] = 4096;
            c->torque_max_mnm[i] = (int32_t)fp_rng_below(r, 10000);
        }
        break;
    }
    case FP_MSG_STATE: {
        fp_state_msg *s = &m->u.state;
        s->faults = (uint16_t)fp_rng_below(r, 32);
        s->timestamp_us = (uint32_t)fp_rng_next(r);
        s->mode = (uint8_t)fp_rng_below(r, 4);
        s->status = (uint8_t)fp_rng_below(r, 8);
        s->count = n;
        for (int i = 0; i < n; i++) {
            s->position[i] = (int32_t)fp_rng_below(r, 20000) - 10000;
            s->velocity[i] = (int32_t)fp_rng_below(r, 2000) - 1000;
            s->current_ma[i] = (int16_t)((int)fp_rng_below(r, 4000) - 2000);
        }
        break;
    }
    case FP_MSG_ACK:
    case FP_MSG_NACK:
        m->u.reply.type = (uint8_t)fp_rng_below(r, 9);
        m->u.reply.error = (uint8_t)fp_rng_below(r, 10);
        break;
    default: break;
    }
}

/* Mutates wire[0..*n) in place (capacity cap); returns nothing, *n may change. */
static void mutate(fp_rng *r, uint8_t *wire, size_t *n, size_t cap) {
    size_t len = *n;
    switch (fp_rng_below(r, 7)) {
    case 0: wire[fp_rng_below(r, (unsigned)len)] ^= (uint8_t)(1u << fp_rng_below(r, 8)); break;
    case 1: {
        unsigned flips = 2 + fp_rng_below(r, 3);
        for (unsigned k = 0; k < flips; k++) wire[fp_rng_below(r, (unsigned)len)] ^= (uint8_t)(1u << fp_rng_below(r, 8));
        break;
    }
    case 2: {
        size_t at = fp_rng_below(r, (unsigned)len);
        memmove(wire + at, wire + at + 1, len - at - 1);
        *n = len - 1;
        break;
    }
    case 3: {
        if (len + 1 > cap) break;
        size_t at = fp_rng_below(r, (unsigned)len + 1);
        memmove(wire + at + 1, wire + at, len - at);
        wire[at] = (uint8_t)fp_rng_next(r);
        *n = len + 1;
        break;
    }
    case 4: *n = fp_rng_below(r, (unsigned)len); break; /* torn: delimiter lost */
    case 5: wire[fp_rng_below(r, (unsigned)len)] = (uint8_t)fp_rng_next(r); break;
    default: {
        size_t at = fp_rng_below(r, (unsigned)len);
        size_t run = 1 + fp_rng_below(r, 8);
        for (size_t k = at; k < len && k < at + run; k++) wire[k] = (uint8_t)fp_rng_next(r);
        break;
    }
    }
}

/* The original content of a frame being sent. */
typedef struct {
    uint8_t type;
    uint16_t seq;
    uint8_t body[FP_MAX_BODY];
    size_t body_len;
} original;

static int same_as(const fp_frame *f, const original *o) {
    return f->version == 1 && f->type == o->type && f->seq == o->seq && f->body_len == o->body_len &&
           memcmp(f->body, o->body, o->body_len) == 0;
}

void test_fuzz(unsigned long frames, unsigned long seed) {
    fp_rng r = {0x5DEECE66Dull ^ (seed * 0x9E3779B97F4A7C15ull)};
    if (r.s == 0) r.s = 1;
    fp_receiver rx;
    fp_receiver_init(&rx);
    uint8_t prev = 0; /* last byte fed; the stream starts as if after a delimiter */
    original last = {0, 0, {0}, 0}; /* the previous frame: a torn one may complete in garbage */
    unsigned long sent_intact = 0, expected = 0, delivered = 0, corrupted_accepted = 0, missed = 0;
    unsigned long errors[6] = {0};
    unsigned long bytes = 0;
    for (unsigned long i = 0; i < frames; i++) {
        /* Garbage between frames, sometimes ended by a delimiter. */
        if (fp_rng_below(&r, 10) == 0) {
            size_t g = 1 + fp_rng_below(&r, 300);
            unsigned zero_odds = 1 + fp_rng_below(&r, 64);
            for (size_t k = 0; k < g; k++) {
                uint8_t b = fp_rng_below(&r, zero_odds) == 0 ? 0 : (uint8_t)(1 + fp_rng_below(&r, 255));
                fp_frame f;
                fp_rx_result res = fp_receiver_feed(&rx, b, &f);
                if (res == FP_RX_FRAME && !same_as(&f, &last)) corrupted_accepted++;
                errors[res]++;
                prev = b;
                bytes++;
            }
            if (fp_rng_below(&r, 2) == 0) {
                fp_frame f;
                fp_rx_result res = fp_receiver_feed(&rx, 0, &f);
                if (res == FP_RX_FRAME && !same_as(&f, &last)) corrupted_accepted++;
                errors[res]++;
                prev = 0;
                bytes++;
            }
        }
        fp_message m;
        random_message(&r, &m);
        int ok = 0;
        original cur;
        cur.type = m.type;
        cur.seq = m.seq;
        cur.body_len = fp_message_encode_body(&m, cur.body, &ok);
        uint8_t clean[FP_MAX_WIRE], wire[FP_MAX_WIRE + 8];
        size_t n = fp_frame_encode(1, m.type, m.seq, cur.body, cur.body_len, clean, sizeof clean);
        if (!ok || n == 0) {
            CHECK(0);
            return;
        }
        memcpy(wire, clean, n);
        size_t wn = n;
        if (fp_rng_below(&r, 2) == 0) mutate(&r, wire, &wn, sizeof wire);
        int intact = wn == n && memcmp(wire, clean, n) == 0;
        int expect = intact && prev == 0;
        sent_intact += (unsigned long)intact;
        expected += (unsigned long)expect;
        int got_it = 0;
        for (size_t k = 0; k < wn; k++) {
            fp_frame f;
            fp_rx_result res = fp_receiver_feed(&rx, wire[k], &f);
            errors[res]++;
            if (res != FP_RX_FRAME) continue;
            delivered++;
            /* Only the original content may come out (a mutation that leaves the frame's
             * bytes whole, such as a zero inserted after it, still delivers it). */
            if (same_as(&f, &cur)) {
                got_it = 1;
            } else if (!same_as(&f, &last)) { /* a torn previous frame may complete here */
                corrupted_accepted++;
            }
        }
        if (expect && !got_it) missed++;
        if (wn > 0) { /* a frame torn down to nothing leaves the one before it pending */
            prev = wire[wn - 1];
            last = cur;
        }
        bytes += wn;
    }
    CHECK_EQ(corrupted_accepted, 0);
    CHECK_EQ(missed, 0);
    CHECK(delivered >= expected);
    CHECK(expected > frames / 3);
    printf("fuzz: %lu frames (%lu bytes, seed %lu): %lu intact, %lu delivered, %lu expected, "
           "errors crc %lu cobs %lu short %lu oversize %lu, corrupted accepted %lu, missed %lu\n",
           frames, bytes, seed, sent_intact, delivered, expected, errors[FP_RX_ERR_CRC], errors[FP_RX_ERR_COBS],
           errors[FP_RX_ERR_SHORT], errors[FP_RX_ERR_OVERSIZE], corrupted_accepted, missed);
}
