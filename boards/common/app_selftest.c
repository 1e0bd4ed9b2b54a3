/*
 * Real-board application: run every model of the firmware (app_models.h) on the
 * test vector baked in at build time (an input and the reference interpreter's
 * output for it), check the output byte for byte, and print the cycles of every
 * layer on the console (UART). Prints "tinyml: PASS" or "tinyml: FAIL", then
 * halts.
 */
#include <string.h>

#include "app_models.h"
#include "board.h"

static uint32_t layer_cycles[APP_MAX_LAYERS];
static uint64_t mark;

void app_layer_hook(int model, int layer, const void *output, size_t bytes)
{
    uint64_t now = board_counter_read();
    (void)model;
    (void)output;
    (void)bytes;
    layer_cycles[layer] = (uint32_t)(now - mark);
    mark = board_counter_read();
}

/* One model on its test vector; 1 if its outputs match. */
static int selftest(const app_model_t *m)
{
    const uint8_t *expected = m->tv_expected;
    const uint8_t *input = m->tv_input;
    uint64_t total = 0;
    int i, ok = 1;

    board_puts("tinyml selftest: ");
    board_puts(m->name);
    board_puts("\n");
    if (input == NULL || expected == NULL) {
        board_puts("  no test vector in this build\n");
        return 0;
    }
    for (i = 0; i < m->num_inputs; i++) {
        memcpy(m->input(i), input, m->input_bytes[i]);
        input += m->input_bytes[i];
    }
    mark = board_counter_read();
    if (m->run() != 0) ok = 0;
    for (i = 0; i < m->num_outputs; i++) {
        if (memcmp(m->output(i), expected, m->output_bytes[i]) != 0) ok = 0;
        expected += m->output_bytes[i];
    }
    for (i = 0; i < m->num_layers; i++) {
        board_puts("  L");
        board_put_u32((uint32_t)i);
        board_puts(" ");
        board_puts(m->layer_ops[i]);
        board_puts(": ");
        board_put_u32(layer_cycles[i]);
        board_puts(" cycles\n");
        total += layer_cycles[i];
    }
    board_puts("  total: ");
    board_put_u32((uint32_t)total);
    board_puts(" cycles\n");
    return ok;
}

int main(void)
{
    int k, ok = 1;
    board_counter_start();
    for (k = 0; k < APP_NUM_MODELS; k++) {
        if (!selftest(&app_models[k])) ok = 0;
    }
    board_puts(ok ? "tinyml: PASS (output bit-exact with the reference)\n" : "tinyml: FAIL (output differs)\n");
    return ok ? 0 : 1;
}
