/* Test application: count a loop of exactly 2 * N + 1 instructions with the board counter. */
#include "board.h"
#include "app_models.h"

void app_layer_hook(int model, int layer, const void *output, size_t bytes)
{
    (void)model;
    (void)layer;
    (void)output;
    (void)bytes;
}

int main(void)
{
    uint64_t a, b;
    board_counter_start();
    a = board_counter_read();
    __asm__ volatile(
        "mov r0, %0\n"
        "1:\n\t"
        "subs r0, r0, #1\n\t"
        "bne 1b\n\t" ::"r"(1000000u)
        : "r0", "cc");
    b = board_counter_read();
    board_puts("ticks ");
    board_put_u32((uint32_t)(b - a));
    board_puts("\n");
    return 0;
}
