/*
 * Real-board application: run the model on the test vector baked in at build
 * time (testvector.h: an input and the reference interpreter's output for it),
 * check the output byte for byte, and print the cycles of every layer on the
 * console (UART). Prints "tinyml: PASS" or "tinyml: FAIL", then halts.
 */
#include <string.h>

#include "board.h"
#include "model.h"
#include "testvector.h"

static uint32_t layer_cycles[TINYML_NUM_LAYERS];
static uint64_t mark;

void tinyml_layer_hook(int layer, const void *output, size_t bytes)
{
    uint64_t now = board_counter_read();
    (void)output;
    (void)bytes;
    layer_cycles[layer] = (uint32_t)(now - mark);
    mark = board_counter_read();
}

int main(void)
{
    const uint8_t *expected = tinyml_tv_expected;
    const uint8_t *input = tinyml_tv_input;
    uint64_t total = 0;
    int i, ok = 1;

    board_puts("tinyml selftest: ");
    board_puts(TINYML_TV_MODEL);
    board_puts("\n");
    for (i = 0; i < TINYML_NUM_INPUTS; i++) {
        memcpy(tinyml_input(i), input, tinyml_input_bytes[i]);
        input += tinyml_input_bytes[i];
    }
    board_counter_start();
    mark = board_counter_read();
    if (tinyml_run() != 0) ok = 0;
    for (i = 0; i < TINYML_NUM_OUTPUTS; i++) {
        if (memcmp(tinyml_output(i), expected, tinyml_output_bytes[i]) != 0) ok = 0;
        expected += tinyml_output_bytes[i];
    }
    for (i = 0; i < TINYML_NUM_LAYERS; i++) {
        board_puts("  L");
        board_put_u32((uint32_t)i);
        board_puts(" ");
        board_puts(tinyml_layer_ops[i]);
        board_puts(": ");
        board_put_u32(layer_cycles[i]);
        board_puts(" cycles\n");
        total += layer_cycles[i];
    }
    board_puts("  total: ");
    board_put_u32((uint32_t)total);
    board_puts(" cycles\n");
    board_puts(ok ? "tinyml: PASS (output bit-exact with the reference)\n" : "tinyml: FAIL (output differs)\n");
    return ok ? 0 : 1;
}
