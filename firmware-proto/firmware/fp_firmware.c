#include "fp_firmware.h"

#define FP_WATCHDOG_MAX_MS 10000
#define FP_GAIN_MAX 1000000

static int32_t fp_u32_as_i32(uint32_t u) {
    return u <= 0x7FFFFFFFu ? (int32_t)u : -(int32_t)(~u) - 1;
}

static int32_t fp_sat_i32(int64_t v) {
    if (v > INT32_MAX) return INT32_MAX;
    if (v < INT32_MIN) return INT32_MIN;
    return (int32_t)v;
}

/* a / b rounded to nearest, halves away from zero (b > 0). */
static int64_t fp_div_round(int64_t a, int64_t b) {
    return a >= 0 ? (a + b / 2) / b : -((-a + b / 2) / b);
}

static int16_t fp_sat_i16(int32_t v) {
    if (v > INT16_MAX) return INT16_MAX;
    if (v < INT16_MIN) return INT16_MIN;
    return (int16_t)v;
}

static void fp_motors_off(fp_firmware *fw) {
    const fp_hal *h = fw->hal;
    for (uint8_t i = 0; i < fw->board.motor_count; i++) {
        fw->torque_mnm[i] = 0;
        h->motor_set_torque(h->ctx, i, 0);
    }
    h->motors_enable(h->ctx, false);
    fw->status &= (uint8_t)~(FP_STATUS_MOTORS_ON | FP_STATUS_CLAMPED);
}

void fp_firmware_init(fp_firmware *fw, const fp_hal *hal, const fp_board *board) {
    /* Zero everything without memset's dependency on a libc (freestanding ports). */
    uint8_t *raw = (uint8_t *)fw;
    for (size_t i = 0; i < sizeof *fw; i++) raw[i] = 0;
    fw->hal = hal;
    fw->board = *board;
    if (fw->board.motor_count < 1) fw->board.motor_count = 1;
    if (fw->board.motor_count > FP_MAX_MOTORS) fw->board.motor_count = FP_MAX_MOTORS;
    fp_receiver_init(&fw->rx);
    fw->mode = FP_MODE_IDLE;
    fw->watchdog_ms = 100;
    fw->torque_limit_mnm = INT32_MAX;
    for (uint8_t i = 0; i < fw->board.motor_count; i++) {
        if (fw->board.torque_max_mnm[i] < 0) fw->board.torque_max_mnm[i] = 0; /* 0: passive axis */
        if (fw->board.torque_max_mnm[i] > 0 && fw->board.torque_max_mnm[i] < fw->torque_limit_mnm)
            fw->torque_limit_mnm = fw->board.torque_max_mnm[i];
        fw->position_min[i] = INT32_MIN;
        fw->position_max[i] = INT32_MAX;
    }
    fw->velocity_filter_shift = 2;
    fw->velocity_window = 4;
    fp_motors_off(fw);
}

/* ---- replies ------------------------------------------------------------------------- */

static void fp_send(fp_firmware *fw, fp_message *msg) {
    uint8_t wire[FP_MAX_WIRE];
    msg->seq = fw->tx_seq++;
    size_t n = fp_message_encode(msg, wire, sizeof wire);
    if (n == 0) return; /* cannot happen for messages the core builds */
    if (fw->hal->uart_write(fw->hal->ctx, wire, n)) {
        fw->counters.tx_frames++;
    } else {
        fw->counters.tx_overruns++;
    }
}

static void fp_send_ack(fp_firmware *fw, uint16_t echo, uint8_t type) {
    fp_message m;
    m.type = FP_MSG_ACK;
    m.echo_seq = echo;
    m.u.reply.type = type;
    m.u.reply.error = 0;
    fp_send(fw, &m);
}

static void fp_send_nack(fp_firmware *fw, uint16_t echo, uint8_t type, uint8_t error) {
    fp_message m;
    m.type = FP_MSG_NACK;
    m.echo_seq = echo;
    m.u.reply.type = type;
    m.u.reply.error = error;
    fp_send(fw, &m);
}

static void fp_send_state(fp_firmware *fw, uint16_t echo) {
    fp_message m;
    fp_state_msg *s = &m.u.state;
    m.type = FP_MSG_STATE;
    m.echo_seq = echo;
    s->faults = fw->faults;
    s->timestamp_us = fw->tick_us;
    s->mode = fw->mode;
    s->status = (uint8_t)(fw->status | (fw->have_setpoint ? FP_STATUS_HAVE_SETPOINT : 0));
    s->count = fw->board.motor_count;
    for (uint8_t i = 0; i < s->count; i++) {
        s->position[i] = fw->position[i];
        s->velocity[i] = fw->velocity[i];
        s->current_ma[i] = fp_sat_i16(fw->current_ma[i]);
    }
    fp_send(fw, &m);
}

static void fp_send_capabilities(fp_firmware *fw, uint16_t echo) {
    fp_message m;
    fp_capabilities_msg *c = &m.u.capabilities;
    m.type = FP_MSG_CAPABILITIES;
    m.echo_seq = echo;
    c->protocol_version = FP_PROTOCOL_VERSION;
    c->fw_major = FP_FW_VERSION_MAJOR;
    c->fw_minor = FP_FW_VERSION_MINOR;
    c->fw_patch = FP_FW_VERSION_PATCH;
    c->motor_count = fw->board.motor_count;
    c->modes = (1u << FP_MODE_TORQUE) | (1u << FP_MODE_VELOCITY) | (1u << FP_MODE_POSITION);
    c->control_rate_hz = fw->board.control_rate_hz;
    c->max_payload = FP_MAX_PAYLOAD;
    for (uint8_t i = 0; i < c->motor_count; i++) {
        c->counts_per_rev[i] = fw->board.counts_per_rev[i];
        c->torque_max_mnm[i] = fw->board.torque_max_mnm[i];
    }
    fp_send(fw, &m);
}

static void fp_send_param(fp_firmware *fw, uint16_t echo, uint16_t id, uint8_t index, int32_t value) {
    fp_message m;
    m.type = FP_MSG_PARAM_VALUE;
    m.echo_seq = echo;
    m.u.param.id = id;
    m.u.param.index = index;
    m.u.param.value = value;
    fp_send(fw, &m);
}

/* ---- parameters ---------------------------------------------------------------------- */

static int fp_is_per_motor(uint16_t id) {
    return (id >= FP_PARAM_POSITION_MIN && id <= FP_PARAM_KV) || id == FP_PARAM_COUNTS_PER_REV ||
           id == FP_PARAM_TORQUE_MAX_MNM;
}

static int fp_is_known(uint16_t id) {
    return (id >= FP_PARAM_WATCHDOG_MS && id <= FP_PARAM_VELOCITY_WINDOW) ||
           (id >= FP_PARAM_POSITION_MIN && id <= FP_PARAM_KV) ||
           (id >= FP_PARAM_COUNTS_PER_REV && id <= FP_PARAM_CONTROL_RATE_HZ) ||
           (id >= FP_PARAM_RX_FRAMES_OK && id <= FP_PARAM_TX_OVERRUNS);
}

static int fp_check_index(const fp_firmware *fw, uint16_t id, uint8_t index) {
    if (!fp_is_known(id)) return FP_ERR_UNKNOWN_PARAM;
    if (fp_is_per_motor(id) ? index >= fw->board.motor_count : index != 0) return FP_ERR_OUT_OF_RANGE;
    return 0;
}

int fp_firmware_param_get(const fp_firmware *fw, uint16_t id, uint8_t index, int32_t *value) {
    int err = fp_check_index(fw, id, index);
    if (err) return err;
    const fp_counters *c = &fw->counters;
    switch (id) {
    case FP_PARAM_WATCHDOG_MS: *value = fw->watchdog_ms; break;
    case FP_PARAM_TORQUE_LIMIT_MNM: *value = fw->torque_limit_mnm; break;
    case FP_PARAM_VELOCITY_LIMIT_CPS: *value = fw->velocity_limit_cps; break;
    case FP_PARAM_VELOCITY_FILTER_SHIFT: *value = fw->velocity_filter_shift; break;
    case FP_PARAM_VELOCITY_WINDOW: *value = fw->velocity_window; break;
    case FP_PARAM_POSITION_MIN: *value = fw->position_min[index]; break;
    case FP_PARAM_POSITION_MAX: *value = fw->position_max[index]; break;
    case FP_PARAM_KP: *value = fw->kp[index]; break;
    case FP_PARAM_KD: *value = fw->kd[index]; break;
    case FP_PARAM_KV: *value = fw->kv[index]; break;
    case FP_PARAM_COUNTS_PER_REV: *value = fp_u32_as_i32(fw->board.counts_per_rev[index]); break;
    case FP_PARAM_TORQUE_MAX_MNM: *value = fw->board.torque_max_mnm[index]; break;
    case FP_PARAM_CONTROL_RATE_HZ: *value = fw->board.control_rate_hz; break;
    case FP_PARAM_RX_FRAMES_OK: *value = fp_u32_as_i32(c->rx_frames_ok); break;
    case FP_PARAM_RX_CRC_ERRORS: *value = fp_u32_as_i32(c->rx_crc_errors); break;
    case FP_PARAM_RX_COBS_ERRORS: *value = fp_u32_as_i32(c->rx_cobs_errors); break;
    case FP_PARAM_RX_OVERSIZE: *value = fp_u32_as_i32(c->rx_oversize); break;
    case FP_PARAM_RX_BAD_MESSAGES: *value = fp_u32_as_i32(c->rx_bad_messages); break;
    case FP_PARAM_WATCHDOG_TRIPS: *value = fp_u32_as_i32(c->watchdog_trips); break;
    case FP_PARAM_TX_FRAMES: *value = fp_u32_as_i32(c->tx_frames); break;
    case FP_PARAM_TX_OVERRUNS: *value = fp_u32_as_i32(c->tx_overruns); break;
    default: return FP_ERR_UNKNOWN_PARAM;
    }
    return 0;
}

int fp_firmware_param_set(fp_firmware *fw, uint16_t id, uint8_t index, int32_t value) {
    int err = fp_check_index(fw, id, index);
    if (err) return err;
    switch (id) {
    case FP_PARAM_WATCHDOG_MS:
        if (value < 1 || value > FP_WATCHDOG_MAX_MS) return FP_ERR_OUT_OF_RANGE;
        fw->watchdog_ms = (uint16_t)value;
        return 0;
    case FP_PARAM_TORQUE_LIMIT_MNM:
        if (value < 1) return FP_ERR_OUT_OF_RANGE;
        fw->torque_limit_mnm = value;
        return 0;
    case FP_PARAM_VELOCITY_LIMIT_CPS:
        if (value < 0) return FP_ERR_OUT_OF_RANGE;
        fw->velocity_limit_cps = value;
        return 0;
    case FP_PARAM_VELOCITY_FILTER_SHIFT:
        if (value < 0 || value > 8) return FP_ERR_OUT_OF_RANGE;
        fw->velocity_filter_shift = (uint8_t)value;
        return 0;
    case FP_PARAM_VELOCITY_WINDOW:
        if (value < 1 || value > (int32_t)FP_VELOCITY_WINDOW_MAX - 1) return FP_ERR_OUT_OF_RANGE;
        fw->velocity_window = (uint8_t)value;
        return 0;
    case FP_PARAM_POSITION_MIN: fw->position_min[index] = value; return 0;
    case FP_PARAM_POSITION_MAX: fw->position_max[index] = value; return 0;
    case FP_PARAM_KP:
    case FP_PARAM_KD:
    case FP_PARAM_KV:
        if (value < 0 || value > FP_GAIN_MAX) return FP_ERR_OUT_OF_RANGE;
        if (id == FP_PARAM_KP) fw->kp[index] = value;
        if (id == FP_PARAM_KD) fw->kd[index] = value;
        if (id == FP_PARAM_KV) fw->kv[index] = value;
        return 0;
    default:
        return FP_ERR_READ_ONLY;
    }
}

/* ---- requests ------------------------------------------------------------------------ */

static uint32_t fp_now(const fp_firmware *fw) { return fw->hal->clock_us(fw->hal->ctx); }

static void fp_handle_configure(fp_firmware *fw, const fp_message *m) {
    const fp_configure_msg *c = &m->u.configure;
    uint8_t err = 0;
    if (c->mode > FP_MODE_POSITION) {
        err = FP_ERR_BAD_MODE;
    } else if (c->watchdog_ms < 1 || c->watchdog_ms > FP_WATCHDOG_MAX_MS || c->torque_limit_mnm < 1 ||
               c->velocity_limit_cps < 0) {
        err = FP_ERR_OUT_OF_RANGE;
    } else if (c->mode != FP_MODE_IDLE && fw->faults != 0) {
        err = FP_ERR_FAULT_ACTIVE;
    }
    if (err) {
        fp_send_nack(fw, m->seq, m->type, err);
        return;
    }
    fw->mode = c->mode;
    fw->watchdog_ms = c->watchdog_ms;
    fw->torque_limit_mnm = c->torque_limit_mnm;
    fw->velocity_limit_cps = c->velocity_limit_cps;
    fw->have_setpoint = false;
    for (uint8_t i = 0; i < FP_MAX_MOTORS; i++) fw->setpoint[i] = 0;
    fw->last_command_us = fp_now(fw);
    if (fw->mode == FP_MODE_IDLE) fp_motors_off(fw);
    fp_send_ack(fw, m->seq, m->type);
}

static void fp_handle_command(fp_firmware *fw, const fp_message *m) {
    if (m->u.command.count != fw->board.motor_count) {
        fw->counters.rx_bad_messages++;
        fp_send_nack(fw, m->seq, m->type, FP_ERR_MOTOR_COUNT);
        return;
    }
    fp_send_state(fw, m->seq); /* sampled before the new setpoints take effect */
    if (fw->mode == FP_MODE_IDLE || fw->faults != 0) return;
    for (uint8_t i = 0; i < fw->board.motor_count; i++) fw->setpoint[i] = m->u.command.setpoint[i];
    fw->have_setpoint = true;
    fw->last_command_us = fp_now(fw);
}

static void fp_handle_clear_fault(fp_firmware *fw, const fp_message *m) {
    bool still = fw->hal->motor_fault(fw->hal->ctx);
    fw->faults = still ? FP_FAULT_MOTOR : 0;
    fw->have_setpoint = false;
    for (uint8_t i = 0; i < FP_MAX_MOTORS; i++) fw->setpoint[i] = 0;
    fw->last_command_us = fp_now(fw);
    if (still) {
        fp_send_nack(fw, m->seq, m->type, FP_ERR_FAULT_ACTIVE);
    } else {
        fp_send_ack(fw, m->seq, m->type);
    }
}

static void fp_handle_param(fp_firmware *fw, const fp_message *m) {
    const fp_param_msg *p = &m->u.param;
    int err = 0;
    if (m->type == FP_MSG_PARAM_SET) err = fp_firmware_param_set(fw, p->id, p->index, p->value);
    int32_t value = 0;
    if (!err) err = fp_firmware_param_get(fw, p->id, p->index, &value);
    if (err) {
        fp_send_nack(fw, m->seq, m->type, (uint8_t)err);
    } else {
        fp_send_param(fw, m->seq, p->id, p->index, value);
    }
}

void fp_firmware_handle_frame(fp_firmware *fw, const fp_frame *frame) {
    fp_message m;
    fp_parse_result r = fp_message_parse(frame, &m);
    /* MCU -> host types parse, but the MCU does not accept them. */
    if (r == FP_PARSE_OK && m.type >= 0x80) r = FP_PARSE_UNKNOWN_TYPE;
    if (r != FP_PARSE_OK) {
        uint8_t err = r == FP_PARSE_BAD_VERSION ? FP_ERR_BAD_VERSION
                      : r == FP_PARSE_UNKNOWN_TYPE ? FP_ERR_UNKNOWN_TYPE
                                                   : FP_ERR_BAD_LENGTH;
        fw->counters.rx_bad_messages++;
        fp_send_nack(fw, frame->seq, frame->type, err);
        return;
    }
    switch (m.type) {
    case FP_MSG_HELLO: fp_send_capabilities(fw, m.seq); break;
    case FP_MSG_CONFIGURE: fp_handle_configure(fw, &m); break;
    case FP_MSG_COMMAND: fp_handle_command(fw, &m); break;
    case FP_MSG_ESTOP:
        fw->faults |= FP_FAULT_ESTOP;
        fw->have_setpoint = false;
        fp_motors_off(fw);
        fp_send_ack(fw, m.seq, m.type);
        break;
    case FP_MSG_CLEAR_FAULT: fp_handle_clear_fault(fw, &m); break;
    case FP_MSG_PARAM_GET:
    case FP_MSG_PARAM_SET: fp_handle_param(fw, &m); break;
    case FP_MSG_STATE_REQUEST: fp_send_state(fw, m.seq); break;
    default: break; /* unreachable: parse accepted only the types above */
    }
}

void fp_firmware_poll(fp_firmware *fw) {
    uint8_t buf[64];
    size_t handled = 0;
    while (handled < FP_POLL_BUDGET) {
        size_t want = FP_POLL_BUDGET - handled;
        if (want > sizeof buf) want = sizeof buf;
        size_t n = fw->hal->uart_read(fw->hal->ctx, buf, want);
        if (n == 0) break;
        handled += n;
        for (size_t i = 0; i < n; i++) {
            fp_frame frame;
            switch (fp_receiver_feed(&fw->rx, buf[i], &frame)) {
            case FP_RX_NONE: break;
            case FP_RX_FRAME:
                fw->counters.rx_frames_ok++;
                fp_firmware_handle_frame(fw, &frame);
                break;
            case FP_RX_ERR_OVERSIZE: fw->counters.rx_oversize++; break;
            case FP_RX_ERR_COBS:
            case FP_RX_ERR_SHORT: fw->counters.rx_cobs_errors++; break;
            case FP_RX_ERR_CRC: fw->counters.rx_crc_errors++; break;
            }
        }
    }
}

/* ---- the control tick ---------------------------------------------------------------- */

static int32_t fp_clamp(int64_t v, int32_t limit, bool *clamped) {
    if (v > limit) {
        *clamped = true;
        return limit;
    }
    if (v < -(int64_t)limit) {
        *clamped = true;
        return -limit;
    }
    return (int32_t)v;
}

void fp_firmware_tick(fp_firmware *fw) {
    const fp_hal *h = fw->hal;
    uint32_t now = h->clock_us(h->ctx);
    uint8_t n = fw->board.motor_count;
    int64_t div = (int64_t)1 << fw->velocity_filter_shift;
    /* Velocity over the last `window` ticks (fewer right after start). */
    uint8_t back = fw->history < fw->velocity_window ? fw->history : fw->velocity_window;
    uint8_t slot = fw->history_slot;
    uint8_t old = (uint8_t)((slot + FP_VELOCITY_WINDOW_MAX - back) % FP_VELOCITY_WINDOW_MAX);
    uint32_t dt = now - fw->history_us[old];

    for (uint8_t i = 0; i < n; i++) {
        int32_t x = h->encoder_read(h->ctx, i);
        if (back > 0 && dt > 0) {
            int32_t delta = fp_u32_as_i32((uint32_t)x - (uint32_t)fw->history_pos[i][old]);
            int64_t raw = (int64_t)delta * 1000000 / (int64_t)dt;
            fw->velocity_q4[i] += fp_div_round(raw * 16 - fw->velocity_q4[i], div);
            fw->velocity[i] = fp_sat_i32(fp_div_round(fw->velocity_q4[i], 16));
        }
        fw->history_pos[i][slot] = x;
        fw->position[i] = x;
        fw->current_ma[i] = h->current_read_ma(h->ctx, i);
    }
    fw->history_us[slot] = now;
    fw->history_slot = (uint8_t)((slot + 1) % FP_VELOCITY_WINDOW_MAX);
    if (fw->history < FP_VELOCITY_WINDOW_MAX) fw->history++;
    fw->tick_us = now;

    /* Faults: latched here, cleared only by CLEAR_FAULT. */
    if (h->motor_fault(h->ctx)) fw->faults |= FP_FAULT_MOTOR;
    for (uint8_t i = 0; i < n; i++) {
        int32_t v = fw->velocity[i];
        if (fw->velocity_limit_cps > 0 && (v > fw->velocity_limit_cps || v < -fw->velocity_limit_cps))
            fw->faults |= FP_FAULT_VELOCITY_LIMIT;
        if (fw->position[i] < fw->position_min[i] || fw->position[i] > fw->position_max[i])
            fw->faults |= FP_FAULT_POSITION_LIMIT;
    }
    if (fw->mode != FP_MODE_IDLE && fw->faults == 0 &&
        (uint64_t)(now - fw->last_command_us) > (uint64_t)fw->watchdog_ms * 1000u) {
        fw->faults |= FP_FAULT_WATCHDOG;
        fw->counters.watchdog_trips++;
    }

    if (fw->mode == FP_MODE_IDLE || fw->faults != 0 || !fw->have_setpoint) {
        if (fw->faults != 0) fw->have_setpoint = false;
        fp_motors_off(fw);
        return;
    }

    if (!(fw->status & FP_STATUS_MOTORS_ON)) h->motors_enable(h->ctx, true);
    bool clamped = false;
    for (uint8_t i = 0; i < n; i++) {
        int64_t tau;
        int32_t sp = fw->setpoint[i];
        switch (fw->mode) {
        case FP_MODE_TORQUE: tau = sp; break;
        case FP_MODE_VELOCITY: tau = (int64_t)fw->kv[i] * ((int64_t)sp - fw->velocity[i]) / 1000; break;
        default:
            tau = ((int64_t)fw->kp[i] * ((int64_t)sp - fw->position[i]) - (int64_t)fw->kd[i] * fw->velocity[i]) /
                  1000;
            break;
        }
        int32_t limit = fw->torque_limit_mnm < fw->board.torque_max_mnm[i] ? fw->torque_limit_mnm
                                                                             : fw->board.torque_max_mnm[i];
        /* A passive axis (torque_max 0) outputs nothing and does not count as clamped. */
        fw->torque_mnm[i] = limit == 0 ? 0 : fp_clamp(tau, limit, &clamped);
        h->motor_set_torque(h->ctx, i, fw->torque_mnm[i]);
    }
    fw->status = (uint8_t)(FP_STATUS_MOTORS_ON | (clamped ? FP_STATUS_CLAMPED : 0));
}
