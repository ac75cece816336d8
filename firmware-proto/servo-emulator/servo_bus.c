#include "servo_bus.h"

#include <string.h>

uint16_t sb_crc16(uint16_t crc, const uint8_t *bytes, size_t n) {
    for (size_t i = 0; i < n; i++) {
        crc ^= (uint16_t)((uint16_t)bytes[i] << 8);
        for (int b = 0; b < 8; b++) crc = (crc & 0x8000u) ? (uint16_t)((crc << 1) ^ 0x8005u) : (uint16_t)(crc << 1);
    }
    return crc;
}

void sb_receiver_init(sb_receiver *r, sb_kind kind) {
    memset(r, 0, sizeof *r);
    r->kind = kind;
}

void sb_receiver_push(sb_receiver *r, const uint8_t *bytes, size_t n) {
    if (n > SB_RX_CAPACITY) {
        bytes += n - SB_RX_CAPACITY;
        n = SB_RX_CAPACITY;
        r->start = r->end = 0;
    }
    if (r->end + n > SB_RX_CAPACITY) {
        size_t kept = r->end - r->start;
        if (kept + n > SB_RX_CAPACITY) {
            r->start += kept + n - SB_RX_CAPACITY;
            kept = r->end - r->start;
        }
        memmove(r->buf, r->buf + r->start, kept);
        r->start = 0;
        r->end = kept;
    }
    memcpy(r->buf + r->end, bytes, n);
    r->end += n;
}

/* Total packet length at p (which has at least the prefix), 0 if p cannot start one. */
static size_t sb_length(sb_kind kind, const uint8_t *p) {
    if (kind == SB_DYNAMIXEL) {
        if (p[0] != 0xFF || p[1] != 0xFF || p[2] != 0xFD || p[3] != 0x00 || p[4] == 0xFD || p[4] == 0xFF) return 0;
        size_t len = (size_t)p[5] | (size_t)p[6] << 8;
        return len >= 3 && 7 + len <= SB_MAX_PACKET ? 7 + len : 0;
    }
    if (p[0] != 0xFF || p[1] != 0xFF || p[2] == 0xFF || p[3] < 2) return 0;
    return 4 + (size_t)p[3];
}

sb_event sb_receiver_next(sb_receiver *r, sb_packet *out) {
    const size_t prefix = r->kind == SB_DYNAMIXEL ? 7 : 4;
    while (r->end - r->start >= prefix) {
        const uint8_t *p = r->buf + r->start;
        size_t total = sb_length(r->kind, p);
        if (total == 0) {
            r->start++;
            continue;
        }
        if (r->end - r->start < total) return SB_NEED_MORE;
        bool ok;
        if (r->kind == SB_DYNAMIXEL) {
            uint16_t c = sb_crc16(0, p, total - 2);
            ok = p[total - 2] == (uint8_t)(c & 0xFF) && p[total - 1] == (uint8_t)(c >> 8);
        } else {
            uint8_t s = 0;
            for (size_t i = 2; i < total - 1; i++) s = (uint8_t)(s + p[i]);
            uint8_t chk = (uint8_t)(0xFFu - s);
            ok = chk == p[total - 1];
        }
        if (!ok) {
            r->bad_id = p[r->kind == SB_DYNAMIXEL ? 4 : 2];
            r->start++;
            r->check_errors++;
            return SB_BAD_CHECK;
        }
        out->id = p[r->kind == SB_DYNAMIXEL ? 4 : 2];
        size_t body = r->kind == SB_DYNAMIXEL ? 7 : 4, body_end = total - (r->kind == SB_DYNAMIXEL ? 2 : 1);
        out->instruction = p[body];
        size_t n = 0;
        int ff = 0;
        bool bad = false;
        for (size_t i = body; i < body_end; i++) {
            uint8_t b = p[i];
            if (i > body) out->params[n++] = b;
            if (r->kind == SB_DYNAMIXEL && b == 0xFD && ff >= 2) {
                if (i + 1 >= body_end || p[i + 1] != 0xFD) {
                    bad = true;
                    break;
                }
                i++;
                ff = 0;
                continue;
            }
            ff = b == 0xFF ? ff + 1 : 0;
        }
        if (bad) {
            r->start++;
            r->framing_errors++;
            return SB_SKIPPED;
        }
        out->param_count = n;
        r->start += total;
        r->packets++;
        return SB_PACKET;
    }
    return SB_NEED_MORE;
}

static void sb_raw(sb_writer *w, uint8_t b) {
    if (w->n < w->cap) {
        w->out[w->n++] = b;
    } else {
        w->overflow = true;
    }
}

void sb_writer_begin(sb_writer *w, sb_kind kind, uint8_t *out, size_t cap, uint8_t id, uint8_t error) {
    w->kind = kind;
    w->out = out;
    w->cap = cap;
    w->n = 0;
    w->ff_run = 0;
    w->overflow = false;
    sb_raw(w, 0xFF);
    sb_raw(w, 0xFF);
    if (kind == SB_DYNAMIXEL) {
        sb_raw(w, 0xFD);
        sb_raw(w, 0x00);
        sb_raw(w, id);
        sb_raw(w, 0);
        sb_raw(w, 0);
        sb_writer_put(w, 0x55);
    } else {
        sb_raw(w, id);
        sb_raw(w, 0);
    }
    sb_writer_put(w, error);
}

void sb_writer_put(sb_writer *w, uint8_t b) {
    sb_raw(w, b);
    if (w->kind != SB_DYNAMIXEL) return;
    if (b == 0xFD && w->ff_run >= 2) {
        sb_raw(w, 0xFD);
        w->ff_run = 0;
    } else {
        w->ff_run = b == 0xFF ? w->ff_run + 1 : 0;
    }
}

void sb_writer_put_running_crc(sb_writer *w) {
    uint16_t c = sb_crc16(0, w->out, w->n);
    sb_writer_put(w, (uint8_t)(c & 0xFF));
    sb_writer_put(w, (uint8_t)(c >> 8));
}

size_t sb_writer_end(sb_writer *w) {
    if (w->kind == SB_DYNAMIXEL) {
        size_t len = w->n - 7 + 2;
        w->out[5] = (uint8_t)(len & 0xFF);
        w->out[6] = (uint8_t)(len >> 8);
        uint16_t c = sb_crc16(0, w->out, w->n);
        sb_raw(w, (uint8_t)(c & 0xFF));
        sb_raw(w, (uint8_t)(c >> 8));
    } else {
        w->out[3] = (uint8_t)(w->n - 4 + 1);
        uint8_t s = 0;
        for (size_t i = 2; i < w->n; i++) s = (uint8_t)(s + w->out[i]);
        sb_raw(w, (uint8_t)~s);
    }
    return w->overflow ? 0 : w->n;
}
