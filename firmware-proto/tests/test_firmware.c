/* The firmware core against a fake HAL: request/reply behaviour, control modes, limits,
 * the watchdog and its latched fault, e-stop, motor fault, parameters, velocity filter. */
#include <string.h>

#include "fp_firmware.h"
#include "test.h"

typedef struct {
    uint8_t in[4096];
    size_t in_len, in_pos;
    uint8_t out[8192];
    size_t out_len;
    bool out_full; /* refuse writes */
    uint32_t now_us;
    int32_t encoder[FP_MAX_MOTORS];
    int32_t current_ma[FP_MAX_MOTORS];
    int32_t torque[FP_MAX_MOTORS];
    bool enabled;
    bool fault;
    int torque_writes;
} fake_hw;

static size_t fake_read(void *ctx, uint8_t *buf, size_t cap) {
    fake_hw *h = ctx;
    size_t n = h->in_len - h->in_pos;
    if (n > cap) n = cap;
    memcpy(buf, h->in + h->in_pos, n);
    h->in_pos += n;
    return n;
}
static bool fake_write(void *ctx, const uint8_t *buf, size_t len) {
    fake_hw *h = ctx;
    if (h->out_full || h->out_len + len > sizeof h->out) return false;
    memcpy(h->out + h->out_len, buf, len);
    h->out_len += len;
    return true;
}
static uint32_t fake_clock(void *ctx) { return ((fake_hw *)ctx)->now_us; }
static int32_t fake_encoder(void *ctx, uint8_t m) { return ((fake_hw *)ctx)->encoder[m]; }
static int32_t fake_current(void *ctx, uint8_t m) { return ((fake_hw *)ctx)->current_ma[m]; }
static void fake_torque(void *ctx, uint8_t m, int32_t t) {
    fake_hw *h = ctx;
    h->torque[m] = t;
    h->torque_writes++;
}
static void fake_enable(void *ctx, bool on) { ((fake_hw *)ctx)->enabled = on; }
static bool fake_fault(void *ctx) { return ((fake_hw *)ctx)->fault; }

typedef struct {
    fake_hw hw;
    fp_hal hal;
    fp_firmware fw;
    uint16_t seq;
    fp_receiver rx;
} rig;

static void rig_init(rig *r, uint8_t motors) {
    memset(r, 0, sizeof *r);
    r->hal = (fp_hal){&r->hw, fake_read, fake_write, fake_clock, fake_encoder, fake_current,
                      fake_torque, fake_enable, fake_fault};
    fp_board b = {.motor_count = motors, .control_rate_hz = 1000};
    for (int i = 0; i < 8; i++) {
        b.counts_per_rev[i] = 4096;
        b.torque_max_mnm[i] = 2000 + 100 * i;
    }
    fp_receiver_init(&r->rx);
    fp_firmware_init(&r->fw, &r->hal, &b);
}

/* Sends a message to the firmware, polls it, and parses the single reply into *reply.
 * Returns the number of replies (expected 1). */
static int rig_request(rig *r, fp_message *msg, fp_message *reply) {
    msg->seq = r->seq++;
    uint8_t wire[FP_MAX_WIRE];
    size_t n = fp_message_encode(msg, wire, sizeof wire);
    CHECK(n > 0);
    memcpy(r->hw.in, wire, n);
    r->hw.in_len = n;
    r->hw.in_pos = 0;
    r->hw.out_len = 0;
    fp_firmware_poll(&r->fw);
    int replies = 0;
    for (size_t i = 0; i < r->hw.out_len; i++) {
        fp_frame f;
        if (fp_receiver_feed(&r->rx, r->hw.out[i], &f) == FP_RX_FRAME) {
            CHECK_EQ(fp_message_parse(&f, reply), FP_PARSE_OK);
            replies++;
        }
    }
    return replies;
}

static fp_message simple(uint8_t type) {
    fp_message m;
    memset(&m, 0, sizeof m);
    m.type = type;
    return m;
}

static fp_message configure(uint8_t mode, uint16_t wd, int32_t tl, int32_t vl) {
    fp_message m = simple(FP_MSG_CONFIGURE);
    m.u.configure = (fp_configure_msg){mode, wd, tl, vl};
    return m;
}

static fp_message command1(int32_t sp) {
    fp_message m = simple(FP_MSG_COMMAND);
    m.u.command.count = 1;
    m.u.command.setpoint[0] = sp;
    return m;
}

/* Advances the fake clock by `ms` milliseconds, ticking every millisecond. */
static void run_ms(rig *r, int ms) {
    for (int i = 0; i < ms; i++) {
        r->hw.now_us += 1000;
        fp_firmware_tick(&r->fw);
    }
}

static void test_hello(void) {
    rig r;
    rig_init(&r, 2);
    fp_message req = simple(FP_MSG_HELLO), rep;
    CHECK_EQ(rig_request(&r, &req, &rep), 1);
    CHECK_EQ(rep.type, FP_MSG_CAPABILITIES);
    CHECK_EQ(rep.echo_seq, req.seq);
    CHECK_EQ(rep.u.capabilities.motor_count, 2);
    CHECK_EQ(rep.u.capabilities.counts_per_rev[1], 4096);
    CHECK_EQ(rep.u.capabilities.torque_max_mnm[1], 2100);
    CHECK_EQ(rep.u.capabilities.fw_major, FP_FW_VERSION_MAJOR);
    CHECK_EQ(rep.u.capabilities.modes, 0x0E);
    CHECK_EQ(rep.u.capabilities.max_payload, 128);
}

static void test_torque_mode_and_clamp(void) {
    rig r;
    rig_init(&r, 1);
    fp_message req = configure(FP_MODE_TORQUE, 100, 1500, 0), rep;
    CHECK_EQ(rig_request(&r, &req, &rep), 1);
    CHECK_EQ(rep.type, FP_MSG_ACK);
    CHECK_EQ(rep.u.reply.type, FP_MSG_CONFIGURE);
    run_ms(&r, 5);
    CHECK(!r.hw.enabled); /* no setpoint yet: motors stay off */
    r.hw.encoder[0] = 77;
    r.hw.current_ma[0] = -40000;
    run_ms(&r, 1);
    req = command1(1200);
    CHECK_EQ(rig_request(&r, &req, &rep), 1);
    CHECK_EQ(rep.type, FP_MSG_STATE);
    CHECK_EQ(rep.echo_seq, req.seq);
    CHECK_EQ(rep.u.state.position[0], 77);
    CHECK_EQ(rep.u.state.current_ma[0], -32768); /* saturated */
    CHECK_EQ(rep.u.state.mode, FP_MODE_TORQUE);
    CHECK_EQ(rep.u.state.timestamp_us, r.hw.now_us);
    run_ms(&r, 1);
    CHECK(r.hw.enabled);
    CHECK_EQ(r.hw.torque[0], 1200);
    req = command1(-5000);
    rig_request(&r, &req, &rep);
    CHECK(rep.u.state.status & FP_STATUS_MOTORS_ON);
    CHECK(rep.u.state.status & FP_STATUS_HAVE_SETPOINT);
    run_ms(&r, 1);
    CHECK_EQ(r.hw.torque[0], -1500); /* clamped to the configured limit */
    req = simple(FP_MSG_STATE_REQUEST);
    rig_request(&r, &req, &rep);
    CHECK(rep.u.state.status & FP_STATUS_CLAMPED);
    /* A limit above the motor's peak is clamped to the peak. */
    req = configure(FP_MODE_TORQUE, 100, 1000000, 0);
    rig_request(&r, &req, &rep);
    req = command1(1000000);
    rig_request(&r, &req, &rep);
    run_ms(&r, 1);
    CHECK_EQ(r.hw.torque[0], 2000);
}

static void test_passive_axis(void) {
    rig r;
    rig_init(&r, 2);
    r.fw.board.torque_max_mnm[1] = 0; /* as fp_firmware_init leaves a board's passive axis */
    fp_message req = configure(FP_MODE_TORQUE, 100, 5000, 0), rep;
    rig_request(&r, &req, &rep);
    req = simple(FP_MSG_COMMAND);
    req.u.command.count = 2;
    req.u.command.setpoint[0] = 700;
    req.u.command.setpoint[1] = 900;
    rig_request(&r, &req, &rep);
    CHECK_EQ(rep.type, FP_MSG_STATE);
    run_ms(&r, 1);
    CHECK_EQ(r.hw.torque[0], 700);
    CHECK_EQ(r.hw.torque[1], 0);
    CHECK(!(r.fw.status & FP_STATUS_CLAMPED));
}

static void test_watchdog(void) {
    rig r;
    rig_init(&r, 1);
    fp_message req = configure(FP_MODE_TORQUE, 100, 2000, 0), rep;
    rig_request(&r, &req, &rep);
    req = command1(500);
    rig_request(&r, &req, &rep);
    uint32_t last_command = r.hw.now_us;
    /* Commands every 5 ms keep it alive. */
    for (int k = 0; k < 50; k++) {
        run_ms(&r, 5);
        req = command1(500);
        rig_request(&r, &req, &rep);
        last_command = r.hw.now_us;
    }
    CHECK_EQ(r.fw.faults, 0);
    CHECK_EQ(r.hw.torque[0], 500);
    /* Then silence: motors off within the period (+ one tick), fault latched. */
    int ms = 0;
    while (r.hw.enabled && ms < 1000) {
        run_ms(&r, 1);
        ms++;
    }
    CHECK(!r.hw.enabled);
    CHECK_EQ(r.hw.torque[0], 0);
    CHECK(r.hw.now_us - last_command > 100000u);
    CHECK(r.hw.now_us - last_command <= 101000u);
    CHECK_EQ(r.fw.faults, FP_FAULT_WATCHDOG);
    CHECK_EQ(r.fw.counters.watchdog_trips, 1);
    /* A late command does not clear it: still off, state reports the fault. */
    req = command1(500);
    rig_request(&r, &req, &rep);
    CHECK_EQ(rep.u.state.faults, FP_FAULT_WATCHDOG);
    run_ms(&r, 5);
    CHECK(!r.hw.enabled);
    /* CONFIGURE into a mode is refused while faulted. */
    req = configure(FP_MODE_TORQUE, 100, 2000, 0);
    rig_request(&r, &req, &rep);
    CHECK_EQ(rep.type, FP_MSG_NACK);
    CHECK_EQ(rep.u.reply.error, FP_ERR_FAULT_ACTIVE);
    /* CLEAR_FAULT clears; motors stay off until the next command. */
    req = simple(FP_MSG_CLEAR_FAULT);
    rig_request(&r, &req, &rep);
    CHECK_EQ(rep.type, FP_MSG_ACK);
    CHECK_EQ(r.fw.faults, 0);
    run_ms(&r, 2);
    CHECK(!r.hw.enabled);
    req = command1(300);
    rig_request(&r, &req, &rep);
    run_ms(&r, 1);
    CHECK(r.hw.enabled);
    CHECK_EQ(r.hw.torque[0], 300);
    /* Idle mode: no watchdog. */
    req = configure(FP_MODE_IDLE, 10, 2000, 0);
    rig_request(&r, &req, &rep);
    run_ms(&r, 500);
    CHECK_EQ(r.fw.faults, 0);
    CHECK(!r.hw.enabled);
    /* Commands in idle mode are answered but ignored. */
    req = command1(300);
    rig_request(&r, &req, &rep);
    CHECK_EQ(rep.type, FP_MSG_STATE);
    run_ms(&r, 1);
    CHECK(!r.hw.enabled);
}

static void test_watchdog_clock_wrap(void) {
    rig r;
    rig_init(&r, 1);
    r.hw.now_us = 0xFFFFFFFFu - 50000u;
    fp_message req = configure(FP_MODE_TORQUE, 100, 2000, 0), rep;
    rig_request(&r, &req, &rep);
    req = command1(100);
    rig_request(&r, &req, &rep);
    run_ms(&r, 99); /* crosses the 2^32 wrap */
    CHECK_EQ(r.fw.faults, 0);
    CHECK(r.hw.enabled);
    run_ms(&r, 2);
    CHECK_EQ(r.fw.faults, FP_FAULT_WATCHDOG);
}

static void test_estop_and_motor_fault(void) {
    rig r;
    rig_init(&r, 1);
    fp_message req = configure(FP_MODE_TORQUE, 100, 2000, 0), rep;
    rig_request(&r, &req, &rep);
    req = command1(800);
    rig_request(&r, &req, &rep);
    run_ms(&r, 1);
    CHECK(r.hw.enabled);
    req = simple(FP_MSG_ESTOP);
    rig_request(&r, &req, &rep);
    CHECK_EQ(rep.type, FP_MSG_ACK);
    CHECK(!r.hw.enabled); /* immediately, before the next tick */
    CHECK_EQ(r.hw.torque[0], 0);
    CHECK_EQ(r.fw.faults, FP_FAULT_ESTOP);
    req = simple(FP_MSG_CLEAR_FAULT);
    rig_request(&r, &req, &rep);
    CHECK_EQ(rep.type, FP_MSG_ACK);
    /* Motor fault input: latched, and CLEAR_FAULT refused while it is asserted. */
    req = command1(800);
    rig_request(&r, &req, &rep);
    run_ms(&r, 1);
    CHECK(r.hw.enabled);
    r.hw.fault = true;
    run_ms(&r, 1);
    CHECK(!r.hw.enabled);
    CHECK_EQ(r.fw.faults, FP_FAULT_MOTOR);
    req = simple(FP_MSG_CLEAR_FAULT);
    rig_request(&r, &req, &rep);
    CHECK_EQ(rep.type, FP_MSG_NACK);
    CHECK_EQ(rep.u.reply.error, FP_ERR_FAULT_ACTIVE);
    r.hw.fault = false;
    run_ms(&r, 1);
    CHECK_EQ(r.fw.faults, FP_FAULT_MOTOR); /* still latched after the input drops */
    rig_request(&r, &req, &rep);
    CHECK_EQ(rep.type, FP_MSG_ACK);
    CHECK_EQ(r.fw.faults, 0);
}

static void test_limits(void) {
    rig r;
    rig_init(&r, 1);
    fp_message req = configure(FP_MODE_TORQUE, 100, 2000, 4000), rep;
    rig_request(&r, &req, &rep);
    req = command1(100);
    rig_request(&r, &req, &rep);
    /* 3 counts per ms = 3000 counts/s: under the limit. */
    for (int i = 0; i < 50; i++) {
        r.hw.encoder[0] += 3;
        run_ms(&r, 1);
    }
    CHECK_EQ(r.fw.faults, 0);
    CHECK_EQ(r.fw.velocity[0], 3000);
    for (int i = 0; i < 50; i++) {
        r.hw.encoder[0] += 5;
        run_ms(&r, 1);
    }
    CHECK_EQ(r.fw.faults, FP_FAULT_VELOCITY_LIMIT);
    CHECK(!r.hw.enabled);
    run_ms(&r, 20); /* standing still: the filtered velocity decays below the limit */
    req = simple(FP_MSG_CLEAR_FAULT);
    rig_request(&r, &req, &rep);
    /* Position limit. */
    fp_message set = simple(FP_MSG_PARAM_SET);
    set.u.param = (fp_param_msg){FP_PARAM_POSITION_MAX, 0, r.hw.encoder[0] + 10};
    rig_request(&r, &set, &rep);
    CHECK_EQ(rep.type, FP_MSG_PARAM_VALUE);
    req = command1(100);
    rig_request(&r, &req, &rep);
    run_ms(&r, 1);
    CHECK_EQ(r.fw.faults, 0);
    r.hw.encoder[0] += 11;
    run_ms(&r, 1);
    CHECK(r.fw.faults & FP_FAULT_POSITION_LIMIT);
}

static void test_velocity_filter(void) {
    rig r;
    rig_init(&r, 1);
    CHECK_EQ(r.fw.velocity_window, 4);
    CHECK_EQ(r.fw.velocity_filter_shift, 2);
    /* Constant 2 counts per ms: the default filter settles on exactly 2000 counts/s. */
    for (int i = 0; i < 100; i++) {
        r.hw.encoder[0] += 2;
        run_ms(&r, 1);
    }
    CHECK_EQ(r.fw.velocity[0], 2000);
    /* Window 4: a 6-count step in one tick is averaged over 4 ms (raw 3000), then a quarter
     * of the change reaches the output: 2000 + (3000 - 2000) / 4. */
    r.hw.encoder[0] += 6;
    run_ms(&r, 1);
    CHECK_EQ(r.fw.velocity[0], 2250);
    /* Window 1, shift 0: the raw one-tick difference. */
    CHECK_EQ(fp_firmware_param_set(&r.fw, FP_PARAM_VELOCITY_WINDOW, 0, 1), 0);
    CHECK_EQ(fp_firmware_param_set(&r.fw, FP_PARAM_VELOCITY_FILTER_SHIFT, 0, 0), 0);
    r.hw.encoder[0] -= 7;
    run_ms(&r, 1);
    CHECK_EQ(r.fw.velocity[0], -7000);
    /* Encoder wrap-around gives a small velocity, not a huge one. */
    r.hw.encoder[0] = INT32_MAX;
    run_ms(&r, 1);
    r.hw.encoder[0] = INT32_MIN + 4; /* +5 counts across the wrap */
    run_ms(&r, 1);
    CHECK_EQ(r.fw.velocity[0], 5000);
    CHECK_EQ(fp_firmware_param_set(&r.fw, FP_PARAM_VELOCITY_WINDOW, 0, 16), FP_ERR_OUT_OF_RANGE);
    CHECK_EQ(fp_firmware_param_set(&r.fw, FP_PARAM_VELOCITY_WINDOW, 0, 0), FP_ERR_OUT_OF_RANGE);
    CHECK_EQ(fp_firmware_param_set(&r.fw, FP_PARAM_VELOCITY_WINDOW, 0, 15), 0);

    /* Quantised encoder at a slow, constant 0.3 counts per ms: window 1 jumps between 0 and
     * 1000 counts/s; the default window 4 + shift 2 stays much closer to the true 300. */
    int64_t worst_of[5] = {0};
    for (int window = 1; window <= 4; window += 3) {
        rig q;
        rig_init(&q, 1);
        fp_firmware_param_set(&q.fw, FP_PARAM_VELOCITY_WINDOW, 0, window);
        int64_t worst = 0;
        for (int i = 0; i < 1000; i++) {
            q.hw.encoder[0] = (int32_t)((i * 3) / 10);
            run_ms(&q, 1);
            int64_t err = q.fw.velocity[0] - 300;
            if (err < 0) err = -err;
            if (i > 100 && err > worst) worst = err;
        }
        worst_of[window] = worst;
    }
    printf("velocity filter: worst error at 300 counts/s (0.3 counts per tick): window 1 %lld, window 4 %lld "
           "counts/s\n", (long long)worst_of[1], (long long)worst_of[4]);
    CHECK(worst_of[4] * 2 < worst_of[1]);
    CHECK(worst_of[4] < 250);
}

static void test_position_and_velocity_modes(void) {
    rig r;
    rig_init(&r, 1);
    fp_firmware_param_set(&r.fw, FP_PARAM_KP, 0, 2000);  /* 2 mN·m per count */
    fp_firmware_param_set(&r.fw, FP_PARAM_KD, 0, 100);   /* 0.1 mN·m per count/s */
    fp_firmware_param_set(&r.fw, FP_PARAM_KV, 0, 500);
    fp_firmware_param_set(&r.fw, FP_PARAM_VELOCITY_WINDOW, 0, 1);
    fp_message req = configure(FP_MODE_POSITION, 100, 2000, 0), rep;
    rig_request(&r, &req, &rep);
    r.hw.encoder[0] = 100;
    run_ms(&r, 1);
    req = command1(400);
    rig_request(&r, &req, &rep);
    run_ms(&r, 1);
    CHECK_EQ(r.hw.torque[0], 600); /* 2000 * 300 / 1000, velocity 0 */
    r.hw.encoder[0] = 110;         /* 10 counts in 1 ms: raw 10000 counts/s, filtered 2500 */
    run_ms(&r, 1);
    CHECK_EQ(r.fw.velocity[0], 2500);
    CHECK_EQ(r.hw.torque[0], (2000 * 290 - 100 * 2500) / 1000);
    req = configure(FP_MODE_VELOCITY, 100, 2000, 0);
    rig_request(&r, &req, &rep);
    req = command1(4500);
    rig_request(&r, &req, &rep);
    r.hw.encoder[0] = 110;
    run_ms(&r, 1); /* velocity 2500 -> 1875 */
    CHECK_EQ(r.fw.velocity[0], 1875);
    CHECK_EQ(r.hw.torque[0], 500 * (4500 - 1875) / 1000);
}

static void test_params_and_errors(void) {
    rig r;
    rig_init(&r, 2);
    fp_message req = simple(FP_MSG_PARAM_GET), rep;
    req.u.param = (fp_param_msg){FP_PARAM_WATCHDOG_MS, 0, 0};
    rig_request(&r, &req, &rep);
    CHECK_EQ(rep.type, FP_MSG_PARAM_VALUE);
    CHECK_EQ(rep.u.param.value, 100);
    CHECK_EQ(rep.echo_seq, req.seq);
    req.u.param = (fp_param_msg){FP_PARAM_TORQUE_LIMIT_MNM, 0, 0};
    rig_request(&r, &req, &rep);
    CHECK_EQ(rep.u.param.value, 2000); /* smallest motor peak */
    req.u.param = (fp_param_msg){FP_PARAM_COUNTS_PER_REV, 1, 0};
    rig_request(&r, &req, &rep);
    CHECK_EQ(rep.u.param.value, 4096);
    req.u.param = (fp_param_msg){FP_PARAM_COUNTS_PER_REV, 2, 0};
    rig_request(&r, &req, &rep);
    CHECK_EQ(rep.type, FP_MSG_NACK);
    CHECK_EQ(rep.u.reply.error, FP_ERR_OUT_OF_RANGE);
    req.u.param = (fp_param_msg){0x0999, 0, 0};
    rig_request(&r, &req, &rep);
    CHECK_EQ(rep.u.reply.error, FP_ERR_UNKNOWN_PARAM);
    req = simple(FP_MSG_PARAM_SET);
    req.u.param = (fp_param_msg){FP_PARAM_COUNTS_PER_REV, 0, 5};
    rig_request(&r, &req, &rep);
    CHECK_EQ(rep.u.reply.error, FP_ERR_READ_ONLY);
    req.u.param = (fp_param_msg){FP_PARAM_WATCHDOG_MS, 0, 0};
    rig_request(&r, &req, &rep);
    CHECK_EQ(rep.u.reply.error, FP_ERR_OUT_OF_RANGE);
    req.u.param = (fp_param_msg){FP_PARAM_WATCHDOG_MS, 0, 250};
    rig_request(&r, &req, &rep);
    CHECK_EQ(rep.type, FP_MSG_PARAM_VALUE);
    CHECK_EQ(rep.u.param.value, 250);
    CHECK_EQ(r.fw.watchdog_ms, 250);
    /* CONFIGURE errors. */
    req = configure(7, 100, 2000, 0);
    rig_request(&r, &req, &rep);
    CHECK_EQ(rep.u.reply.error, FP_ERR_BAD_MODE);
    req = configure(1, 0, 2000, 0);
    rig_request(&r, &req, &rep);
    CHECK_EQ(rep.u.reply.error, FP_ERR_OUT_OF_RANGE);
    req = configure(1, 100, 0, 0);
    rig_request(&r, &req, &rep);
    CHECK_EQ(rep.u.reply.error, FP_ERR_OUT_OF_RANGE);
    /* COMMAND with the wrong motor count. */
    req = command1(5);
    rig_request(&r, &req, &rep);
    CHECK_EQ(rep.type, FP_MSG_NACK);
    CHECK_EQ(rep.u.reply.error, FP_ERR_MOTOR_COUNT);
    /* An MCU -> host type sent to the MCU. */
    req = simple(FP_MSG_ACK);
    req.u.reply.type = 1;
    rig_request(&r, &req, &rep);
    CHECK_EQ(rep.u.reply.error, FP_ERR_UNKNOWN_TYPE);
    /* Bad version: NACK with the received type. */
    uint8_t wire[FP_MAX_WIRE];
    size_t n = fp_frame_encode(2, FP_MSG_HELLO, 77, NULL, 0, wire, sizeof wire);
    memcpy(r.hw.in, wire, n);
    r.hw.in_len = n;
    r.hw.in_pos = 0;
    r.hw.out_len = 0;
    fp_firmware_poll(&r.fw);
    fp_frame f;
    int got = 0;
    for (size_t i = 0; i < r.hw.out_len; i++)
        if (fp_receiver_feed(&r.rx, r.hw.out[i], &f) == FP_RX_FRAME) {
            CHECK_EQ(fp_message_parse(&f, &rep), FP_PARSE_OK);
            got++;
        }
    CHECK_EQ(got, 1);
    CHECK_EQ(rep.type, FP_MSG_NACK);
    CHECK_EQ(rep.echo_seq, 77);
    CHECK_EQ(rep.u.reply.error, FP_ERR_BAD_VERSION);
    CHECK_EQ(r.fw.counters.rx_bad_messages, 3);
    /* A full transmit buffer is counted, not fatal. */
    r.hw.out_full = true;
    req = simple(FP_MSG_HELLO);
    CHECK_EQ(rig_request(&r, &req, &rep), 0);
    CHECK_EQ(r.fw.counters.tx_overruns, 1);
}

/* Random garbage and mutated frames into the whole firmware: no crash, motors never on
 * without an accepted command, counters consistent. */
static void test_firmware_garbage(void) {
    rig r;
    rig_init(&r, 3);
    fp_rng rng = {777};
    for (int round = 0; round < 20000; round++) {
        size_t len = 1 + fp_rng_below(&rng, 200);
        for (size_t i = 0; i < len; i++)
            r.hw.in[i] = fp_rng_below(&rng, 20) == 0 ? 0 : (uint8_t)fp_rng_next(&rng);
        r.hw.in_len = len;
        r.hw.in_pos = 0;
        r.hw.out_len = 0;
        fp_firmware_poll(&r.fw);
        r.hw.now_us += 1000;
        fp_firmware_tick(&r.fw);
        CHECK(!r.hw.enabled);
    }
    CHECK_EQ(r.fw.counters.rx_frames_ok, 0); /* random bytes never pass CRC-32C here */
    CHECK(r.fw.counters.rx_crc_errors + r.fw.counters.rx_cobs_errors > 1000);
}

void test_firmware(void) {
    test_hello();
    test_torque_mode_and_clamp();
    test_passive_axis();
    test_watchdog();
    test_watchdog_clock_wrap();
    test_estop_and_motor_fault();
    test_limits();
    test_velocity_filter();
    test_position_and_velocity_modes();
    test_params_and_errors();
    test_firmware_garbage();
}
