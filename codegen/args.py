"""Rendering of kernel arguments shared by the layer emitter and the patch emitter."""

from __future__ import annotations

from tinyengine.core.layers import ConstArray, NullArg, ScratchArg
from tinyengine.core.planner import Plan


def fixed_arg(a: ConstArray | ScratchArg | NullArg, layer: int, plan: Plan) -> str:
    """A kernel argument that does not depend on where the layer's tensors live."""
    if isinstance(a, ConstArray):
        return a.name
    if isinstance(a, ScratchArg):
        return f"ARENA({plan.scratch_offset(layer)}) /* scratch */"
    return f"(const {a.ctype} *)0"
