"""Kernel parameters as frozen dataclasses, one per C parameter struct in
runtime_c/include/tinyml/kernels.h, field for field and in the same order.

They are composed the way the header composes its structs (and CMSIS-NN composes
cmsis_nn_conv_params): `Dims` for NHWC shapes, `Tile` for (h, w) pairs such as
stride, dilation, padding and pooling windows, `Activation` for the fused clamp and
`PerChannelQuant` for the requantization tables. Lowering builds them, passes read
their attributes, codegen renders them as designated initializers (one field a
line). tests/test_kernel_params.py checks every class against the C header.

A field holds an int, a float, a `Rounding`, a tuple of ints (a C array of
TINYML_MAX_DIMS), a `ConstArray` (a pointer to constant data in flash) or another
of these classes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import ClassVar

from .layers import ConstArray


class LstmArithmetic(Enum):
    """tinyml_lstm_arithmetic_t (kernels.h): whose integer LSTM the kernel reproduces."""

    TFLM = "TINYML_LSTM_TFLM"       # TF-Lite Micro: table sigmoid and tanh, double-rounded cell products
    LITERT = "TINYML_LSTM_LITERT"   # LiteRT: gemmlowp int16 sigmoid and tanh, single-rounded cell products


class Rounding(Enum):
    """tinyml_rounding_t (fixedpoint.h): how a requantization rounds."""

    DOUBLE = "TINYML_ROUND_DOUBLE"   # gemmlowp: rounding doubling high multiply, then rounding shift (TFLM)
    SINGLE = "TINYML_ROUND_SINGLE"   # one 64-bit product and one rounding shift (LiteRT's FULLY_CONNECTED)


@dataclass(frozen=True)
class Dims:
    C_TYPE: ClassVar[str] = "tinyml_dims_t"
    n: int
    h: int
    w: int
    c: int

    @property
    def pixels(self) -> int:
        return self.n * self.h * self.w


@dataclass(frozen=True)
class Tile:
    C_TYPE: ClassVar[str] = "tinyml_tile_t"
    h: int
    w: int


@dataclass(frozen=True)
class Activation:
    C_TYPE: ClassVar[str] = "tinyml_activation_t"
    min: int
    max: int


@dataclass(frozen=True)
class PerChannelQuant:
    C_TYPE: ClassVar[str] = "tinyml_per_channel_quant_t"
    multiplier: ConstArray
    shift: ConstArray


@dataclass(frozen=True)
class Conv2DParams:
    C_TYPE: ClassVar[str] = "tinyml_conv2d_params_t"
    input: Dims
    filter: Dims
    output: Dims
    stride: Tile
    dilation: Tile
    pad: Tile
    input_offset: int
    output_offset: int
    activation: Activation
    rounding: Rounding
    quant: PerChannelQuant


@dataclass(frozen=True)
class DepthwiseConv2DParams:
    C_TYPE: ClassVar[str] = "tinyml_depthwise_conv2d_params_t"
    input: Dims
    filter: Dims
    output: Dims
    depth_multiplier: int
    stride: Tile
    dilation: Tile
    pad: Tile
    input_offset: int
    output_offset: int
    activation: Activation
    rounding: Rounding
    quant: PerChannelQuant


@dataclass(frozen=True)
class FullyConnectedParams:
    C_TYPE: ClassVar[str] = "tinyml_fully_connected_params_t"
    batches: int
    input_depth: int
    units: int
    input_offset: int
    filter_offset: int
    output_offset: int
    activation: Activation
    rounding: Rounding
    per_channel: int
    quant: PerChannelQuant


@dataclass(frozen=True)
class Broadcast:
    C_TYPE: ClassVar[str] = "tinyml_broadcast_t"
    out_shape: tuple[int, ...]
    in1_strides: tuple[int, ...]
    in2_strides: tuple[int, ...]


@dataclass(frozen=True)
class AddParams:
    C_TYPE: ClassVar[str] = "tinyml_add_params_t"
    geometry: Broadcast
    left_shift: int
    input1_offset: int
    input1_multiplier: int
    input1_shift: int
    input2_offset: int
    input2_multiplier: int
    input2_shift: int
    output_offset: int
    output_multiplier: int
    output_shift: int
    activation: Activation
    rounding: Rounding
    mode: int = 0   # 0 ADD, 1 SUB, 2 SQUARED_DIFFERENCE (tinyml_add_s8 only)


@dataclass(frozen=True)
class MulParams:
    C_TYPE: ClassVar[str] = "tinyml_mul_params_t"
    geometry: Broadcast
    input1_offset: int
    input2_offset: int
    output_offset: int
    output_multiplier: int
    output_shift: int
    activation: Activation
    rounding: Rounding


@dataclass(frozen=True)
class Pool2DParams:
    C_TYPE: ClassVar[str] = "tinyml_pool2d_params_t"
    input: Dims
    output: Dims
    filter: Tile
    stride: Tile
    pad: Tile
    activation: Activation


@dataclass(frozen=True)
class MeanParams:
    C_TYPE: ClassVar[str] = "tinyml_mean_params_t"
    in_shape: tuple[int, ...]
    out_strides: tuple[int, ...]
    num_outputs: int
    num_elements_in_axis: int
    input_zero_point: int
    output_zero_point: int
    multiplier: int
    shift: int
    rounding: Rounding


@dataclass(frozen=True)
class SoftmaxParams:
    C_TYPE: ClassVar[str] = "tinyml_softmax_params_t"
    outer_size: int
    depth: int
    input_multiplier: int
    input_left_shift: int
    diff_min: int
    reverse_scaling_divisor: int
    reverse_scaling_shift: int
    rounding: Rounding


@dataclass(frozen=True)
class LogisticParams:
    C_TYPE: ClassVar[str] = "tinyml_logistic_params_t"
    size: int
    input_zero_point: int
    input_range_radius: int
    input_multiplier: int
    input_left_shift: int
    rounding: Rounding


@dataclass(frozen=True)
class HardSwishParams:
    C_TYPE: ClassVar[str] = "tinyml_hard_swish_params_t"
    size: int
    input_zero_point: int
    output_zero_point: int
    reluish_multiplier_fixedpoint_int16: int
    reluish_multiplier_exponent: int
    output_multiplier_fixedpoint_int16: int
    output_multiplier_exponent: int


@dataclass(frozen=True)
class RequantizeParams:
    C_TYPE: ClassVar[str] = "tinyml_requantize_params_t"
    size: int
    input_zero_point: int
    output_zero_point: int
    multiplier: int
    shift: int
    activation: Activation
    rounding: Rounding


@dataclass(frozen=True)
class LeakyReluParams:
    C_TYPE: ClassVar[str] = "tinyml_leaky_relu_params_t"
    size: int
    input_zero_point: int
    output_zero_point: int
    identity_multiplier: int
    identity_shift: int
    alpha_multiplier: int
    alpha_shift: int
    rounding: Rounding


@dataclass(frozen=True)
class RsqrtParams:
    C_TYPE: ClassVar[str] = "tinyml_rsqrt_params_t"
    size: int
    input_zero_point: int
    output_zero_point: int
    multiplier: int
    shift: int
    rounding: Rounding


@dataclass(frozen=True)
class PreluParams:
    C_TYPE: ClassVar[str] = "tinyml_prelu_params_t"
    geometry: Broadcast
    input_offset: int
    alpha_offset: int
    output_offset: int
    identity_multiplier: int
    identity_shift: int
    alpha_multiplier: int
    alpha_shift: int
    rounding: Rounding


@dataclass(frozen=True)
class BatchMatMulParams:
    C_TYPE: ClassVar[str] = "tinyml_batch_matmul_params_t"
    batch_shape: tuple[int, ...]
    lhs_batch_strides: tuple[int, ...]
    rhs_batch_strides: tuple[int, ...]
    rows: int
    cols: int
    depth: int
    lhs_row_stride: int
    lhs_depth_stride: int
    rhs_depth_stride: int
    rhs_col_stride: int
    lhs_offset: int
    rhs_offset: int
    output_offset: int
    output_multiplier: int
    output_shift: int
    activation: Activation
    rounding: Rounding


@dataclass(frozen=True)
class ReduceMaxParams:
    C_TYPE: ClassVar[str] = "tinyml_reduce_max_params_t"
    in_shape: tuple[int, ...]
    out_strides: tuple[int, ...]
    num_outputs: int


@dataclass(frozen=True)
class AffineParams:
    C_TYPE: ClassVar[str] = "tinyml_affine_params_t"
    size: int
    scale: float
    zero_point: int


@dataclass(frozen=True)
class PadParams:
    C_TYPE: ClassVar[str] = "tinyml_pad_params_t"
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    pad_before: tuple[int, ...]
    element_size: int
    pad_value: int


@dataclass(frozen=True)
class ConcatParams:
    C_TYPE: ClassVar[str] = "tinyml_concat_params_t"
    num_inputs: int
    outer_size: int
    copy_bytes: ConstArray


@dataclass(frozen=True)
class SplitParams:
    C_TYPE: ClassVar[str] = "tinyml_split_params_t"
    num_outputs: int
    outer_size: int
    copy_bytes: ConstArray


@dataclass(frozen=True)
class TransposeParams:
    """A strided copy: TRANSPOSE, SLICE, STRIDED_SLICE."""

    C_TYPE: ClassVar[str] = "tinyml_transpose_params_t"
    out_shape: tuple[int, ...]
    in_strides: tuple[int, ...]
    element_size: int
    in_offset: int = 0


@dataclass(frozen=True)
class GatherParams:
    C_TYPE: ClassVar[str] = "tinyml_gather_params_t"
    outer_size: int
    axis_size: int
    num_indices: int
    inner_bytes: int
    indices: ConstArray


@dataclass(frozen=True)
class MaxMinParams:
    C_TYPE: ClassVar[str] = "tinyml_max_min_params_t"
    geometry: Broadcast
    minimum: int


@dataclass(frozen=True)
class ResizeNearestParams:
    C_TYPE: ClassVar[str] = "tinyml_resize_nearest_params_t"
    input: Dims
    output: Dims
    y_index: ConstArray
    x_index: ConstArray
    element_size: int


@dataclass(frozen=True)
class CopyRectParams:
    C_TYPE: ClassVar[str] = "tinyml_copy_rect_params_t"
    rows: int
    row_bytes: int
    src_stride: int
    dst_stride: int


@dataclass(frozen=True)
class LstmGate:
    """One LSTM gate's two fully connected parts, each requantized to the gate's Q3.12 int16
    pre-activation: the input's (bias folded with the input zero point) and the recurrent one's
    (its bias is minus the hidden zero point times the weight row sums)."""

    C_TYPE: ClassVar[str] = "tinyml_lstm_gate_t"
    input_weights: ConstArray
    recurrent_weights: ConstArray
    input_bias: ConstArray
    recurrent_bias: ConstArray
    input_multiplier: int
    input_shift: int
    recurrent_multiplier: int
    recurrent_shift: int


@dataclass(frozen=True)
class LstmParams:
    C_TYPE: ClassVar[str] = "tinyml_lstm_params_t"
    batches: int
    time_steps: int
    input_size: int
    units: int
    time_major: int
    input_gate: LstmGate
    forget_gate: LstmGate
    cell_gate: LstmGate
    output_gate: LstmGate
    input_cell_shift: int      # input gate x cell gate -> cell state: multiplier 2^30 with this shift
    cell_clip: int             # |cell state| <= cell_clip when has_cell_clip
    has_cell_clip: int
    tanh_multiplier: int       # tanh of the cell state: its Q3.12 argument is (c * m + round) >> s
    tanh_shift: int
    hidden_multiplier: int     # output gate x tanh(cell) -> int8 hidden state
    hidden_shift: int
    hidden_zero_point: int
    rounding: Rounding
    arithmetic: LstmArithmetic
    cell_scale_log2: int       # P: the cell state's scale is 2^P (LiteRT's arithmetic reads it)


@dataclass(frozen=True)
class SvdfParams:
    C_TYPE: ClassVar[str] = "tinyml_svdf_params_t"
    batches: int
    input_size: int
    filters: int
    rank: int
    memory: int
    units: int
    feature_weights: ConstArray
    feature_bias: ConstArray
    time_weights: ConstArray
    bias: ConstArray
    feature_multiplier: int
    feature_shift: int
    output_multiplier: int
    output_shift: int
    output_zero_point: int
    rounding: Rounding


# Every parameter struct and building block (tests/test_kernel_params.py checks each against kernels.h).
ALL_PARAM_TYPES: tuple[type, ...] = (
    Dims, Tile, Activation, PerChannelQuant, Broadcast, Conv2DParams, DepthwiseConv2DParams, FullyConnectedParams,
    AddParams, MulParams, Pool2DParams, MeanParams, SoftmaxParams, LogisticParams, HardSwishParams, RequantizeParams,
    AffineParams, PadParams, ConcatParams, SplitParams, TransposeParams, GatherParams, MaxMinParams,
    ResizeNearestParams, CopyRectParams, LeakyReluParams, RsqrtParams, ReduceMaxParams,
    PreluParams, BatchMatMulParams, LstmGate, LstmParams, SvdfParams,
)

