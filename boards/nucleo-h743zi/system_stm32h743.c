/*
 * STM32H743 clock, caches and console, by register access (RM0433):
 * LDO supply, voltage scale 1, HSI 64 MHz -> PLL1 (M=4, N=50, P=2) -> 400 MHz
 * core, AXI/AHB 200 MHz (2 flash wait states), APB1..4 100 MHz.
 * USART3 at 115200 8N1 on PD8 (TX, AF7) and PD9 (RX, AF7), kernel clock PCLK1.
 * The arena and data live in the 512 KiB AXI SRAM, the stack in DTCM.
 */
#include "board.h"
#include "board_config.h"
#include "cache_m7.h"
#include "stm32_gpio.h"

#define REG(addr) (*(volatile uint32_t *)(addr))
#define RCC 0x58024400u
#define RCC_CR REG(RCC + 0x00u)
#define RCC_CFGR REG(RCC + 0x10u)
#define RCC_D1CFGR REG(RCC + 0x18u)
#define RCC_D2CFGR REG(RCC + 0x1Cu)
#define RCC_D3CFGR REG(RCC + 0x20u)
#define RCC_PLLCKSELR REG(RCC + 0x28u)
#define RCC_PLLCFGR REG(RCC + 0x2Cu)
#define RCC_PLL1DIVR REG(RCC + 0x30u)
#define RCC_AHB4ENR REG(RCC + 0xE0u)
#define RCC_APB1LENR REG(RCC + 0xE8u)
#define PWR_CR3 REG(0x58024800u + 0x0Cu)
#define PWR_CSR1 REG(0x58024800u + 0x04u)
#define PWR_D3CR REG(0x58024800u + 0x18u)
#define FLASH_ACR REG(0x52002000u)
#define GPIOD 0x58020C00u
#define USART_CR1 REG(BOARD_USART_BASE + 0x00u)
#define USART_BRR REG(BOARD_USART_BASE + 0x0Cu)

#define PCLK1_HZ 100000000u

static void clock_400mhz(void)
{
    PWR_CR3 = (PWR_CR3 & ~0x7u) | 0x2u; /* LDOEN, no bypass, SCUEN cleared */
    while ((PWR_CSR1 & (1u << 13)) == 0u) { /* ACTVOSRDY */
    }
    PWR_D3CR = (PWR_D3CR & ~(3u << 14)) | (3u << 14); /* VOS1 */
    while ((PWR_D3CR & (1u << 13)) == 0u) { /* VOSRDY */
    }
    FLASH_ACR = 2u | (2u << 4); /* 2 wait states, WRHIGHFREQ = 2 (AXI 200 MHz at VOS1) */
    while ((FLASH_ACR & 0xFu) != 2u) {
    }
    RCC_PLLCKSELR = (RCC_PLLCKSELR & ~((3u << 0) | (0x3Fu << 4))) | (0u << 0) | (4u << 4); /* HSI, DIVM1=4 */
    RCC_PLLCFGR = (RCC_PLLCFGR & ~0xFu) | (3u << 2) | (1u << 16);   /* PLL1RGE 8-16 MHz, wide VCO, DIVP1EN */
    RCC_PLL1DIVR = (50u - 1u) | ((2u - 1u) << 9) | ((4u - 1u) << 16) | ((2u - 1u) << 24); /* N=50 P=2 Q=4 R=2 */
    RCC_CR |= 1u << 24; /* PLL1ON */
    while ((RCC_CR & (1u << 25)) == 0u) {
    }
    RCC_D1CFGR = (8u << 0) | (4u << 4); /* HPRE /2, D1PPRE /2 */
    RCC_D2CFGR = (4u << 4) | (4u << 8); /* D2PPRE1 /2, D2PPRE2 /2 */
    RCC_D3CFGR = 4u << 4;               /* D3PPRE /2 */
    RCC_CFGR = (RCC_CFGR & ~7u) | 3u;   /* SW = PLL1 */
    while ((RCC_CFGR & (7u << 3)) != (3u << 3)) {
    }
}

void board_init(void)
{
    cache_m7_enable();
    clock_400mhz();
    RCC_AHB4ENR |= 1u << 3;   /* GPIOD */
    RCC_APB1LENR |= 1u << 18; /* USART3 */
    (void)RCC_APB1LENR;
    stm32_gpio_af7(GPIOD, 8u);
    stm32_gpio_af7(GPIOD, 9u);
    USART_BRR = (PCLK1_HZ + 115200u / 2u) / 115200u;
    USART_CR1 = (1u << 3) | (1u << 2) | 1u; /* TE, RE, UE */
    board_puts("\n");
}
