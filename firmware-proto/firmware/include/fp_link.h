/* The link layer of PROTOCOL.md section 1: COBS framing with a 0x00 delimiter, a 4-byte
 * header and a CRC-32C trailer. Pure: no I/O, no heap, fixed buffers.
 * Real-time safe: every function here is allocation-free, lock-free and runs in time
 * bounded by its input length. */
#ifndef FP_LINK_H
#define FP_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FP_PROTOCOL_VERSION 1u
#define FP_HEADER_SIZE 4u
#define FP_CRC_SIZE 4u
/* Largest payload (header + body + CRC) and body. */
#define FP_MAX_PAYLOAD 128u
#define FP_MAX_BODY (FP_MAX_PAYLOAD - FP_HEADER_SIZE - FP_CRC_SIZE)
/* Largest COBS encoding of `n` bytes (canonical COBS), without the delimiter. */
#define FP_COBS_MAX_ENCODED(n) ((n) + (n) / 254u + 1u)
/* Most encoded bytes a receiver accepts between two delimiters. */
#define FP_MAX_ENCODED FP_COBS_MAX_ENCODED(FP_MAX_PAYLOAD)
/* Largest frame on the wire: encoded payload plus the delimiter. */
#define FP_MAX_WIRE (FP_MAX_ENCODED + 1u)

/* COBS-encodes `len` bytes into `dst` (no delimiter). Returns the encoded length, or 0 if
 * `cap` is too small. Canonical form: a 254-byte run that ends the data is not followed by
 * an empty block. `src` and `dst` must not overlap. */
size_t fp_cobs_encode(const uint8_t *src, size_t len, uint8_t *dst, size_t cap);

/* Decodes one COBS block sequence (no delimiter, no zero inside). Returns the decoded
 * length, or -1 if the input contains a zero, ends inside a block, or exceeds `cap`. */
long fp_cobs_decode(const uint8_t *src, size_t len, uint8_t *dst, size_t cap);

/* A frame as delivered by the receiver. `body` points into the receiver's buffer and stays
 * valid until the next call of fp_receiver_feed on that receiver. */
typedef struct {
    uint8_t version;
    uint8_t type;
    uint16_t seq;
    const uint8_t *body;
    size_t body_len;
} fp_frame;

/* What one byte fed to the receiver produced. */
typedef enum {
    FP_RX_NONE = 0,     /* nothing yet (inside a frame, or an empty frame) */
    FP_RX_FRAME,        /* a frame passed every check; see *out */
    FP_RX_ERR_OVERSIZE, /* more than FP_MAX_ENCODED bytes before the delimiter */
    FP_RX_ERR_COBS,     /* the delimiter arrived inside a COBS block */
    FP_RX_ERR_SHORT,    /* decoded payload shorter than header + CRC */
    FP_RX_ERR_CRC,      /* CRC-32C mismatch */
} fp_rx_result;

/* Incremental receiver, fed one byte at a time; resynchronises at every 0x00.
 * Single-threaded: one owner feeds it. Initialise with fp_receiver_init. */
typedef struct {
    uint8_t buf[FP_MAX_PAYLOAD];
    size_t len;       /* decoded bytes in buf */
    size_t encoded;   /* encoded bytes since the last delimiter */
    uint8_t code;     /* code byte of the current block */
    uint8_t left;     /* data bytes still expected in the current block */
    bool overflow;    /* oversize: discarding until the next delimiter */
} fp_receiver;

void fp_receiver_init(fp_receiver *r);

/* Feeds one byte. On FP_RX_FRAME fills *out (body valid until the next feed). */
fp_rx_result fp_receiver_feed(fp_receiver *r, uint8_t byte, fp_frame *out);

/* Builds header ‖ body ‖ CRC, COBS-encodes it and appends the 0x00 delimiter into `wire`.
 * Returns the number of wire bytes, or 0 if body_len > FP_MAX_BODY or cap is too small
 * (FP_MAX_WIRE always suffices). */
size_t fp_frame_encode(uint8_t version, uint8_t type, uint16_t seq, const uint8_t *body,
                       size_t body_len, uint8_t *wire, size_t cap);

/* Little-endian helpers. */
static inline void fp_put_u16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void fp_put_u32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}
static inline void fp_put_i32(uint8_t *p, int32_t v) { fp_put_u32(p, (uint32_t)v); }
static inline void fp_put_i16(uint8_t *p, int16_t v) { fp_put_u16(p, (uint16_t)v); }
static inline uint16_t fp_get_u16(const uint8_t *p) {
    return (uint16_t)(p[0] | ((uint16_t)p[1] << 8));
}
static inline uint32_t fp_get_u32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}
/* Two's complement conversion without implementation-defined behaviour. */
static inline int32_t fp_get_i32(const uint8_t *p) {
    uint32_t u = fp_get_u32(p);
    return u <= 0x7FFFFFFFu ? (int32_t)u : -(int32_t)(~u) - 1;
}
static inline int16_t fp_get_i16(const uint8_t *p) {
    uint16_t u = fp_get_u16(p);
    return u <= 0x7FFFu ? (int16_t)u : (int16_t)(-(int32_t)(uint16_t)(~u) - 1);
}

#endif
