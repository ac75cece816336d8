#include "fp_link.h"

#include "fp_crc32c.h"

size_t fp_cobs_encode(const uint8_t *src, size_t len, uint8_t *dst, size_t cap) {
    size_t out = 1;       /* next write position; dst[code_at] is the pending code byte */
    size_t code_at = 0;
    uint8_t code = 1;
    bool last_full = false; /* the data so far ended exactly with a full 0xFF block */
    if (cap == 0) return 0;
    for (size_t i = 0; i < len; i++) {
        last_full = false;
        if (src[i] == 0) {
            dst[code_at] = code;
            code_at = out++;
            code = 1;
        } else {
            if (out >= cap) return 0;
            dst[out++] = src[i];
            code++;
            if (code == 0xFF) {
                dst[code_at] = code;
                code_at = out++;
                code = 1;
                last_full = true;
            }
        }
        if (out > cap) return 0;
    }
    if (last_full) return out - 1; /* drop the empty block reserved after a full one */
    if (code_at >= cap) return 0;
    dst[code_at] = code;
    return out;
}

long fp_cobs_decode(const uint8_t *src, size_t len, uint8_t *dst, size_t cap) {
    size_t out = 0;
    size_t i = 0;
    while (i < len) {
        uint8_t code = src[i++];
        if (code == 0) return -1;
        for (uint8_t k = 1; k < code; k++) {
            if (i >= len || src[i] == 0 || out >= cap) return -1;
            dst[out++] = src[i++];
        }
        if (code != 0xFF && i < len) {
            if (out >= cap) return -1;
            dst[out++] = 0;
        }
    }
    return (long)out;
}

void fp_receiver_init(fp_receiver *r) {
    r->len = 0;
    r->encoded = 0;
    r->code = 0;
    r->left = 0;
    r->overflow = false;
}

static fp_rx_result fp_receiver_finish(fp_receiver *r, fp_frame *out) {
    fp_rx_result result;
    if (r->overflow) {
        result = FP_RX_ERR_OVERSIZE;
    } else if (r->encoded == 0) {
        result = FP_RX_NONE;
    } else if (r->left != 0) {
        result = FP_RX_ERR_COBS;
    } else if (r->len < FP_HEADER_SIZE + FP_CRC_SIZE) {
        result = FP_RX_ERR_SHORT;
    } else {
        size_t covered = r->len - FP_CRC_SIZE;
        if (fp_crc32c(r->buf, covered) != fp_get_u32(r->buf + covered)) {
            result = FP_RX_ERR_CRC;
        } else {
            out->version = r->buf[0];
            out->type = r->buf[1];
            out->seq = fp_get_u16(r->buf + 2);
            out->body = r->buf + FP_HEADER_SIZE;
            out->body_len = covered - FP_HEADER_SIZE;
            result = FP_RX_FRAME;
        }
    }
    fp_receiver_init(r);
    return result;
}

fp_rx_result fp_receiver_feed(fp_receiver *r, uint8_t byte, fp_frame *out) {
    if (byte == 0) return fp_receiver_finish(r, out);
    if (r->overflow) return FP_RX_NONE;
    if (++r->encoded > FP_MAX_ENCODED) {
        r->overflow = true;
        return FP_RX_NONE;
    }
    if (r->left == 0) {
        /* A code byte. The block before it implied a zero unless it was a full 0xFF block. */
        if (r->encoded > 1 && r->code != 0xFF) {
            if (r->len >= FP_MAX_PAYLOAD) {
                r->overflow = true;
                return FP_RX_NONE;
            }
            r->buf[r->len++] = 0;
        }
        r->code = byte;
        r->left = (uint8_t)(byte - 1);
    } else {
        if (r->len >= FP_MAX_PAYLOAD) {
            r->overflow = true;
            return FP_RX_NONE;
        }
        r->buf[r->len++] = byte;
        r->left--;
    }
    return FP_RX_NONE;
}

size_t fp_frame_encode(uint8_t version, uint8_t type, uint16_t seq, const uint8_t *body,
                       size_t body_len, uint8_t *wire, size_t cap) {
    uint8_t payload[FP_MAX_PAYLOAD];
    if (body_len > FP_MAX_BODY) return 0;
    payload[0] = version;
    payload[1] = type;
    fp_put_u16(payload + 2, seq);
    for (size_t i = 0; i < body_len; i++) payload[FP_HEADER_SIZE + i] = body[i];
    size_t covered = FP_HEADER_SIZE + body_len;
    fp_put_u32(payload + covered, fp_crc32c(payload, covered));
    if (cap == 0) return 0;
    size_t n = fp_cobs_encode(payload, covered + FP_CRC_SIZE, wire, cap - 1);
    if (n == 0) return 0;
    wire[n] = 0;
    return n + 1;
}
