"""Before / expected tests of the scheduling passes on graphs built by hand in the IR:
in place (tinyengine.core.inplace), the patched stage (tinyengine.core.patch) and the
buffer requests the planner gets (tinyengine.core.lifetimes). Every expected value is
worked out in a comment from the shapes. Only the layers' kernel, inplace_of, overlaps,
scratch_bytes, inputs, outputs and macs are read, never their params."""

from __future__ import annotations

import numpy as np
import pytest

from tinyengine.core.builder import GraphBuilder
from tinyengine.core.contracts import get_contract
from tinyengine.core.inplace import apply_inplace
from tinyengine.core.ir import Graph
from tinyengine.core.lifetimes import buffer_requests
from tinyengine.core.lower import lower_graph
from tinyengine.core.patch import PatchSpec, Region, build_stage, stage_problem
from tinyengine.core.planner import check_no_overlap
from tinyengine.core.schedule import plan_memory

SAME, VALID = 0, 1


class Builder(GraphBuilder):
    """Convs and ADDs as the converter writes them (SAME padding where the kernel pads)."""

    def conv(self, x: int, cout: int, k: int, stride: int, name: str, depthwise: bool = False) -> int:
        n, h, w, cin = self.tensors[x].shape
        ch = cin if depthwise else cout
        wshape = (1, k, k, ch) if depthwise else (cout, k, k, cin)
        weights = self.const(self.rng.integers(-127, 128, wshape, dtype=np.int8), f"{name}/w", (0.01,) * ch,
                             3 if depthwise else 0)
        bias = self.const(np.zeros(ch, dtype=np.int32), f"{name}/b", (0.0005,) * ch)
        same = k > 1 or stride > 1
        oh, ow = (-(-h // stride), -(-w // stride)) if same else ((h - k) // stride + 1, (w - k) // stride + 1)
        y = self.act((n, oh, ow, ch), name)
        options = {"padding": SAME if same else VALID, "strideW": stride, "strideH": stride,
                   "fusedActivationFunction": 0, "dilationWFactor": 1, "dilationHFactor": 1}
        if depthwise:
            options["depthMultiplier"] = 1
        self.op("DEPTHWISE_CONV_2D" if depthwise else "CONV_2D", [x, weights, bias], [y], **options)
        return y

    def fc(self, x: int, units: int, name: str) -> int:
        depth = self.tensors[x].shape[-1]
        weights = self.const(self.rng.integers(-127, 128, (units, depth), dtype=np.int8), f"{name}/w", (0.01,) * units,
                             0)
        bias = self.const(np.zeros(units, dtype=np.int32), f"{name}/b", (0.0005,) * units)
        y = self.act((1, units), name)
        self.op("FULLY_CONNECTED", [x, weights, bias], [y], fusedActivationFunction=0)
        return y

    def add(self, a: int, b: int, name: str) -> int:
        y = self.act(self.tensors[a].shape, name)
        self.op("ADD", [a, b], [y], fusedActivationFunction=0)
        return y

    def graph(self, inputs: tuple[int, ...], outputs: tuple[int, ...]) -> Graph:
        return super().graph("hand", inputs, outputs)


def lowered(graph: Graph):
    return lower_graph(graph, get_contract("tflm"))


def summary(layer) -> tuple:
    return (layer.kernel, layer.inplace_of, layer.overlaps, layer.scratch_bytes)


def requested(req) -> dict[str, tuple[int, int, int]]:
    return {b.key: (b.size, b.first, b.last) for b in req.buffers}


# --- in place ---------------------------------------------------------------------------

def test_depthwise_3x3_switches_to_the_in_place_kernel():
    b = Builder()
    x = b.act((1, 8, 8, 4), "x")                 # 256 B, dies at the depthwise
    y = b.conv(x, 0, 3, 1, "dw", depthwise=True)
    graph = b.graph((x,), (y,))
    before = lowered(graph)
    assert summary(before[0]) == ("tinyml_depthwise_conv2d_s8", None, None, 0)
    assert before[0].macs == 8 * 8 * 4 * 9
    after = apply_inplace(graph, before)
    # One channel of scratch (input h * w = 64 B) is less than the 256 B output it saves.
    assert summary(after[0]) == ("tinyml_depthwise_conv2d_inplace_s8", x, None, 64)
    assert (after[0].inputs, after[0].outputs, after[0].macs) == ((x,), (y,), 8 * 8 * 4 * 9)
    # The planner is asked for one 256 B buffer (x, then y over it: input at -1, output until step 1)
    # and the 64 B scratch; both are live at step 0, so the arena is 320.
    req = buffer_requests(graph, after)
    assert req.alias == {y: x} and req.shared == {}
    assert requested(req) == {f"t{x}": (256, -1, 1), "scratch0": (64, 0, 0)}
    plan = plan_memory(graph, after)
    assert plan.arena_bytes == plan.lower_bound_bytes == 320
    assert plan.tensor_offset(y) == plan.tensor_offset(x)


def test_single_channel_depthwise_stays_out_of_place():
    # 4x4x1: the scratch (4 * 4 = 16 B) would cost as much as the 16 B output.
    b = Builder()
    x = b.act((1, 4, 4, 1), "x")
    y = b.conv(x, 0, 3, 1, "dw", depthwise=True)
    graph = b.graph((x,), (y,))
    assert summary(apply_inplace(graph, lowered(graph))[0]) == ("tinyml_depthwise_conv2d_s8", None, None, 0)


def test_depthwise_whose_input_is_used_later_stays_out_of_place():
    b = Builder()
    x = b.act((1, 8, 8, 4), "x")
    y = b.conv(x, 0, 3, 1, "dw", depthwise=True)
    z = b.add(x, y, "residual")                  # x is read again here
    graph = b.graph((x,), (z,))
    after = apply_inplace(graph, lowered(graph))
    assert summary(after[0]) == ("tinyml_depthwise_conv2d_s8", None, None, 0)
    assert summary(after[1]) == ("tinyml_add_s8", x, None, 0)   # both die at the ADD: the first is taken


def test_pointwise_conv_overlaps_its_input():
    # 1x1 conv, 16 pixels, 8 -> 4 channels: the pixel-by-pixel kernel copies one input pixel
    # (C_in = 8 B of scratch) before writing its 4 output bytes, so output pixel p ends at
    # out + 4(p+1) <= in + 8(p+1) (the next input pixel) whenever out <= in + (8 - 4) * 1:
    # the output may start at most 4 bytes after the input.
    b = Builder()
    x = b.act((1, 4, 4, 8), "x")                 # 128 B
    y = b.conv(x, 4, 1, 1, "pw")                 # 64 B
    graph = b.graph((x,), (y,))
    before = lowered(graph)
    assert summary(before[0]) == ("tinyml_conv2d_s8", None, None, 0)
    after = apply_inplace(graph, before)
    assert summary(after[0]) == ("tinyml_conv2d_1x1_s8", None, (x, 4), 8)
    assert after[0].macs == before[0].macs == 16 * 4 * 8
    req = buffer_requests(graph, after)
    assert req.alias == {}
    assert req.shared == {(f"t{y}", f"t{x}"): 4}
    assert requested(req) == {f"t{x}": (128, -1, 0), f"t{y}": (64, 0, 1), "scratch0": (8, 0, 0)}
    # Step 0 holds x 128 + y 64 + scratch 8, less the min(128 - 4, 64) = 64 bytes y may share:
    # 136, and the placement reaches it (y at 0 over x, the scratch at 128).
    plan = plan_memory(graph, after)
    assert plan.arena_bytes == plan.lower_bound_bytes == 136
    assert (plan.tensor_offset(x), plan.tensor_offset(y), plan.scratch_offset(0)) == (0, 0, 128)
    assert check_no_overlap(plan) == []


def test_widening_pointwise_conv_must_start_before_its_input():
    # 4 -> 8 channels over 16 pixels: (4 - 8) * 16 = -64, the output (128 B) starts at least
    # 64 bytes before the input (64 B), so it never ends past the input's end.
    b = Builder()
    x = b.act((1, 4, 4, 4), "x")
    y = b.conv(x, 8, 1, 1, "pw")
    graph = b.graph((x,), (y,))
    assert summary(apply_inplace(graph, lowered(graph))[0]) == ("tinyml_conv2d_1x1_s8", None, (x, -64), 4)


def test_strided_1x1_conv_is_not_pointwise():
    b = Builder()
    x = b.act((1, 4, 4, 8), "x")
    y = b.conv(x, 4, 1, 2, "pw")                 # 2x2 output: pixels do not map one to one
    graph = b.graph((x,), (y,))
    assert summary(apply_inplace(graph, lowered(graph))[0]) == ("tinyml_conv2d_s8", None, None, 0)


def test_add_runs_in_place_over_an_input_that_dies():
    b = Builder()
    x1, x2 = b.act((1, 4, 4, 4), "x1"), b.act((1, 4, 4, 4), "x2")
    y = b.add(x1, x2, "sum")
    graph = b.graph((x1, x2), (y,))
    before = lowered(graph)
    assert summary(before[0]) == ("tinyml_add_s8", None, None, 0)
    after = apply_inplace(graph, before)
    assert summary(after[0]) == ("tinyml_add_s8", x1, None, 0)   # the kernel is unchanged, y takes x1's buffer
    req = buffer_requests(graph, after)
    assert req.alias == {y: x1}
    assert requested(req) == {f"t{x1}": (64, -1, 1), f"t{x2}": (64, -1, 0)}


def test_add_whose_inputs_are_used_later_is_not_in_place():
    # s = x1 + x2; t = s + x1; y = t + x2
    # ADD 0: x1 and x2 are both read later: out of place.
    # ADD 1: s and x1 die here: over s (its first input).
    # ADD 2: t (in s's buffer) and x2 die: over t, so s, t and y share s's buffer.
    b = Builder()
    x1, x2 = b.act((1, 4, 4, 4), "x1"), b.act((1, 4, 4, 4), "x2")
    s = b.add(x1, x2, "s")
    t = b.add(s, x1, "t")
    y = b.add(t, x2, "y")
    graph = b.graph((x1, x2), (y,))
    after = apply_inplace(graph, lowered(graph))
    assert [summary(layer) for layer in after] == [("tinyml_add_s8", None, None, 0), ("tinyml_add_s8", s, None, 0),
                                                   ("tinyml_add_s8", t, None, 0)]
    req = buffer_requests(graph, after)
    assert req.alias == {t: s, y: s}
    assert requested(req) == {f"t{x1}": (64, -1, 1), f"t{x2}": (64, -1, 2), f"t{s}": (64, 0, 3)}


def test_add_takes_the_input_that_dies_when_the_other_lives_on():
    # s = x1 + x2; y = s + x1: at ADD 0 only x2 dies.
    b = Builder()
    x1, x2 = b.act((1, 4, 4, 4), "x1"), b.act((1, 4, 4, 4), "x2")
    s = b.add(x1, x2, "s")
    y = b.add(s, x1, "y")
    graph = b.graph((x1, x2), (y,))
    after = apply_inplace(graph, lowered(graph))
    assert [layer.inplace_of for layer in after] == [x2, s]
    # skipped layers stay as lowered
    assert [layer.inplace_of for layer in apply_inplace(graph, lowered(graph), skip={0})] == [None, s]


# --- the patched stage --------------------------------------------------------------------

def chain() -> tuple[Graph, dict[str, int]]:
    """x 8x8x3 -> conv 3x3 stride 2 (SAME: pad 0 top/left) -> a 4x4x8 -> depthwise 3x3 (pad 1)
    -> b 4x4x8 -> pointwise -> c 4x4x4, the graph output."""
    bld = Builder()
    x = bld.act((1, 8, 8, 3), "x")
    a = bld.conv(x, 8, 3, 2, "conv")
    b = bld.conv(a, 0, 3, 1, "dw", depthwise=True)
    c = bld.conv(b, 4, 1, 1, "pw")
    return bld.graph((x,), (c,)), {"x": x, "a": a, "b": b, "c": c}


def test_stage_regions_of_a_2x1_grid():
    graph, t = chain()
    layers = lowered(graph)
    # conv: 4*4 pixels * 8 out * 9 taps * 3 in; depthwise: 16 * 8 * 9; pointwise: 16 * 4 * 8
    assert [layer.macs for layer in layers] == [3456, 1152, 512]
    stage = build_stage(graph, layers, PatchSpec(2, 2, 1))
    assert stage.layers == (0, 1, 2)
    assert stage.inputs == (t["x"],) and stage.output == t["c"]
    assert stage.internal == frozenset({t["a"], t["b"]})
    # Two bands of c's 4 rows, [0, 2) and [2, 4), all 4 columns. Backwards, rows only (columns
    # stay whole: every patch spans the full width):
    #   pointwise (1x1): b needs the same rows.
    #   depthwise (3x3, stride 1, pad 1): rows [y0 - 1, y1 + 1) clipped to [0, 4):
    #       [0, 3) for patch 0, [1, 4) for patch 1 (one halo row each).
    #   conv (3x3, stride 2, pad 0): rows [2 * y0, 2 * (y1 - 1) + 3) clipped to [0, 8):
    #       [0, 7) for patch 0, [2, 8) for patch 1.
    x, a, b, c = t["x"], t["a"], t["b"], t["c"]
    assert stage.regions == (
        {c: Region(0, 2, 0, 4), b: Region(0, 2, 0, 4), a: Region(0, 3, 0, 4), x: Region(0, 7, 0, 8)},
        {c: Region(2, 4, 0, 4), b: Region(2, 4, 0, 4), a: Region(1, 4, 0, 4), x: Region(2, 8, 0, 8)},
    )
    # MACs per patch, in proportion to the output rows computed: pointwise 512 * 8/16 = 256,
    # depthwise 1152 * 8/16 = 576, conv 3456 * 12/16 = 2592 (3 of a's 4 rows): 3424 per patch.
    assert (stage.macs, stage.base_macs, stage.total_macs) == (2 * 3424, 5120, 5120)
    assert stage.overhead == pytest.approx((6848 - 5120) / 5120)
    # Patch buffers: the largest region of each tensor, 3x4x8 = 96 B for a and 2x4x8 = 64 B for b;
    # x's patches are whole rows, so the stage reads x in place (no gather copy).
    assert (stage.buffer_bytes(graph, a), stage.buffer_bytes(graph, b)) == (96, 64)
    assert not stage.needs_copy(graph, x) and not stage.needs_copy(graph, c)
    # c over x: after patch 0, c's bytes [0, 32) are written; patch 1 reads x from row 2, byte
    # 2 * 8 * 3 = 48. c may start 48 - 32 = 16 bytes after x, capped at 0.
    assert stage.output_over_input == 0


def test_stage_buffer_requests():
    graph, t = chain()
    layers = lowered(graph)
    stage = build_stage(graph, layers, PatchSpec(2, 2, 1))
    req = buffer_requests(graph, layers, stage)
    x, a, b, c = t["x"], t["a"], t["b"], t["c"]
    assert requested(req) == {
        f"t{x}": (192, -1, 2),    # read by every patch: live until the stage's last layer
        f"t{a}": (96, 0, 1),      # one patch of a
        f"t{b}": (64, 1, 2),      # one patch of b
        f"t{c}": (64, 0, 3),      # filled patch by patch from the stage's first layer
    }
    assert req.shared == {(f"t{c}", f"t{x}"): 0}
    # Unpatched: whole tensors, each live from its producer to its last reader.
    assert requested(buffer_requests(graph, layers)) == {
        f"t{x}": (192, -1, 0), f"t{a}": (128, 0, 1), f"t{b}": (128, 1, 2), f"t{c}": (64, 2, 3)}


def test_stage_with_column_patches_gets_gather_and_scatter_buffers():
    # A 1x2 grid: c's patches are columns [0, 2) and [2, 4) of all 4 rows, not whole rows.
    #   b: the same columns; a (3x3, pad 1): [0, 3) and [1, 4); x (stride 2, pad 0): [0, 7) and [2, 8).
    # x's patches are gathered into a copy of the larger one (8 rows x 7 columns x 3 = 168 B), used
    # by the conv at step 0; c's are scattered from a 4 x 2 x 4 = 32 B patch after the pointwise (step 2).
    # c over x: patch 0 writes c up to row 3, column 2: byte (3 * 4 + 2) * 4 = 56; patch 1 reads x from
    # byte 2 * 3 = 6 (row 0, column 2): c must start at least 56 - 6 = 50 bytes before x.
    graph, t = chain()
    layers = lowered(graph)
    stage = build_stage(graph, layers, PatchSpec(2, 1, 2))
    x, a, c = t["x"], t["a"], t["c"]
    assert stage.regions[0][x] == Region(0, 8, 0, 7) and stage.regions[1][x] == Region(0, 8, 2, 8)
    assert stage.regions[0][a] == Region(0, 4, 0, 3) and stage.regions[1][a] == Region(0, 4, 1, 4)
    assert stage.output_over_input == -50
    req = buffer_requests(graph, layers, stage)
    copies = [b for b in req.buffers if b.tensor is None]
    assert [(b.key, b.size, b.first, b.last) for b in copies] == [(f"gather{x}", 168, 0, 0),
                                                                 (f"scatter{c}", 32, 2, 2)]
    assert req.shared == {(f"t{c}", f"t{x}"): -50}
    plan = plan_memory(graph, layers, stage=stage)
    assert check_no_overlap(plan) == []
    assert {f"gather{x}", f"scatter{c}"} <= {b.key for b in plan.buffers}
    assert plan.arena_bytes >= plan.lower_bound_bytes


def test_a_layer_whose_output_nobody_reads_stops_the_stage():
    """A dead layer (its output read by no later layer, found by the fuzzer) cannot be in a
    patched stage: the backward region walk has no region for its output."""
    bld = Builder()
    x = bld.act((1, 8, 8, 3), "x")
    bld.conv(x, 8, 3, 1, "dead")
    a = bld.conv(x, 8, 3, 2, "conv")
    c = bld.conv(a, 4, 1, 1, "pw")
    graph = bld.graph((x,), (c,))
    layers = lowered(graph)
    assert stage_problem(graph, layers, 2) == "layer 0 CONV_2D's output is used by no later layer in the stage"
    assert stage_problem(graph, layers[1:], 1) is None

# --- kernels that trade scratch for speed ------------------------------------------------------

def _scheduled(graph: Graph):
    from tinyengine.core.passes import plan_model
    return plan_model(graph, "tflm", True, "off", kernels="fast")


def test_wide_conv_kept_where_its_scratch_is_not_at_the_peak():
    """x 16x16x4 (1,024 B) -> conv 3x3 -> a 16x16x16 (4,096 B) -> conv 3x3 -> c 16x16x16.
    The second conv's step holds a and c (8,192 B); its wide scratch (2 x 2 x 144 = 576 B)
    would raise the arena above the lean plan's, so it takes the int8-column variant. The first
    conv's step holds x and a (5,120 B): its wide scratch (2 x 2 x 36 = 144 B) fits under the
    peak, and it keeps the wide variant."""
    bld = Builder()
    x = bld.act((1, 16, 16, 4), "x")
    a = bld.conv(x, 16, 3, 1, "conv1")
    c = bld.conv(a, 16, 3, 1, "conv2")
    sched = _scheduled(bld.graph((x,), (c,)))
    assert [(layer.variant, layer.scratch_bytes) for layer in sched.layers] == [("fast-wide", 144), ("fast", 288)]
    assert sched.plan.arena_bytes == 4096 + 4096 + 288


def test_wide_conv_everywhere_when_no_scratch_is_at_the_peak():
    """x 16x16x32 (8,192 B) -> pointwise 1x1 -> a 16x16x8 (2,048 B, over x's dying bytes) ->
    conv 3x3 stride 2 -> c 8x8x16 (1,024 B). The peak is the pointwise step (x, plus 128 B of
    scratch); the strided conv's step holds a, c and its 2 x 2 x 72 = 288 B of wide scratch,
    3,360 B: the wide variant costs no memory."""
    bld = Builder()
    x = bld.act((1, 16, 16, 32), "x")
    a = bld.conv(x, 8, 1, 1, "pw")
    c = bld.conv(a, 16, 3, 2, "conv")
    sched = _scheduled(bld.graph((x,), (c,)))
    assert [layer.variant for layer in sched.layers] == ["pointwise-fast", "fast-wide"]
    assert sched.plan.arena_bytes == 8192 + 128


def test_depthwise_runs_out_of_place_where_that_costs_no_memory():
    """x 16x16x32 (8,192 B) -> pointwise -> a 16x16x8 (2,048 B) -> depthwise 3x3 -> b
    16x16x8 -> pointwise -> c 16x16x8. The peak is the first pointwise step (x plus its
    scratch); the depthwise step holds a and, out of place, b: 4,096 B, so it takes the
    faster out-of-place kernel. With the depthwise on a large tensor at the peak (the same
    chain from a 16x16x8 input, nothing larger live) it stays in place."""
    bld = Builder()
    x = bld.act((1, 16, 16, 32), "x")
    a = bld.conv(x, 8, 1, 1, "pw1")
    b = bld.conv(a, 0, 3, 1, "dw", depthwise=True)
    c = bld.conv(b, 8, 1, 1, "pw2")
    sched = _scheduled(bld.graph((x,), (c,)))
    assert [(layer.variant, layer.inplace_of) for layer in sched.layers] == [
        ("pointwise-fast", None), ("fast", None), ("pointwise-fast", None)]
    assert sched.plan.arena_bytes == 8192 + 128

    bld = Builder()
    x = bld.act((1, 16, 16, 8), "x")
    b = bld.conv(x, 0, 3, 1, "dw", depthwise=True)
    c = bld.conv(b, 8, 1, 1, "pw")
    sched = _scheduled(bld.graph((x,), (c,)))
    assert sched.layers[0].variant == "in-place-fast" and sched.layers[0].inplace_of == x


def test_fast_fully_connected_only_where_its_code_pays():
    """The fast FULLY_CONNECTED's code is linked once per network and needs 4,096 MACs of FC
    layers to pay for itself. x 1x64 -> FC 12 units: 768 MACs, so the reference kernel. x 1x64
    -> FC 48 (3,072 MACs) -> FC 32 (1,536 MACs): 4,608 MACs together, both take the fast kernel,
    the second although it alone would not pay."""
    bld = Builder()
    x = bld.act((1, 64), "x")
    y = bld.fc(x, 12, "head")
    sched = _scheduled(bld.graph((x,), (y,)))
    assert [(layer.variant, layer.macs) for layer in sched.layers] == [("reference", 768)]

    bld = Builder()
    x = bld.act((1, 64), "x")
    a = bld.fc(x, 48, "fc1")
    y = bld.fc(a, 32, "fc2")
    sched = _scheduled(bld.graph((x,), (y,)))
    assert [(layer.variant, layer.macs) for layer in sched.layers] == [("fast", 3072), ("fast", 1536)]
