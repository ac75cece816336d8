/* The message layer of PROTOCOL.md sections 3 and 4: message types, their fields as C
 * structs, parsing a frame's body into a message and encoding a message into a frame.
 * Pure: no I/O, no heap. Real-time safe: no allocation, no lock, bounded time. */
#ifndef FP_PROTOCOL_H
#define FP_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#include "fp_link.h"

#define FP_MAX_MOTORS 8u

/* Message types. Host -> MCU: 0x01..0x7F; MCU -> host: 0x80..0xFF. */
enum {
    FP_MSG_HELLO = 0x01,
    FP_MSG_CONFIGURE = 0x02,
    FP_MSG_COMMAND = 0x03,
    FP_MSG_ESTOP = 0x04,
    FP_MSG_CLEAR_FAULT = 0x05,
    FP_MSG_PARAM_GET = 0x06,
    FP_MSG_PARAM_SET = 0x07,
    FP_MSG_STATE_REQUEST = 0x08,
    FP_MSG_CAPABILITIES = 0x81,
    FP_MSG_STATE = 0x82,
    FP_MSG_PARAM_VALUE = 0x83,
    FP_MSG_ACK = 0x84,
    FP_MSG_NACK = 0x85,
};

/* Control modes (CONFIGURE.mode, STATE.mode). */
enum { FP_MODE_IDLE = 0, FP_MODE_TORQUE = 1, FP_MODE_VELOCITY = 2, FP_MODE_POSITION = 3 };

/* NACK error codes. */
enum {
    FP_ERR_BAD_VERSION = 1,
    FP_ERR_UNKNOWN_TYPE = 2,
    FP_ERR_BAD_LENGTH = 3,
    FP_ERR_MOTOR_COUNT = 4,
    FP_ERR_BAD_MODE = 5,
    FP_ERR_OUT_OF_RANGE = 6,
    FP_ERR_UNKNOWN_PARAM = 7,
    FP_ERR_READ_ONLY = 8,
    FP_ERR_FAULT_ACTIVE = 9,
};

/* Latched fault flags (STATE.faults). */
enum {
    FP_FAULT_WATCHDOG = 1u << 0,
    FP_FAULT_ESTOP = 1u << 1,
    FP_FAULT_MOTOR = 1u << 2,
    FP_FAULT_VELOCITY_LIMIT = 1u << 3,
    FP_FAULT_POSITION_LIMIT = 1u << 4,
};

/* STATE.status bits. */
enum {
    FP_STATUS_MOTORS_ON = 1u << 0,
    FP_STATUS_CLAMPED = 1u << 1,
    FP_STATUS_HAVE_SETPOINT = 1u << 2,
};

/* Parameter ids (PROTOCOL.md section 6). */
enum {
    FP_PARAM_WATCHDOG_MS = 0x0001,
    FP_PARAM_TORQUE_LIMIT_MNM = 0x0002,
    FP_PARAM_VELOCITY_LIMIT_CPS = 0x0003,
    FP_PARAM_VELOCITY_FILTER_SHIFT = 0x0004,
    FP_PARAM_VELOCITY_WINDOW = 0x0005,
    FP_PARAM_POSITION_MIN = 0x0010,
    FP_PARAM_POSITION_MAX = 0x0011,
    FP_PARAM_KP = 0x0012,
    FP_PARAM_KD = 0x0013,
    FP_PARAM_KV = 0x0014,
    FP_PARAM_COUNTS_PER_REV = 0x0100,
    FP_PARAM_TORQUE_MAX_MNM = 0x0101,
    FP_PARAM_CONTROL_RATE_HZ = 0x0102,
    FP_PARAM_RX_FRAMES_OK = 0x0110,
    FP_PARAM_RX_CRC_ERRORS = 0x0111,
    FP_PARAM_RX_COBS_ERRORS = 0x0112,
    FP_PARAM_RX_OVERSIZE = 0x0113,
    FP_PARAM_RX_BAD_MESSAGES = 0x0114,
    FP_PARAM_WATCHDOG_TRIPS = 0x0115,
    FP_PARAM_TX_FRAMES = 0x0116,
    FP_PARAM_TX_OVERRUNS = 0x0117,
};

typedef struct {
    uint8_t mode;
    uint16_t watchdog_ms;
    int32_t torque_limit_mnm;
    int32_t velocity_limit_cps;
} fp_configure_msg;

typedef struct {
    uint8_t count;
    int32_t setpoint[FP_MAX_MOTORS];
} fp_command_msg;

typedef struct {
    uint16_t id;
    uint8_t index;
    int32_t value; /* PARAM_SET and PARAM_VALUE only */
} fp_param_msg;

typedef struct {
    uint8_t protocol_version;
    uint8_t fw_major, fw_minor, fw_patch;
    uint8_t motor_count;
    uint8_t modes;
    uint16_t control_rate_hz;
    uint16_t max_payload;
    uint32_t counts_per_rev[FP_MAX_MOTORS];
    int32_t torque_max_mnm[FP_MAX_MOTORS];
} fp_capabilities_msg;

typedef struct {
    uint16_t faults;
    uint32_t timestamp_us;
    uint8_t mode;
    uint8_t status;
    uint8_t count;
    int32_t position[FP_MAX_MOTORS];
    int32_t velocity[FP_MAX_MOTORS];
    int16_t current_ma[FP_MAX_MOTORS];
} fp_state_msg;

typedef struct {
    uint8_t type;  /* ACK: type acknowledged; NACK: type refused */
    uint8_t error; /* NACK only */
} fp_reply_msg;

/* A decoded message. `echo_seq` is meaningful for MCU -> host messages only. */
typedef struct {
    uint8_t type;
    uint16_t seq;
    uint16_t echo_seq;
    union {
        fp_configure_msg configure;
        fp_command_msg command;
        fp_param_msg param;
        fp_capabilities_msg capabilities;
        fp_state_msg state;
        fp_reply_msg reply;
    } u;
} fp_message;

typedef enum {
    FP_PARSE_OK = 0,
    FP_PARSE_BAD_VERSION,
    FP_PARSE_UNKNOWN_TYPE,
    FP_PARSE_BAD_LENGTH,
} fp_parse_result;

/* Parses a frame into *out. Checks version, type and exact body length only (ranges are
 * the firmware's business). On anything but FP_PARSE_OK, out->type and out->seq are still
 * set from the header. */
fp_parse_result fp_message_parse(const fp_frame *frame, fp_message *out);

/* Writes the body of *msg into `body` (at least FP_MAX_BODY bytes). Returns its length, or
 * 0 for an unknown type or a count outside 1..FP_MAX_MOTORS (bodies of HELLO, ESTOP,
 * CLEAR_FAULT and STATE_REQUEST are empty: returns 0 and *ok = 1). */
size_t fp_message_encode_body(const fp_message *msg, uint8_t *body, int *ok);

/* Encodes *msg as a complete wire frame (COBS, delimiter). Returns the wire length, or 0 if
 * the message cannot be encoded. `cap` >= FP_MAX_WIRE always suffices. */
size_t fp_message_encode(const fp_message *msg, uint8_t *wire, size_t cap);

/* Body lengths. */
#define FP_COMMAND_BODY_LEN(n) (1u + 4u * (n))
#define FP_STATE_BODY_LEN(n) (11u + 10u * (n))
#define FP_CAPABILITIES_BODY_LEN(n) (12u + 8u * (n))

#endif
