"""PAD folding (tinyengine/core/padfold.py): a PAD before a convolution becomes its padding.

Properties checked:
- on hand-built graphs, which PADs fold and which stay (another value, another reader, a pool
  after it, channel padding, a graph output), and the folded layer's padding and input;
- on models built with TensorFlow the way PyTorch exports them (tf.pad, symmetric and
  asymmetric, then VALID convolutions and depthwise convolutions, a residual block): no PAD
  is left among the layers, every layer's output equals the interpreter's tensor (layer by
  layer), the outputs are bit-exact under both contracts on the host and in QEMU, in place
  and with --patch auto (a patched stage now spans the padded convolutions); and the arena
  equals that of the same network written with SAME padding, so nothing of the padded copies
  survives."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_bit_exact
from opmodels import build
from test_passes import Builder, lowered

from tinyengine.core.padfold import fold_pads
from tinyengine.core.params import Tile
from tinyengine.driver.oracle import make_oracle
from tinyengine.driver.pipeline import compile_model, write_output
from tinyengine.driver.targets import dump_layout, run_batch
from tinyengine.driver.verify import first_layer_mismatch, random_inputs, verify_model

# ---- hand-built graphs ---------------------------------------------------------------------


def _pad(b: Builder, x: int, pads: list[list[int]], name: str, zero_point: int = 0, value: int | None = None) -> int:
    shape = tuple(d + lo + hi for d, (lo, hi) in zip(b.tensors[x].shape, pads))
    y = b.act(shape, name, zero_point)
    p = b.const(np.array(pads, dtype=np.int32), f"{name}/paddings")
    if value is None:
        b.op("PAD", [x, p], [y])
    else:
        v = b.const(np.array([value], dtype=np.int8), f"{name}/value")
        b.op("PADV2", [x, p, v], [y])
    return y


def _valid_conv(b: Builder, x: int, cout: int, k: int, stride: int, name: str, depthwise: bool = False) -> int:
    """A VALID k x k convolution (the PyTorch export's form after its PAD)."""
    n, h, w, cin = b.tensors[x].shape
    ch = cin if depthwise else cout
    wshape = (1, k, k, ch) if depthwise else (cout, k, k, cin)
    weights = b.const(b.rng.integers(-127, 128, wshape, dtype=np.int8), f"{name}/w", (0.01,) * ch,
                      3 if depthwise else 0)
    y = b.act((n, (h - k) // stride + 1, (w - k) // stride + 1, ch), name)
    options = {"padding": 1, "strideW": stride, "strideH": stride, "fusedActivationFunction": 0,
               "dilationWFactor": 1, "dilationHFactor": 1, **({"depthMultiplier": 1} if depthwise else {})}
    b.op("DEPTHWISE_CONV_2D" if depthwise else "CONV_2D", [x, weights, -1], [y], **options)
    return y


PADS_HW = [[0, 0], [1, 1], [1, 1], [0, 0]]


def test_pad_before_a_valid_conv_becomes_its_padding():
    b = Builder()
    x = b.act((1, 8, 8, 4), "x")
    p = _pad(b, x, [[0, 0], [1, 0], [0, 1], [0, 0]], "pad")          # top 1, right 1
    y = _valid_conv(b, p, 6, 3, 2, "conv")
    graph = b.graph((x,), (y,))
    before = lowered(graph)
    assert [layer.op for layer in before] == ["PAD", "CONV_2D"]
    after = fold_pads(graph, before)
    assert len(after) == 1
    conv = after[0]
    assert conv.index == 0 and conv.inputs == (x,) and conv.args[0].tensor == x
    assert conv.params.input.h == 8 and conv.params.input.w == 8
    assert conv.params.pad == Tile(1, 0)
    assert conv.params.output.h == 4 and conv.params.output.w == 4     # (9 - 3) // 2 + 1, unchanged
    assert conv.folded == ("PAD 'pad' (top 1, left 0)",)


def test_pad_adds_to_the_convolutions_own_same_padding():
    b = Builder()
    x = b.act((1, 6, 6, 4), "x")
    p = _pad(b, x, PADS_HW, "pad")
    y = b.conv(p, 0, 3, 1, "dw", depthwise=True)                     # SAME on the padded 8x8: pad 1
    graph = b.graph((x,), (y,))
    (dw,) = fold_pads(graph, lowered(graph))
    assert dw.params.pad == Tile(2, 2) and dw.params.input.h == 6 and dw.params.output.h == 8


def test_pads_that_must_stay():
    cases = {}
    # a value other than the conv's input zero point
    b = Builder()
    x = b.act((1, 8, 8, 4), "x")
    cases["value"] = (b, x, _valid_conv(b, _pad(b, x, PADS_HW, "pad", value=5), 4, 3, 1, "c"))
    # two readers
    b = Builder()
    x = b.act((1, 8, 8, 4), "x")
    p = _pad(b, x, PADS_HW, "pad")
    cases["readers"] = (b, x, b.add(_valid_conv(b, p, 4, 3, 1, "c"), _valid_conv(b, p, 4, 3, 1, "d"), "sum"))
    # padding along channels
    b = Builder()
    x = b.act((1, 8, 8, 4), "x")
    cases["channels"] = (b, x, _valid_conv(b, _pad(b, x, [[0, 0], [1, 1], [1, 1], [0, 4]], "pad"), 4, 3, 1, "c"))
    for why, (b, x, y) in cases.items():
        graph = b.graph((x,), (y,))
        layers = lowered(graph)
        assert fold_pads(graph, layers) is layers, why
    # the padded tensor is also a graph output
    b = Builder()
    x = b.act((1, 8, 8, 4), "x")
    p = _pad(b, x, PADS_HW, "pad")
    graph = b.graph((x,), (p, _valid_conv(b, p, 4, 3, 1, "c")))
    layers = lowered(graph)
    assert fold_pads(graph, layers) is layers


def test_pad_value_equal_to_the_zero_point_folds_from_padv2():
    b = Builder()
    x = b.act((1, 8, 8, 4), "x", zero_point=-3)
    p = _pad(b, x, PADS_HW, "pad", zero_point=-3, value=-3)
    y = _valid_conv(b, p, 4, 3, 1, "c")
    graph = b.graph((x,), (y,))
    assert [layer.op for layer in fold_pads(graph, lowered(graph))] == ["CONV_2D"]


# ---- models as PyTorch exports them ---------------------------------------------------------

def _net(recipe: dict):
    """A small MobileNet-like network: stem conv s2, depthwise-separable blocks (one s2, one
    residual), asymmetric pads, a last 3x3 s2 conv. recipe['pad']: True for tf.pad + VALID (the
    PyTorch export), False for the same shapes with SAME padding."""
    import tensorflow as tf

    rng = np.random.default_rng(7)

    def w(*shape):
        return tf.constant(rng.normal(0, 0.3, shape).astype(np.float32))

    stem, dw1, pw1, dw2, pw2, dw3, pw3, last = (w(3, 3, 3, 8), w(3, 3, 8, 1), w(1, 1, 8, 16), w(3, 3, 16, 1),
                                                 w(1, 1, 16, 16), w(5, 5, 16, 1), w(1, 1, 16, 16), w(3, 3, 16, 8))
    padded = recipe["pad"]

    def conv(x, k, stride, pads, depthwise=False):
        if padded and pads:
            x = tf.pad(x, [[0, 0], pads[0], pads[1], [0, 0]])
        mode = "VALID" if padded or not pads else "SAME"
        if depthwise:
            return tf.nn.depthwise_conv2d(x, k, [1, stride, stride, 1], mode)
        return tf.nn.conv2d(x, k, stride, mode)

    def f(x):
        y = tf.nn.relu6(conv(x, stem, 2, ([1, 1], [1, 1])))                    # 32 -> 16, top/left 1
        y = tf.nn.relu(conv(y, dw1, 1, ([2, 0], [0, 2]), depthwise=True))      # asymmetric
        y = conv(y, pw1, 1, None)
        y = tf.nn.relu(conv(y, dw2, 2, ([1, 1], [1, 1]), depthwise=True))      # 16 -> 8
        y = conv(y, pw2, 1, None)
        r = tf.nn.relu(conv(y, dw3, 1, ([2, 2], [2, 2]), depthwise=True))       # a residual block, 5x5
        y = y + conv(r, pw3, 1, None)
        return conv(y, last, 2, ([1, 0], [1, 0]))                                # asymmetric, 8 -> 4

    return f


def _model(padded: bool):
    return build("pytorch-like", {"pad": padded, "version": 2}, _net, [(1, 32, 32, 3)])


def test_pytorch_style_model_folds_every_pad():
    model = _model(True)
    from tinyengine.core.reader import read_tflite

    # the converter folds a PAD itself where it equals SAME padding (the residual block's): 4 stay
    pads = sum(op.kind == "PAD" for op in read_tflite(model).ops)
    assert pads >= 4, f"the converter kept {pads} PADs"
    compiled = compile_model(model)
    assert "PAD" not in [layer.op for layer in compiled.layers]
    assert sum(len(layer.folded) for layer in compiled.layers) == pads


@pytest.mark.parametrize("contract", ["tflm", "litert"])
def test_folded_model_layer_by_layer(tmp_path, contract):
    """Every layer's output equals the interpreter's tensor of the same name."""
    model = _model(True)
    compiled = compile_model(model, contract)
    out = write_output(compiled, tmp_path / "m")
    oracle = make_oracle(contract, model, len(compiled.graph.outputs))
    offsets, _ = dump_layout(compiled)
    for inputs in random_inputs(compiled.graph, 2, seed=3):
        dumped = run_batch(compiled, out, "host", [inputs], dump=True)
        oracle.run(inputs)
        assert first_layer_mismatch(compiled, dumped.dumps[0], offsets, oracle) is None


def test_folded_model_bit_exact():
    assert_bit_exact(_model(True), count=4, expect_ops={"PAD"})


@pytest.mark.parametrize("contract", ["tflm", "litert"])
def test_folded_model_bit_exact_with_patches(contract):
    result = verify_model(_model(True), contract, count=3, patch="auto", max_overhead=0.5)
    assert result.ok, result.summary()
    assert result.patch != "off", "no patch-based stage was found across the folded convolutions"


def test_folded_arena_equals_the_same_network_with_same_padding():
    folded, same = compile_model(_model(True)), compile_model(_model(False))
    assert "PAD" not in {op.kind for op in same.graph.ops}
    assert folded.plan.arena_bytes == same.plan.arena_bytes


def test_patches_run_across_folded_pads():
    """A PAD used to end the patched stage; folded, the stage spans the padded convolutions.
    (Its arena is not compared with the SAME network's: a top padding of 1 instead of 0 moves
    every patch's halo, so the patch buffers differ by design.)"""
    off = compile_model(_model(True)).plan.arena_bytes
    patched = compile_model(_model(True), patch="auto", max_overhead=0.5)
    assert patched.stage is not None and patched.plan.arena_bytes < off
    assert any(patched.layers[i].folded for i in patched.stage.layers)


# ---- a PAD that cannot fold runs in place ---------------------------------------------------

def _pool_net(recipe: dict):
    """conv -> PAD -> MAX_POOL_2D (a pool's padding is not a PAD's) -> conv."""
    import tensorflow as tf

    rng = np.random.default_rng(11)
    k1 = tf.constant(rng.normal(0, 0.3, (3, 3, 3, 8)).astype(np.float32))
    k2 = tf.constant(rng.normal(0, 0.3, (1, 1, 8, 8)).astype(np.float32))

    def f(x):
        y = tf.nn.relu(tf.nn.conv2d(x, k1, 1, "SAME"))
        y = tf.pad(y, [[0, 0], [1, 1], [1, 1], [0, 0]])
        y = tf.nn.max_pool2d(y, 3, 2, "VALID")
        return tf.nn.conv2d(y, k2, 1, "SAME")

    return f


def test_unfoldable_pad_runs_in_place():
    model = build("pad-pool", {"version": 1}, _pool_net, [(1, 16, 16, 3)])
    compiled = compile_model(model)
    (pad,) = [layer for layer in compiled.layers if layer.op == "PAD"]
    assert pad.variant == "in-place" and pad.inplace_of == pad.inputs[0] and not pad.folded
    plan = compiled.plan
    assert plan.tensor_offset(pad.outputs[0]) == plan.tensor_offset(pad.inputs[0])
    out_of_place = compile_model(model, inplace=False).plan.arena_bytes
    assert plan.arena_bytes < out_of_place
    assert_bit_exact(model, count=4, expect_ops={"PAD", "MAX_POOL_2D"})


# ---- an NCHW input, as PyTorch exports it ----------------------------------------------------

def _nchw_net(recipe: dict):
    """An NCHW input transposed to NHWC, then the PyTorch export's PAD + VALID conv."""
    import tensorflow as tf

    k = tf.constant(np.random.default_rng(5).normal(0, 0.3, (3, 3, recipe["c"], 8)).astype(np.float32))

    def f(x):
        y = tf.pad(tf.transpose(x, [0, 2, 3, 1]), [[0, 0], [1, 1], [1, 1], [0, 0]])
        return tf.nn.relu(tf.nn.conv2d(y, k, 2, "VALID"))

    return f


def test_transpose_that_moves_only_unit_dimensions_is_a_view():
    """[1,1,H,W] -> [1,H,W,1] (an NCHW input with one channel, as onnx2tf exports it): the bytes
    are already in order, so the layer is a view; [1,3,H,W] -> [1,H,W,3] stays a copy."""
    for channels, view in ((1, True), (3, False)):
        b = Builder()
        x = b.act((1, channels, 6, 5), "x")
        y = b.act((1, 6, 5, channels), "y")
        b.op("TRANSPOSE", [x, b.const(np.array([0, 2, 3, 1], dtype=np.int32), "perm")], [y])
        (layer,) = lowered(b.graph((x,), (y,)))
        assert (layer.kernel is None) == view and (layer.alias_of == x) == view


@pytest.mark.parametrize("channels", [1, 3])
def test_nchw_input_model(channels):
    """The TensorFlow converter itself turns the one-channel transpose into a RESHAPE; either way
    no copy of the input is made then, the PAD folds, and the outputs are bit-exact."""
    model = build("nchw", {"c": channels, "v": 1}, _nchw_net, [(1, channels, 16, 16)])
    compiled = compile_model(model)
    copies = [layer for layer in compiled.layers if layer.op in ("TRANSPOSE", "RESHAPE") and layer.kernel]
    assert len(copies) == (0 if channels == 1 else 1)
    assert "PAD" not in [layer.op for layer in compiled.layers]
    assert_bit_exact(model, count=3)


@pytest.mark.parametrize("contract", ["tflm", "litert"])
def test_unfoldable_pad_runs_inside_a_patched_stage(contract):
    """conv -> PAD -> MAX_POOL as one patched stage: each patch pads only where it touches the
    image's edge (the PAD's padding shifted like a conv's); bit-exact, and --patch auto now finds
    a split across the PAD."""
    from tinyengine.core.patch import parse_patch

    model = build("pad-pool", {"version": 1}, _pool_net, [(1, 16, 16, 3)])
    compiled = compile_model(model, contract, patch=parse_patch("3x3@2"))
    assert compiled.stage is not None and compiled.layers[1].op == "PAD" and 1 in compiled.stage.layers
    result = verify_model(model, contract, count=4, patch=parse_patch("3x3@2"))
    assert result.ok, result.summary()
    result = verify_model(model, contract, count=4, patch=parse_patch("2x1@2"), target="qemu-an386")
    assert result.ok, result.summary()
    auto = compile_model(model, contract, patch="auto", max_overhead=1.0)
    assert auto.stage is not None and 1 in auto.stage.layers
