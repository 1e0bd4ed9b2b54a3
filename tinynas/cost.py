"""The exact memory cost of an architecture: its int8 graph, built directly in the
engine's IR with the same ops, shapes, fused activations and padding the TFLite
converter produces for `build_keras(arch)` (weights and scales do not change the
plan), lowered and scheduled by the engine itself (in place + patches, as
`tinyml compile --patch auto` would). What the search calls feasible is what the
compiler will plan."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyengine.core.builder import GraphBuilder
from tinyengine.core.ir import Graph
from tinyengine.core.passes import plan_model
from tinyengine.core.schedule import DEFAULT_MAX_OVERHEAD

from .space import Arch, block_sites, conv_out

# Code of the runtime kernels, start-up and generated model.c in flash, on top of the
# constants the plan counts (measured from arm-none-eabi-size on the QEMU boards, rounded up).
CODE_BYTES = 24 * 1024
SAME, VALID, RELU6, NONE = 0, 1, 3, 0


@dataclass(frozen=True)
class Cost:
    sram_bytes: int      # the planned arena (activations, scratch, patch buffers)
    flash_bytes: int     # the plan's constants + CODE_BYTES
    macs: int
    patch: str           # the patch split the schedule chose, or "off"

    def fits(self, sram_limit: int, flash_limit: int) -> bool:
        return self.sram_bytes <= sram_limit and self.flash_bytes <= flash_limit


class _Builder(GraphBuilder):
    """The converter's ops for one architecture: fused activations, SAME padding where it pads."""

    def conv(self, x: int, cout: int, k: int, stride: int, depthwise: bool, act: int, name: str) -> int:
        n, h, w, cin = self.tensors[x].shape
        oh, ow = conv_out(h, stride), conv_out(w, stride)
        ch = cin if depthwise else cout
        wshape = (1, k, k, ch) if depthwise else (cout, k, k, cin)
        weights = self.const(self.rng.integers(-127, 128, wshape, dtype=np.int8), f"{name}/w", (0.01,) * ch,
                             3 if depthwise else 0)
        bias = self.const(np.zeros(ch, dtype=np.int32), f"{name}/b", (0.0005,) * ch)
        y = self.act((n, oh, ow, ch), name, -128 if act == RELU6 else 0)
        padding = SAME if (k > 1 or stride > 1) else VALID
        options = {"padding": padding, "strideW": stride, "strideH": stride, "fusedActivationFunction": act,
                   "dilationWFactor": 1, "dilationHFactor": 1}
        if depthwise:
            options["depthMultiplier"] = 1
        self.op("DEPTHWISE_CONV_2D" if depthwise else "CONV_2D", [x, weights, bias], [y], **options)
        return y


def arch_graph(arch: Arch) -> Graph:
    """The int8 graph the TFLite converter makes of build_keras(arch)."""
    b = _Builder()
    x = b.act((1, *arch.input_shape), "input", 0)
    inp = x
    x = b.conv(x, arch.stem_channels, 3, arch.stem_stride, False, RELU6, "stem")
    for site in block_sites(arch):
        y = x
        if site.block.expand != 1:
            y = b.conv(y, site.cin * site.block.expand, 1, 1, False, RELU6, f"{site.name}/expand")
        y = b.conv(y, 0, site.block.kernel, site.stride, True, RELU6, f"{site.name}/dw")
        y = b.conv(y, site.cout, 1, 1, False, NONE, f"{site.name}/project")
        if site.residual:
            out = b.act(b.tensors[y].shape, f"{site.name}/add")
            b.op("ADD", [x, y], [out], fusedActivationFunction=NONE)
            y = out
        x = y
    c = arch.stages[-1].channels
    axes = b.const(np.array([1, 2], dtype=np.int32), "mean/axes")
    pooled = b.act((1, c), "mean")
    b.op("MEAN", [x, axes], [pooled], keepDims=False)
    fc_w = b.const(b.rng.integers(-127, 128, (arch.num_classes, c), dtype=np.int8), "fc/w", (0.01,))
    fc_b = b.const(np.zeros(arch.num_classes, dtype=np.int32), "fc/b", (0.0005,))
    logits = b.act((1, arch.num_classes), "logits")
    b.op("FULLY_CONNECTED", [pooled, fc_w, fc_b], [logits], fusedActivationFunction=NONE, weightsFormat=0,
         keepNumDims=False)
    return b.graph(f"nas-{arch.key}", (inp,), (logits,))


def arch_cost(arch: Arch, patch: str = "auto", max_overhead: float = DEFAULT_MAX_OVERHEAD) -> Cost:
    graph = arch_graph(arch)
    sched = plan_model(graph, "tflm", True, patch, max_overhead)
    return Cost(sched.plan.arena_bytes, sched.plan.flash_bytes + CODE_BYTES, sum(x.macs for x in sched.layers),
                str(sched.stage.spec) if sched.stage else "off")

