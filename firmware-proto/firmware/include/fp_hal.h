/* The hardware abstraction the firmware core runs on. Port the core to a microcontroller by
 * filling one fp_hal with functions over its UART, encoder timers, PWM/current driver, clock
 * and driver fault pin; the host emulator fills it with a pseudo-terminal and the plant model.
 *
 * Every function is called from the firmware's single thread of control (the main loop, or
 * one interrupt priority level), never concurrently, and must not block. */
#ifndef FP_HAL_H
#define FP_HAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    void *ctx; /* passed back to every function */

    /* Moves up to `cap` received UART bytes into `buf`; returns how many (0 if none).
     * Non-blocking. */
    size_t (*uart_read)(void *ctx, uint8_t *buf, size_t cap);

    /* Queues `len` bytes for transmission, all or nothing; returns false (and queues nothing)
     * if the transmit buffer lacks room. Non-blocking. */
    bool (*uart_write)(void *ctx, const uint8_t *buf, size_t len);

    /* Free-running microsecond clock; wraps at 2^32. */
    uint32_t (*clock_us)(void *ctx);

    /* Encoder count of `motor` (0-based), as the counter hardware holds it; may wrap at
     * 2^32 (velocity uses wrap-safe differences). */
    int32_t (*encoder_read)(void *ctx, uint8_t motor);

    /* Motor current of `motor`, milliamperes. */
    int32_t (*current_read_ma)(void *ctx, uint8_t motor);

    /* Commands the torque of `motor`, milli-newton-metres, already clamped by the core to
     * the motor's torque_max_mnm. The port converts it to a current or PWM duty. */
    void (*motor_set_torque)(void *ctx, uint8_t motor, int32_t torque_mnm);

    /* Enables (true) or disables (false) every motor driver (the driver's enable pin). The
     * core disables the drivers and commands 0 torque whenever motors must be off. */
    void (*motors_enable)(void *ctx, bool enable);

    /* True while the driver's fault input (over-current, over-temperature, ...) is asserted. */
    bool (*motor_fault)(void *ctx);
} fp_hal;

/* What the board is: fixed at build or start time. */
typedef struct {
    uint8_t motor_count;                    /* 1..FP_MAX_MOTORS */
    uint32_t counts_per_rev[8];             /* encoder resolution per motor */
    int32_t torque_max_mnm[8];              /* driver peak torque per motor; 0 = passive axis
                                               (an encoder without a motor) */
    uint16_t control_rate_hz;               /* rate at which fp_firmware_tick is called */
} fp_board;

#endif
