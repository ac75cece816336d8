/* servo-emulator: a bus of Dynamixel (Protocol 2.0) or Feetech (STS/SCS) servos over a
 * pseudo-terminal, each servo a control table and an inner position/velocity/current loop with
 * CPlant behind it (a pendulum per servo, or one N-joint chain with servo i driving joint i), so
 * robotctl's servo-bus driver runs end to end without hardware.
 *
 *   servo-emulator --bus dynamixel|feetech [--joints N] [--model NAME[,NAME..]] [--baud B] ...
 *   servo-emulator --bus feetech --plant chain --joints 2 --param joints=2 --param j0.mass=0.1 ...
 *
 * The first line on stdout is exactly "servo-emulator: pty <path>\n" (flushed); events
 * (watchdog expiry, torque changes, faults) and --stats go to stderr. Bytes are paced at the
 * servos' baud rate, replies wait the servos' Return Delay Time, and a servo hears the host
 * only while the host's port runs at that servo's baud rate (read from the pty's termios).
 * Runs until SIGINT/SIGTERM, until its parent exits, or for --duration seconds. */
#define _GNU_SOURCE /* ppoll, posix_openpt, ptsname_r, cfmakeraw */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "plant.h"
#include "servo_bus.h"

#define MAX_SERVOS 8
#define MAX_PARAMS 256
#define TX_CAPACITY 65536u
#define TICK_US 1000u

/* ---- servo models ---------------------------------------------------------------------- */

typedef struct {
    const char *name;
    sb_kind bus;
    uint16_t number;
    double current_unit_a; /* 0: no current sensing/control */
    double velocity_unit;  /* rad/s per unit */
    double stall_torque;   /* N*m */
    double stall_current;  /* A */
    double supply_v;
    double rotor_inertia;  /* motor and gears reflected to the output, kg*m^2 */
} model_info;

static const model_info MODELS[] = {
    {"xl430-w250", SB_DYNAMIXEL, 1060, 0.0, 0.229 * 2 * M_PI / 60, 1.5, 1.4, 12.0, 0.002},
    {"xm430-w210", SB_DYNAMIXEL, 1030, 0.00269, 0.229 * 2 * M_PI / 60, 3.0, 2.3, 12.0, 0.002},
    {"xm430-w350", SB_DYNAMIXEL, 1020, 0.00269, 0.229 * 2 * M_PI / 60, 4.1, 2.3, 12.0, 0.003},
    {"xl330-m288", SB_DYNAMIXEL, 1200, 0.001, 0.229 * 2 * M_PI / 60, 0.52, 1.47, 5.0, 0.0005},
    {"xl330-m077", SB_DYNAMIXEL, 1190, 0.001, 0.229 * 2 * M_PI / 60, 0.215, 1.47, 5.0, 0.0002},
    {"sts3215", SB_FEETECH, 777, 0.0065, 2 * M_PI / 4096, 1.6, 2.7, 7.4, 0.001},
};

/* Control-table addresses (sources: the Swift tables in Sources/Hardware/ServoBus). */
enum {
    DXL_MODEL = 0, DXL_FW = 6, DXL_ID = 7, DXL_BAUD = 8, DXL_RDT = 9, DXL_MODE = 11, DXL_CURRENT_LIMIT = 38,
    DXL_TORQUE = 64, DXL_HW_ERROR = 70, DXL_WATCHDOG = 98, DXL_GOAL_CURRENT = 102, DXL_GOAL_VELOCITY = 104,
    DXL_GOAL_POSITION = 116, DXL_PRESENT_CURRENT = 126, DXL_PRESENT_VELOCITY = 128, DXL_PRESENT_POSITION = 132,
    DXL_TABLE_END = 147, DXL_RAM = 64
};
enum {
    FT_FW = 0, FT_MODEL = 3, FT_ID = 5, FT_BAUD = 6, FT_RDT = 7, FT_MAX_TORQUE = 16, FT_P_GAIN = 21, FT_MODE = 33, FT_TORQUE = 40, FT_GOAL_POSITION = 42,
    FT_GOAL_SPEED = 46, FT_LOCK = 55, FT_PRESENT_POSITION = 56, FT_PRESENT_SPEED = 58, FT_PRESENT_LOAD = 60,
    FT_VOLTAGE = 62, FT_TEMPERATURE = 63, FT_STATUS = 65, FT_MOVING = 66, FT_PRESENT_CURRENT = 69, FT_TABLE_END = 71,
    FT_RAM = 40
};

static const int DXL_BAUDS[] = {9600, 57600, 115200, 1000000, 2000000, 3000000, 4000000, 4500000};
static const int FT_BAUDS[] = {1000000, 500000, 250000, 128000, 115200, 76800, 57600, 38400};

static int baud_of(sb_kind bus, uint8_t value) {
    if (value > 7) return 0;
    return bus == SB_DYNAMIXEL ? DXL_BAUDS[value] : FT_BAUDS[value];
}

static int baud_value(sb_kind bus, int baud) {
    for (int i = 0; i < 8; i++)
        if (baud_of(bus, (uint8_t)i) == baud) return i;
    return -1;
}

/* ---- one servo ------------------------------------------------------------------------- */

typedef struct {
    const model_info *model;
    uint8_t table[256];
    uint8_t saved[256]; /* Feetech: what survives a power cycle (written while unlocked) */
    /* The load: joint `joint` of `plant` (its own pendulum, or the shared chain). The position
     * register reads zero_counts + direction * (the joint's encoder counts). */
    plant_state *plant;
    int joint;
    int32_t zero_counts;
    int direction;
    double kp, kd, kv;
    uint64_t last_heard_us;
    bool silent, overloaded, overload_fired;
    uint64_t rebooting_until_us;
    /* Statistics. */
    unsigned heard, replies, check_errors, watchdog_trips, unsaved_writes;
} servo;

static uint32_t get_le(const uint8_t *t, int addr, int len) {
    uint32_t v = 0;
    for (int i = 0; i < len; i++) v |= (uint32_t)t[addr + i] << (8 * i);
    return v;
}

static void put_le(uint8_t *t, int addr, int len, uint32_t v) {
    for (int i = 0; i < len; i++) t[addr + i] = (uint8_t)(v >> (8 * i));
}

static uint16_t sign_magnitude(int32_t v, int bit) {
    int32_t lim = (1 << bit) - 1, m = v < 0 ? -v : v;
    if (m > lim) m = lim;
    return (uint16_t)(v < 0 ? m | (1 << bit) : m);
}

static int32_t from_sign_magnitude(uint16_t raw, int bit) {
    int32_t m = raw & ((1 << bit) - 1);
    return (raw >> bit) & 1 ? -m : m;
}

static uint8_t servo_id(const servo *s) { return s->table[s->model->bus == SB_DYNAMIXEL ? DXL_ID : FT_ID]; }
static int servo_baud(const servo *s) {
    return baud_of(s->model->bus, s->table[s->model->bus == SB_DYNAMIXEL ? DXL_BAUD : FT_BAUD]);
}
static bool torque_on(const servo *s) { return s->table[s->model->bus == SB_DYNAMIXEL ? DXL_TORQUE : FT_TORQUE] != 0; }
static uint64_t return_delay_us(const servo *s) {
    return 2u * s->table[s->model->bus == SB_DYNAMIXEL ? DXL_RDT : FT_RDT];
}

/* ---- the emulator ---------------------------------------------------------------------- */

typedef enum { PLANT_OF_PENDULUMS = 0, PLANT_OF_CHAIN = 1 } plant_choice;

typedef struct {
    sb_kind bus;
    const model_info *model[MAX_SERVOS];
    plant_choice plant;
    int32_t zero_counts[MAX_SERVOS];
    int direction[MAX_SERVOS];
    int joints;
    uint8_t first_id;
    uint8_t ids[MAX_SERVOS];
    int baud;
    uint64_t seed;
    double drop, corrupt;
    int silent_id, overload_id;
    double silent_at, overload_at, cut_at, cut_for, duration;
    const char *param_name[MAX_PARAMS];
    double param_value[MAX_PARAMS];
    int param_count;
    int stats;
} options;

typedef struct {
    sb_kind bus;
    int master, slave;
    char path[128];
    servo servos[MAX_SERVOS];
    int count;
    /* One pendulum per servo, or one chain (plants[0]) for all. */
    plant_state plants[MAX_SERVOS];
    int plant_count;
    sb_receiver rx;
    sb_packet packet;
    /* Host-bound bytes and the time each is on the wire, in order. */
    uint8_t tx[TX_CAPACITY];
    uint64_t tx_release[TX_CAPACITY];
    size_t tx_head, tx_count;
    uint64_t tx_free_us; /* when the bus is free for the next reply */
    uint64_t rx_wire_us; /* when the last received byte finished on the wire */
    uint64_t now_us;
    uint64_t rng;
    const options *opt;
    /* Statistics. */
    uint64_t bytes_in, bytes_out, dropped, corrupted, unheard_packets;
} emulator;

static uint64_t monotonic_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static double uniform01(emulator *e) {
    uint64_t z = (e->rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (double)(z >> 11) * (1.0 / 9007199254740992.0);
}

static double seconds(const emulator *e) { return (double)e->now_us * 1e-6; }

static bool line_cut(const emulator *e) {
    double t = seconds(e);
    return e->opt->cut_at >= 0 && t >= e->opt->cut_at && (e->opt->cut_for <= 0 || t < e->opt->cut_at + e->opt->cut_for);
}

static uint64_t byte_us_x1000(int baud) { return 10ull * 1000000000ull / (uint64_t)baud; } /* ns per byte */

/* The baud rate the host set on its end of the pty (Linux shares termios across the pair). */
static int host_baud(const emulator *e) {
    struct termios t;
    if (tcgetattr(e->master, &t) != 0) return 0;
    static const struct { speed_t s; int b; } map[] = {
        {B9600, 9600}, {B38400, 38400}, {B57600, 57600}, {B115200, 115200}, {B230400, 230400},
        {B460800, 460800}, {B500000, 500000}, {B1000000, 1000000}, {B2000000, 2000000},
        {B3000000, 3000000}, {B4000000, 4000000},
    };
    speed_t s = cfgetospeed(&t);
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (map[i].s == s) return map[i].b;
    return 0;
}

/* Queues one reply packet: it starts after the bus is free and the servo's Return Delay Time
 * has passed since `after_us`, each byte 10 bit times long. */
static void queue_reply(emulator *e, const uint8_t *bytes, size_t n, uint64_t after_us, uint64_t delay_us, int baud) {
    if (TX_CAPACITY - e->tx_count < n) return;
    uint64_t start = after_us + delay_us;
    if (start < e->tx_free_us) start = e->tx_free_us;
    uint64_t ns = byte_us_x1000(baud);
    /* The whole packet is handed to the host when its last byte has left the wire (as a USB
     * adapter delivers it): exact end time, one write instead of one wake-up per byte. */
    uint64_t done = start + ((uint64_t)n * ns + 999) / 1000;
    for (size_t i = 0; i < n; i++) {
        size_t k = (e->tx_head + e->tx_count) % TX_CAPACITY;
        e->tx[k] = bytes[i];
        e->tx_release[k] = done;
        e->tx_count++;
    }
    e->tx_free_us = done;
}

static void log_event(const emulator *e, const servo *s, const char *what) {
    fprintf(stderr, "servo-emulator: t=%.3f s: servo %u: %s\n", seconds(e), servo_id(s), what);
}

static void set_torque(emulator *e, servo *s, bool on, const char *why) {
    uint8_t *t = &s->table[s->model->bus == SB_DYNAMIXEL ? DXL_TORQUE : FT_TORQUE];
    if ((*t != 0) == on) return;
    *t = on ? 1 : 0;
    char msg[96];
    snprintf(msg, sizeof msg, "torque %s (%s)", on ? "on" : "off", why);
    log_event(e, s, msg);
}

/* An STS position register: one turn, 0...4095; the pendulum hanging down (pi) reads 2048,
 * the middle of the servo's range, as an arm joint is mounted. */
static int32_t feetech_raw(int32_t counts) { return (counts % 4096 + 4096) % 4096; }

/* The servo's view of its joint: position counts as its register reads them (unwrapped),
 * velocity (rad/s) and motor current (A), signed in the servo's direction. */
static int32_t servo_counts(const servo *s) {
    return s->zero_counts + s->direction * plant_encoder_counts(s->plant, s->joint);
}
static double servo_velocity(const servo *s) { return s->direction * plant_true_velocity(s->plant, s->joint); }

/* Fills the present-state registers from the plant. */
static void refresh(servo *s) {
    int32_t counts = servo_counts(s);
    double vel = servo_velocity(s);
    double amps = torque_on(s) ? s->direction * plant_motor_current(s->plant, s->joint) : 0.0;
    const model_info *m = s->model;
    if (m->bus == SB_DYNAMIXEL) {
        put_le(s->table, DXL_PRESENT_POSITION, 4, (uint32_t)counts);
        put_le(s->table, DXL_PRESENT_VELOCITY, 4, (uint32_t)(int32_t)lround(vel / m->velocity_unit));
        int32_t cur = m->current_unit_a > 0 ? (int32_t)lround(amps / m->current_unit_a)
                                            : (int32_t)lround(amps / m->stall_current * 1000.0); /* load, 0.1 % */
        put_le(s->table, DXL_PRESENT_CURRENT, 2, (uint32_t)(uint16_t)(int16_t)cur);
    } else {
        put_le(s->table, FT_PRESENT_POSITION, 2, (uint32_t)feetech_raw(counts));
        put_le(s->table, FT_PRESENT_SPEED, 2, sign_magnitude((int32_t)lround(vel / m->velocity_unit), 15));
        double load = amps / m->stall_current * 1000.0;
        put_le(s->table, FT_PRESENT_LOAD, 2, sign_magnitude((int32_t)lround(load), 10));
        put_le(s->table, FT_PRESENT_CURRENT, 2, sign_magnitude((int32_t)lround(amps / m->current_unit_a), 15));
        s->table[FT_VOLTAGE] = (uint8_t)lround(m->supply_v * 10);
        s->table[FT_TEMPERATURE] = 30;
        s->table[FT_STATUS] = s->overloaded ? 1 << 5 : 0;
        s->table[FT_MOVING] = fabs(vel) > 0.05;
    }
}

/* The inner loop: the effort the servo's driver asks of the motor this millisecond. */
static double servo_effort(servo *s) {
    if (!torque_on(s) || s->overloaded) return 0.0;
    const model_info *m = s->model;
    double vel = servo_velocity(s);
    double effort, limit = m->stall_torque;
    if (m->bus == SB_DYNAMIXEL) {
        uint8_t mode = s->table[DXL_MODE];
        if (mode == 0) {
            double amps = (int16_t)get_le(s->table, DXL_GOAL_CURRENT, 2) * m->current_unit_a;
            double limit = get_le(s->table, DXL_CURRENT_LIMIT, 2) * m->current_unit_a;
            if (amps > limit) amps = limit;
            if (amps < -limit) amps = -limit;
            effort = amps * (m->stall_torque / m->stall_current);
        } else if (mode == 1) {
            double goal = (int32_t)get_le(s->table, DXL_GOAL_VELOCITY, 4) * m->velocity_unit;
            effort = s->kv * (goal - vel);
        } else {
            double err = ((int32_t)get_le(s->table, DXL_GOAL_POSITION, 4) - servo_counts(s)) * 2 * M_PI / 4096;
            effort = s->kp * err - s->kd * vel;
        }
    } else {
        if (s->table[FT_MODE] == 1) {
            double goal = from_sign_magnitude((uint16_t)get_le(s->table, FT_GOAL_SPEED, 2), 15) * m->velocity_unit;
            effort = s->kv * (goal - vel);
        } else {
            /* Goal 0...4095 within the turn the servo is in; the P coefficient (address 21,
             * factory 32) scales the loop gain, Max Torque (16, 0.1 % of stall) clamps it. */
            int32_t raw = feetech_raw(servo_counts(s));
            int32_t goal = (int32_t)(get_le(s->table, FT_GOAL_POSITION, 2) & 0x7FFF);
            double err = (goal - raw) * 2 * M_PI / 4096;
            double gain = s->table[FT_P_GAIN] / 32.0;
            effort = gain * s->kp * err - s->kd * vel;
        }
        uint32_t max_torque = get_le(s->table, FT_MAX_TORQUE, 2);
        if (max_torque < 1000) limit = m->stall_torque * max_torque / 1000.0;
    }
    if (effort > limit) effort = limit;
    if (effort < -limit) effort = -limit;
    return effort;
}

/* ---- instruction handling -------------------------------------------------------------- */

static void reply_status(emulator *e, servo *s, uint8_t error, const uint8_t *data, size_t n, uint64_t after_us) {
    if (s->silent) return;
    uint8_t buf[SB_MAX_PACKET + 16];
    sb_writer w;
    sb_writer_begin(&w, e->bus, buf, sizeof buf, servo_id(s), error);
    for (size_t i = 0; i < n; i++) sb_writer_put(&w, data[i]);
    size_t len = sb_writer_end(&w);
    if (len == 0) return;
    queue_reply(e, buf, len, after_us, return_delay_us(s), servo_baud(s));
    s->replies++;
}

static uint8_t status_error(const servo *s) {
    if (s->model->bus == SB_DYNAMIXEL) return s->table[DXL_HW_ERROR] != 0 ? 0x80 : 0;
    return s->overloaded ? 1 << 5 : 0;
}

static bool is_goal(sb_kind bus, int addr) {
    return bus == SB_DYNAMIXEL ? addr >= DXL_GOAL_CURRENT && addr < DXL_GOAL_POSITION + 4
                               : addr >= FT_GOAL_POSITION && addr < FT_GOAL_SPEED + 2;
}

/* Applies a write; returns the Dynamixel error number (0 ok). */
static uint8_t servo_write(emulator *e, servo *s, int addr, const uint8_t *data, size_t n) {
    sb_kind bus = s->model->bus;
    int end = bus == SB_DYNAMIXEL ? DXL_TABLE_END : FT_TABLE_END;
    if (addr < 0 || addr + (int)n > end) return 7; /* access error */
    if (bus == SB_DYNAMIXEL) {
        if (addr < DXL_RAM && torque_on(s)) return 7; /* EEPROM only with torque off */
        if (is_goal(bus, addr) && s->table[DXL_WATCHDOG] == 0xFF) return 4; /* watchdog expired */
        if (addr <= DXL_MODE && addr + (int)n > DXL_MODE) {
            uint8_t m = data[DXL_MODE - addr];
            if (m != 0 && m != 1 && m != 3 && m != 4 && m != 5 && m != 16) return 4;
            if (m == 0 && s->model->current_unit_a == 0) return 4;
        }
        if (addr <= DXL_BAUD && addr + (int)n > DXL_BAUD && data[DXL_BAUD - addr] > 7) return 4;
        if (addr <= DXL_WATCHDOG && addr + (int)n > DXL_WATCHDOG && data[DXL_WATCHDOG - addr] > 127) return 4;
    }
    for (size_t i = 0; i < n; i++) {
        int a = addr + (int)i;
        if (a == (bus == SB_DYNAMIXEL ? DXL_TORQUE : FT_TORQUE)) {
            bool on = data[i] != 0;
            if (on && bus == SB_FEETECH && s->overloaded && seconds(e) >= e->opt->overload_at) on = false;
            set_torque(e, s, on, "host");
            continue;
        }
        s->table[a] = data[i];
        if (bus == SB_FEETECH && a < FT_RAM) {
            if (s->table[FT_LOCK] == 0) {
                s->saved[a] = data[i];
            } else {
                s->unsaved_writes++;
            }
        }
    }
    return 0;
}

static void on_packet(emulator *e, const sb_packet *p, uint64_t end_us, int host) {
    const uint8_t bcast = 0xFE;
    const bool dxl = e->bus == SB_DYNAMIXEL;
    const size_t aw = dxl ? 2 : 1;
    for (int k = 0; k < e->count; k++) {
        servo *s = &e->servos[k];
        if (servo_baud(s) != host || end_us < s->rebooting_until_us) continue;
        if (p->id == servo_id(s) || p->id == bcast) {
            s->last_heard_us = end_us;
            s->heard++;
        }
    }
    uint8_t data[SB_MAX_PACKET];
    switch (p->instruction) {
    case 0x01: /* ping */
        for (int k = 0; k < e->count; k++) {
            servo *s = &e->servos[k];
            if (servo_baud(s) != host || end_us < s->rebooting_until_us) continue;
            if (p->id != servo_id(s) && !(dxl && p->id == bcast)) continue;
            uint8_t info[3] = {s->table[0], s->table[1], s->table[DXL_FW]};
            if (dxl) {
                reply_status(e, s, status_error(s), info, 3, end_us);
            } else {
                reply_status(e, s, status_error(s), NULL, 0, end_us);
            }
        }
        break;
    case 0x02: /* read */
    case 0x03: /* write */
        for (int k = 0; k < e->count; k++) {
            servo *s = &e->servos[k];
            if (servo_baud(s) != host || end_us < s->rebooting_until_us) continue;
            if (p->id != servo_id(s) && p->id != bcast) continue;
            if (p->param_count < aw + (p->instruction == 0x02 ? aw : 1)) {
                if (p->id != bcast) reply_status(e, s, dxl ? 5 : 0, NULL, 0, end_us);
                continue;
            }
            int addr = dxl ? (int)get_le(p->params, 0, 2) : p->params[0];
            if (p->instruction == 0x02) {
                int len = dxl ? (int)get_le(p->params, 2, 2) : p->params[1];
                int end = dxl ? DXL_TABLE_END : FT_TABLE_END;
                if (addr + len > end || len <= 0 || len > (int)sizeof data) {
                    if (p->id != bcast) reply_status(e, s, dxl ? 7 : 0, NULL, 0, end_us);
                    continue;
                }
                refresh(s);
                if (p->id != bcast) reply_status(e, s, status_error(s), s->table + addr, (size_t)len, end_us);
            } else {
                uint8_t oldbaud = s->table[dxl ? DXL_BAUD : FT_BAUD];
                uint8_t olderr = servo_write(e, s, addr, p->params + aw, p->param_count - aw);
                if (p->id != bcast) {
                    /* The status goes out at the old baud rate, from the id that was addressed. */
                    uint8_t newid = servo_id(s), nb = s->table[dxl ? DXL_BAUD : FT_BAUD];
                    s->table[dxl ? DXL_ID : FT_ID] = p->id;
                    s->table[dxl ? DXL_BAUD : FT_BAUD] = oldbaud;
                    reply_status(e, s, (uint8_t)(status_error(s) | olderr), NULL, 0, end_us);
                    s->table[dxl ? DXL_ID : FT_ID] = newid;
                    s->table[dxl ? DXL_BAUD : FT_BAUD] = nb;
                }
            }
        }
        break;
    case 0x08: /* reboot (Dynamixel) */
        if (!dxl) break;
        for (int k = 0; k < e->count; k++) {
            servo *s = &e->servos[k];
            if (servo_baud(s) != host || p->id != servo_id(s)) continue;
            reply_status(e, s, status_error(s), NULL, 0, end_us);
            set_torque(e, s, false, "reboot");
            memset(s->table + DXL_RAM, 0, DXL_TABLE_END - DXL_RAM);
            s->overloaded = false;
            s->rebooting_until_us = end_us + 20000;
            log_event(e, s, "rebooted (hardware error cleared)");
        }
        break;
    case 0x82: /* sync read */
    case 0x8A: /* fast sync read (Dynamixel) */
    {
        if (p->param_count < 2 * aw + 1 || (p->instruction == 0x8A && !dxl)) break;
        int addr = dxl ? (int)get_le(p->params, 0, 2) : p->params[0];
        int len = dxl ? (int)get_le(p->params, 2, 2) : p->params[1];
        int end = dxl ? DXL_TABLE_END : FT_TABLE_END;
        if (addr + len > end || len <= 0) break;
        if (p->instruction == 0x82) {
            uint64_t after = end_us;
            for (size_t i = 2 * aw; i < p->param_count; i++) {
                for (int k = 0; k < e->count; k++) {
                    servo *s = &e->servos[k];
                    if (servo_id(s) != p->params[i] || servo_baud(s) != host || end_us < s->rebooting_until_us) continue;
                    refresh(s);
                    reply_status(e, s, status_error(s), s->table + addr, (size_t)len, after);
                    after = e->tx_free_us; /* the next servo waits for this status */
                }
            }
        } else {
            /* One packet: ERR ID DATA CRC per servo; the chain breaks at a silent servo. */
            uint8_t buf[SB_MAX_PACKET + 16];
            sb_writer w;
            bool started = false, broken = false;
            for (size_t i = 2 * aw; i < p->param_count && !broken; i++) {
                servo *s = NULL;
                for (int k = 0; k < e->count; k++)
                    if (servo_id(&e->servos[k]) == p->params[i] && servo_baud(&e->servos[k]) == host) s = &e->servos[k];
                if (s == NULL || s->silent) {
                    broken = true;
                    break;
                }
                refresh(s);
                if (!started) {
                    sb_writer_begin(&w, SB_DYNAMIXEL, buf, sizeof buf, 0xFE, status_error(s));
                    started = true;
                } else {
                    sb_writer_put_running_crc(&w);
                    sb_writer_put(&w, status_error(s));
                }
                sb_writer_put(&w, servo_id(s));
                for (int b = 0; b < len; b++) sb_writer_put(&w, s->table[addr + b]);
                s->replies++;
            }
            if (started) {
                size_t n = broken ? w.n : sb_writer_end(&w);
                queue_reply(e, buf, n, end_us, return_delay_us(&e->servos[0]), host);
            }
        }
        break;
    }
    case 0x83: /* sync write */
    {
        if (p->param_count < 2 * aw) break;
        int addr = dxl ? (int)get_le(p->params, 0, 2) : p->params[0];
        size_t len = dxl ? get_le(p->params, 2, 2) : p->params[1];
        for (size_t i = 2 * aw; i + 1 + len <= p->param_count; i += 1 + len) {
            for (int k = 0; k < e->count; k++) {
                servo *s = &e->servos[k];
                if (servo_id(s) != p->params[i] || servo_baud(s) != host || end_us < s->rebooting_until_us) continue;
                (void)servo_write(e, s, addr, p->params + i + 1, len);
            }
        }
        break;
    }
    default:
        if (dxl && p->id != bcast)
            for (int k = 0; k < e->count; k++)
                if (servo_id(&e->servos[k]) == p->id && servo_baud(&e->servos[k]) == host)
                    reply_status(e, &e->servos[k], 2, NULL, 0, end_us); /* instruction error */
        break;
    }
}

/* ---- the 1 kHz servo tick -------------------------------------------------------------- */

static void servo_tick(emulator *e) {
    for (int k = 0; k < e->count; k++) {
        servo *s = &e->servos[k];
        const options *o = e->opt;
        if (o->silent_id == servo_id(s) && o->silent_at >= 0 && seconds(e) >= o->silent_at && !s->silent) {
            s->silent = true;
            log_event(e, s, "stops answering (fault injection)");
        }
        if (o->overload_id == servo_id(s) && o->overload_at >= 0 && seconds(e) >= o->overload_at && !s->overload_fired &&
            torque_on(s)) {
            s->overloaded = true;
            s->overload_fired = true;
            if (s->model->bus == SB_DYNAMIXEL) s->table[DXL_HW_ERROR] |= 1 << 5;
            set_torque(e, s, false, "overload error");
        }
        if (s->model->bus == SB_DYNAMIXEL && torque_on(s)) {
            uint8_t wd = s->table[DXL_WATCHDOG];
            if (wd >= 1 && wd <= 127 && e->now_us > s->last_heard_us + (uint64_t)wd * 20000u) {
                s->table[DXL_WATCHDOG] = 0xFF;
                s->watchdog_trips++;
                char msg[128];
                snprintf(msg, sizeof msg, "bus watchdog expired (%.1f ms since the last packet), motor stopped",
                         (double)(e->now_us - s->last_heard_us) * 1e-3);
                log_event(e, s, msg);
                /* Stop: no current, no velocity, hold the present position. */
                put_le(s->table, DXL_GOAL_CURRENT, 2, 0);
                put_le(s->table, DXL_GOAL_VELOCITY, 4, 0);
                put_le(s->table, DXL_GOAL_POSITION, 4, (uint32_t)servo_counts(s));
            }
        }
        plant_set_command(s->plant, s->joint, s->direction * servo_effort(s));
    }
    /* Every servo's command is in before the plants step: a chain's joints move together. */
    for (int i = 0; i < e->plant_count; i++) plant_step(&e->plants[i], TICK_US * 1e-6);
}

/* ---- options --------------------------------------------------------------------------- */

static void usage(FILE *f) {
    fprintf(f,
            "usage: servo-emulator --bus dynamixel|feetech [options]\n"
            "A bus of emulated servos (each a control table and an inner loop, with a pendulum per servo\n"
            "or one N-joint chain behind them) on a pseudo-terminal. The first stdout line is\n"
            "\"servo-emulator: pty <path>\".\n"
            "Example: servo-emulator --bus dynamixel --joints 2 --model xm430-w350 --baud 1000000\n"
            "         servo-emulator --bus dynamixel --joints 2 --model xm430-w350,xl330-m288 --plant chain \\\n"
            "           --param j0.length=0.1 --param j1.mass=0.05\n\n"
            "  --bus dynamixel|feetech  the protocol (required)\n"
            "  --joints N               servos on the bus, 1...8 (default 1)\n"
            "  --first-id ID            id of the first servo; the others follow (default 1)\n"
            "  --ids ID,ID,..           the servos' ids, one per servo (instead of --first-id)\n"
            "  --model NAME[,NAME..]    xl430-w250, xm430-w210, xm430-w350, xl330-m288, xl330-m077\n"
            "                           (Dynamixel; default xm430-w350) or sts3215 (Feetech, default);\n"
            "                           one for all servos or one per servo\n"
            "  --plant pendulum|chain   a pendulum behind each servo (default), or one planar chain with\n"
            "                           joint i behind servo i (coupled: a two-joint arm)\n"
            "  --zero-counts C[,C..]    the position register at joint position 0 (default: 0 with\n"
            "                           pendulums, which hang at 2048; 2048 with a chain)\n"
            "  --direction D[,D..]      1 or -1: the servo's counts grow with the joint (1) or against it\n"
            "  --baud B                 the servos' baud rate (default: factory, 57600 Dynamixel,\n"
            "                           1000000 Feetech); they hear only a host at that rate\n"
            "  --param NAME=VALUE       a plant parameter (robot-emulator --help lists them): of every\n"
            "                           pendulum, or of the chain (joints, gravity, j<i>.mass, ...)\n"
            "  --seed N                 seed of the plant noise and of the faults (default 1)\n"
            "  --drop P                 lose each byte with probability P, both directions\n"
            "  --corrupt P              flip one bit of each byte with probability P, both directions\n"
            "  --silent ID --silent-at T      servo ID stops answering from T s on (still hears)\n"
            "  --overload ID --overload-at T  servo ID reports an overload at T s and turns torque off\n"
            "  --cut-at T [--cut-for D] the line goes dead both ways at T s (for D s; default for ever)\n"
            "  --duration S             exit after S seconds\n"
            "  --stats                  print per-servo counters to stderr on exit\n"
            "  --help                   this text\n");
}

static int number(const char *opt, const char *text, double lo, double hi, double *out) {
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (errno != 0 || end == text || *end != 0 || !(v >= lo && v <= hi)) {
        fprintf(stderr, "servo-emulator: %s %s: expected a number in [%g, %g]\n", opt, text, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

/* Splits a comma-separated list of at most MAX_SERVOS items into `items` (copied into
 * `storage`); returns the count, or -1 (with a message) if it is empty or too long. */
static int split_list(const char *opt, const char *text, char storage[MAX_SERVOS][32], const char *items[MAX_SERVOS]) {
    int n = 0;
    const char *p = text;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (n == MAX_SERVOS || len == 0 || len >= 32) {
            fprintf(stderr, "servo-emulator: %s %s: expected 1 to %d comma-separated values\n", opt, text, MAX_SERVOS);
            return -1;
        }
        memcpy(storage[n], p, len);
        storage[n][len] = 0;
        items[n] = storage[n];
        n++;
        if (comma == NULL) return n;
        p = comma + 1;
    }
}

/* A per-servo list: one value for every servo, or one per servo (checked against --joints later). */
typedef struct {
    char storage[MAX_SERVOS][32];
    const char *items[MAX_SERVOS];
    int count;
} servo_list;

static int parse(int argc, char **argv, options *o) {
    memset(o, 0, sizeof *o);
    o->bus = (sb_kind)-1;
    o->joints = 1;
    o->first_id = 1;
    o->seed = 1;
    o->silent_id = o->overload_id = -1;
    o->silent_at = o->overload_at = o->cut_at = -1;
    static servo_list models, zeros, directions, ids;
    models.count = zeros.count = directions.count = ids.count = 0;
    int zero_given = 0;
    static char names[MAX_PARAMS][64];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        }
        if (strcmp(a, "--stats") == 0) {
            o->stats = 1;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "servo-emulator: %s needs a value (see --help)\n", a);
            return -1;
        }
        const char *v = argv[++i];
        double x = 0;
        if (strcmp(a, "--bus") == 0) {
            if (strcmp(v, "dynamixel") == 0) {
                o->bus = SB_DYNAMIXEL;
            } else if (strcmp(v, "feetech") == 0) {
                o->bus = SB_FEETECH;
            } else {
                fprintf(stderr, "servo-emulator: --bus %s: expected dynamixel or feetech\n", v);
                return -1;
            }
        } else if (strcmp(a, "--joints") == 0) {
            if (number(a, v, 1, MAX_SERVOS, &x) != 0) return -1;
            o->joints = (int)x;
        } else if (strcmp(a, "--first-id") == 0) {
            if (number(a, v, 0, 240, &x) != 0) return -1;
            o->first_id = (uint8_t)x;
        } else if (strcmp(a, "--model") == 0) {
            if ((models.count = split_list(a, v, models.storage, models.items)) < 0) return -1;
        } else if (strcmp(a, "--plant") == 0) {
            if (strcmp(v, "pendulum") == 0) {
                o->plant = PLANT_OF_PENDULUMS;
            } else if (strcmp(v, "chain") == 0) {
                o->plant = PLANT_OF_CHAIN;
            } else {
                fprintf(stderr, "servo-emulator: --plant %s: expected pendulum or chain\n", v);
                return -1;
            }
        } else if (strcmp(a, "--ids") == 0) {
            if ((ids.count = split_list(a, v, ids.storage, ids.items)) < 0) return -1;
        } else if (strcmp(a, "--zero-counts") == 0) {
            if ((zeros.count = split_list(a, v, zeros.storage, zeros.items)) < 0) return -1;
            zero_given = 1;
        } else if (strcmp(a, "--direction") == 0) {
            if ((directions.count = split_list(a, v, directions.storage, directions.items)) < 0) return -1;
        } else if (strcmp(a, "--baud") == 0) {
            if (number(a, v, 9600, 4500000, &x) != 0) return -1;
            o->baud = (int)x;
        } else if (strcmp(a, "--param") == 0) {
            const char *eq = strchr(v, '=');
            if (eq == NULL || eq == v || o->param_count == MAX_PARAMS) {
                fprintf(stderr, "servo-emulator: --param %s: expected NAME=VALUE (at most %d)\n", v, MAX_PARAMS);
                return -1;
            }
            size_t len = (size_t)(eq - v);
            if (len >= sizeof names[0]) len = sizeof names[0] - 1;
            memcpy(names[o->param_count], v, len);
            names[o->param_count][len] = 0;
            if (number("--param", eq + 1, -1e300, 1e300, &x) != 0) return -1;
            o->param_name[o->param_count] = names[o->param_count];
            o->param_value[o->param_count++] = x;
        } else if (strcmp(a, "--seed") == 0) {
            if (number(a, v, 0, 1e15, &x) != 0) return -1;
            o->seed = (uint64_t)x;
        } else if (strcmp(a, "--drop") == 0) {
            if (number(a, v, 0, 1, &o->drop) != 0) return -1;
        } else if (strcmp(a, "--corrupt") == 0) {
            if (number(a, v, 0, 1, &o->corrupt) != 0) return -1;
        } else if (strcmp(a, "--silent") == 0) {
            if (number(a, v, 0, 252, &x) != 0) return -1;
            o->silent_id = (int)x;
        } else if (strcmp(a, "--silent-at") == 0) {
            if (number(a, v, 0, 1e9, &o->silent_at) != 0) return -1;
        } else if (strcmp(a, "--overload") == 0) {
            if (number(a, v, 0, 252, &x) != 0) return -1;
            o->overload_id = (int)x;
        } else if (strcmp(a, "--overload-at") == 0) {
            if (number(a, v, 0, 1e9, &o->overload_at) != 0) return -1;
        } else if (strcmp(a, "--cut-at") == 0) {
            if (number(a, v, 0, 1e9, &o->cut_at) != 0) return -1;
        } else if (strcmp(a, "--cut-for") == 0) {
            if (number(a, v, 0, 1e9, &o->cut_for) != 0) return -1;
        } else if (strcmp(a, "--duration") == 0) {
            if (number(a, v, 0, 1e9, &o->duration) != 0) return -1;
        } else {
            fprintf(stderr, "servo-emulator: unknown option %s (see --help)\n", a);
            return -1;
        }
    }
    if ((int)o->bus < 0) {
        fprintf(stderr, "servo-emulator: --bus dynamixel|feetech is required (see --help)\n");
        return -1;
    }
    if (ids.count > 0 && ids.count != o->joints) {
        fprintf(stderr, "servo-emulator: --ids has %d values for %d servos: give one per servo\n", ids.count, o->joints);
        return -1;
    }
    for (int j = 0; j < o->joints; j++) {
        double x = o->first_id + j;
        if (ids.count > 0 && number("--ids", ids.items[j], 0, 252, &x) != 0) return -1;
        if (x > 252) {
            fprintf(stderr, "servo-emulator: --first-id %u: servo %d would get id %g, past 252\n", o->first_id, j + 1, x);
            return -1;
        }
        o->ids[j] = (uint8_t)x;
        for (int k = 0; k < j; k++) {
            if (o->ids[k] == o->ids[j]) {
                fprintf(stderr, "servo-emulator: --ids: id %u is given twice\n", o->ids[j]);
                return -1;
            }
        }
    }
    const servo_list *lists[3] = {&models, &zeros, &directions};
    const char *list_names[3] = {"--model", "--zero-counts", "--direction"};
    for (int k = 0; k < 3; k++) {
        if (lists[k]->count > 1 && lists[k]->count != o->joints) {
            fprintf(stderr, "servo-emulator: %s has %d values for %d servos: give one, or one per servo\n", list_names[k],
                    lists[k]->count, o->joints);
            return -1;
        }
    }
    for (int j = 0; j < o->joints; j++) {
        const char *model = models.count == 0 ? (o->bus == SB_DYNAMIXEL ? "xm430-w350" : "sts3215")
                                              : models.items[models.count == 1 ? 0 : j];
        o->model[j] = NULL;
        for (size_t k = 0; k < sizeof MODELS / sizeof MODELS[0]; k++)
            if (strcasecmp(MODELS[k].name, model) == 0) o->model[j] = &MODELS[k];
        if (o->model[j] == NULL || o->model[j]->bus != o->bus) {
            fprintf(stderr, "servo-emulator: --model %s: not a %s model this emulator knows (see --help)\n", model,
                    o->bus == SB_DYNAMIXEL ? "Dynamixel" : "Feetech");
            return -1;
        }
        /* Pendulums: the register reads the plant's counts (hanging = 2048). A chain: an arm
         * mounted at the middle of the servo's range, joint 0 rad at 2048 counts. */
        double x = o->plant == PLANT_OF_CHAIN ? 2048 : 0;
        if (zero_given && number("--zero-counts", zeros.items[zeros.count == 1 ? 0 : j], -2147483647.0, 2147483647.0, &x) != 0)
            return -1;
        o->zero_counts[j] = (int32_t)x;
        x = 1;
        if (directions.count > 0 && number("--direction", directions.items[directions.count == 1 ? 0 : j], -1, 1, &x) != 0)
            return -1;
        if (x != 1 && x != -1) {
            fprintf(stderr, "servo-emulator: --direction: each value must be 1 or -1\n");
            return -1;
        }
        o->direction[j] = (int)x;
    }
    if (o->baud == 0) o->baud = o->bus == SB_DYNAMIXEL ? 57600 : 1000000;
    if (baud_value(o->bus, o->baud) < 0) {
        fprintf(stderr, "servo-emulator: --baud %d: these servos cannot run at it (see --help)\n", o->baud);
        return -1;
    }
    if ((o->silent_id >= 0) != (o->silent_at >= 0) || (o->overload_id >= 0) != (o->overload_at >= 0)) {
        fprintf(stderr, "servo-emulator: --silent/--overload need both the id and the -at time\n");
        return -1;
    }
    return 0;
}

/* ---- set-up ---------------------------------------------------------------------------- */

/* Applies the --param list to `p` in order (later values win). */
static int apply_params(const options *o, plant_params *p) {
    for (int i = 0; i < o->param_count; i++) {
        int rc = plant_set_param(p, o->param_name[i], o->param_value[i]);
        if (rc != PLANT_OK) {
            fprintf(stderr, "servo-emulator: --param %s=%g: %s\n", o->param_name[i], o->param_value[i],
                    rc == PLANT_ERR_UNKNOWN_PARAM ? "no such plant parameter"
                    : rc == PLANT_ERR_KIND        ? (o->plant == PLANT_OF_CHAIN ? "not a chain parameter (use j<i>.NAME)"
                                                                                : "not a pendulum parameter (add --plant chain)")
                                                  : "value out of range");
            return -1;
        }
    }
    return 0;
}

/* The plants: a pendulum per servo (a light link on a geared servo), or one chain whose joint
 * i is servo i's output: each joint actuated by its servo's motor (torque constant, winding,
 * supply, stall torque, reflected rotor inertia), light default links, then --param. */
static int init_plants(emulator *e) {
    const options *o = e->opt;
    if (o->plant == PLANT_OF_PENDULUMS) {
        for (int k = 0; k < e->count; k++) {
            const model_info *m = o->model[k];
            plant_params p;
            plant_default_params(PLANT_PENDULUM, &p);
            p.mass = 0.2;
            p.length = 0.3;
            p.rotor_inertia = 0.002;
            p.damping[0] = 0.02;
            p.coulomb[0] = 0.01;
            p.torque_constant = m->stall_torque / m->stall_current;
            p.supply_voltage = m->supply_v;
            p.resistance = m->supply_v / m->stall_current;
            p.max_effort = m->stall_torque;
            p.latency_ticks = 1;
            p.position_noise = 0.0002;
            p.current_noise = 0.005;
            if (apply_params(o, &p) != 0) return -1;
            if (plant_init(&e->plants[k], &p, o->seed * 7919u + (uint64_t)k) != PLANT_OK) {
                fprintf(stderr, "servo-emulator: the plant parameters are inconsistent\n");
                return -1;
            }
        }
        e->plant_count = e->count;
        return 0;
    }
    plant_params p;
    plant_default_params(PLANT_CHAIN, &p);
    p.chain_joints = e->count;
    p.latency_ticks = 1;
    p.position_noise = 0.0002;
    p.current_noise = 0.005;
    for (int k = 0; k < e->count; k++) {
        const model_info *m = o->model[k];
        plant_chain_joint *j = &p.chain[k];
        j->type = 0;
        j->offset = k == 0 ? -M_PI / 2 : 0; /* hanging down at 0 */
        j->length = 0.15;
        j->com = 0.075;
        j->mass = 0.1;
        j->inertia = j->mass * j->length * j->length / 12;
        j->viscous = 0.02;
        j->coulomb = 0.01;
        j->actuated = 1;
        j->gain = 1;
        j->torque_constant = m->stall_torque / m->stall_current;
        j->resistance = m->supply_v / m->stall_current;
        j->supply_voltage = m->supply_v;
        j->max_effort = m->stall_torque;
        j->rotor_inertia = m->rotor_inertia;
        j->counts_per_rev = 4096;
    }
    if (apply_params(o, &p) != 0) return -1;
    if (p.chain_joints != e->count) {
        fprintf(stderr, "servo-emulator: --param joints=%d: the chain needs one joint per servo (--joints %d)\n",
                p.chain_joints, e->count);
        return -1;
    }
    for (int k = 0; k < e->count; k++) {
        if (!p.chain[k].actuated) {
            fprintf(stderr, "servo-emulator: --param j%d.actuated=0: every chain joint is driven by its servo\n", k);
            return -1;
        }
    }
    int rc = plant_init(&e->plants[0], &p, o->seed * 7919u);
    if (rc != PLANT_OK) {
        fprintf(stderr, "servo-emulator: the chain parameters are inconsistent (%s)\n",
                rc == PLANT_ERR_RANGE ? "a joint moves no mass, or backlash without rotor inertia" : "wrong kind");
        return -1;
    }
    e->plant_count = 1;
    return 0;
}

/* The inertia servo k's joint turns, the chain stretched out (its largest): what its
 * position loop's damping is tuned for. */
static double joint_inertia(const emulator *e, int k) {
    const plant_params *p = &e->plants[e->opt->plant == PLANT_OF_CHAIN ? 0 : k].params;
    if (e->opt->plant == PLANT_OF_PENDULUMS) return p->mass * p->length * p->length / 3 + p->rotor_inertia;
    double total = p->chain[k].rotor_inertia, reach = 0;
    for (int i = k; i < p->chain_joints; i++) {
        const plant_chain_joint *j = &p->chain[i];
        double d = reach + j->com;
        total += j->type == 1 ? j->mass : j->inertia + j->mass * d * d;
        reach += j->length;
    }
    return total;
}

static int init_servo(emulator *e, servo *s, int index) {
    const options *o = e->opt;
    const model_info *m = o->model[index];
    memset(s, 0, sizeof *s);
    s->model = m;
    s->plant = &e->plants[o->plant == PLANT_OF_CHAIN ? 0 : index];
    s->joint = o->plant == PLANT_OF_CHAIN ? index : 0;
    s->zero_counts = o->zero_counts[index];
    s->direction = o->direction[index];
    double inertia = joint_inertia(e, index);
    s->kp = m->stall_torque / 0.15;
    s->kd = 2 * 0.8 * sqrt(s->kp * inertia);
    s->kv = m->stall_torque / 3.0;
    uint8_t id = o->ids[index];
    uint8_t baud = (uint8_t)baud_value(o->bus, o->baud);
    if (o->bus == SB_DYNAMIXEL) {
        put_le(s->table, DXL_MODEL, 2, m->number);
        s->table[DXL_FW] = 46;
        s->table[DXL_ID] = id;
        s->table[DXL_BAUD] = baud;
        s->table[DXL_RDT] = 250; /* factory: 500 us */
        s->table[DXL_MODE] = 3;
        put_le(s->table, DXL_CURRENT_LIMIT, 2, m->current_unit_a > 0 ? (uint32_t)lround(m->stall_current / m->current_unit_a) : 0);
    } else {
        s->table[FT_FW] = 3;
        s->table[FT_FW + 1] = 10;
        put_le(s->table, FT_MODEL, 2, m->number);
        s->table[FT_ID] = id;
        s->table[FT_BAUD] = baud;
        s->table[FT_RDT] = 250;
        s->table[FT_MODE] = 0;
        put_le(s->table, FT_MAX_TORQUE, 2, 1000);
        s->table[FT_P_GAIN] = 32;
        s->table[FT_LOCK] = 1;
        memcpy(s->saved, s->table, sizeof s->saved);
    }
    refresh(s);
    put_le(s->table, o->bus == SB_DYNAMIXEL ? DXL_GOAL_POSITION : FT_GOAL_POSITION, o->bus == SB_DYNAMIXEL ? 4 : 2,
           get_le(s->table, o->bus == SB_DYNAMIXEL ? DXL_PRESENT_POSITION : FT_PRESENT_POSITION,
                  o->bus == SB_DYNAMIXEL ? 4 : 2));
    return 0;
}

static int open_pty(emulator *e) {
    e->master = posix_openpt(O_RDWR | O_NOCTTY);
    if (e->master < 0 || grantpt(e->master) != 0 || unlockpt(e->master) != 0 ||
        ptsname_r(e->master, e->path, sizeof e->path) != 0) {
        fprintf(stderr, "servo-emulator: cannot create a pseudo-terminal: %s (is /dev/ptmx available?)\n",
                strerror(errno));
        return -1;
    }
    /* Hold the slave open so the master never sees a hang-up between host sessions. */
    e->slave = open(e->path, O_RDWR | O_NOCTTY);
    struct termios t;
    if (e->slave < 0 || tcgetattr(e->slave, &t) != 0) {
        fprintf(stderr, "servo-emulator: cannot open %s: %s\n", e->path, strerror(errno));
        return -1;
    }
    cfmakeraw(&t);
    cfsetispeed(&t, B9600);
    cfsetospeed(&t, B9600);
    tcsetattr(e->slave, TCSANOW, &t);
    int flags = fcntl(e->master, F_GETFL);
    if (flags < 0 || fcntl(e->master, F_SETFL, flags | O_NONBLOCK) != 0) {
        fprintf(stderr, "servo-emulator: fcntl O_NONBLOCK failed: %s\n", strerror(errno));
        return -1;
    }
    return 0;
}

/* ---- the loop -------------------------------------------------------------------------- */

static volatile sig_atomic_t stop_requested = 0;
static void on_signal(int sig) {
    (void)sig;
    stop_requested = 1;
}

static void pump_in(emulator *e) {
    uint8_t buf[512];
    for (;;) {
        ssize_t n = read(e->master, buf, sizeof buf);
        if (n <= 0) break;
        e->bytes_in += (uint64_t)n;
        if (line_cut(e)) continue;
        size_t kept = 0;
        for (ssize_t i = 0; i < n; i++) {
            if (e->opt->drop > 0 && uniform01(e) < e->opt->drop) {
                e->dropped++;
                continue;
            }
            uint8_t b = buf[i];
            if (e->opt->corrupt > 0 && uniform01(e) < e->opt->corrupt) {
                b ^= (uint8_t)(1u << (unsigned)(uniform01(e) * 8));
                e->corrupted++;
            }
            buf[kept++] = b;
        }
        int host = host_baud(e);
        uint64_t ns = byte_us_x1000(host > 0 ? host : 1000000);
        uint64_t begin = e->rx_wire_us > e->now_us ? e->rx_wire_us : e->now_us;
        e->rx_wire_us = begin + ((uint64_t)n * ns + 999) / 1000;
        sb_receiver_push(&e->rx, buf, kept);
        for (;;) {
            sb_event ev = sb_receiver_next(&e->rx, &e->packet);
            if (ev == SB_NEED_MORE) break;
            if (ev == SB_PACKET) {
                on_packet(e, &e->packet, e->rx_wire_us, host);
            } else if (ev == SB_BAD_CHECK && e->bus == SB_DYNAMIXEL) {
                for (int k = 0; k < e->count; k++) {
                    servo *s = &e->servos[k];
                    if (servo_id(s) == e->rx.bad_id && servo_baud(s) == host) {
                        s->check_errors++;
                        reply_status(e, s, 3, NULL, 0, e->rx_wire_us); /* CRC error */
                    }
                }
            }
        }
    }
}

static void pump_out(emulator *e) {
    uint8_t buf[512];
    while (e->tx_count > 0 && e->tx_release[e->tx_head] <= e->now_us) {
        size_t n = 0;
        while (n < sizeof buf && e->tx_count > 0 && e->tx_release[e->tx_head] <= e->now_us) {
            uint8_t b = e->tx[e->tx_head];
            e->tx_head = (e->tx_head + 1) % TX_CAPACITY;
            e->tx_count--;
            if (line_cut(e)) continue;
            if (e->opt->drop > 0 && uniform01(e) < e->opt->drop) {
                e->dropped++;
                continue;
            }
            if (e->opt->corrupt > 0 && uniform01(e) < e->opt->corrupt) {
                b ^= (uint8_t)(1u << (unsigned)(uniform01(e) * 8));
                e->corrupted++;
            }
            buf[n++] = b;
        }
        size_t done = 0;
        while (done < n) {
            ssize_t w = write(e->master, buf + done, n - done);
            if (w <= 0) break; /* host not reading: the bytes are lost, as on a wire */
            done += (size_t)w;
        }
        e->bytes_out += done;
    }
}

static void print_stats(const emulator *e) {
    fprintf(stderr,
            "servo-emulator: ran %.3f s; host to servos %llu bytes, servos to host %llu bytes, %llu dropped, "
            "%llu corrupted; instruction packets %llu, check errors %llu, framing errors %llu\n",
            seconds(e), (unsigned long long)e->bytes_in, (unsigned long long)e->bytes_out,
            (unsigned long long)e->dropped, (unsigned long long)e->corrupted, (unsigned long long)e->rx.packets,
            (unsigned long long)e->rx.check_errors, (unsigned long long)e->rx.framing_errors);
    for (int k = 0; k < e->count; k++) {
        const servo *s = &e->servos[k];
        bool dxl = e->bus == SB_DYNAMIXEL;
        fprintf(stderr,
                "servo-emulator: servo %u: heard %u, replies %u, crc errors %u, torque %s, watchdog trips %u, "
                "position %.4f rad; saved id %u baud %d%s\n",
                servo_id(s), s->heard, s->replies, s->check_errors, torque_on(s) ? "on" : "off", s->watchdog_trips,
                plant_true_position(s->plant, s->joint), dxl ? servo_id(s) : s->saved[FT_ID],
                baud_of(e->bus, dxl ? s->table[DXL_BAUD] : s->saved[FT_BAUD]),
                !dxl && s->unsaved_writes > 0 ? " (EEPROM writes while locked were not saved)" : "");
    }
}

int main(int argc, char **argv) {
    static options opt;
    static emulator e;
    if (parse(argc, argv, &opt) != 0) return 2;
    e.opt = &opt;
    e.bus = opt.bus;
    e.count = opt.joints;
    e.rng = opt.seed ^ 0x5E4B0B05ull;
    sb_receiver_init(&e.rx, opt.bus);
    if (init_plants(&e) != 0) return 2;
    for (int k = 0; k < e.count; k++)
        if (init_servo(&e, &e.servos[k], k) != 0) return 2;
    if (open_pty(&e) != 0) return 1;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    pid_t parent = getppid();

    printf("servo-emulator: pty %s\n", e.path);
    fflush(stdout);

    const uint64_t start = monotonic_us();
    uint64_t next_tick = 0;
    unsigned parent_check = 0;
    while (!stop_requested) {
        e.now_us = monotonic_us() - start;
        if (opt.duration > 0 && seconds(&e) >= opt.duration) break;
        if (++parent_check % 256 == 0 && getppid() != parent) break;
        pump_in(&e);
        if (e.now_us >= next_tick + 100000u) next_tick = e.now_us - e.now_us % TICK_US;
        while (e.now_us >= next_tick) {
            servo_tick(&e);
            next_tick += TICK_US;
        }
        pump_out(&e);
        uint64_t wake = next_tick;
        if (e.tx_count > 0 && e.tx_release[e.tx_head] < wake) wake = e.tx_release[e.tx_head];
        uint64_t now = monotonic_us() - start;
        uint64_t wait = wake > now ? wake - now : 0;
        struct timespec ts = {(time_t)(wait / 1000000u), (long)(wait % 1000000u) * 1000};
        struct pollfd pfd = {e.master, POLLIN, 0};
        (void)ppoll(&pfd, 1, &ts, NULL);
    }
    if (opt.stats) print_stats(&e);
    close(e.slave);
    close(e.master);
    return 0;
}
