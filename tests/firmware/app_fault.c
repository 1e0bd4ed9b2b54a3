/* Test application: reads unmapped memory, which raises a BusFault. */
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
    volatile uint32_t *bad = (volatile uint32_t *)0xF0000000u;
    return (int)*bad;
}
