/* The reference firmware core on an STM32F405 (Cortex-M4F), hardware-in-the-loop build: the
 * HAL's motor, encoder and current functions drive the plant physics (CPlant) on the MCU
 * itself, stepped once per control tick, so a host sees a pendulum (or cart-pole) over a real
 * UART exactly as it sees the emulator's. A board with real motors replaces the five hil_*
 * functions with its timer-encoder, ADC, PWM and GPIO drivers; nothing else changes.
 *
 *   USART1 (PA9/PA10, 1 000 000 Bd; QEMU serial0): the firmware-proto link.
 *   USART2 (PA2/PA3, 115 200 Bd; QEMU serial1): diagnostics, one line a second:
 *       mcu: t_ms=... tick_max=... (CPU cycles at MCU_SYSCLK_HZ, from SysTick)
 *   SysTick at 1 kHz: the control tick (fp_firmware_tick, then plant_step of 1 ms).
 *
 * The main loop polls the UART ring, runs every due tick by the TIM2 microsecond clock
 * (catching up one at a time; a backlog over 100 ticks is skipped and counted), and sleeps in
 * WFI when there is nothing to do; SysTick only wakes it. Everything runs at thread level; interrupt handlers only move bytes and count ticks.
 *
 * The plant kind, its noise seed and parameters come from the boot-parameter block
 * (boot_params.h) when the QEMU runner wrote one, else the defaults (pendulum, seed 1).
 *
 * Timing: every fp_firmware_tick, plant_step and fp_firmware_poll that handled bytes (and,
 * separately, those that handled exactly one frame) is timed in CPU cycles by the SysTick-derived cycle clock (mcu_cycles); maximum and mean go to the
 * diagnostics line. At boot a calibration loop of a known instruction count is timed the
 * same way, so a run under `qemu-system-arm -icount shift=0` (one instruction = 1 ns of
 * virtual time) can convert cycles to executed instructions exactly. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "boot_params.h"
#include "fp_firmware.h"
#include "mcu.h"
#include "plant.h"
#include "stm32f405.h"

#define MCU_LINK_BAUD 1000000u
#define MCU_DIAG_BAUD 115200u
#define MCU_SKIP_BACKLOG 100u
/* Iterations of the calibration loop: two instructions each (subs, bne). */
#define MCU_CALIBRATION_LOOPS 100000u

/* ---- the HAL: UART and clock of the board, the plant behind the motor functions ---------- */

static plant_state hil_plant;
static plant_params hil_params;
static bool hil_motors_enabled;
static uint32_t hil_bytes_polled;
/* The plant's time, µs: one period per tick, as in robot-emulator. The firmware's clock must
 * be the plant's: ticks that run back to back to catch up (after the emulator's thread was
 * descheduled) each advance the plant by a full period, and a wall clock would then show
 * a period's motion in microseconds, a velocity spike. A board with real motors returns
 * mcu_micros() here. */
static uint32_t hil_time_us;

static size_t hal_uart_read(void *ctx, uint8_t *buf, size_t cap) {
    (void)ctx;
    size_t n = mcu_uart_read(&mcu_uart1, buf, cap);
    hil_bytes_polled += (uint32_t)n;
    return n;
}

static bool hal_uart_write(void *ctx, const uint8_t *buf, size_t len) {
    (void)ctx;
    return mcu_uart_write(&mcu_uart1, buf, len);
}

static uint32_t hal_clock_us(void *ctx) {
    (void)ctx;
    return hil_time_us;
}

static int32_t hil_encoder(void *ctx, uint8_t motor) {
    (void)ctx;
    return plant_encoder_counts(&hil_plant, motor);
}

/* Amperes to milliamperes, rounded to nearest and saturated to int32. */
static int32_t hil_round_milli(double x) {
    double m = x * 1000.0;
    if (!(m < 2147483647.0)) return INT32_MAX; /* also NaN */
    if (m < -2147483648.0) return INT32_MIN;
    return (int32_t)(m >= 0 ? m + 0.5 : m - 0.5);
}

static int32_t hil_current(void *ctx, uint8_t motor) {
    (void)ctx;
    return hil_round_milli(plant_motor_current(&hil_plant, motor));
}

static void hil_set_torque(void *ctx, uint8_t motor, int32_t torque_mnm) {
    (void)ctx;
    plant_set_command(&hil_plant, motor, hil_motors_enabled ? (double)torque_mnm / 1000.0 : 0.0);
}

static void hil_enable(void *ctx, bool enable) {
    (void)ctx;
    hil_motors_enabled = enable;
    if (!enable)
        for (int i = 0; i < plant_joint_count(&hil_plant); i++) plant_set_command(&hil_plant, i, 0.0);
}

static bool hil_motor_fault(void *ctx) {
    (void)ctx;
    return false; /* the plant's driver never faults; a board reads its driver's fault pin */
}

static const fp_hal mcu_hal = {NULL, hal_uart_read, hal_uart_write, hal_clock_us, hil_encoder, hil_current,
                               hil_set_torque, hil_enable, hil_motor_fault};

/* ---- timing statistics and the diagnostics line --------------------------------------- */

typedef struct {
    uint32_t max, count;
    uint64_t sum;
} mcu_stat;

static void mcu_stat_add(mcu_stat *s, uint32_t cycles) {
    /* A negative difference: the SysTick-derived clock stepped back because an emulator
     * coalesced two SysTick periods into one interrupt (host clock mode only; never under
     * -icount, where virtual time stops with the CPU, nor with the DWT on silicon). */
    if ((int32_t)cycles < 0) return;
    if (cycles > s->max) s->max = cycles;
    s->sum += cycles;
    s->count++;
}

static uint32_t mcu_stat_mean(const mcu_stat *s) { return s->count ? (uint32_t)(s->sum / s->count) : 0; }

typedef struct {
    char text[320];
    size_t len;
} mcu_line;

static void line_str(mcu_line *l, const char *s) {
    while (*s && l->len + 1 < sizeof l->text) l->text[l->len++] = *s++;
}

static void line_uint(mcu_line *l, const char *key, uint32_t v) {
    char digits[10];
    int n = 0;
    do {
        digits[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0);
    line_str(l, key);
    while (n > 0 && l->len + 1 < sizeof l->text) l->text[l->len++] = digits[--n];
}

static void line_send(mcu_line *l) {
    line_str(l, "\n");
    (void)mcu_uart_write(&mcu_uart2, (const uint8_t *)l->text, l->len); /* dropped if full */
    l->len = 0;
}

/* Times a loop of exactly 2 * MCU_CALIBRATION_LOOPS instructions (subs + bne per turn). */
static uint32_t mcu_calibrate(void) {
    uint32_t n = MCU_CALIBRATION_LOOPS;
    uint32_t c0 = mcu_cycles();
    __asm__ volatile("1: subs %0, %0, #1\n\tbne 1b" : "+r"(n) : : "cc");
    return mcu_cycles() - c0;
}

/* ---- main ---------------------------------------------------------------------------- */

static fp_firmware mcu_fw;

int main(void) {
    mcu_board_init();
    mcu_uart_init(&mcu_uart1, USART1_BASE, MCU_APB2_HZ, MCU_LINK_BAUD, USART1_IRQN);
    mcu_uart_init(&mcu_uart2, USART2_BASE, MCU_APB1_HZ, MCU_DIAG_BAUD, USART2_IRQN);

    /* Boot parameters: copied out of SRAM byte by byte, then cleared so that a warm reset
     * without a new block runs the defaults. */
    static uint8_t block[MCU_BOOT_BYTES(MCU_BOOT_MAX_PARAMS)];
    volatile uint8_t *raw = (volatile uint8_t *)(uintptr_t)MCU_BOOT_PARAMS_ADDR;
    for (uint32_t i = 0; i < sizeof block; i++) block[i] = raw[i];
    for (uint32_t i = 0; i < 4; i++) raw[i] = 0;
    mcu_boot_config boot = {.task = PLANT_PENDULUM, .seed = 1, .count = 0};
    int boot_rc = mcu_boot_decode(block, sizeof block, &boot);
    int bad_param = -1;
    if (boot_rc == MCU_BOOT_OK && mcu_boot_apply(&boot, &hil_params, &bad_param) == PLANT_OK &&
        plant_init(&hil_plant, &hil_params, boot.seed) == PLANT_OK) {
        boot_rc = MCU_BOOT_OK;
    } else {
        if (boot_rc == MCU_BOOT_OK) boot_rc = MCU_BOOT_ERR_FORMAT; /* a parameter the plant refused */
        boot.task = PLANT_PENDULUM;
        boot.seed = 1;
        plant_default_params(PLANT_PENDULUM, &hil_params);
        (void)plant_init(&hil_plant, &hil_params, 1);
    }
    fp_board board;
    memset(&board, 0, sizeof board);
    board.motor_count = (uint8_t)plant_joint_count(&hil_plant);
    board.control_rate_hz = MCU_TICK_HZ;
    for (int i = 0; i < board.motor_count; i++) {
        board.counts_per_rev[i] = (uint32_t)(plant_encoder_resolution(&hil_plant, i) + 0.5);
        /* Each actuated joint's peak effort (pendulum motor, cart belt, a chain's motors); a
         * passive joint (a cart-pole's pole, an acrobot's shoulder) reports 0. */
        board.torque_max_mnm[i] =
            plant_joint_is_actuated(&hil_plant, i) ? hil_round_milli(plant_max_effort(&hil_plant, i)) : 0;
    }
    fp_firmware_init(&mcu_fw, &mcu_hal, &board);

    mcu_line line = {.len = 0};
    uint32_t calibration = mcu_calibrate();
    line_str(&line, "mcu: boot stm32f405 cortex-m4f");
    line_uint(&line, " sysclk_hz=", MCU_SYSCLK_HZ);
    line_str(&line, boot.task == PLANT_CARTPOLE ? " task=cartpole" : boot.task == PLANT_CHAIN ? " task=chain" : " task=pendulum");
    line_uint(&line, " seed=", (uint32_t)boot.seed);
    line_str(&line, boot_rc == MCU_BOOT_OK ? " boot_params=applied"
                    : boot_rc == MCU_BOOT_ERR_MAGIC ? " boot_params=none"
                                                    : " boot_params=rejected");
    line_uint(&line, " params=", boot_rc == MCU_BOOT_OK ? boot.count : 0u);
    line_uint(&line, " motors=", board.motor_count);
    line_uint(&line, " dwt_counts=", mcu_dwt_counts() ? 1u : 0u);
    line_uint(&line, " calibration_instructions=", 2u * MCU_CALIBRATION_LOOPS);
    line_uint(&line, " calibration_cycles=", calibration);
    line_uint(&line, " fw_state_bytes=", (uint32_t)sizeof mcu_fw);
    line_uint(&line, " plant_state_bytes=", (uint32_t)sizeof hil_plant);
    line_send(&line);

    const double dt = 1.0 / MCU_TICK_HZ;
    /* poll: every fp_firmware_poll that handled bytes (up to FP_POLL_BUDGET of them, any
     * number of frames); frame: the polls that handled exactly one whole frame. */
    mcu_stat tick_stat = {0, 0, 0}, plant_stat = {0, 0, 0}, poll_stat = {0, 0, 0}, frame_stat = {0, 0, 0};
    uint32_t done = 0, skipped = 0;
    const uint32_t period_us = 1000000u / MCU_TICK_HZ;
    /* Phase: ticks fall due half a period before each SysTick interrupt (TIM2 and SysTick
     * run from the same clock), so the wake-up always finds its tick due. */
    uint32_t first = mcu_ticks();
    while (mcu_ticks() == first) mcu_wait_for_interrupt();
    uint32_t next_tick_us = mcu_micros() - period_us / 2u;
    for (;;) {
        uint32_t before = hil_bytes_polled, frames_before = mcu_fw.counters.rx_frames_ok;
        uint32_t c0 = mcu_cycles();
        fp_firmware_poll(&mcu_fw);
        uint32_t c1 = mcu_cycles();
        if (hil_bytes_polled != before) mcu_stat_add(&poll_stat, c1 - c0);
        if (mcu_fw.counters.rx_frames_ok - frames_before == 1u) mcu_stat_add(&frame_stat, c1 - c0);

        mcu_uart_pump(&mcu_uart1);
        mcu_uart_pump(&mcu_uart2);

        uint32_t late_us = mcu_micros() - next_tick_us;
        if ((int32_t)late_us >= 0) {
            if (late_us >= MCU_SKIP_BACKLOG * period_us) {
                uint32_t behind = late_us / period_us;
                skipped += behind;
                next_tick_us += behind * period_us;
                hil_time_us += behind * period_us;
            }
            next_tick_us += period_us;
            c0 = mcu_cycles();
            fp_firmware_tick(&mcu_fw);
            c1 = mcu_cycles();
            plant_step(&hil_plant, dt);
            hil_time_us += period_us;
            uint32_t c2 = mcu_cycles();
            mcu_stat_add(&tick_stat, c1 - c0);
            mcu_stat_add(&plant_stat, c2 - c1);
            done++;
            if (done % MCU_TICK_HZ == 0) {
                line_uint(&line, "mcu: t_ms=", mcu_micros() / 1000u);
                line_uint(&line, " ticks=", done);
                line_uint(&line, " skipped=", skipped);
                line_uint(&line, " tick_max=", tick_stat.max);
                line_uint(&line, " tick_mean=", mcu_stat_mean(&tick_stat));
                line_uint(&line, " plant_max=", plant_stat.max);
                line_uint(&line, " plant_mean=", mcu_stat_mean(&plant_stat));
                line_uint(&line, " poll_max=", poll_stat.max);
                line_uint(&line, " poll_mean=", mcu_stat_mean(&poll_stat));
                line_uint(&line, " polls=", poll_stat.count);
                line_uint(&line, " frame_max=", frame_stat.max);
                line_uint(&line, " frame_mean=", mcu_stat_mean(&frame_stat));
                line_uint(&line, " frame_polls=", frame_stat.count);
                line_uint(&line, " frames=", mcu_fw.counters.rx_frames_ok);
                line_uint(&line, " rx_dropped=", mcu_uart1.rx_dropped);
                line_uint(&line, " tx_overruns=", mcu_fw.counters.tx_overruns);
                line_uint(&line, " faults=", mcu_fw.faults);
                line_send(&line);
            }
            continue;
        }
        mcu_irq_mask();
        if ((int32_t)(mcu_micros() - next_tick_us) < 0 && mcu_uart1.rx_head == mcu_uart1.rx_tail)
            mcu_wait_for_interrupt();
        mcu_irq_unmask();
    }
}
