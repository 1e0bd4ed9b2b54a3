/* Test application: never returns (the runner must kill it at its timeout). */
#include "board.h"
#include "model.h"

void tinyml_layer_hook(int layer, const void *output, size_t bytes)
{
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
