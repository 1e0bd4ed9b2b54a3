"""How the runtime is compiled with a generated network: the preprocessor flags that
specialise the kernels to it, and the guard model.c carries against the wrong ones."""

from __future__ import annotations

from collections.abc import Sequence

from tinyengine.core.layers import Layer
from tinyengine.core.params import Rounding
from tinyengine.core.variants import variant_named

# fixedpoint.h: with one of these defined, every kernel requantizes with that rounding only.
ONLY_ROUND = {Rounding.DOUBLE: "TINYML_ONLY_ROUND_DOUBLE", Rounding.SINGLE: "TINYML_ONLY_ROUND_SINGLE"}


def roundings(layers: Sequence[Layer]) -> frozenset[Rounding]:
    """The roundings the network's kernels are called with."""
    return frozenset(r for layer in layers if isinstance(r := getattr(layer.params, "rounding", None), Rounding))


# the kernels whose steps the flags below leave out (their C functions, from the variant table)
INPLACE_DW_FAST = variant_named("DEPTHWISE_CONV_2D", "in-place-fast").kernel
POINTWISE_FAST = variant_named("CONV_2D", "pointwise-fast").kernel


def _clamps(layer: Layer) -> bool:
    act = layer.params.activation
    return not (act.min == -128 and act.max == 127)


def _stride2_3x3(layer: Layer) -> bool:
    p = layer.params
    return p.filter.h == 3 and p.filter.w == 3 and 2 in (p.stride.h, p.stride.w)


def _assembly_steps(layer: Layer) -> bool:
    """The in-place kernel has assembly steps for the layer's geometry: 3x3, dilation 1,
    stride 1 or 2 both ways."""
    p = layer.params
    return (p.filter.h, p.filter.w, p.dilation.h, p.dilation.w) == (3, 3, 1, 1) and \
        (p.stride.h, p.stride.w) in ((1, 1), (2, 2))


def step_defines(layers: Sequence[Layer]) -> tuple[str, ...]:
    """-D flags that leave kernel code out which no layer of the network runs, for code flash.
    None of them can change a result, only the speed of a layer they were wrong about: a
    left-out clamp-free step is replaced by the clamping one (exact at -128..127), any other
    left-out step by a slower exact path (the portable step, the whole-plane fallback, pixel by
    pixel)."""
    flags = []
    inplace = [layer for layer in layers if layer.kernel == INPLACE_DW_FAST]
    if inplace:
        if all(_clamps(layer) for layer in inplace):
            flags.append("-DTINYML_DW_INPLACE_ALWAYS_CLAMP")
        elif not any(_clamps(layer) for layer in inplace):
            flags.append("-DTINYML_DW_INPLACE_NO_CLAMP")
        if not any(_stride2_3x3(layer) for layer in inplace):
            flags.append("-DTINYML_DW_INPLACE_NO_S2")
        if all(_assembly_steps(layer) for layer in inplace):
            flags.append("-DTINYML_DW_INPLACE_NO_PORTABLE_STEP")
    pointwise = [layer for layer in layers if layer.kernel == POINTWISE_FAST]
    if pointwise and all(layer.params.input.c % 8 == 0 for layer in pointwise):
        flags.append("-DTINYML_PW_CLEAN_ONLY")
    return tuple(flags)


def build_defines(layers: Sequence[Layer]) -> tuple[str, ...]:
    """-D flags for the runtime and model.c: one rounding contract linked when the network uses
    one (TF-Lite Micro's, and LiteRT's without FULLY_CONNECTED), none when it mixes them; and
    the kernel steps it never runs left out (step_defines)."""
    used = roundings(layers)
    rounding = (f"-D{ONLY_ROUND[next(iter(used))]}",) if len(used) == 1 else ()
    return rounding + step_defines(layers)


def forbidden_defines(layers: Sequence[Layer]) -> list[str]:
    """The ONLY_ROUND macros that would make the kernels round some layer of this network wrongly."""
    used = roundings(layers)
    return [macro for r, macro in ONLY_ROUND.items() if used - {r}]
