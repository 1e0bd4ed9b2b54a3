/*
 * Console on an STM32 USART (F7/H7 register layout: ISR at 0x1C, TDR at 0x28),
 * polled, no HAL. The board's system file provides board_init(), which sets up
 * clocks, pins and the baud rate, and defines BOARD_USART_BASE in board_config.h.
 */
#include "board.h"
#include "board_config.h"

#define USART_ISR (*(volatile uint32_t *)(BOARD_USART_BASE + 0x1Cu))
#define USART_TDR (*(volatile uint32_t *)(BOARD_USART_BASE + 0x28u))
#define USART_ISR_TXE (1u << 7)
#define USART_ISR_TC (1u << 6)

static void put_char(char c)
{
    while ((USART_ISR & USART_ISR_TXE) == 0u) {
    }
    USART_TDR = (uint32_t)(uint8_t)c;
}

void board_puts(const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '\n') put_char('\r');
        put_char(*s);
    }
}

void board_exit(int status)
{
    board_puts(status == 0 ? "tinyml: exit 0\n" : "tinyml: exit with an error\n");
    while ((USART_ISR & USART_ISR_TC) == 0u) {
    }
    for (;;) {
        __asm__ volatile("wfi");
    }
}
