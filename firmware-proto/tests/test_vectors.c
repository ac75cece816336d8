/* Runs the shared vectors (vectors/protocol-v1.txt, format in vectors/README.md): CRC and
 * COBS lines, and for each vector the exact ordered list of receiver events and parsed
 * messages, plus the encoder for canonical ones. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "fp_crc32c.h"
#include "fp_link.h"
#include "fp_protocol.h"
#include "test.h"

#define LINE_MAX_LEN 8192
#define MAX_EVENTS 64
#define MAX_BYTES 2048

typedef struct {
    char lines[MAX_EVENTS][1024];
    int count;
} event_list;

static void add(event_list *l, const char *fmt, ...) {
    if (l->count >= MAX_EVENTS) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->lines[l->count++], sizeof l->lines[0], fmt, ap);
    va_end(ap);
}

static long hex_decode(const char *hex, uint8_t *out, size_t cap) {
    if (strcmp(hex, "-") == 0) return 0;
    size_t n = strlen(hex);
    if (n % 2 != 0 || n / 2 > cap) return -1;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1) return -1;
        out[i] = (uint8_t)v;
    }
    return (long)(n / 2);
}

static void hex_encode(const uint8_t *p, size_t n, char *out) {
    if (n == 0) {
        strcpy(out, "-");
        return;
    }
    for (size_t i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", p[i]);
}

/* Appends ",v" items to s. */
static void list_i32(char *s, const int32_t *v, int n) {
    for (int i = 0; i < n; i++) sprintf(s + strlen(s), i ? ",%ld" : "%ld", (long)v[i]);
}

static void describe_message(const fp_frame *f, event_list *l) {
    fp_message m;
    fp_parse_result r = fp_message_parse(f, &m);
    static const char *reasons[] = {"ok", "bad_version", "unknown_type", "bad_length"};
    if (r != FP_PARSE_OK) {
        add(l, "message invalid reason=%s", reasons[r]);
        return;
    }
    char s[1024] = {0};
    switch (m.type) {
    case FP_MSG_HELLO: strcpy(s, "hello"); break;
    case FP_MSG_ESTOP: strcpy(s, "estop"); break;
    case FP_MSG_CLEAR_FAULT: strcpy(s, "clear_fault"); break;
    case FP_MSG_STATE_REQUEST: strcpy(s, "state_request"); break;
    case FP_MSG_CONFIGURE:
        sprintf(s, "configure mode=%u watchdog_ms=%u torque_limit_mnm=%ld velocity_limit_cps=%ld",
                m.u.configure.mode, m.u.configure.watchdog_ms, (long)m.u.configure.torque_limit_mnm,
                (long)m.u.configure.velocity_limit_cps);
        break;
    case FP_MSG_COMMAND:
        strcpy(s, "command setpoints=");
        list_i32(s, m.u.command.setpoint, m.u.command.count);
        break;
    case FP_MSG_PARAM_GET: sprintf(s, "param_get id=%u index=%u", m.u.param.id, m.u.param.index); break;
    case FP_MSG_PARAM_SET:
        sprintf(s, "param_set id=%u index=%u value=%ld", m.u.param.id, m.u.param.index, (long)m.u.param.value);
        break;
    case FP_MSG_CAPABILITIES: {
        const fp_capabilities_msg *c = &m.u.capabilities;
        sprintf(s,
                "capabilities echo_seq=%u protocol_version=%u fw_major=%u fw_minor=%u fw_patch=%u "
                "motor_count=%u modes=%u control_rate_hz=%u max_payload=%u counts_per_rev=",
                m.echo_seq, c->protocol_version, c->fw_major, c->fw_minor, c->fw_patch, c->motor_count, c->modes,
                c->control_rate_hz, c->max_payload);
        for (int i = 0; i < c->motor_count; i++)
            sprintf(s + strlen(s), i ? ",%lu" : "%lu", (unsigned long)c->counts_per_rev[i]);
        strcat(s, " torque_max_mnm=");
        list_i32(s, c->torque_max_mnm, c->motor_count);
        break;
    }
    case FP_MSG_STATE: {
        const fp_state_msg *st = &m.u.state;
        sprintf(s, "state echo_seq=%u faults=%u timestamp_us=%lu mode=%u status=%u positions=", m.echo_seq,
                st->faults, (unsigned long)st->timestamp_us, st->mode, st->status);
        list_i32(s, st->position, st->count);
        strcat(s, " velocities=");
        list_i32(s, st->velocity, st->count);
        strcat(s, " currents_ma=");
        for (int i = 0; i < st->count; i++) sprintf(s + strlen(s), i ? ",%d" : "%d", st->current_ma[i]);
        break;
    }
    case FP_MSG_PARAM_VALUE:
        sprintf(s, "param_value echo_seq=%u id=%u index=%u value=%ld", m.echo_seq, m.u.param.id, m.u.param.index,
                (long)m.u.param.value);
        break;
    case FP_MSG_ACK: sprintf(s, "ack echo_seq=%u type=%u", m.echo_seq, m.u.reply.type); break;
    case FP_MSG_NACK:
        sprintf(s, "nack echo_seq=%u type=%u error=%u", m.echo_seq, m.u.reply.type, m.u.reply.error);
        break;
    default: strcpy(s, "?"); break;
    }
    add(l, "message %s", s);
}

/* Feeds the wire to a fresh receiver, recording events; for a canonical vector also checks
 * that both encoders reproduce the wire. */
static void run(const char *name, const uint8_t *wire, size_t n, int canonical, event_list *got) {
    fp_receiver r;
    fp_receiver_init(&r);
    static const char *errors[] = {"", "", "oversize", "cobs", "short", "crc"};
    int frames = 0;
    for (size_t i = 0; i < n; i++) {
        fp_frame f;
        fp_rx_result res = fp_receiver_feed(&r, wire[i], &f);
        if (res == FP_RX_NONE) continue;
        if (res != FP_RX_FRAME) {
            add(got, "error %s", errors[res]);
            continue;
        }
        frames++;
        char body[2 * FP_MAX_BODY + 2];
        hex_encode(f.body, f.body_len, body);
        add(got, "frame version=%u type=0x%02x seq=%u body=%s", f.version, f.type, f.seq, body);
        describe_message(&f, got);
        if (canonical) {
            uint8_t again[FP_MAX_WIRE];
            size_t m = fp_frame_encode(f.version, f.type, f.seq, f.body, f.body_len, again, sizeof again);
            int same = m == n && memcmp(again, wire, n) == 0;
            CHECK(same);
            if (!same) fprintf(stderr, "  vector %s: frame encoder differs\n", name);
            fp_message msg;
            if (fp_message_parse(&f, &msg) == FP_PARSE_OK) {
                m = fp_message_encode(&msg, again, sizeof again);
                same = m == n && memcmp(again, wire, n) == 0;
                CHECK(same);
                if (!same) fprintf(stderr, "  vector %s: message encoder differs\n", name);
            }
        }
    }
    if (canonical) CHECK_EQ(frames, 1);
}

void test_vectors(const char *path) {
    FILE *fp = fopen(path, "r");
    CHECK(fp != NULL);
    if (!fp) {
        fprintf(stderr, "cannot open vectors file %s\n", path);
        return;
    }
    static char line[LINE_MAX_LEN];
    static uint8_t a[MAX_BYTES], b[MAX_BYTES];
    static event_list want, got;
    char name[256] = "";
    uint8_t wire[MAX_BYTES];
    long wire_len = 0;
    int canonical = 0, in_vector = 0, vectors = 0, crcs = 0, cobs = 0;
    while (fgets(line, sizeof line, fp)) {
        line[strcspn(line, "\r\n")] = 0;
        if (line[0] == '#' || line[0] == 0) continue;
        char *arg = strchr(line, ' ');
        char *rest = arg ? arg + 1 : line + strlen(line);
        if (arg) *arg = 0;
        if (!in_vector && strcmp(line, "crc") == 0) {
            char data[LINE_MAX_LEN], want_hex[16];
            CHECK(sscanf(rest, "%s %15s", data, want_hex) == 2);
            long n = hex_decode(data, a, sizeof a);
            CHECK(n >= 0);
            CHECK_EQ(fp_crc32c(a, (size_t)n), strtoul(want_hex, NULL, 16));
            crcs++;
        } else if (!in_vector && strcmp(line, "cobs") == 0) {
            static char dec_hex[LINE_MAX_LEN], enc_hex[LINE_MAX_LEN];
            CHECK(sscanf(rest, "%s %s", dec_hex, enc_hex) == 2);
            long dn = hex_decode(dec_hex, a, sizeof a), en = hex_decode(enc_hex, b, sizeof b);
            uint8_t out[MAX_BYTES];
            size_t n = fp_cobs_encode(a, (size_t)dn, out, sizeof out);
            CHECK(n == (size_t)en && memcmp(out, b, n) == 0);
            long m = fp_cobs_decode(b, (size_t)en, out, sizeof out);
            CHECK(m == dn && memcmp(out, a, (size_t)dn) == 0);
            cobs++;
        } else if (strcmp(line, "vector") == 0) {
            snprintf(name, sizeof name, "%s", rest);
            in_vector = 1;
            canonical = 0;
            wire_len = 0;
            want.count = 0;
        } else if (in_vector && strcmp(line, "note") == 0) {
        } else if (in_vector && strcmp(line, "wire") == 0) {
            wire_len = hex_decode(rest, wire, sizeof wire);
            CHECK(wire_len >= 0);
        } else if (in_vector && strcmp(line, "canonical") == 0) {
            canonical = 1;
        } else if (in_vector && (strcmp(line, "frame") == 0 || strcmp(line, "error") == 0 ||
                                 strcmp(line, "message") == 0)) {
            add(&want, "%s %s", line, rest);
        } else if (in_vector && strcmp(line, "end") == 0) {
            got.count = 0;
            run(name, wire, (size_t)(wire_len < 0 ? 0 : wire_len), canonical, &got);
            int same = got.count == want.count;
            for (int i = 0; same && i < got.count; i++) same = strcmp(got.lines[i], want.lines[i]) == 0;
            CHECK(same);
            if (!same) {
                fprintf(stderr, "  vector %s: expected %d events, got %d\n", name, want.count, got.count);
                for (int i = 0; i < want.count; i++) fprintf(stderr, "    want %s\n", want.lines[i]);
                for (int i = 0; i < got.count; i++) fprintf(stderr, "    got  %s\n", got.lines[i]);
            }
            vectors++;
            in_vector = 0;
        } else {
            fprintf(stderr, "vectors: unexpected line '%s'\n", line);
            CHECK(0);
        }
    }
    fclose(fp);
    CHECK(vectors > 100);
    CHECK(crcs >= 1 && cobs >= 1);
    printf("vectors: %d vectors, %d crc lines, %d cobs lines from %s\n", vectors, crcs, cobs, path);
}
