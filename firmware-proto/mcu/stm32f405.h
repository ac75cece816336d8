/* The few STM32F405 and Cortex-M4 registers the port touches (RM0090, PM0214), as
 * volatile 32-bit locations. Addresses and bits are those of the reference manuals; the
 * comments say which ones qemu-system-arm's netduinoplus2 model implements. */
#ifndef MCU_STM32F405_H
#define MCU_STM32F405_H

#include <stdint.h>

#define MCU_REG(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

/* RCC (not modelled by QEMU 7.2: reads 0, writes ignored). */
#define RCC_BASE 0x40023800u
#define RCC_CR MCU_REG(RCC_BASE + 0x00u)
#define RCC_PLLCFGR MCU_REG(RCC_BASE + 0x04u)
#define RCC_CFGR MCU_REG(RCC_BASE + 0x08u)
#define RCC_AHB1ENR MCU_REG(RCC_BASE + 0x30u)
#define RCC_APB1ENR MCU_REG(RCC_BASE + 0x40u)
#define RCC_APB2ENR MCU_REG(RCC_BASE + 0x44u)
#define RCC_CR_HSION (1u << 0)
#define RCC_CR_PLLON (1u << 24)
#define RCC_CR_PLLRDY (1u << 25)
#define RCC_CFGR_SW_PLL 2u
#define RCC_CFGR_SWS_MASK (3u << 2)
#define RCC_CFGR_SWS_PLL (2u << 2)
#define RCC_AHB1ENR_GPIOAEN (1u << 0)
#define RCC_APB1ENR_TIM2EN (1u << 0)
#define RCC_APB1ENR_USART2EN (1u << 17)
#define RCC_APB2ENR_USART1EN (1u << 4)

/* Flash interface (not modelled). */
#define FLASH_ACR MCU_REG(0x40023C00u)
#define FLASH_ACR_LATENCY_5WS 5u
#define FLASH_ACR_PRFTEN (1u << 8)
#define FLASH_ACR_ICEN (1u << 9)
#define FLASH_ACR_DCEN (1u << 10)

/* GPIOA (not modelled): PA2/PA3 USART2, PA9/PA10 USART1, alternate function 7. */
#define GPIOA_BASE 0x40020000u
#define GPIOA_MODER MCU_REG(GPIOA_BASE + 0x00u)
#define GPIOA_OSPEEDR MCU_REG(GPIOA_BASE + 0x08u)
#define GPIOA_PUPDR MCU_REG(GPIOA_BASE + 0x0Cu)
#define GPIOA_AFRL MCU_REG(GPIOA_BASE + 0x20u)
#define GPIOA_AFRH MCU_REG(GPIOA_BASE + 0x24u)

/* USART (modelled: stm32f2xx_usart; USART1 is QEMU's serial0, USART2 its serial1). */
#define USART1_BASE 0x40011000u
#define USART2_BASE 0x40004400u
#define USART_SR(base) MCU_REG((base) + 0x00u)
#define USART_DR(base) MCU_REG((base) + 0x04u)
#define USART_BRR(base) MCU_REG((base) + 0x08u)
#define USART_CR1(base) MCU_REG((base) + 0x0Cu)
#define USART_CR2(base) MCU_REG((base) + 0x10u)
#define USART_CR3(base) MCU_REG((base) + 0x14u)
#define USART_SR_ORE (1u << 3)
#define USART_SR_RXNE (1u << 5)
#define USART_SR_TXE (1u << 7)
#define USART_CR1_RE (1u << 2)
#define USART_CR1_TE (1u << 3)
#define USART_CR1_RXNEIE (1u << 5)
#define USART_CR1_TXEIE (1u << 7)
#define USART_CR1_UE (1u << 13)
#define USART1_IRQN 37u
#define USART2_IRQN 38u

/* TIM2, 32-bit general-purpose timer (modelled: stm32f2xx_timer; QEMU 7.2 clocks it at
 * 1 GHz, the silicon at 2 x APB1 = 84 MHz). */
#define TIM2_BASE 0x40000000u
#define TIM2_CR1 MCU_REG(TIM2_BASE + 0x00u)
#define TIM2_EGR MCU_REG(TIM2_BASE + 0x14u)
#define TIM2_CNT MCU_REG(TIM2_BASE + 0x24u)
#define TIM2_PSC MCU_REG(TIM2_BASE + 0x28u)
#define TIM2_ARR MCU_REG(TIM2_BASE + 0x2Cu)
#define TIM_CR1_CEN (1u << 0)
#define TIM_EGR_UG (1u << 0)

/* Cortex-M4 system control space (modelled). */
#define SYST_CSR MCU_REG(0xE000E010u)
#define SYST_RVR MCU_REG(0xE000E014u)
#define SYST_CVR MCU_REG(0xE000E018u)
#define SYST_CSR_ENABLE (1u << 0)
#define SYST_CSR_TICKINT (1u << 1)
#define SYST_CSR_CLKSOURCE_CPU (1u << 2)
#define NVIC_ISER(n) MCU_REG(0xE000E100u + 4u * (n))
#define NVIC_IPR_BYTE(irq) (*(volatile uint8_t *)(uintptr_t)(0xE000E400u + (irq)))
#define SCB_ICSR MCU_REG(0xE000ED04u)
#define SCB_ICSR_PENDSTSET (1u << 26)
#define SCB_SHPR3 MCU_REG(0xE000ED20u)
#define SCB_CPACR MCU_REG(0xE000ED88u)
#define SCB_DEMCR MCU_REG(0xE000EDFCu)
#define SCB_DEMCR_TRCENA (1u << 24)
/* DWT cycle counter (QEMU 7.2 does not model the DWT; the port checks whether it counts). */
#define DWT_CTRL MCU_REG(0xE0001000u)
#define DWT_CYCCNT MCU_REG(0xE0001004u)
#define DWT_CTRL_CYCCNTENA (1u << 0)

#endif
