/*
 * Vector table and reset handler for every Cortex-M board: copy .data from
 * flash, zero .bss, enable the FPU (and MVE) when the build uses it, call
 * board_init() and main(), exit with main's status. Faults print the fault
 * status registers and the faulting PC, then exit with TINYML_EXIT_FAULT.
 *
 * Built with -fno-tree-loop-distribute-patterns so GCC does not turn the copy
 * loops into memcpy()/memset() calls that would run before .data exists.
 */
#include <stdint.h>

#include "board.h"
#include "exit_codes.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
int main(void);

void Reset_Handler(void);
void Default_Handler(void);
void Fault_Handler(void);
void __attribute__((weak, alias("Default_Handler"))) NMI_Handler(void);
void __attribute__((weak, alias("Default_Handler"))) SVC_Handler(void);
void __attribute__((weak, alias("Default_Handler"))) PendSV_Handler(void);
void __attribute__((weak, alias("Default_Handler"))) SysTick_Handler(void);
void __attribute__((weak)) board_init(void) {}

#define SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)
#define SCB_ICSR (*(volatile uint32_t *)0xE000ED04u)
#define SCB_SHCSR (*(volatile uint32_t *)0xE000ED24u)
#define SCB_CFSR (*(volatile uint32_t *)0xE000ED28u)
#define SCB_HFSR (*(volatile uint32_t *)0xE000ED2Cu)
#define SCB_MMFAR (*(volatile uint32_t *)0xE000ED34u)
#define SCB_BFAR (*(volatile uint32_t *)0xE000ED38u)

typedef void (*vector_t)(void);

__attribute__((section(".vectors"), used)) const vector_t tinyml_vectors[16] = {
    (vector_t)(uintptr_t)&_estack, /* initial stack pointer */
    Reset_Handler,
    NMI_Handler,
    Fault_Handler, /* HardFault */
    Fault_Handler, /* MemManage */
    Fault_Handler, /* BusFault */
    Fault_Handler, /* UsageFault */
    Fault_Handler, /* SecureFault (ARMv8-M) */
    0, 0, 0,
    SVC_Handler,
    0, 0,
    PendSV_Handler,
    SysTick_Handler,
};

void Reset_Handler(void)
{
    volatile uint32_t *src = &_sidata;
    volatile uint32_t *dst = &_sdata;
    while (dst < &_edata) *dst++ = *src++;
    for (dst = &_sbss; dst < &_ebss;) *dst++ = 0u;
#if defined(__ARM_FP) || defined(__ARM_FEATURE_MVE)
    SCB_CPACR |= 0xFu << 20; /* CP10, CP11: full access */
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
    SCB_SHCSR |= (1u << 16) | (1u << 17) | (1u << 18); /* separate MemManage, BusFault, UsageFault */
    board_init();
    board_exit(main());
}

void Default_Handler(void)
{
    board_puts("tinyml: unexpected exception\n");
    board_exit(TINYML_EXIT_FAULT);
}

static void put_hex(const char *label, uint32_t value)
{
    static const char digits[] = "0123456789abcdef";
    char buf[11] = "0x";
    int i;
    for (i = 0; i < 8; i++) buf[2 + i] = digits[(value >> (28 - 4 * i)) & 0xFu];
    buf[10] = '\0';
    board_puts(label);
    board_puts(buf);
}

void fault_report(const uint32_t *frame);
void fault_report(const uint32_t *frame)
{
    static const char *const names[] = {"?", "?", "NMI", "HardFault", "MemManage", "BusFault", "UsageFault",
                                        "SecureFault"};
    uint32_t exception = SCB_ICSR & 0x1FFu;
    board_puts("tinyml: FAULT ");
    board_puts(exception < 8u ? names[exception] : "?");
    put_hex(" pc=", frame[6]);
    put_hex(" lr=", frame[5]);
    put_hex(" cfsr=", SCB_CFSR);
    put_hex(" hfsr=", SCB_HFSR);
    put_hex(" mmfar=", SCB_MMFAR);
    put_hex(" bfar=", SCB_BFAR);
    board_puts("\n");
    board_exit(TINYML_EXIT_FAULT);
}

/* Pass the stacked exception frame (MSP or PSP, from EXC_RETURN bit 2) to fault_report(). */
__attribute__((naked)) void Fault_Handler(void)
{
    __asm__ volatile(
        "tst lr, #4\n\t"
        "ite eq\n\t"
        "mrseq r0, msp\n\t"
        "mrsne r0, psp\n\t"
        "b fault_report\n\t");
}
