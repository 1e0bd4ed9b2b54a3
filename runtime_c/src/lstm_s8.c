/* UNIDIRECTIONAL_SEQUENCE_LSTM, int8 activations and hidden state, int16 cell state, in the
 * arithmetic of TF-Lite Micro's or of LiteRT's integer LSTM (kernels.h has the formulas).
 * TF-Lite Micro: the int16 sigmoid and tanh interpolate TFLite's 256-entry table of
 * sigmoid(i / 24) in unsigned Q0.16, whose values are data (no closed formula reproduces all of
 * them): tanh(x) = 2 sigmoid(2x) - 1 reads it at twice the resolution. LiteRT: gemmlowp's int16
 * fixed-point logistic and tanh (exp of the negative argument by a polynomial on [-1/4, 0) and
 * one factor per higher bit, then three Newton-Raphson steps for the reciprocal). */
#include "tinyml/kernels.h"

static const uint16_t sigmoid_table[256] = {
    32768, 33451, 34133, 34813, 35493, 36169, 36843, 37513, 38180, 38841, 39498, 40149,
    40794, 41432, 42064, 42688, 43304, 43912, 44511, 45102, 45683, 46255, 46817, 47369,
    47911, 48443, 48964, 49475, 49975, 50464, 50942, 51409, 51865, 52311, 52745, 53169,
    53581, 53983, 54374, 54755, 55125, 55485, 55834, 56174, 56503, 56823, 57133, 57433,
    57724, 58007, 58280, 58544, 58800, 59048, 59288, 59519, 59743, 59959, 60168, 60370,
    60565, 60753, 60935, 61110, 61279, 61441, 61599, 61750, 61896, 62036, 62172, 62302,
    62428, 62549, 62666, 62778, 62886, 62990, 63090, 63186, 63279, 63368, 63454, 63536,
    63615, 63691, 63765, 63835, 63903, 63968, 64030, 64090, 64148, 64204, 64257, 64308,
    64357, 64405, 64450, 64494, 64536, 64576, 64614, 64652, 64687, 64721, 64754, 64786,
    64816, 64845, 64873, 64900, 64926, 64950, 64974, 64997, 65019, 65039, 65060, 65079,
    65097, 65115, 65132, 65149, 65164, 65179, 65194, 65208, 65221, 65234, 65246, 65258,
    65269, 65280, 65291, 65301, 65310, 65319, 65328, 65337, 65345, 65352, 65360, 65367,
    65374, 65381, 65387, 65393, 65399, 65404, 65410, 65415, 65420, 65425, 65429, 65433,
    65438, 65442, 65445, 65449, 65453, 65456, 65459, 65462, 65465, 65468, 65471, 65474,
    65476, 65479, 65481, 65483, 65485, 65488, 65489, 65491, 65493, 65495, 65497, 65498,
    65500, 65501, 65503, 65504, 65505, 65507, 65508, 65509, 65510, 65511, 65512, 65513,
    65514, 65515, 65516, 65517, 65517, 65518, 65519, 65520, 65520, 65521, 65522, 65522,
    65523, 65523, 65524, 65524, 65525, 65525, 65526, 65526, 65526, 65527, 65527, 65528,
    65528, 65528, 65529, 65529, 65529, 65529, 65530, 65530, 65530, 65530, 65531, 65531,
    65531, 65531, 65531, 65532, 65532, 65532, 65532, 65532, 65532, 65533, 65533, 65533,
    65533, 65533, 65533, 65533, 65533, 65534, 65534, 65534, 65534, 65534, 65534, 65534,
    65534, 65534, 65534, 65535
};

/* sigmoid of a Q3.12 int16, the argument first scaled by 3 (the table's step is 1/24): Q0.15 */
static int16_t sigmoid_q15(int32_t x)
{
    const int32_t v = x * 3;
    const uint32_t a = (uint32_t)(v < 0 ? -v : v);
    const uint32_t k = a >> 9;
    uint32_t r;
    if (k >= 255) {
        r = 0x7FFFu << 10;
    } else {
        const uint32_t lo = sigmoid_table[k], hi = sigmoid_table[k + 1];
        r = (lo << 9) + (a & 0x1FFu) * (hi - lo);
    }
    r = v >= 0 ? r + (1u << 9) : (1u << 25) - r + (1u << 9) - 1u;
    return (int16_t)(r >> 10);
}

/* tanh of an int16 whose argument is (x * multiplier + round) >> shift (Q3.12 times 3): Q0.15 */
static int16_t tanh_q15(int32_t x, int32_t multiplier, int32_t shift)
{
    const int32_t round = shift > 0 ? (int32_t)1 << (shift - 1) : 0;
    const int32_t v = (x * multiplier + round) >> shift;
    const uint32_t a = (uint32_t)(v < 0 ? -v : v);
    const uint32_t k = a >> 8;
    int32_t r;
    if (k >= 255) {
        r = (int32_t)(0xFFFFu << 8);
    } else {
        const int32_t lo = sigmoid_table[k], hi = sigmoid_table[k + 1];
        r = (lo << 8) + (int32_t)(a & 0xFFu) * (hi - lo);
    }
    r = v >= 0 ? r - (1 << 23) + (1 << 7) : -r + (1 << 23) + (1 << 7) - 1;
    return (int16_t)(r >> 8);
}

static int32_t sat16(int32_t x)
{
    return tm_clamp(x, INT16_MIN, INT16_MAX);
}

/* ---- gemmlowp's int16 fixed point (LiteRT) ----------------------------------------------
 * Values are int16 held in int32; wrap16 is the two's-complement truncation int16 arithmetic
 * does. The constants are gemmlowp's int32 ones rounded to int16 (rdiv by 2^16). */

static int32_t wrap16(int32_t x)
{
    return (int16_t)(uint16_t)(uint32_t)x;
}

/* SaturatingRoundingDoublingHighMul for int16 */
static int32_t srdhm16(int32_t a, int32_t b)
{
    if (a == INT16_MIN && b == INT16_MIN) return INT16_MAX;
    const int32_t ab = a * b;
    return wrap16((ab + (ab >= 0 ? (1 << 14) : 1 - (1 << 14))) / (1 << 15)); /* C division truncates */
}

/* x * 2^e saturated to int16, e >= 0 */
static int32_t shl_sat16(int32_t x, int e)
{
    const int32_t limit = (1 << (15 - e)) - 1;
    return x > limit ? INT16_MAX : x < -limit ? INT16_MIN : wrap16(x * (1 << e));
}

/* exp(a) for a in [-1/4, 0) in Q0.15 */
static int32_t exp_quarter16(int32_t a)
{
    const int32_t x = wrap16(a + (1 << 12));
    const int32_t x2 = srdhm16(x, x), x3 = srdhm16(x2, x), x4 = srdhm16(x2, x2);
    const int32_t poly = tm_rdbpot(wrap16(srdhm16(wrap16(tm_rdbpot(x4, 2) + x3), 10923) + x2), 1); /* 1/3 */
    return sat16(28918 + srdhm16(28918, wrap16(x + poly)));                                      /* exp(-1/8) */
}

/* exp(a) for a <= 0 in Q(ib).(15-ib), result in Q0.15 */
static int32_t exp_neg16(int32_t a, int ib)
{
    static const int16_t factor[7] = {25520, 19875, 12055, 4435, 600, 11, 0}; /* exp(-2^k), k = -2..4 */
    const int fb = 15 - ib;
    const int32_t quarter = (int32_t)1 << (fb - 2);
    const int32_t mod = wrap16((a & (quarter - 1)) - quarter);
    int32_t r = exp_quarter16(shl_sat16(mod, ib));
    const int32_t rest = wrap16(mod - a);
    for (int k = -2; k <= 4; ++k) {
        if (ib > k && (rest & ((int32_t)1 << (fb + k)))) r = srdhm16(r, factor[k + 2]);
    }
    if (ib > 5 && a < -((int32_t)1 << (20 - ib))) r = 0;
    return a == 0 ? INT16_MAX : r;
}

/* 1 / (1 + e) (logistic) or (1 - e) / (1 + e) (tanh) for e in Q0.15: three Newton-Raphson steps
 * from 48/17 - 32/17 d, d = (1 + e) / 2, in Q2.13 */
static int32_t newton16(int32_t e, int is_tanh)
{
    const int32_t s = e + INT16_MAX;
    const int32_t d = wrap16((s + (s >= 0 ? 1 : -1)) / 2);
    int32_t x = wrap16(23130 + srdhm16(d, -15420));
    for (int k = 0; k < 3; ++k) {
        x = wrap16(x + shl_sat16(srdhm16(x, wrap16(8192 - srdhm16(d, x))), 2));
    }
    return is_tanh ? shl_sat16(wrap16(x - 8192), 2) : shl_sat16(x, 1);
}

/* logistic of a Q3.12 int16, Q0.15 */
static int16_t logistic_gemmlowp(int32_t a)
{
    if (a == 0) return 16384;
    const int32_t mag = a > 0 ? a : wrap16(-a);
    const int32_t r = newton16(exp_neg16(wrap16(-mag), 3), 0);
    return (int16_t)(a > 0 ? r : wrap16(INT16_MAX - r));
}

/* tanh of a Q(ib).(15-ib) int16, Q0.15 */
static int16_t tanh_gemmlowp(int32_t a, int ib)
{
    if (a == 0) return 0;
    const int32_t t = newton16(exp_neg16(a < 0 ? a : wrap16(-a), ib + 1), 1);
    return (int16_t)(a < 0 ? wrap16(-t) : t);
}

/* ---- the LSTM ------------------------------------------------------------------------------ */

static int32_t dot_s8(const int8_t *a, const int8_t *b, int32_t n, int32_t acc)
{
    for (int32_t k = 0; k < n; ++k) acc += (int32_t)a[k] * b[k];
    return acc;
}

/* one gate for every unit: its Q3.12 pre-activation (the input part saturated to int16, then
 * the recurrent part added: TF-Lite Micro saturates that part on its own first, LiteRT does
 * not), then its activation */
static void gate(const tinyml_lstm_params_t *p, const tinyml_lstm_gate_t *g, const int8_t *x, const int8_t *h,
                 int is_cell_gate, int16_t *out)
{
    const tinyml_rounding_t rnd = TM_ROUNDING(p->rounding);
    const int litert = p->arithmetic == TINYML_LSTM_LITERT;
    for (int32_t j = 0; j < p->units; ++j) {
        const int32_t in_acc = dot_s8(g->input_weights + j * p->input_size, x, p->input_size, g->input_bias[j]);
        const int32_t rec_acc = dot_s8(g->recurrent_weights + j * p->units, h, p->units, g->recurrent_bias[j]);
        const int32_t rec = tm_mbqm(rec_acc, g->recurrent_multiplier, g->recurrent_shift, rnd);
        const int32_t pre = sat16(tm_wadd(sat16(tm_mbqm(in_acc, g->input_multiplier, g->input_shift, rnd)),
                                          litert ? rec : sat16(rec)));
        if (litert) {
            out[j] = is_cell_gate ? tanh_gemmlowp(pre, 3) : logistic_gemmlowp(pre);
        } else {
            out[j] = is_cell_gate ? tanh_q15(pre, 3, 0) : sigmoid_q15(pre);
        }
    }
}

size_t tinyml_lstm_s8_scratch_size(const tinyml_lstm_params_t *p)
{
    return 3u * (size_t)p->units * sizeof(int16_t);
}

void tinyml_lstm_s8(const tinyml_lstm_params_t *p, const int8_t *input, int8_t *output, int8_t *hidden,
                    int16_t *cell, int16_t *scratch)
{
    const tinyml_rounding_t rnd = TM_ROUNDING(p->rounding);
    const int litert = p->arithmetic == TINYML_LSTM_LITERT;
    const int tanh_bits = 15 + p->cell_scale_log2; /* LiteRT: tanh(c) reads c in Q(15+P).(-P) */
    const int32_t n = p->units;
    int16_t *fo = scratch;          /* forget gate, then output gate */
    int16_t *ig = scratch + n;      /* input gate */
    int16_t *cg = scratch + 2 * n;  /* cell gate */
    for (int32_t b = 0; b < p->batches; ++b) {
        int8_t *h = hidden + b * n;
        int16_t *c = cell + b * n;
        for (int32_t t = 0; t < p->time_steps; ++t) {
            const int32_t row = p->time_major ? t * p->batches + b : b * p->time_steps + t;
            const int8_t *x = input + row * p->input_size;
            gate(p, &p->forget_gate, x, h, 0, fo);
            gate(p, &p->input_gate, x, h, 0, ig);
            gate(p, &p->cell_gate, x, h, 1, cg);
            for (int32_t j = 0; j < n; ++j) {
                const int32_t f_c = (int32_t)fo[j] * c[j], i_g = (int32_t)ig[j] * cg[j];
                int32_t v;
                if (litert) { /* one rounding each; the second product wraps to int16 */
                    v = sat16(tm_rdbpot(f_c, 15) + wrap16(tm_rdbpot(i_g, 30 + p->cell_scale_log2)));
                } else {
                    v = sat16(sat16(tm_mbqm(f_c, 1 << 30, -14, rnd)) +
                              sat16(tm_mbqm(i_g, 1 << 30, p->input_cell_shift, rnd)));
                }
                if (p->has_cell_clip) v = tm_clamp(v, -p->cell_clip, p->cell_clip);
                c[j] = (int16_t)v;
            }
            gate(p, &p->output_gate, x, h, 0, fo);
            for (int32_t j = 0; j < n; ++j) {
                int32_t th;
                if (!litert) {
                    th = tanh_q15(c[j], p->tanh_multiplier, p->tanh_shift);
                } else if (tanh_bits >= 0 && tanh_bits <= 6) {
                    th = tanh_gemmlowp(c[j], tanh_bits);
                } else {
                    th = ig[j]; /* LiteRT's tanh has no case for these bits: its buffer keeps the input gate */
                }
                const int32_t v = p->hidden_zero_point
                                  + tm_mbqm(th * fo[j], p->hidden_multiplier, p->hidden_shift, rnd);
                h[j] = (int8_t)tm_clamp(v, INT8_MIN, INT8_MAX);
            }
            for (int32_t j = 0; j < n; ++j) output[row * n + j] = h[j];
        }
    }
}
