/* Test application: never returns (the runner must kill it at its timeout). */
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
    board_puts("spinning forever\n");
    for (;;) {
        __asm__ volatile("nop");
    }
}
