"""Kernel choice as data: for every op, the C kernels that can run it.

Each op has a table of `KernelVariant`s, the reference kernel (the spec) first. A
variant names its C function, the named predicate that allows it (a pure function
of the layer's parameter struct), the memory arrangement it needs (out of place,
in place over its input, or output overlapping its dying input), the CPU features
it needs, and its scratch size: the Python mirror of the kernel's C
`*_scratch_size()`, checked against the C function for every variant by
tests/test_kernel_params.py.

Lowering takes the reference variant; the in-place pass asks for an in-place or
overlapping one. The chosen variant's name is recorded in the layer, plan.json,
report.md and the comment of each call in model.c."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

import numpy as np

from . import params as P
from .layers import contiguous_strides


class Memory(Enum):
    """How a variant's output may sit relative to its input."""

    OUT_OF_PLACE = "out of place"   # a buffer of its own
    IN_PLACE = "in place"           # overwrites its input, which dies at this layer
    OVERLAP = "overlap"             # may start a bounded number of bytes after its dying input


@dataclass(frozen=True)
class Predicate:
    """A named condition on a layer's parameter struct."""

    name: str
    holds: Callable[[Any], bool]


@dataclass(frozen=True)
class KernelVariant:
    name: str                                 # "reference", "pointwise", "in-place", ...
    kernel: str                               # the C function (runtime_c/include/tinyml/kernels.h)
    params_type: type                         # the parameter struct it takes
    when: Predicate                           # the layers it can run
    memory: Memory = Memory.OUT_OF_PLACE
    scratch: Callable[[Any], int] = lambda p: 0   # mirror of the C scratch_size function
    scratch_function: str | None = None        # that C function, None when the kernel needs no scratch
    fast: bool = False                        # a `*_fast` kernel: its inner loop is chosen when compiled
                                              # (Helium, DSP SMLAD or blocked C), bit-exact with the reference
    folded_bias: bool = False                 # takes bias + input_offset * sum(weights) (core/fold.py)
    elementwise: bool = False                 # reads element i before writing element i: runs with output == input
    more_scratch: bool = False                # faster than the next variant but with more scratch: the schedule
                                              # takes it only where the arena does not grow (core/schedule.py)
    min_network_macs: int = 0                 # its code is linked once for the whole network: taken only when
                                              # the layers it would run have at least this many MACs together
    weights: Callable[[np.ndarray], np.ndarray] | None = None   # its weights in another layout, made at compile
                                              # time (an int16 array: twice the flash); only in the `speed` set
    rq_table: bool = False                    # takes per-channel (multiplier, h, r) after the bias (fold.rq_table)

    def applies(self, params: Any) -> bool:
        return isinstance(params, self.params_type) and self.when.holds(params)

    def serves(self, memory: Memory) -> bool:
        """Whether this variant can run a layer planned with `memory`: a variant whose output
        may overlap its input also runs out of place."""
        if memory == Memory.IN_PLACE and self.elementwise:
            return True
        return self.memory == memory or (memory == Memory.OUT_OF_PLACE and self.memory == Memory.OVERLAP)

    def scratch_bytes(self, params: Any) -> int:
        return self.scratch(params)


ANY = Predicate("any shape", lambda p: True)
POINTWISE = Predicate("1x1 kernel, stride 1, no padding, same height and width",
                      lambda p: (p.filter.h == 1 and p.filter.w == 1 and p.stride.h == 1 and p.stride.w == 1
                                 and p.pad.h == 0 and p.pad.w == 0 and p.input.h == p.output.h
                                 and p.input.w == p.output.w))
# widening a pixel pair's columns costs about as much as 8 output channels save (measured:
# the VWW stem, 8 channels, is 6% slower widened; the KWS stem, 64 channels, 7% faster)
WIDE_PAYS = Predicate("at least 16 output channels", lambda p: p.output.c >= 16)
DEPTH_MULTIPLIER_1 = Predicate("depth multiplier 1", lambda p: p.depth_multiplier == 1)
NO_BROADCAST = Predicate("no broadcasting: both inputs have the output's shape",
                         lambda p: p.geometry.in1_strides == p.geometry.in2_strides == contiguous_strides(
                             p.geometry.out_shape))
NO_FILTER_OFFSET = Predicate("symmetric weights (filter_offset 0)", lambda p: p.filter_offset == 0)


W16_POINTWISE = Predicate("C_in a multiple of 8, C_out even", lambda p: p.input.c % 8 == 0 and p.output.c % 2 == 0)


W16_CONV = Predicate("C_in a multiple of 4, KH KW C_in a multiple of 8, C_out even",
                     lambda p: p.input.c % 4 == 0 and (p.filter.h * p.filter.w * p.input.c) % 8 == 0
                     and p.output.c % 2 == 0)
W16_FC = Predicate("depth a multiple of 8, units a multiple of 4",
                   lambda p: p.input_depth % 8 == 0 and p.units % 4 == 0 and p.filter_offset == 0)


def _widen(rows: np.ndarray, tile: int) -> np.ndarray:
    """int8 rows [R, depth] (R % tile == 0, depth % 4 == 0) as int16, per tile of `tile` rows
    and group of four values k .. k+3: each row's w[k], w[k+2], w[k+1], w[k+3] in turn (the
    even and odd int16 pairs SXTB16 makes of an input word, so SMLAD pairs them up)."""
    r, depth = rows.shape
    t = rows.reshape(r // tile, tile, depth // 4, 4).astype(np.int16)   # [tile, row, group, k % 4]
    return np.ascontiguousarray(t[:, :, :, [0, 2, 1, 3]].transpose(0, 2, 1, 3)).reshape(-1)


def widen_conv_weights(w: np.ndarray) -> np.ndarray:
    """The int16 filter tinyml_conv2d_1x1_s8_fast_w16 and tinyml_conv2d_s8_fast_w16 read
    (kernels.h): OHWI [C_out, KH, KW, C_in] int8 weights as rows of KH KW C_in values (a multiple
    of 8; C_out even) in tiles of two output channels."""
    return _widen(w.reshape(w.shape[0], -1), 2)


def widen_fc_weights(w: np.ndarray) -> np.ndarray:
    """The int16 weights tinyml_fully_connected_s8_fast_w16 reads: [units, depth] int8 weights
    (depth % 8 == 0, units % 4 == 0) in tiles of four units."""
    return _widen(w.reshape(w.shape[0], -1), 4)


def _wide_stride(values: int) -> int:
    """Bytes of one widened int16 column of `values` values, rounded up to a multiple of 4."""
    return (2 * values + 3) // 4 * 4


def _ref(kernel: str, params_type: type, scratch: Callable[[Any], int] | None = None,
         scratch_function: str | None = None) -> KernelVariant:
    return KernelVariant("reference", kernel, params_type, ANY, scratch=scratch or (lambda p: 0),
                         scratch_function=scratch_function)


def _requantize() -> tuple[KernelVariant, ...]:
    return (_ref("tinyml_requantize_s8", P.RequantizeParams),)


VARIANTS: dict[str, tuple[KernelVariant, ...]] = {
    "CONV_2D": (
        _ref("tinyml_conv2d_s8", P.Conv2DParams),
        # pixel by pixel through a C_in-byte scratch, so the output may overlap the input (pointwise_overlap)
        KernelVariant("pointwise", "tinyml_conv2d_1x1_s8", P.Conv2DParams, POINTWISE, Memory.OVERLAP,
                      scratch=lambda p: p.input.c, scratch_function="tinyml_conv2d_1x1_s8_scratch_size"),
        # the same with the weights widened to int16 at compile time: no SXTB16 in the inner loop
        KernelVariant("pointwise-w16", "tinyml_conv2d_1x1_s8_fast_w16", P.Conv2DParams,
                      Predicate(f"{POINTWISE.name}, {W16_POINTWISE.name}",
                                lambda p: POINTWISE.holds(p) and W16_POINTWISE.holds(p)), Memory.OVERLAP,
                      scratch=lambda p: 4 * p.input.c, scratch_function="tinyml_conv2d_1x1_s8_fast_w16_scratch_size",
                      fast=True, folded_bias=True, weights=widen_conv_weights, rq_table=True),
        # two pixels at a time through a 2 x C_in scratch; the same overlap rule as the reference pointwise
        KernelVariant("pointwise-fast", "tinyml_conv2d_1x1_s8_fast", P.Conv2DParams, POINTWISE, Memory.OVERLAP,
                      scratch=lambda p: 4 * p.input.c, scratch_function="tinyml_conv2d_1x1_s8_fast_scratch_size",
                      fast=True, folded_bias=True),
        # im2col of two output pixels widened to int16 against int16 weights: the pointwise-w16 tiles
        KernelVariant("fast-w16", "tinyml_conv2d_s8_fast_w16", P.Conv2DParams, W16_CONV,
                      scratch=lambda p: 4 * p.filter.h * p.filter.w * p.input.c,
                      scratch_function="tinyml_conv2d_s8_fast_w16_scratch_size", fast=True, folded_bias=True,
                      more_scratch=True, weights=widen_conv_weights, rq_table=True),
        # im2col of two output pixels widened to int16, then a 2 x 2 (pixels x channels) tile per pass
        KernelVariant("fast-wide", "tinyml_conv2d_s8_fast_wide", P.Conv2DParams, WIDE_PAYS,
                      scratch=lambda p: 2 * _wide_stride(p.filter.h * p.filter.w * p.input.c),
                      scratch_function="tinyml_conv2d_s8_fast_wide_scratch_size", fast=True, folded_bias=True,
                      more_scratch=True),
        # the same with int8 columns: half the scratch
        KernelVariant("fast", "tinyml_conv2d_s8_fast", P.Conv2DParams, ANY,
                      scratch=lambda p: 2 * p.filter.h * p.filter.w * p.input.c,
                      scratch_function="tinyml_conv2d_s8_fast_scratch_size", fast=True, folded_bias=True),
    ),
    "DEPTHWISE_CONV_2D": (
        _ref("tinyml_depthwise_conv2d_s8", P.DepthwiseConv2DParams),
        # channel by channel through a one-channel scratch, written back over the input
        KernelVariant("in-place", "tinyml_depthwise_conv2d_inplace_s8", P.DepthwiseConv2DParams, DEPTH_MULTIPLIER_1,
                      Memory.IN_PLACE, scratch=lambda p: p.input.h * p.input.w,
                      scratch_function="tinyml_depthwise_conv2d_inplace_s8_scratch_size"),
        # SIMD across channels, no scratch
        KernelVariant("fast", "tinyml_depthwise_conv2d_s8_fast", P.DepthwiseConv2DParams, ANY, fast=True,
                      folded_bias=True),
        # the in-place kernel's channel planes, with a blocked inner loop
        KernelVariant("in-place-fast", "tinyml_depthwise_conv2d_inplace_s8_fast", P.DepthwiseConv2DParams,
                      DEPTH_MULTIPLIER_1, Memory.IN_PLACE, scratch=lambda p: p.input.h * p.input.w,
                      scratch_function="tinyml_depthwise_conv2d_inplace_s8_fast_scratch_size", fast=True,
                      folded_bias=True),
    ),
    "FULLY_CONNECTED": (
        _ref("tinyml_fully_connected_s8", P.FullyConnectedParams),
        # about 2 KB of code (tiles, output stages) that saves about 6 instructions a MAC: not worth it
        # for a network whose only FULLY_CONNECTED is a 512-768-MAC classifier head (KWS, IC, VWW)
        # the same with the weights widened to int16 at compile time: only the input word is split
        KernelVariant("fast-w16", "tinyml_fully_connected_s8_fast_w16", P.FullyConnectedParams, W16_FC,
                      fast=True, folded_bias=True, min_network_macs=4096, weights=widen_fc_weights),
        KernelVariant("fast", "tinyml_fully_connected_s8_fast", P.FullyConnectedParams, NO_FILTER_OFFSET,
                      fast=True, folded_bias=True, min_network_macs=4096),
    ),
    "ADD": (_ref("tinyml_add_s8", P.AddParams),
            KernelVariant("fast", "tinyml_add_s8_fast", P.AddParams, NO_BROADCAST, fast=True, elementwise=True)),
    "MUL": (_ref("tinyml_mul_s8", P.MulParams),
            KernelVariant("fast", "tinyml_mul_s8_fast", P.MulParams, NO_BROADCAST, fast=True, elementwise=True)),
    "AVERAGE_POOL_2D": (_ref("tinyml_avg_pool2d_s8", P.Pool2DParams),
                        # four channels at a time in int16 pairs (windows of at most 256 taps; else per channel)
                        KernelVariant("fast", "tinyml_avg_pool2d_s8_fast", P.Pool2DParams, ANY, fast=True)),
    "MAX_POOL_2D": (_ref("tinyml_max_pool2d_s8", P.Pool2DParams),),
    "MEAN": (_ref("tinyml_mean_s8", P.MeanParams, lambda p: 4 * p.num_outputs, "tinyml_mean_s8_scratch_size"),),
    "SOFTMAX": (_ref("tinyml_softmax_s8", P.SoftmaxParams),),
    "LOG_SOFTMAX": (_ref("tinyml_log_softmax_s8", P.SoftmaxParams),),
    "LOGISTIC": (_ref("tinyml_logistic_s8", P.LogisticParams),),
    "HARD_SWISH": (_ref("tinyml_hard_swish_s8", P.HardSwishParams),),
    "RELU": _requantize(),
    "RELU6": _requantize(),
    "RELU_N1_TO_1": _requantize(),
    "QUANTIZE": (_ref("tinyml_quantize_f32_s8", P.AffineParams), _ref("tinyml_requantize_s8", P.RequantizeParams)),
    "DEQUANTIZE": (_ref("tinyml_dequantize_s8_f32", P.AffineParams),),
    # written back to front over its input (a PAD the padfold pass could not fold into a conv)
    "PAD": (_ref("tinyml_pad", P.PadParams),
            KernelVariant("in-place", "tinyml_pad_inplace", P.PadParams, ANY, Memory.IN_PLACE)),
    "PADV2": (_ref("tinyml_pad", P.PadParams),
              KernelVariant("in-place", "tinyml_pad_inplace", P.PadParams, ANY, Memory.IN_PLACE)),
    "CONCATENATION": (_ref("tinyml_concat", P.ConcatParams),),
    "TRANSPOSE": (_ref("tinyml_transpose", P.TransposeParams),),
    "SLICE": (_ref("tinyml_transpose", P.TransposeParams),),
    "STRIDED_SLICE": (_ref("tinyml_transpose", P.TransposeParams),),
    "SPLIT": (_ref("tinyml_split", P.SplitParams),),
    "SPLIT_V": (_ref("tinyml_split", P.SplitParams),),
    "UNPACK": (_ref("tinyml_split", P.SplitParams),),
    "PACK": (_ref("tinyml_concat", P.ConcatParams),),
    "GATHER": (_ref("tinyml_gather", P.GatherParams),),
    "MAXIMUM": (_ref("tinyml_max_min_s8", P.MaxMinParams),),
    "MINIMUM": (_ref("tinyml_max_min_s8", P.MaxMinParams),),
    "SUB": (_ref("tinyml_add_s8", P.AddParams),),
    "LEAKY_RELU": (_ref("tinyml_leaky_relu_s8", P.LeakyReluParams),),
    "RSQRT": (_ref("tinyml_rsqrt_s8", P.RsqrtParams),),
    "SUM": (_ref("tinyml_mean_s8", P.MeanParams, lambda p: 4 * p.num_outputs, "tinyml_mean_s8_scratch_size"),),
    "REDUCE_MAX": (_ref("tinyml_reduce_max_s8", P.ReduceMaxParams),),
    "TANH": (_ref("tinyml_tanh_s8", P.LogisticParams),),
    "SQUARED_DIFFERENCE": (_ref("tinyml_add_s8", P.AddParams),),
    "PRELU": (_ref("tinyml_prelu_s8", P.PreluParams),),
    "BATCH_MATMUL": (_ref("tinyml_batch_matmul_s8", P.BatchMatMulParams),),
    "UNIDIRECTIONAL_SEQUENCE_LSTM": (_ref("tinyml_lstm_s8", P.LstmParams, lambda p: 6 * p.units,
                                          "tinyml_lstm_s8_scratch_size"),),
    "SVDF": (_ref("tinyml_svdf_s8", P.SvdfParams),),
    "TRANSPOSE_CONV": (_ref("tinyml_transpose_conv_s8", P.Conv2DParams,
                            lambda p: 4 * p.output.n * p.output.h * p.output.w * p.output.c,
                            "tinyml_transpose_conv_s8_scratch_size"),),
    "RESIZE_NEAREST_NEIGHBOR": (_ref("tinyml_resize_nearest", P.ResizeNearestParams),),
}


# --kernels: the fast variants where one applies; `speed`: those and the variants that keep their
# weights as int16 (twice those layers' weight flash; for the DSP cores); or the reference everywhere
KERNEL_SETS = ("fast", "speed", "reference")
DEFAULT_KERNELS = "fast"


def select(op: str, params: Any, memory: Memory = Memory.OUT_OF_PLACE, fast: bool = False,
           more_scratch: bool = True, wide_weights: bool = False) -> KernelVariant | None:
    """The first variant of `op` that can run `params` planned with that memory arrangement
    (`fast`: the first fast one, else the first reference-speed one), or None.
    `more_scratch=False` passes over the variants marked more_scratch; `wide_weights=False`
    over those that widen their weights."""
    for v in VARIANTS[op]:
        if (v.fast == fast and v.serves(memory) and v.applies(params) and (more_scratch or not v.more_scratch)
                and (wide_weights or v.weights is None)):
            return v
    return None


def variant_named(op: str, name: str) -> KernelVariant:
    """The variant of `op` called `name`."""
    return next(v for v in VARIANTS[op] if v.name == name)


def reference_variant(op: str, params: Any) -> KernelVariant:
    """The reference kernel of `op` for this parameter struct (the spec every variant matches)."""
    for v in VARIANTS[op]:
        if v.name == "reference" and isinstance(params, v.params_type):
            return v
    raise KeyError(f"no reference kernel for {op} with {type(params).__name__}")
