#include "fp_protocol.h"

static int fp_count_ok(uint8_t n) { return n >= 1 && n <= FP_MAX_MOTORS; }

fp_parse_result fp_message_parse(const fp_frame *f, fp_message *out) {
    const uint8_t *b = f->body;
    size_t n = f->body_len;
    out->type = f->type;
    out->seq = f->seq;
    out->echo_seq = 0;
    if (f->version != FP_PROTOCOL_VERSION) return FP_PARSE_BAD_VERSION;
    switch (f->type) {
    case FP_MSG_HELLO:
    case FP_MSG_ESTOP:
    case FP_MSG_CLEAR_FAULT:
    case FP_MSG_STATE_REQUEST:
        return n == 0 ? FP_PARSE_OK : FP_PARSE_BAD_LENGTH;
    case FP_MSG_CONFIGURE:
        if (n != 12) return FP_PARSE_BAD_LENGTH;
        out->u.configure.mode = b[0];
        out->u.configure.watchdog_ms = fp_get_u16(b + 2);
        out->u.configure.torque_limit_mnm = fp_get_i32(b + 4);
        out->u.configure.velocity_limit_cps = fp_get_i32(b + 8);
        return FP_PARSE_OK;
    case FP_MSG_COMMAND:
        if (n < 1 || !fp_count_ok(b[0]) || n != FP_COMMAND_BODY_LEN(b[0])) return FP_PARSE_BAD_LENGTH;
        out->u.command.count = b[0];
        for (uint8_t i = 0; i < b[0]; i++) out->u.command.setpoint[i] = fp_get_i32(b + 1 + 4 * i);
        return FP_PARSE_OK;
    case FP_MSG_PARAM_GET:
        if (n != 3) return FP_PARSE_BAD_LENGTH;
        out->u.param.id = fp_get_u16(b);
        out->u.param.index = b[2];
        out->u.param.value = 0;
        return FP_PARSE_OK;
    case FP_MSG_PARAM_SET:
        if (n != 7) return FP_PARSE_BAD_LENGTH;
        out->u.param.id = fp_get_u16(b);
        out->u.param.index = b[2];
        out->u.param.value = fp_get_i32(b + 3);
        return FP_PARSE_OK;
    case FP_MSG_CAPABILITIES: {
        if (n < 12 || !fp_count_ok(b[6]) || n != FP_CAPABILITIES_BODY_LEN(b[6])) return FP_PARSE_BAD_LENGTH;
        fp_capabilities_msg *c = &out->u.capabilities;
        out->echo_seq = fp_get_u16(b);
        c->protocol_version = b[2];
        c->fw_major = b[3];
        c->fw_minor = b[4];
        c->fw_patch = b[5];
        c->motor_count = b[6];
        c->modes = b[7];
        c->control_rate_hz = fp_get_u16(b + 8);
        c->max_payload = fp_get_u16(b + 10);
        for (uint8_t i = 0; i < c->motor_count; i++) {
            c->counts_per_rev[i] = fp_get_u32(b + 12 + 8 * i);
            c->torque_max_mnm[i] = fp_get_i32(b + 16 + 8 * i);
        }
        return FP_PARSE_OK;
    }
    case FP_MSG_STATE: {
        if (n < 11 || !fp_count_ok(b[10]) || n != FP_STATE_BODY_LEN(b[10])) return FP_PARSE_BAD_LENGTH;
        fp_state_msg *s = &out->u.state;
        out->echo_seq = fp_get_u16(b);
        s->faults = fp_get_u16(b + 2);
        s->timestamp_us = fp_get_u32(b + 4);
        s->mode = b[8];
        s->status = b[9];
        s->count = b[10];
        for (uint8_t i = 0; i < s->count; i++) {
            const uint8_t *m = b + 11 + 10 * i;
            s->position[i] = fp_get_i32(m);
            s->velocity[i] = fp_get_i32(m + 4);
            s->current_ma[i] = fp_get_i16(m + 8);
        }
        return FP_PARSE_OK;
    }
    case FP_MSG_PARAM_VALUE:
        if (n != 9) return FP_PARSE_BAD_LENGTH;
        out->echo_seq = fp_get_u16(b);
        out->u.param.id = fp_get_u16(b + 2);
        out->u.param.index = b[4];
        out->u.param.value = fp_get_i32(b + 5);
        return FP_PARSE_OK;
    case FP_MSG_ACK:
        if (n != 3) return FP_PARSE_BAD_LENGTH;
        out->echo_seq = fp_get_u16(b);
        out->u.reply.type = b[2];
        out->u.reply.error = 0;
        return FP_PARSE_OK;
    case FP_MSG_NACK:
        if (n != 4) return FP_PARSE_BAD_LENGTH;
        out->echo_seq = fp_get_u16(b);
        out->u.reply.type = b[2];
        out->u.reply.error = b[3];
        return FP_PARSE_OK;
    default:
        return FP_PARSE_UNKNOWN_TYPE;
    }
}

size_t fp_message_encode_body(const fp_message *m, uint8_t *b, int *ok) {
    *ok = 1;
    switch (m->type) {
    case FP_MSG_HELLO:
    case FP_MSG_ESTOP:
    case FP_MSG_CLEAR_FAULT:
    case FP_MSG_STATE_REQUEST:
        return 0;
    case FP_MSG_CONFIGURE:
        b[0] = m->u.configure.mode;
        b[1] = 0;
        fp_put_u16(b + 2, m->u.configure.watchdog_ms);
        fp_put_i32(b + 4, m->u.configure.torque_limit_mnm);
        fp_put_i32(b + 8, m->u.configure.velocity_limit_cps);
        return 12;
    case FP_MSG_COMMAND:
        if (!fp_count_ok(m->u.command.count)) break;
        b[0] = m->u.command.count;
        for (uint8_t i = 0; i < m->u.command.count; i++) fp_put_i32(b + 1 + 4 * i, m->u.command.setpoint[i]);
        return FP_COMMAND_BODY_LEN(m->u.command.count);
    case FP_MSG_PARAM_GET:
        fp_put_u16(b, m->u.param.id);
        b[2] = m->u.param.index;
        return 3;
    case FP_MSG_PARAM_SET:
        fp_put_u16(b, m->u.param.id);
        b[2] = m->u.param.index;
        fp_put_i32(b + 3, m->u.param.value);
        return 7;
    case FP_MSG_CAPABILITIES: {
        const fp_capabilities_msg *c = &m->u.capabilities;
        if (!fp_count_ok(c->motor_count)) break;
        fp_put_u16(b, m->echo_seq);
        b[2] = c->protocol_version;
        b[3] = c->fw_major;
        b[4] = c->fw_minor;
        b[5] = c->fw_patch;
        b[6] = c->motor_count;
        b[7] = c->modes;
        fp_put_u16(b + 8, c->control_rate_hz);
        fp_put_u16(b + 10, c->max_payload);
        for (uint8_t i = 0; i < c->motor_count; i++) {
            fp_put_u32(b + 12 + 8 * i, c->counts_per_rev[i]);
            fp_put_i32(b + 16 + 8 * i, c->torque_max_mnm[i]);
        }
        return FP_CAPABILITIES_BODY_LEN(c->motor_count);
    }
    case FP_MSG_STATE: {
        const fp_state_msg *s = &m->u.state;
        if (!fp_count_ok(s->count)) break;
        fp_put_u16(b, m->echo_seq);
        fp_put_u16(b + 2, s->faults);
        fp_put_u32(b + 4, s->timestamp_us);
        b[8] = s->mode;
        b[9] = s->status;
        b[10] = s->count;
        for (uint8_t i = 0; i < s->count; i++) {
            uint8_t *p = b + 11 + 10 * i;
            fp_put_i32(p, s->position[i]);
            fp_put_i32(p + 4, s->velocity[i]);
            fp_put_i16(p + 8, s->current_ma[i]);
        }
        return FP_STATE_BODY_LEN(s->count);
    }
    case FP_MSG_PARAM_VALUE:
        fp_put_u16(b, m->echo_seq);
        fp_put_u16(b + 2, m->u.param.id);
        b[4] = m->u.param.index;
        fp_put_i32(b + 5, m->u.param.value);
        return 9;
    case FP_MSG_ACK:
        fp_put_u16(b, m->echo_seq);
        b[2] = m->u.reply.type;
        return 3;
    case FP_MSG_NACK:
        fp_put_u16(b, m->echo_seq);
        b[2] = m->u.reply.type;
        b[3] = m->u.reply.error;
        return 4;
    default:
        break;
    }
    *ok = 0;
    return 0;
}

size_t fp_message_encode(const fp_message *m, uint8_t *wire, size_t cap) {
    uint8_t body[FP_MAX_BODY];
    int ok = 0;
    size_t n = fp_message_encode_body(m, body, &ok);
    if (!ok) return 0;
    return fp_frame_encode(FP_PROTOCOL_VERSION, m->type, m->seq, body, n, wire, cap);
}
