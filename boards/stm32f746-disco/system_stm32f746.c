/*
 * STM32F746 clock, caches and console, by register access (RM0385):
 * HSI 16 MHz -> PLL (M=8, N=216, P=2) -> 216 MHz SYSCLK with over-drive,
 * 7 flash wait states, ART + prefetch; AHB 216, APB1 54, APB2 108 MHz.
 * USART1 at 115200 8N1 on PA9 (TX, AF7) and PB7 (RX, AF7).
 */
#include "board.h"
#include "board_config.h"
#include "cache_m7.h"
#include "stm32_gpio.h"

#define REG(addr) (*(volatile uint32_t *)(addr))
#define RCC 0x40023800u
#define RCC_CR REG(RCC + 0x00u)
#define RCC_PLLCFGR REG(RCC + 0x04u)
#define RCC_CFGR REG(RCC + 0x08u)
#define RCC_AHB1ENR REG(RCC + 0x30u)
#define RCC_APB1ENR REG(RCC + 0x40u)
#define RCC_APB2ENR REG(RCC + 0x44u)
#define PWR_CR1 REG(0x40007000u)
#define PWR_CSR1 REG(0x40007004u)
#define FLASH_ACR REG(0x40023C00u)
#define GPIOA 0x40020000u
#define GPIOB 0x40020400u
#define USART_CR1 REG(BOARD_USART_BASE + 0x00u)
#define USART_BRR REG(BOARD_USART_BASE + 0x0Cu)

#define CORE_HZ 216000000u
#define APB2_HZ 108000000u

static void clock_216mhz(void)
{
    RCC_APB1ENR |= 1u << 28; /* PWREN */
    (void)RCC_APB1ENR;
    PWR_CR1 |= 3u << 14; /* voltage scale 1 */
    RCC_PLLCFGR = 8u | (216u << 6) | (0u << 16) | (0u << 22) | (9u << 24); /* M=8 N=216 P=2 src=HSI Q=9 */
    RCC_CR |= 1u << 24; /* PLLON */
    PWR_CR1 |= 1u << 16; /* ODEN */
    while ((PWR_CSR1 & (1u << 16)) == 0u) {
    }
    PWR_CR1 |= 1u << 17; /* ODSWEN */
    while ((PWR_CSR1 & (1u << 17)) == 0u) {
    }
    while ((RCC_CR & (1u << 25)) == 0u) { /* PLLRDY */
    }
    FLASH_ACR = 7u | (1u << 8) | (1u << 9); /* 7 WS, prefetch, ART */
    while ((FLASH_ACR & 0xFu) != 7u) {
    }
    RCC_CFGR = (RCC_CFGR & ~0xFCF3u) | (5u << 10) | (4u << 13); /* HPRE /1, PPRE1 /4, PPRE2 /2 */
    RCC_CFGR = (RCC_CFGR & ~3u) | 2u; /* SW = PLL */
    while ((RCC_CFGR & (3u << 2)) != (2u << 2)) {
    }
}

void board_init(void)
{
    cache_m7_enable();
    clock_216mhz();
    RCC_AHB1ENR |= (1u << 0) | (1u << 1); /* GPIOA, GPIOB */
    RCC_APB2ENR |= 1u << 4;               /* USART1 */
    (void)RCC_APB2ENR;
    stm32_gpio_af7(GPIOA, 9u);
    stm32_gpio_af7(GPIOB, 7u);
    USART_BRR = (APB2_HZ + 115200u / 2u) / 115200u;
    USART_CR1 = (1u << 3) | (1u << 2) | 1u; /* TE, RE, UE */
    board_puts("\n");
    (void)CORE_HZ;
}
