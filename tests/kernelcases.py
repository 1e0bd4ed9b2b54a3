"""Random layers for the kernel tests (tests/test_kernels_*.py), shared by their modules: the
geometry of a layer that slides a window over an NHWC input (CONV_2D, DEPTHWISE_CONV_2D) as
hypothesis draws it, and the per-channel multipliers and shifts, int8 data and biases that a
case draws from the numpy generator its seed makes. Every function draws in a fixed order, so
the same hypothesis example or seed makes the same case, hence the same generated C."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st
from kernelcheck import Case, layer_decl, variant_params

from tinyengine.core.layers import ConstArray
from tinyengine.core.params import PerChannelQuant, Rounding

# multipliers at the ends of [2^30, 2^31) and next to them (the order decides which one a draw picks)
MULTIPLIER_ENDS = (1 << 30, (1 << 30) + 1, (1 << 31) - 1)


# ---- windowed layers ------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class WindowSpec:
    """A generated layer that slides a kh x kw window over an NHWC input: what the CONV_2D
    and DEPTHWISE_CONV_2D specs share (they add their output channels and shape_tag); `seed`
    makes its tensors, the strings say how they are drawn."""

    n: int
    in_h: int
    in_w: int
    cin: int
    kh: int
    kw: int
    stride: tuple[int, int]
    dilation: tuple[int, int]
    pad: tuple[int, int]    # top, left
    out_h: int
    out_w: int
    input_offset: int
    output_offset: int
    act: tuple[int, int]
    rounding: Rounding
    shifts: str             # drawn_shifts: "fast", "mixed" or "edge"
    bias: str               # bias_vector: "none", "small" or "big" (the depthwise tests add "edge")
    data: str               # int8_data: "uniform", "extreme" or "min"
    misalign: tuple[int, ...]  # buffer offsets from 16-byte alignment (which buffers: the test's)
    seed: int

    def shape_tag(self) -> str:
        """The input and output shapes, for the case's name."""
        raise NotImplementedError

    def tag(self) -> str:
        """Everything that makes the case, for its name."""
        return (f"{self.shape_tag()} k={self.kh}x{self.kw} s={self.stride} d={self.dilation} pad={self.pad} "
                f"io={self.input_offset} oo={self.output_offset} act={self.act} {self.rounding.name} "
                f"shifts={self.shifts} bias={self.bias} data={self.data} misalign={self.misalign} seed={self.seed}")


def out_size(size: int, k: int, stride: int, dil: int, pad_before: int, pad_after: int) -> int:
    """Output length of a window of k taps `dil` apart along an input of `size` padded so."""
    return (size + pad_before + pad_after - ((k - 1) * dil + 1)) // stride + 1


def same_padding(size: int, k: int, stride: int, dil: int) -> tuple[int, int]:
    """(before, after) of TFLite's SAME padding."""
    total = max((-(-size // stride) - 1) * stride + (k - 1) * dil + 1 - size, 0)
    return total // 2, total - total // 2


def draw_window(draw, kernel: tuple[int, int] | None = None):
    """(kh, kw, stride, dilation) of a window: `kernel` or drawn 1-7 x 1-7, strides 1-3,
    dilations 1-2."""
    kh, kw = kernel or (draw(st.integers(1, 7)), draw(st.integers(1, 7)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    return kh, kw, stride, dilation


def draw_padding(draw, kh: int, kw: int, stride: tuple[int, int], dilation: tuple[int, int], size_max: int,
                 valid_extra: int) -> tuple[list[int], list[int], list[int]]:
    """(input sizes, padding before, output sizes), each (height, width), of a padding drawn
    VALID (the input up to `valid_extra` beyond the window's span), SAME (the input 1 ..
    `size_max`) or arbitrary (any padding before and after that keeps an output)."""
    span = ((kh - 1) * dilation[0] + 1, (kw - 1) * dilation[1] + 1)
    padding = draw(st.sampled_from(["valid", "same", "arbitrary"]))
    sizes, pads, outs = [], [], []
    for axis in range(2):
        s, k, d = stride[axis], (kh, kw)[axis], dilation[axis]
        if padding == "valid":
            size = span[axis] + draw(st.integers(0, valid_extra))
            before, after = 0, 0
        elif padding == "same":
            size = draw(st.integers(1, size_max))
            before, after = same_padding(size, k, s, d)
        else:  # any padding that keeps an output: taps may start and end anywhere in the padding
            before, after = draw(st.integers(0, span[axis] - 1)), draw(st.integers(0, span[axis] - 1))
            least = max(1, span[axis] - before - after)   # a window wider than size_max needs more
            size = draw(st.integers(least, max(least, size_max)))
        sizes.append(size)
        pads.append(before)
        outs.append(out_size(size, k, s, d, before, after))
    return sizes, pads, outs


def drawn_cases(data, specs: st.SearchStrategy, make: Callable[[Any, str], Case], prefix: str, first: int,
                count: int) -> list[Case]:
    """`count` cases make(spec, name) of layers drawn from the strategy `specs`, named
    "<prefix><index>: <spec.tag()>" with indices from `first` on."""
    # Hypothesis tries the simplest example first, which would make every drawn layer the
    # minimal one (1x1x1): reject it, so the one example a build gets is a random one.
    assume(data.draw(st.integers(0, 2**31 - 1), label="salt") != 0)
    cases = []
    for i in range(first, first + count):
        spec = data.draw(specs)
        cases.append(make(spec, f"{prefix}{i}: {spec.tag()}"))
    return cases


def with_padding(spec: WindowSpec, padding: str = "same", **changes) -> WindowSpec:
    """`spec` with `changes`, the padding and output size recomputed ("same": SAME-like, else
    VALID) for the new geometry."""
    spec = dataclasses.replace(spec, **changes)
    pads, outs = [], []
    for size, k, s, d in ((spec.in_h, spec.kh, spec.stride[0], spec.dilation[0]),
                          (spec.in_w, spec.kw, spec.stride[1], spec.dilation[1])):
        before, after = same_padding(size, k, s, d) if padding == "same" else (0, 0)
        pads.append(before)
        outs.append(out_size(size, k, s, d, before, after))
    return dataclasses.replace(spec, pad=tuple(pads), out_h=outs[0], out_w=outs[1])


# ---- quantization, data and bias from a case's generator -------------------------------

@dataclass(frozen=True)
class OutputQuant:
    """The output side of a generated layer: zero points, activation range, rounding and the
    per-channel multipliers and shifts."""

    input_offset: int
    output_offset: int
    act: tuple[int, int]
    rounding: Rounding
    multiplier: np.ndarray
    shift: np.ndarray


def multipliers(rng: np.random.Generator, channels: int, ends_share: float,
                ends: tuple[int, ...] = MULTIPLIER_ENDS) -> np.ndarray:
    """Per-channel multipliers (int64) in [2^30, 2^31), each replaced with probability
    `ends_share` by one of `ends`."""
    m = rng.integers(1 << 30, 1 << 31, channels, dtype=np.int64)
    at_end = rng.random(channels) < ends_share
    m[at_end] = rng.choice(ends, int(at_end.sum()))
    return m


def other_multipliers(m: np.ndarray) -> np.ndarray:
    """A negative control's multiplier table: channel 0's moved by 2^29 (wrapped into
    [0, 2^31)), the others kept."""
    m = m.copy()
    m[0] = (int(m[0]) + (1 << 29)) % (1 << 31)
    return m


def drawn_shifts(rng: np.random.Generator, kind: str, channels: int, edge_shifts: list[int], depth: int,
                 centre: int, top: int) -> np.ndarray:
    """Per-channel shifts of a WindowSpec's `shifts` kind. "edge": drawn from `edge_shifts`;
    otherwise about what a sum of `depth` products calls for, -(log2(depth) / 2 + centre),
    so that outputs spread over the int8 range, +-2 and within [-12, top]; "mixed": then
    about 30% of them replaced by one shift in [-1, 2]."""
    if kind == "edge":
        return rng.choice(edge_shifts, channels)
    base = -int(np.clip(np.round(np.log2(depth) / 2 + centre), -top, 12))
    shift = np.clip(base + rng.integers(-2, 3, channels), -12, top)
    if kind == "mixed":
        shift[rng.random(channels) < 0.3] = rng.integers(-1, 3)
    return shift


def int8_data(rng: np.random.Generator, shape: tuple[int, ...], kind: str) -> np.ndarray:
    """int8 data: "uniform", "extreme" (only -128 and 127) or "min" (only -128)."""
    if kind == "extreme":
        return rng.choice(np.array([-128, 127], np.int8), shape)
    if kind == "min":
        return np.full(shape, -128, np.int8)
    return rng.integers(-128, 128, shape, dtype=np.int8)


def bias_vector(rng: np.random.Generator, kind: str, rows: int, room: int, small: int = 1 << 16,
                jitter: int = 1000) -> np.ndarray | None:
    """An int32 bias of a `kind`: "none" (None), "big" (as far from zero as `room` allows,
    less up to `jitter`: accumulators near the int32 ends; `room` is what the layer's products
    leave of int32) or "small" (in [-small, small))."""
    if kind == "none":
        return None
    if kind == "big":
        return (rng.choice([-1, 1], rows) * (room - rng.integers(0, jitter, rows))).astype(np.int32)
    return rng.integers(-small, small, rows, dtype=np.int32)


def per_channel_quant(multiplier: np.ndarray, shift: np.ndarray) -> PerChannelQuant:
    """The params' quantization tables `m` and `s`."""
    return PerChannelQuant(ConstArray("m", "int32_t", multiplier), ConstArray("s", "int32_t", shift))


def layer_case_decls(params: Any, control: bool, other: Callable[[np.ndarray], np.ndarray] = other_multipliers,
                     **arrays: np.ndarray | None) -> tuple[str, str]:
    """(declarations, name of the params the variant call gets) of a case of a layer with
    per-channel quantization: layer_decl of `params` and `arrays`; for a negative control
    (`control`) also `params` with the multiplier table `other` makes of theirs, which the
    variant then gets (variant_params)."""
    bad = None
    if control:
        quant = params.quant
        bad = dataclasses.replace(params, quant=per_channel_quant(other(quant.multiplier.data), quant.shift.data))
    bad_decls, var_params = variant_params(bad)
    return layer_decl("{p}", params, **arrays) + bad_decls, var_params


# ---- the pointwise kernel in place -----------------------------------------------------

def pointwise_overlap_limit(cin: int, cout: int, pixels: int) -> int:
    """The largest output - input offset in bytes at which the fast pointwise kernel may run
    with its output overlapping its input (the header's rule)."""
    return (cin - cout) * (1 if cin >= cout else pixels)


def overlapping_work(rng: np.random.Generator, x: np.ndarray, cout: int, overlap: int,
                     misalign: int) -> tuple[np.ndarray, int, int]:
    """(work, input offset, output offset): the initial `work` buffer of an in-place pointwise
    call, random bytes around the input `x` (NHWC), with the output `overlap` bytes after the
    input and the first of the two `misalign` bytes into the buffer."""
    cin = x.shape[-1]
    pixels = x.size // cin
    limit = pointwise_overlap_limit(cin, cout, pixels)
    assert overlap <= limit, (overlap, limit)
    in_off = misalign + max(0, -overlap)
    out_off = in_off + overlap
    size = max(in_off + pixels * cin, out_off + pixels * cout) + 3
    work = rng.integers(-128, 128, size, dtype=np.int8)
    work[in_off:in_off + pixels * cin] = x.reshape(-1)
    return work, in_off, out_off
