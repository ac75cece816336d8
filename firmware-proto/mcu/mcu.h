/* The board layer of the STM32F405 port: clock, SysTick time base, interrupt-driven UARTs,
 * timing in CPU cycles. Hardware-independent code (main.c) sees only this. */
#ifndef MCU_H
#define MCU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Core clock. 168 MHz: the STM32F405's maximum, and the fixed frequency of QEMU's
 * netduinoplus2 (whose RCC is not modelled; build with MCU_QEMU=1 to skip the PLL start). */
#define MCU_SYSCLK_HZ 168000000u
#define MCU_APB1_HZ (MCU_SYSCLK_HZ / 4u)
#define MCU_APB2_HZ (MCU_SYSCLK_HZ / 2u)
/* TIM2's input clock: the microsecond time base divides it down to 1 MHz. */
#ifdef MCU_QEMU
#define MCU_TIM2_CLOCK_HZ 1000000000u
#else
#define MCU_TIM2_CLOCK_HZ (2u * MCU_APB1_HZ)
#endif
/* SysTick period: 1 kHz, the firmware's control rate. */
#define MCU_TICK_HZ 1000u
#define MCU_CYCLES_PER_TICK (MCU_SYSCLK_HZ / MCU_TICK_HZ)

/* Byte queues between an interrupt handler and the main loop (one producer, one consumer;
 * sizes are powers of two). */
#define MCU_UART_RX_SIZE 512u
#define MCU_UART_TX_SIZE 1024u

typedef struct {
    uint32_t base; /* USART register block */
    uint8_t rx[MCU_UART_RX_SIZE];
    uint8_t tx[MCU_UART_TX_SIZE];
    volatile uint32_t rx_head, rx_tail; /* head: written by the handler */
    volatile uint32_t tx_head, tx_tail; /* tail: written by the handler */
    volatile uint32_t rx_dropped;       /* bytes lost: queue full or hardware overrun */
} mcu_uart;

extern mcu_uart mcu_uart1; /* the protocol link (QEMU serial0) */
extern mcu_uart mcu_uart2; /* diagnostics (QEMU serial1) */

/* Starts the PLL at 168 MHz from the 16 MHz HSI (not under MCU_QEMU), sets the flash wait
 * states, enables the GPIO, USART and TIM2 clocks, starts TIM2 as a free-running 1 MHz
 * counter (the time base) and SysTick at MCU_TICK_HZ (the wake-up for the control tick). */
void mcu_board_init(void);
/* Configures a USART: 8N1 at `baud`, receive interrupt on, on its pins PA9/10 or PA2/3. */
void mcu_uart_init(mcu_uart *u, uint32_t base, uint32_t pclk_hz, uint32_t baud, uint32_t irqn);
/* Non-blocking: moves up to `cap` received bytes into `buf`; returns how many. */
size_t mcu_uart_read(mcu_uart *u, uint8_t *buf, size_t cap);
/* Non-blocking, all or nothing: queues `len` bytes; false if the queue lacks room. */
bool mcu_uart_write(mcu_uart *u, const uint8_t *buf, size_t len);
/* Sends what the transmit ring holds while the data register is free (the main loop calls
 * it every turn; see board.c for why the TXE interrupt alone does not do). */
void mcu_uart_pump(mcu_uart *u);

/* SysTick interrupts so far (one per 1/MCU_TICK_HZ s, unless two periods elapse before the
 * first is taken: an emulator whose thread was descheduled coalesces them). */
uint32_t mcu_ticks(void);
/* CPU-cycle clock for timing short sections: the DWT cycle counter where it counts, else
 * SysTick (interrupts * cycles per tick + cycles into the current period); wraps at 2^32. */
uint32_t mcu_cycles(void);
/* Microseconds since start from TIM2, wrapping at 2^32 (the firmware's clock_us, and the
 * schedule of the control tick: a counter, so no period is ever lost). */
uint32_t mcu_micros(void);
/* True if the DWT cycle counter counts (real silicon; QEMU 7.2 does not model it). */
bool mcu_dwt_counts(void);

/* Sleeping without losing a wake-up: mask interrupts, check for work, WFI (which wakes on a
 * pending interrupt even while masked), unmask; the handler then runs. */
static inline void mcu_irq_mask(void) { __asm__ volatile("cpsid i" ::: "memory"); }
static inline void mcu_irq_unmask(void) { __asm__ volatile("cpsie i" ::: "memory"); }
static inline void mcu_wait_for_interrupt(void) { __asm__ volatile("dsb\n\twfi" ::: "memory"); }

/* Interrupt handlers (vector table in startup.c). */
void mcu_systick_handler(void);
void mcu_usart1_handler(void);
void mcu_usart2_handler(void);

#endif
