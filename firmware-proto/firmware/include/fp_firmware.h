/* The reference motor-controller firmware core (PROTOCOL.md): command handling, control
 * modes, limits, the command watchdog with latched faults, e-stop and the parameter table.
 *
 * Integer arithmetic only (no floating point anywhere in the core). No heap: the whole
 * state lives in one fp_firmware value owned by the caller. Single-threaded: call
 * fp_firmware_poll and fp_firmware_tick from the same thread (or interrupt level).
 *
 * Main loop of a port:
 *     fp_firmware_init(&fw, &hal, &board);
 *     for (;;) {
 *         fp_firmware_poll(&fw);                       // as often as possible
 *         if (control period elapsed) fp_firmware_tick(&fw);   // board.control_rate_hz
 *     }
 */
#ifndef FP_FIRMWARE_H
#define FP_FIRMWARE_H

#include <stdbool.h>
#include <stdint.h>

#include "fp_hal.h"
#include "fp_link.h"
#include "fp_protocol.h"

#define FP_FW_VERSION_MAJOR 1u
#define FP_FW_VERSION_MINOR 0u
#define FP_FW_VERSION_PATCH 0u

/* Longest velocity difference window, in ticks, plus one. */
#define FP_VELOCITY_WINDOW_MAX 16u

/* Bytes handled per fp_firmware_poll call at most, so a flood cannot starve the tick. */
#define FP_POLL_BUDGET 256u

/* Link and safety counters (readable as parameters 0x0110..0x0117). */
typedef struct {
    uint32_t rx_frames_ok;
    uint32_t rx_crc_errors;
    uint32_t rx_cobs_errors; /* includes short frames */
    uint32_t rx_oversize;
    uint32_t rx_bad_messages;
    uint32_t watchdog_trips;
    uint32_t tx_frames;
    uint32_t tx_overruns;
} fp_counters;

typedef struct {
    const fp_hal *hal;
    fp_board board;
    fp_receiver rx;
    fp_counters counters;

    /* Configuration (CONFIGURE and parameters). */
    uint8_t mode;
    uint16_t watchdog_ms;
    int32_t torque_limit_mnm;
    int32_t velocity_limit_cps;
    uint8_t velocity_filter_shift;
    uint8_t velocity_window; /* ticks, 1..FP_VELOCITY_WINDOW_MAX-1 */
    int32_t position_min[FP_MAX_MOTORS];
    int32_t position_max[FP_MAX_MOTORS];
    int32_t kp[FP_MAX_MOTORS]; /* µN·m per count */
    int32_t kd[FP_MAX_MOTORS]; /* µN·m per count/s */
    int32_t kv[FP_MAX_MOTORS]; /* µN·m per count/s */

    /* Run state. */
    uint16_t faults;
    uint8_t status;
    bool have_setpoint;
    int32_t setpoint[FP_MAX_MOTORS];
    uint32_t last_command_us; /* time of the last accepted COMMAND, CONFIGURE or CLEAR_FAULT */
    uint16_t tx_seq;

    /* Sampled at the last tick, and the positions of the last FP_VELOCITY_WINDOW_MAX ticks. */
    uint32_t tick_us;
    uint32_t history_us[FP_VELOCITY_WINDOW_MAX];
    int32_t history_pos[FP_MAX_MOTORS][FP_VELOCITY_WINDOW_MAX];
    uint8_t history_slot; /* where the next tick is stored */
    uint8_t history;      /* ticks stored so far, saturating at FP_VELOCITY_WINDOW_MAX */
    int32_t position[FP_MAX_MOTORS];
    int64_t velocity_q4[FP_MAX_MOTORS]; /* counts/s with 4 fractional bits */
    int32_t velocity[FP_MAX_MOTORS];    /* counts/s */
    int32_t current_ma[FP_MAX_MOTORS];
    int32_t torque_mnm[FP_MAX_MOTORS];  /* last torque output */
} fp_firmware;

/* Initialises the core: idle mode, motors off, defaults of PROTOCOL.md section 6. The board
 * values are copied; `hal` must outlive `fw`. Motor count outside 1..8 is clamped into it. */
void fp_firmware_init(fp_firmware *fw, const fp_hal *hal, const fp_board *board);

/* Reads what the UART has (at most FP_POLL_BUDGET bytes), handles every complete frame and
 * queues the replies. Real-time safe: no allocation, no lock, bounded time. */
void fp_firmware_poll(fp_firmware *fw);

/* The internal control tick, called at board.control_rate_hz: samples encoders and
 * currents, updates velocities, checks faults and the watchdog, writes torques.
 * Real-time safe: no allocation, no lock, bounded time. */
void fp_firmware_tick(fp_firmware *fw);

/* Handles one already-received frame (what fp_firmware_poll does for each frame); exposed
 * for tests and for ports that receive frames by other means. */
void fp_firmware_handle_frame(fp_firmware *fw, const fp_frame *frame);

/* Reads or writes a parameter (PROTOCOL.md section 6). Returns 0 or an FP_ERR_* code. */
int fp_firmware_param_get(const fp_firmware *fw, uint16_t id, uint8_t index, int32_t *value);
int fp_firmware_param_set(fp_firmware *fw, uint16_t id, uint8_t index, int32_t value);

#endif
