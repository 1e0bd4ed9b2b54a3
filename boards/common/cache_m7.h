/* Cortex-M7 instruction and data caches: invalidate, then enable (ARMv7-M architecture manual, B3.5). */
#ifndef TINYML_CACHE_M7_H
#define TINYML_CACHE_M7_H

#include <stdint.h>

#define SCB_CCR (*(volatile uint32_t *)0xE000ED14u)
#define SCB_CSSELR (*(volatile uint32_t *)0xE000ED84u)
#define SCB_CCSIDR (*(volatile uint32_t *)0xE000ED80u)
#define SCB_ICIALLU (*(volatile uint32_t *)0xE000EF50u)
#define SCB_DCISW (*(volatile uint32_t *)0xE000EF60u)

static inline void cache_m7_enable(void)
{
    uint32_t ccsidr, sets, ways, w;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    SCB_ICIALLU = 0u;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    SCB_CCR |= 1u << 17; /* IC */
    __asm__ volatile("dsb\n\tisb" ::: "memory");

    SCB_CSSELR = 0u; /* level 1 data cache */
    __asm__ volatile("dsb" ::: "memory");
    ccsidr = SCB_CCSIDR;
    sets = (ccsidr >> 13) & 0x7FFFu;
    ways = (ccsidr >> 3) & 0x3FFu;
    do {
        w = ways;
        do {
            SCB_DCISW = (sets << 5) | (w << 30);
        } while (w-- != 0u);
    } while (sets-- != 0u);
    __asm__ volatile("dsb" ::: "memory");
    SCB_CCR |= 1u << 16; /* DC */
    __asm__ volatile("dsb\n\tisb" ::: "memory");
}

#endif /* TINYML_CACHE_M7_H */
