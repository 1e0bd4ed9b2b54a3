/*
 * 64-bit tick counter from SysTick (processor clock) plus an overflow count
 * kept by the SysTick exception. QEMU has no DWT cycle counter; run with
 * -icount shift=0 and each tick is a fixed number of executed instructions
 * (board.toml: insns_per_tick), so the counts are deterministic.
 */
#include "board.h"

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define SYST_RELOAD 0x00FFFFFFu

static volatile uint32_t systick_wraps;

void SysTick_Handler(void)
{
    systick_wraps++;
}

void board_counter_start(void)
{
    SYST_CSR = 0;
    SYST_RVR = SYST_RELOAD;
    SYST_CVR = 0;
    systick_wraps = 0;
    SYST_CSR = 0x7u; /* processor clock, exception on wrap, enable */
    while (SYST_CVR == 0u) {
        /* the first tick loads the reload value; until then the count would read as a full period */
    }
}

uint64_t board_counter_read(void)
{
    uint32_t wraps, value;
    do {
        wraps = systick_wraps;
        value = SYST_CVR;
    } while (wraps != systick_wraps);
    /* SysTick counts down from SYST_RELOAD. */
    return (uint64_t)wraps * (SYST_RELOAD + 1u) + (SYST_RELOAD - value);
}
