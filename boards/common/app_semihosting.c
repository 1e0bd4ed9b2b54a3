/*
 * QEMU application: run a model on every input in input.bin (the inputs of
 * one inference after another) and write
 *   output.bin   the outputs, inference after inference;
 *   profile.bin  per inference: one uint32 of counter ticks per layer, then the
 *                whole inference's ticks (uint32 low, uint32 high);
 *   dump.bin     with the command-line word "dump": every layer's output tensor.
 * All through semihosting files in QEMU's working directory. The model is the
 * firmware's first (app_models.h), or model K with the command-line word
 * "modelK" (a firmware holding several). Exit status 0 on success, else one of
 * exit_codes.h.
 */
#include "app_models.h"
#include "board.h"
#include "exit_codes.h"
#include "semihosting.h"

static uint32_t layer_ticks[APP_MAX_LAYERS];
static uint64_t mark;
static int dump_handle = -1;

void app_layer_hook(int model, int layer, const void *output, size_t bytes)
{
    uint64_t now = board_counter_read();
    (void)model;
    layer_ticks[layer] = (uint32_t)(now - mark);
    if (dump_handle >= 0) sh_write(dump_handle, output, bytes);
    mark = board_counter_read(); /* the dump's own time is not charged to the next layer */
}

static int fail(const char *message)
{
    board_puts("tinyml: ");
    board_puts(message);
    board_puts("\n");
    return TINYML_EXIT_IO;
}

/* `word` is one of the space-separated words of `line` (a plain loop: no libc string code in
 * the firmware's flash). */
static int has_word(const char *line, const char *word)
{
    while (*line != '\0') {
        const char *w = word;
        while (*line == ' ') line++;
        while (*w != '\0' && *line == *w) {
            line++;
            w++;
        }
        if (*w == '\0' && (*line == ' ' || *line == '\0')) return 1;
        while (*line != ' ' && *line != '\0') line++;
    }
    return 0;
}

/* K of a word "modelK" of `line`, else 0 */
static int model_word(const char *line)
{
    static const char key[] = "model";
    for (; *line != '\0'; line++) {
        int i = 0, k = 0;
        if (line[0] == ' ') continue;
        while (key[i] != '\0' && line[i] == key[i]) i++;
        if (key[i] == '\0' && line[i] >= '0' && line[i] <= '9') {
            while (line[i] >= '0' && line[i] <= '9') k = 10 * k + (line[i++] - '0');
            return k;
        }
        while (line[1] != ' ' && line[1] != '\0') line++;
    }
    return 0;
}

int main(void)
{
    static char cmdline[256];
    const app_model_t *m;
    int in, out, prof, k;
    long length;
    long count, n;
    int i;

    if (sh_cmdline(cmdline, sizeof cmdline) != 0) cmdline[0] = '\0';
    k = model_word(cmdline);
    if (k >= APP_NUM_MODELS) return fail("no such model in this firmware");
    m = &app_models[k];
    in = sh_open("input.bin", SH_MODE_RB);
    if (in < 0) return fail("cannot open input.bin");
    length = sh_flen(in);
    if (length <= 0 || length % (long)m->inputs_bytes != 0) return fail("input.bin is not a whole number of inputs");
    count = length / (long)m->inputs_bytes;
    out = sh_open("output.bin", SH_MODE_WB);
    prof = sh_open("profile.bin", SH_MODE_WB);
    if (out < 0 || prof < 0) return fail("cannot create output.bin / profile.bin");
    if (has_word(cmdline, "dump")) {
        dump_handle = sh_open("dump.bin", SH_MODE_WB);
        if (dump_handle < 0) return fail("cannot create dump.bin");
    }

    board_counter_start();
    for (n = 0; n < count; n++) {
        uint64_t start, total;
        uint32_t words[2];
        for (i = 0; i < m->num_inputs; i++) {
            if (sh_read(in, m->input(i), m->input_bytes[i]) != 0) return fail("short read from input.bin");
        }
        start = board_counter_read();
        mark = start;
        if (m->run() != 0) return TINYML_EXIT_MODEL;
        total = 0;
        for (i = 0; i < m->num_layers; i++) total += layer_ticks[i];
        (void)start;
        for (i = 0; i < m->num_outputs; i++) {
            if (sh_write(out, m->output(i), m->output_bytes[i]) != 0) return fail("short write to output.bin");
        }
        words[0] = (uint32_t)total;
        words[1] = (uint32_t)(total >> 32);
        if (sh_write(prof, layer_ticks, (size_t)m->num_layers * sizeof layer_ticks[0]) != 0 ||
            sh_write(prof, words, sizeof words) != 0) {
            return fail("short write to profile.bin");
        }
    }
    sh_close(in);
    sh_close(out);
    sh_close(prof);
    if (dump_handle >= 0) sh_close(dump_handle);
    return TINYML_EXIT_OK;
}
