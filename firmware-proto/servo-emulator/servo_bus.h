/* The servo side of the two servo buses, written apart from robotctl's Swift driver so the
 * emulator checks the driver against an independent reading of the protocols:
 *   DYNAMIXEL Protocol 2.0 (ROBOTIS e-manual): FF FF FD 00 ID LEN_L LEN_H INST PARAM.. CRC_L CRC_H,
 *     CRC-16 poly 0x8005, byte stuffing of FF FF FD in INST..PARAM.
 *   Feetech STS/SCS: FF FF ID LEN INST PARAM.. CHK, CHK = ~(ID + LEN + INST + PARAM..).
 * No heap, no I/O. Single-threaded. */
#ifndef SERVO_BUS_H
#define SERVO_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { SB_DYNAMIXEL = 0, SB_FEETECH = 1 } sb_kind;

#define SB_MAX_PACKET 512
#define SB_RX_CAPACITY 4096

/* A received instruction packet (parameters unstuffed). */
typedef struct {
    uint8_t id;
    uint8_t instruction;
    uint8_t params[SB_MAX_PACKET];
    size_t param_count;
} sb_packet;

typedef enum {
    SB_NEED_MORE = 0,
    SB_PACKET = 1,
    /* A packet with a valid header and length whose check failed: id is known (a Dynamixel
     * servo answers it with a CRC error status). */
    SB_BAD_CHECK = 2,
    SB_SKIPPED = 3
} sb_event;

typedef struct {
    sb_kind kind;
    uint8_t buf[SB_RX_CAPACITY];
    size_t start, end;
    uint8_t bad_id;
    uint64_t packets, check_errors, framing_errors;
} sb_receiver;

void sb_receiver_init(sb_receiver *r, sb_kind kind);
void sb_receiver_push(sb_receiver *r, const uint8_t *bytes, size_t n);
sb_event sb_receiver_next(sb_receiver *r, sb_packet *out);

uint16_t sb_crc16(uint16_t crc, const uint8_t *bytes, size_t n);

/* Status packet writer: begin, put bytes (stuffed on Dynamixel), end. Returns the length. */
typedef struct {
    sb_kind kind;
    uint8_t *out;
    size_t cap, n;
    int ff_run;
    bool overflow;
} sb_writer;

void sb_writer_begin(sb_writer *w, sb_kind kind, uint8_t *out, size_t cap, uint8_t id, uint8_t error);
void sb_writer_put(sb_writer *w, uint8_t b);
/* Appends the running CRC of everything so far (Fast Sync Read's per-servo CRC). */
void sb_writer_put_running_crc(sb_writer *w);
size_t sb_writer_end(sb_writer *w);

#endif
