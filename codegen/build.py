"""How the runtime is compiled with a generated network: the preprocessor flags that
specialise the kernels to it, and the guard model.c carries against the wrong ones."""

from __future__ import annotations

from collections.abc import Sequence

from tinyengine.core.layers import Layer
from tinyengine.core.params import Rounding

# fixedpoint.h: with one of these defined, every kernel requantizes with that rounding only.
ONLY_ROUND = {Rounding.DOUBLE: "TINYML_ONLY_ROUND_DOUBLE", Rounding.SINGLE: "TINYML_ONLY_ROUND_SINGLE"}


def roundings(layers: Sequence[Layer]) -> frozenset[Rounding]:
    """The roundings the network's kernels are called with."""
    return frozenset(r for layer in layers if isinstance(r := getattr(layer.params, "rounding", None), Rounding))


def build_defines(layers: Sequence[Layer]) -> tuple[str, ...]:
    """-D flags for the runtime and model.c: one rounding contract linked when the network uses
    one (TF-Lite Micro's, and LiteRT's without FULLY_CONNECTED); none when it mixes them."""
    used = roundings(layers)
    return (f"-D{ONLY_ROUND[next(iter(used))]}",) if len(used) == 1 else ()


def forbidden_defines(layers: Sequence[Layer]) -> list[str]:
    """The ONLY_ROUND macros that would make the kernels round some layer of this network wrongly."""
    used = roundings(layers)
    return [macro for r, macro in ONLY_ROUND.items() if used - {r}]
