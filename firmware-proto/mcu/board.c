/* The STM32F405 board layer (mcu.h): clock tree, SysTick, interrupt-driven USARTs.
 *
 * USARTs: receive by RXNE interrupt into a ring; transmit from a ring by TXE interrupt
 * (TXEIE is set while bytes are queued and cleared by the handler when the ring is empty),
 * so the main loop never waits for the line. QEMU 7.2's USART model raises its interrupt
 * for RXNE only (not TXE), so the main loop also calls mcu_uart_pump, which moves bytes
 * while TXE is set, with interrupts masked so that it and the handler never both take
 * from the ring. The rings have one producer and one consumer;
 * indices are free-running 32-bit counters, each written by one side only. */
#include "mcu.h"
#include "stm32f405.h"

mcu_uart mcu_uart1;
mcu_uart mcu_uart2;

static volatile uint32_t mcu_tick_count;
static bool mcu_dwt_ok;

static void mcu_clock_init(void) {
#ifndef MCU_QEMU
    /* 16 MHz HSI -> PLL: /16 = 1 MHz VCO input, x336 = 336 MHz, /2 = 168 MHz SYSCLK,
     * /7 = 48 MHz for USB. AHB /1, APB1 /4 (42 MHz), APB2 /2 (84 MHz). 5 flash wait states
     * at 3.3 V (RM0090 table 10), prefetch and caches on. Voltage scale 1 is the reset value. */
    RCC_CR |= RCC_CR_HSION;
    FLASH_ACR = FLASH_ACR_LATENCY_5WS | FLASH_ACR_PRFTEN | FLASH_ACR_ICEN | FLASH_ACR_DCEN;
    RCC_PLLCFGR = 16u | (336u << 6) | (0u << 16) | (0u << 22) | (7u << 24);
    RCC_CFGR = (5u << 10) | (4u << 13); /* PPRE1 = /4, PPRE2 = /2, HPRE = /1 */
    RCC_CR |= RCC_CR_PLLON;
    while (!(RCC_CR & RCC_CR_PLLRDY)) {
    }
    RCC_CFGR = (RCC_CFGR & ~3u) | RCC_CFGR_SW_PLL;
    while ((RCC_CFGR & RCC_CFGR_SWS_MASK) != RCC_CFGR_SWS_PLL) {
    }
#endif
    RCC_AHB1ENR |= RCC_AHB1ENR_GPIOAEN;
    RCC_APB1ENR |= RCC_APB1ENR_USART2EN | RCC_APB1ENR_TIM2EN;
    RCC_APB2ENR |= RCC_APB2ENR_USART1EN;
}

/* PA2/PA3 (USART2) and PA9/PA10 (USART1): alternate function 7, high speed, RX pulled up. */
static void mcu_pins_init(void) {
    const uint32_t pins[4] = {2, 3, 9, 10};
    for (int i = 0; i < 4; i++) {
        uint32_t p = pins[i];
        GPIOA_MODER = (GPIOA_MODER & ~(3u << (2 * p))) | (2u << (2 * p));
        GPIOA_OSPEEDR |= 3u << (2 * p);
        if (p < 8)
            GPIOA_AFRL = (GPIOA_AFRL & ~(0xFu << (4 * p))) | (7u << (4 * p));
        else
            GPIOA_AFRH = (GPIOA_AFRH & ~(0xFu << (4 * (p - 8)))) | (7u << (4 * (p - 8)));
    }
    GPIOA_PUPDR = (GPIOA_PUPDR & ~((3u << 6) | (3u << 20))) | (1u << 6) | (1u << 20);
}

void mcu_board_init(void) {
    mcu_clock_init();
    mcu_pins_init();
    /* SysTick from the CPU clock, lowest priority among the handlers used here (the UART
     * receive handlers must not lose bytes behind it). */
    SCB_SHPR3 = (SCB_SHPR3 & 0x00FFFFFFu) | (0xC0u << 24);
    SYST_RVR = MCU_CYCLES_PER_TICK - 1u;
    SYST_CVR = 0;
    SYST_CSR = SYST_CSR_CLKSOURCE_CPU | SYST_CSR_TICKINT | SYST_CSR_ENABLE;
    /* TIM2: free-running up-counter at 1 MHz over the full 32 bits; the update event loads
     * the prescaler. */
    TIM2_CR1 = 0;
    TIM2_PSC = MCU_TIM2_CLOCK_HZ / 1000000u - 1u;
    TIM2_ARR = 0xFFFFFFFFu;
    TIM2_EGR = TIM_EGR_UG;
    TIM2_CR1 = TIM_CR1_CEN;
    /* DWT cycle counter, where the silicon has it. */
    SCB_DEMCR |= SCB_DEMCR_TRCENA;
    DWT_CYCCNT = 0;
    DWT_CTRL |= DWT_CTRL_CYCCNTENA;
    mcu_dwt_ok = mcu_dwt_counts();
}

void mcu_uart_init(mcu_uart *u, uint32_t base, uint32_t pclk_hz, uint32_t baud, uint32_t irqn) {
    u->base = base;
    u->rx_head = u->rx_tail = u->tx_head = u->tx_tail = 0;
    u->rx_dropped = 0;
    USART_CR1(base) = 0;
    USART_BRR(base) = (pclk_hz + baud / 2u) / baud; /* oversampling by 16: BRR = fck / baud */
    USART_CR2(base) = 0;                            /* 1 stop bit */
    USART_CR3(base) = 0;                            /* no flow control */
    USART_CR1(base) = USART_CR1_UE | USART_CR1_TE | USART_CR1_RE | USART_CR1_RXNEIE;
    NVIC_IPR_BYTE(irqn) = 0x40u;
    NVIC_ISER(irqn / 32u) = 1u << (irqn % 32u);
}

size_t mcu_uart_read(mcu_uart *u, uint8_t *buf, size_t cap) {
    uint32_t head = __atomic_load_n(&u->rx_head, __ATOMIC_ACQUIRE);
    uint32_t tail = u->rx_tail;
    size_t n = 0;
    while (n < cap && tail != head) buf[n++] = u->rx[tail++ % MCU_UART_RX_SIZE];
    __atomic_store_n(&u->rx_tail, tail, __ATOMIC_RELEASE);
    return n;
}

bool mcu_uart_write(mcu_uart *u, const uint8_t *buf, size_t len) {
    uint32_t tail = __atomic_load_n(&u->tx_tail, __ATOMIC_ACQUIRE);
    uint32_t head = u->tx_head;
    if (MCU_UART_TX_SIZE - (head - tail) < len) return false;
    for (size_t i = 0; i < len; i++) u->tx[head++ % MCU_UART_TX_SIZE] = buf[i];
    __atomic_store_n(&u->tx_head, head, __ATOMIC_RELEASE);
    /* Read-modify-write of CR1 against the handler clearing TXEIE: masked. */
    mcu_irq_mask();
    USART_CR1(u->base) |= USART_CR1_TXEIE;
    mcu_irq_unmask();
    return true;
}

/* Moves queued bytes into the data register while it is empty. Caller masks interrupts. */
static void mcu_uart_send_ready(mcu_uart *u) {
    uint32_t base = u->base;
    uint32_t tail = u->tx_tail, head = __atomic_load_n(&u->tx_head, __ATOMIC_ACQUIRE);
    while (tail != head && (USART_SR(base) & USART_SR_TXE)) USART_DR(base) = u->tx[tail++ % MCU_UART_TX_SIZE];
    __atomic_store_n(&u->tx_tail, tail, __ATOMIC_RELEASE);
    if (tail == head) USART_CR1(base) &= ~USART_CR1_TXEIE;
}

void mcu_uart_pump(mcu_uart *u) {
    if (u->tx_tail == u->tx_head) return;
    mcu_irq_mask();
    mcu_uart_send_ready(u);
    mcu_irq_unmask();
}

static void mcu_uart_irq(mcu_uart *u) {
    uint32_t base = u->base;
    uint32_t sr = USART_SR(base);
    while (sr & (USART_SR_RXNE | USART_SR_ORE)) {
        uint8_t byte = (uint8_t)USART_DR(base); /* reading DR after SR clears RXNE and ORE */
        if (sr & USART_SR_ORE) u->rx_dropped++;
        uint32_t head = u->rx_head;
        if (head - __atomic_load_n(&u->rx_tail, __ATOMIC_ACQUIRE) < MCU_UART_RX_SIZE) {
            u->rx[head % MCU_UART_RX_SIZE] = byte;
            __atomic_store_n(&u->rx_head, head + 1u, __ATOMIC_RELEASE);
        } else {
            u->rx_dropped++;
        }
        sr = USART_SR(base);
    }
    if ((USART_CR1(base) & USART_CR1_TXEIE) && (sr & USART_SR_TXE)) mcu_uart_send_ready(u);
}

void mcu_usart1_handler(void) { mcu_uart_irq(&mcu_uart1); }
void mcu_usart2_handler(void) { mcu_uart_irq(&mcu_uart2); }

void mcu_systick_handler(void) { mcu_tick_count++; }

uint32_t mcu_ticks(void) { return mcu_tick_count; }

/* A consistent (ticks, cycles into the current period) pair. Re-read if the tick count
 * moved while the down-counter was read; if the counter has reloaded but its interrupt is
 * still pending (not yet taken), the reload's tick is counted here. */
static uint32_t mcu_time(uint32_t *elapsed) {
    uint32_t ticks, value, pending;
    do {
        ticks = mcu_tick_count;
        value = SYST_CVR;
        pending = SCB_ICSR & SCB_ICSR_PENDSTSET;
    } while (ticks != mcu_tick_count);
    if (pending && value > MCU_CYCLES_PER_TICK / 2u) ticks++;
    *elapsed = MCU_CYCLES_PER_TICK - 1u - value;
    return ticks;
}

uint32_t mcu_cycles(void) {
    if (mcu_dwt_ok) return DWT_CYCCNT;
    uint32_t elapsed, ticks = mcu_time(&elapsed);
    return ticks * MCU_CYCLES_PER_TICK + elapsed;
}

uint32_t mcu_micros(void) { return TIM2_CNT; }

bool mcu_dwt_counts(void) {
    uint32_t a = DWT_CYCCNT;
    for (volatile int i = 0; i < 100; i++) {
    }
    return DWT_CYCCNT != a;
}
