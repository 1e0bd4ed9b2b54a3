/*
 * ADD, int8, without broadcasting: the fast variant of tinyml_add_s8,
 * bit-identical to it (both rounding contracts), for inputs that both have the
 * output's shape (contiguous; the compiler only selects it then).
 *
 * The reference, per element (L = left_shift = 20, v_i = x_i + input_offset_i):
 *     s_i = tm_mbqm_lt_one(v_i * 2^L, m_i, shift_i)        i = 1, 2
 *     out = tm_mbqm_lt_one(s_1 + s_2, m_o, shift_o) + output_offset
 * then the activation clamp. Here each of the three requantizations is one
 * high multiply (SMMLAR or SMMLA) and one arithmetic shift, exact for every
 * int8 input; everything per layer is computed once per call.
 *
 * Exactness (exact integers, floor division, e = -shift >= 1, P = x * m with
 * |x| < 2^30 and the multiplier m in [0, 2^31)):
 *   DOUBLE: tm_srdhm(x, m) is y = floor((P + 2^30) / 2^31) for all such x, m
 *     (its nudge and truncation round ties up; x == m == INT32_MIN cannot
 *     occur), and tm_rdbpot(y, e), ties away from zero, is
 *     floor((y + 2^(e-1) - [y < 0]) / 2^e). Nested floors with integer addends
 *     merge, so the pair is
 *         floor((2x * m + 2^31 + (2^(e-1) - [y < 0]) * 2^32) / 2^(32+e))
 *       = SMMLAR(2x, m, 2^(e-1) - [y < 0]) >> e.
 *     [y < 0] changes the result only at a tie (y = 2^(e-1) mod 2^e), where
 *     y != 0, and then [y < 0] == [x < 0] as m >= 0: the kernel takes the sign
 *     of 2x (ADD ..., ASR #31).
 *   SINGLE: floor((P + 2^(30+e)) / 2^(31+e)) = SMMLA(2x, m, 2^(e-1)) >> e
 *                                           = SMMLA(x, m, 2^(e-2)) >> (e-1)   (e >= 2).
 *   An output offset z joins the accumulator (floor(q / 2^r) + z =
 *   floor((q + z * 2^r) / 2^r)): the output stage adds 2^(r-1) * (2z + 1).
 * An input with shift < 0 ("general") takes 2x = v * 2^21, one ADD with LSL
 * #21 of the extended byte to offset * 2^21. The input with the larger scale
 * always has m = 2^30, shift 0 ("unit"): its s is exactly v * 2^19, no
 * multiply at all. The output stage takes u = 2 * (s_1 + s_2) for DOUBLE and
 * u = s_1 + s_2 for SINGLE (second form above), so a unit input adds
 * (x + offset) * 2^20, resp. * 2^19, to it.
 * Ranges: |s_i| <= 2^27 + 1, |u| <= 2^29 + 4, and every accumulator stays
 * below 2^30 in magnitude for output shifts in [-22, -1] (SINGLE: [-22, -2]):
 * no step wraps.
 *
 * Loops: 4 elements per step (one word load per input, one word store). Per
 * element: a general input costs SXTB, ADD, [ADD,] SMMLA(R), ASR; a unit input
 * SXTB, ADD (DOUBLE) or SXTAB16 (SINGLE) and the ADD into u; the output stage
 * [ADD,] SMMLA(R), ASR, SSAT. Per word: 3 BFI and SSUB8 + SEL twice for the
 * activation clamp. With the DSP extension the (general, unit) and (unit,
 * unit) loops are assembly (below), and (general, general), which the
 * compiler never produces (the input with the larger scale is unit), goes
 * element by element through the same C arithmetic; other builds run a C loop
 * for every combination. A unit input 1 with a general input 2 swaps the
 * inputs (ADD commutes). Both words are loaded before the word is stored and
 * the tail goes element by element, so output may equal input1 or input2.
 *
 * Fallback: parameters outside these ranges (left_shift != 20, an input shift
 * > 0, a non-unit input with shift 0, an input offset outside [-128, 128], an
 * output shift outside the range above or output offset outside [-128, 127],
 * a negative multiplier, an activation range that is not a sub-range of int8)
 * run tinyml_add_s8 itself, which walks the same contiguous elements.
 */
#include <stdint.h>

#include "tinyml/kernels.h"
#include "tinyml/simd.h"

#define ADD_INLINE static inline __attribute__((always_inline))
#define ADD_LEFT_SHIFT 20

enum { ADD_NONE = 0, ADD_UNIT = 1, ADD_GENERAL = 2 };

/* The layer's constants, computed once per call. */
typedef struct {
    /* general input: offset * 2^21, 2^(e-1), m, e;
     * unit input: offset * 2^(19 + dbl) in off, the rest unused */
    int32_t off1, c1, m1, e1;
    int32_t off2, c2, m2, e2;
    int32_t mo, co, ro; /* output: m, 2^(ro-1) * (2 * output_offset + 1), ro = e (DOUBLE) or e - 1 (SINGLE) */
    int32_t act_min, act_max, min4, max4;
    int kind1, kind2, dbl;
} add_plan_t;

/* Scaled value s of a general input x (a raw int8 value). */
ADD_INLINE int32_t add_general(int32_t x, int32_t off, int32_t c, int32_t m, int32_t e, int dbl)
{
    const int32_t v = off + x * (1 << 21); /* (x + offset) * 2^21 */
    const int32_t s = dbl ? tm_smmlar(v, m, c + (v >> 31)) : tm_smmla(v, m, c);
    return s >> e;
}

/* The int8 output (before the activation clamp) of one element. */
ADD_INLINE int32_t add_elem(const add_plan_t *k, int32_t x1, int32_t x2, int kind1, int kind2, int dbl)
{
    const int32_t unit = dbl ? 1 << 20 : 1 << 19; /* u per unit of a unit input's x */
    int32_t u;                                    /* (s_1 + s_2) * (dbl ? 2 : 1) */
    if (kind1 == ADD_GENERAL && kind2 == ADD_GENERAL) {
        u = (add_general(x1, k->off1, k->c1, k->m1, k->e1, dbl) + add_general(x2, k->off2, k->c2, k->m2, k->e2, dbl))
            * (dbl ? 2 : 1);
    } else if (kind1 == ADD_GENERAL) {
        u = k->off2 + x2 * unit + add_general(x1, k->off1, k->c1, k->m1, k->e1, dbl) * (dbl ? 2 : 1);
    } else {
        u = k->off1 + (x1 + x2) * unit; /* off1 holds both unit offsets */
    }
    const int32_t r = dbl ? tm_smmlar(u, k->mo, k->co + (u >> 31)) : tm_smmla(u, k->mo, k->co);
    return tm_ssat8(r >> k->ro);
}

/* Byte j of a word, sign extended. */
#define ADD_BYTE(w, j) ((int32_t)(int8_t)((uint32_t)(w) >> (8 * (j))))

ADD_INLINE void add_loop(const add_plan_t *plan, const int8_t *x1, const int8_t *x2, int8_t *y, int32_t n,
                         int kind1, int kind2, int dbl)
{
    const add_plan_t k = *plan;
    for (int32_t i = n >> 2; i > 0; --i) {
        const int32_t w1 = tm_load_s8x4(x1), w2 = tm_load_s8x4(x2);
        const int32_t r0 = add_elem(&k, ADD_BYTE(w1, 0), ADD_BYTE(w2, 0), kind1, kind2, dbl);
        const int32_t r1 = add_elem(&k, ADD_BYTE(w1, 1), ADD_BYTE(w2, 1), kind1, kind2, dbl);
        const int32_t r2 = add_elem(&k, ADD_BYTE(w1, 2), ADD_BYTE(w2, 2), kind1, kind2, dbl);
        const int32_t r3 = add_elem(&k, ADD_BYTE(w1, 3), ADD_BYTE(w2, 3), kind1, kind2, dbl);
        tm_store_s8x4(y, tm_min_s8x4(tm_max_s8x4(tm_pack_s8x4(r0, r1, r2, r3), k.min4), k.max4));
        x1 += 4;
        x2 += 4;
        y += 4;
    }
}

/* One element, kinds and rounding read at run time (the n % 4 tail). */
static int8_t add_one(const add_plan_t *k, int32_t x1, int32_t x2)
{
    const int32_t r = add_elem(k, x1, x2, k->kind1, k->kind2, k->dbl);
    return (int8_t)tm_clamp(r, k->act_min, k->act_max);
}

/* Classify one input and fill its constants. */
static int add_input(int32_t offset, int32_t m, int32_t shift, int dbl, int32_t *off, int32_t *c, int32_t *mm,
                     int32_t *e)
{
    *off = *c = *e = 0;
    *mm = m;
    if (offset < -128 || offset > 128 || m < 0) {
        return ADD_NONE;
    }
    if (m == (1 << 30) && shift == 0) {
        *off = offset * (dbl ? 1 << 20 : 1 << 19);
        return ADD_UNIT;
    }
    if (shift < -31 || shift > -1) {
        return ADD_NONE;
    }
    *e = -shift;
    *off = offset * (1 << 21);
    *c = (int32_t)((uint32_t)1 << (*e - 1));
    return ADD_GENERAL;
}

static int add_plan(const tinyml_add_params_t *p, add_plan_t *k)
{
    if (p->left_shift != ADD_LEFT_SHIFT) {
        return 0;
    }
    const int dbl = TM_ROUNDING(p->rounding) == TINYML_ROUND_DOUBLE;
    k->kind1 = add_input(p->input1_offset, p->input1_multiplier, p->input1_shift, dbl, &k->off1, &k->c1, &k->m1,
                         &k->e1);
    k->kind2 = add_input(p->input2_offset, p->input2_multiplier, p->input2_shift, dbl, &k->off2, &k->c2, &k->m2,
                         &k->e2);
    const int32_t so = p->output_shift, zo = p->output_offset;
    const int32_t lo = p->activation.min, hi = p->activation.max;
    if (k->kind1 == ADD_NONE || k->kind2 == ADD_NONE || p->output_multiplier < 0 || so < -22 || so > (dbl ? -1 : -2) ||
        zo < -128 || zo > 127 || lo < -128 || hi > 127 || lo > hi) {
        return 0;
    }
    k->dbl = dbl;
    k->mo = p->output_multiplier;
    k->ro = dbl ? -so : -so - 1;
    k->co = (int32_t)((uint32_t)(2 * zo + 1) << (k->ro - 1));
    k->act_min = lo;
    k->act_max = hi;
    k->min4 = (int32_t)((uint32_t)(uint8_t)lo * 0x01010101u);
    k->max4 = (int32_t)((uint32_t)(uint8_t)hi * 0x01010101u);
    return 1;
}

#if TINYML_HAVE_DSP && defined(__GNUC__)
/* ---- the assembly loops (ARMv7E-M / ARMv8.1-M DSP) -----------------------
 * One step = 4 elements in three phases, so that 14 registers suffice; every
 * constant is reloaded (LDRD / LDR from the block `kb`: word k at byte 4k, in
 * the order of ADD_KB_*) right before the phase that needs it:
 *   A1  general input 1: s0, s1, a, w = s of elements 0..3
 *   A2  unit input 2:    the same registers += that input's part: u
 *   B   output:          ssat8((SMMLA(R)(u, mo, co [- sign]) >> ro)), packed
 *                        into s0, clamped per byte, stored.
 * (unit, unit) replaces A1 + A2 with the int16-pair sum of both words' bytes.
 * A build that keeps a frame pointer (-O0) has 13 registers: the loop end is
 * then read from `kb` (one instruction more per step).
 * Both input words are loaded before the output word is stored (in place). */
enum {
    ADD_KB_OFF1, ADD_KB_C1, ADD_KB_M1, ADD_KB_E1,
    ADD_KB_OFF2, /* (general, unit): offset_2 * 2^20 (DOUBLE) or offset_2 in both halfwords (SINGLE);
                  * (unit, unit): (offset_1 + offset_2) * 2^(19 + dbl) */
    ADD_KB_CO, ADD_KB_MO, ADD_KB_RO, ADD_KB_MIN4, ADD_KB_MAX4, ADD_KB_END, ADD_KB_N
};

/* Byte k of w into t (element 3 reads the top byte with ASR). */
#define ADD_X0(w) "sxtb   %[t], %[" w "]\n\t"
#define ADD_X1(w) "sxtb   %[t], %[" w "], ror #8\n\t"
#define ADD_X2(w) "sxtb   %[t], %[" w "], ror #16\n\t"
#define ADD_X3(w) "asr    %[t], %[" w "], #24\n\t"

/* General input 1, one element: s into %[s]; %[a] the accumulator temp. */
#define ADD_A1_DOUBLE(X, a, s)                            \
    X "add    %[t], %[off], %[t], lsl #21\n\t"            \
    "add    %[" a "], %[c], %[t], asr #31\n\t"            \
    "smmlar %[t], %[t], %[m], %[" a "]\n\t"               \
    "asr    %[" s "], %[t], %[e]\n\t"
#define ADD_A1_SINGLE(X, a, s)                            \
    X "add    %[t], %[off], %[t], lsl #21\n\t"            \
    "smmla  %[t], %[t], %[m], %[c]\n\t"                   \
    "asr    %[" s "], %[t], %[e]\n\t"
/* Element 3 frees w first: it serves as element 3's accumulator and result. */
#define ADD_PHASE_A1(STEP)                                \
    "ldr    %[w], [%[x1]], #4\n\t"                        \
    "ldrd   %[off], %[c], [%[kb], #0]\n\t"                \
    "ldrd   %[m], %[e], [%[kb], #8]\n\t"                  \
    STEP(ADD_X0("w"), "a", "s0")                          \
    STEP(ADD_X1("w"), "a", "s1")                          \
    STEP(ADD_X2("w"), "a", "a")                           \
    STEP(ADD_X3("w"), "w", "w")

/* Unit input 2, word in off, its constant in c. DOUBLE: u = 2s + (x + offset) * 2^20. */
#define ADD_A2_DOUBLE_ONE(X, s)                           \
    X "add    %[t], %[c], %[t], lsl #20\n\t"              \
    "add    %[" s "], %[t], %[" s "], lsl #1\n\t"
#define ADD_A2_DOUBLE                                     \
    ADD_A2_DOUBLE_ONE(ADD_X0("off"), "s0")                \
    ADD_A2_DOUBLE_ONE(ADD_X1("off"), "s1")                \
    ADD_A2_DOUBLE_ONE(ADD_X2("off"), "a")                 \
    ADD_A2_DOUBLE_ONE(ADD_X3("off"), "w")
/* SINGLE: u = s + (x + offset) * 2^19, the low halfword of SXTAB16 (ROR #8k) being x_k + offset. */
#define ADD_A2_SINGLE                                     \
    "sxtab16 %[t], %[c], %[off]\n\t"                      \
    "add    %[s0], %[s0], %[t], lsl #19\n\t"              \
    "sxtab16 %[t], %[c], %[off], ror #8\n\t"              \
    "add    %[s1], %[s1], %[t], lsl #19\n\t"              \
    "sxtab16 %[t], %[c], %[off], ror #16\n\t"             \
    "add    %[a], %[a], %[t], lsl #19\n\t"                \
    "sxtab16 %[t], %[c], %[off], ror #24\n\t"             \
    "add    %[w], %[w], %[t], lsl #19\n\t"
#define ADD_PHASE_A2(BODY)                                \
    "ldr    %[off], [%[x2]], #4\n\t"                      \
    "ldr    %[c], [%[kb], #16]\n\t"                       \
    BODY

/* (unit, unit): int16 pairs x1 + x2 of bytes 0, 2 (a) and 1, 3 (w); u = c + pair * 2^SH. */
#define ADD_PHASE_UU(SH)                                  \
    "ldr    %[w], [%[x1]], #4\n\t"                        \
    "ldr    %[t], [%[x2]], #4\n\t"                        \
    "ldr    %[c], [%[kb], #16]\n\t"                       \
    "sxtb16 %[a], %[w]\n\t"                               \
    "sxtab16 %[a], %[a], %[t]\n\t"                        \
    "sxtb16 %[w], %[w], ror #8\n\t"                       \
    "sxtab16 %[w], %[w], %[t], ror #8\n\t"                \
    "add    %[s0], %[c], %[a], lsl #" SH "\n\t"           \
    "add    %[s1], %[c], %[w], lsl #" SH "\n\t"           \
    "asr    %[a], %[a], #16\n\t"                          \
    "add    %[a], %[c], %[a], lsl #" SH "\n\t"            \
    "asr    %[w], %[w], #16\n\t"                          \
    "add    %[w], %[c], %[w], lsl #" SH "\n\t"

/* Output stage of one element (co in c, mo in m, ro in e). */
#define ADD_B_DOUBLE(s)                                   \
    "add    %[t], %[c], %[" s "], asr #31\n\t"            \
    "smmlar %[" s "], %[" s "], %[m], %[t]\n\t"           \
    "asr    %[" s "], %[" s "], %[e]\n\t"                 \
    "ssat   %[" s "], #8, %[" s "]\n\t"
#define ADD_B_SINGLE(s)                                   \
    "smmla  %[" s "], %[" s "], %[m], %[c]\n\t"           \
    "asr    %[" s "], %[" s "], %[e]\n\t"                 \
    "ssat   %[" s "], #8, %[" s "]\n\t"
#define ADD_PHASE_B(STEP)                                 \
    "ldrd   %[c], %[m], [%[kb], #20]\n\t"                 \
    "ldr    %[e], [%[kb], #28]\n\t"                       \
    STEP("s0") STEP("s1") STEP("a") STEP("w")             \
    "bfi    %[s0], %[s1], #8, #8\n\t"                     \
    "bfi    %[s0], %[a], #16, #8\n\t"                     \
    "bfi    %[s0], %[w], #24, #8\n\t"                     \
    "ldrd   %[c], %[m], [%[kb], #32]\n\t"                 \
    "ssub8  %[t], %[s0], %[c]\n\t"                        \
    "sel    %[s0], %[s0], %[c]\n\t"                       \
    "ssub8  %[t], %[s0], %[m]\n\t"                        \
    "sel    %[s0], %[m], %[s0]\n\t"                       \
    "str    %[s0], [%[y]], #4\n\t"                        \
    ADD_LOOP_END                                          \
    "bne    1b\n\t"

#if defined(__OPTIMIZE__) /* no frame pointer: the loop end gets the 14th register */
#define ADD_LOOP_END "cmp    %[y], %[end]\n\t"
#define ADD_END_OPERAND , [end] "r"(end)
#else
#define ADD_LOOP_END "ldr    %[t], [%[kb], #40]\n\t" "cmp    %[y], %[t]\n\t"
#define ADD_END_OPERAND
#endif

#define ADD_ASM(BODY)                                                                               \
    do {                                                                                            \
        int32_t w, t, a, off, c, m, e, s0, s1;                                                      \
        __asm__ volatile("1:\n\t" BODY                                                              \
                         : [x1] "+r"(x1), [x2] "+r"(x2), [y] "+r"(y), [w] "=&r"(w), [t] "=&r"(t),   \
                           [a] "=&r"(a), [off] "=&r"(off), [c] "=&r"(c), [m] "=&r"(m), [e] "=&r"(e), \
                           [s0] "=&r"(s0), [s1] "=&r"(s1)                                           \
                         : [kb] "r"(kb) ADD_END_OPERAND                                             \
                         : "cc", "memory");                                                         \
    } while (0)

/* Elements [0, 4 * (n / 4)) of a (general, unit) or (unit, unit) layer; n >= 4. */
static void add_asm(const add_plan_t *k, const int8_t *x1, const int8_t *x2, int8_t *y, int32_t n)
{
    const int8_t *const end = y + (n & ~(int32_t)3);
    int32_t kb[ADD_KB_N];
    kb[ADD_KB_OFF1] = k->off1;
    kb[ADD_KB_C1] = k->c1;
    kb[ADD_KB_M1] = k->m1;
    kb[ADD_KB_E1] = k->e1;
    if (k->kind1 == ADD_UNIT) {
        kb[ADD_KB_OFF2] = k->off1;
    } else if (k->dbl) {
        kb[ADD_KB_OFF2] = k->off2;
    } else {
        const int32_t o2 = k->off2 / (1 << 19);
        kb[ADD_KB_OFF2] = (int32_t)((uint32_t)(uint16_t)o2 * 0x00010001u);
    }
    kb[ADD_KB_CO] = k->co;
    kb[ADD_KB_MO] = k->mo;
    kb[ADD_KB_RO] = k->ro;
    kb[ADD_KB_MIN4] = k->min4;
    kb[ADD_KB_MAX4] = k->max4;
    kb[ADD_KB_END] = (int32_t)(uintptr_t)end;
    if (k->kind1 == ADD_GENERAL) {
        if (k->dbl) {
            ADD_ASM(ADD_PHASE_A1(ADD_A1_DOUBLE) ADD_PHASE_A2(ADD_A2_DOUBLE) ADD_PHASE_B(ADD_B_DOUBLE));
        } else {
            ADD_ASM(ADD_PHASE_A1(ADD_A1_SINGLE) ADD_PHASE_A2(ADD_A2_SINGLE) ADD_PHASE_B(ADD_B_SINGLE));
        }
    } else if (k->dbl) {
        ADD_ASM(ADD_PHASE_UU("20") ADD_PHASE_B(ADD_B_DOUBLE));
    } else {
        ADD_ASM(ADD_PHASE_UU("19") ADD_PHASE_B(ADD_B_SINGLE));
    }
}
#define ADD_HAVE_ASM 1
#else
#define ADD_HAVE_ASM 0
#endif

void tinyml_add_s8_fast(const tinyml_add_params_t *p, const int8_t *input1, const int8_t *input2, int8_t *output)
{
    add_plan_t k;
    if (!add_plan(p, &k)) {
        tinyml_add_s8(p, input1, input2, output); /* contiguous and in-place safe as well */
        return;
    }
    const int32_t n = tm_nd_count(p->geometry.out_shape);
    if (k.kind1 == ADD_UNIT && k.kind2 == ADD_GENERAL) { /* the general input first */
        const int8_t *const x = input1;
        const add_plan_t u = k;
        input1 = input2;
        input2 = x;
        k.off1 = u.off2;
        k.c1 = u.c2;
        k.m1 = u.m2;
        k.e1 = u.e2;
        k.kind1 = u.kind2;
        k.off2 = u.off1;
        k.kind2 = u.kind1;
    }
    if (k.kind1 == ADD_UNIT) {
        k.off1 += k.off2; /* (unit, unit): one offset for both */
    }
    int32_t done = 0; /* elements written by a 4-element loop */
#if ADD_HAVE_ASM
    if (n >= 4 && k.kind2 == ADD_UNIT) {
        add_asm(&k, input1, input2, output, n);
        done = n & ~(int32_t)3;
    } /* (general, general), which the compiler never produces: element by element below */
#else
    if (n >= 4) {
        if (k.kind1 == ADD_GENERAL && k.kind2 == ADD_UNIT) {
            if (k.dbl) {
                add_loop(&k, input1, input2, output, n, ADD_GENERAL, ADD_UNIT, 1);
            } else {
                add_loop(&k, input1, input2, output, n, ADD_GENERAL, ADD_UNIT, 0);
            }
        } else if (k.kind1 == ADD_GENERAL) {
            if (k.dbl) {
                add_loop(&k, input1, input2, output, n, ADD_GENERAL, ADD_GENERAL, 1);
            } else {
                add_loop(&k, input1, input2, output, n, ADD_GENERAL, ADD_GENERAL, 0);
            }
        } else if (k.dbl) {
            add_loop(&k, input1, input2, output, n, ADD_UNIT, ADD_UNIT, 1);
        } else {
            add_loop(&k, input1, input2, output, n, ADD_UNIT, ADD_UNIT, 0);
        }
        done = n & ~(int32_t)3;
    }
#endif
    for (int32_t i = done; i < n; ++i) {
        output[i] = add_one(&k, input1[i], input2[i]);
    }
}
