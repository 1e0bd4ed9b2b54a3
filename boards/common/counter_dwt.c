/* Cycle counter from the DWT unit (real Cortex-M3/4/7 boards). Wraps every 2^32 cycles;
 * read it at least that often (a layer at 480 MHz would need ~9 s to wrap). */
#include "board.h"

#define DEMCR (*(volatile uint32_t *)0xE000EDFCu)
#define DWT_CTRL (*(volatile uint32_t *)0xE0001000u)
#define DWT_CYCCNT (*(volatile uint32_t *)0xE0001004u)
#define DWT_LAR (*(volatile uint32_t *)0xE0001FB0u)

static uint32_t last_low;
static uint64_t high;

void board_counter_start(void)
{
    DEMCR |= 1u << 24;     /* TRCENA */
    DWT_LAR = 0xC5ACCE55u; /* unlock (Cortex-M7) */
    DWT_CYCCNT = 0;
    DWT_CTRL |= 1u;        /* CYCCNTENA */
    last_low = 0;
    high = 0;
}

uint64_t board_counter_read(void)
{
    uint32_t low = DWT_CYCCNT;
    if (low < last_low) high += 1ull << 32;
    last_low = low;
    return high | low;
}
