/* Start-up of the STM32F405 port: the vector table (first in flash), the reset handler
 * (FPU access, .data copy, .bss zero, then main) and the fault handlers.
 *
 * The FPU is enabled before any C code that could touch it runs: CPACR grants full access
 * to CP10/CP11, then DSB/ISB so the next instruction sees it. Lazy stacking (the reset
 * default, FPCCR.LSPEN) keeps interrupt entry cheap for handlers that use no FPU. */
#include <stdint.h>

#include "mcu.h"
#include "stm32f405.h"

extern uint32_t mcu_data_start, mcu_data_end, mcu_data_load, mcu_bss_start, mcu_bss_end, mcu_stack_top;
int main(void);

void mcu_reset_handler(void);
void mcu_default_handler(void);
void mcu_fault_handler(void);

void mcu_reset_handler(void) {
    SCB_CPACR |= 0xFu << 20; /* CP10, CP11: full access */
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    const uint32_t *src = &mcu_data_load;
    for (uint32_t *dst = &mcu_data_start; dst < &mcu_data_end;) *dst++ = *src++;
    for (uint32_t *dst = &mcu_bss_start; dst < &mcu_bss_end;) *dst++ = 0;
    (void)main();
    for (;;) __asm__ volatile("wfi");
}

/* An interrupt nobody enabled, or a fault: stop the motors' world and spin, visibly. */
void mcu_default_handler(void) {
    for (;;) __asm__ volatile("bkpt #0");
}

void mcu_fault_handler(void) {
    for (;;) __asm__ volatile("bkpt #1");
}

/* 16 system exceptions, then the STM32F405's 82 interrupt lines (RM0090 table 61). */
#define MCU_VECTORS (16 + 82)
/* Ranges set every slot to the default handler first; the later designators override it. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init"
__attribute__((section(".isr_vector"), used)) void (*const mcu_vectors[MCU_VECTORS])(void) = {
    [0] = (void (*)(void))&mcu_stack_top,
    [1] = mcu_reset_handler,
    [2] = mcu_fault_handler, /* NMI */
    [3] = mcu_fault_handler, /* HardFault */
    [4] = mcu_fault_handler, /* MemManage */
    [5] = mcu_fault_handler, /* BusFault */
    [6] = mcu_fault_handler, /* UsageFault */
    [7 ... 10] = mcu_default_handler,
    [11] = mcu_default_handler, /* SVCall */
    [12] = mcu_default_handler, /* DebugMonitor */
    [13] = mcu_default_handler,
    [14] = mcu_default_handler, /* PendSV */
    [15] = mcu_systick_handler,
    [16 ... MCU_VECTORS - 1] = mcu_default_handler,
    [16 + USART1_IRQN] = mcu_usart1_handler,
    [16 + USART2_IRQN] = mcu_usart2_handler,
};
#pragma GCC diagnostic pop
