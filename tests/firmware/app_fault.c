/* Test application: reads unmapped memory, which raises a BusFault. */
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
    volatile uint32_t *bad = (volatile uint32_t *)0xF0000000u;
    return (int)*bad;
}
