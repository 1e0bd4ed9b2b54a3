"""Random architectures: hypothesis draws whole networks from a mixed space and every one must
be bit-exact with TF-Lite Micro.

The space: a stem conv, then 2-6 blocks of conv (any kernel, stride, activation), depthwise,
residual, squeeze-and-excitation (MEAN, FULLY_CONNECTED, LOGISTIC, MUL), average and max
pooling, concatenation, nearest-neighbour resize, an explicit PAD before a VALID conv, and hard
swish; a head of global mean + FULLY_CONNECTED (+ SOFTMAX) or a flattened FULLY_CONNECTED;
int8 or float32 interface; odd sizes and channel counts.

Properties checked: on the host, each network is bit-exact on random inputs and runs clean in
the canary build (no layer writes a byte the plan left free); in QEMU (Cortex-M4, M7, M55), a
smaller sample is bit-exact too. `make test` draws TINYML_RANDOM_NETS networks (default 6) and
TINYML_RANDOM_QEMU in QEMU (default 1); `make test-all` draws 200 and 20."""

from __future__ import annotations

import os

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from opmodels import build

from tinyengine.driver.pipeline import compile_model, write_output
from tinyengine.driver.verify import random_inputs, verify_target

HOST_NETS = int(os.environ.get("TINYML_RANDOM_NETS", "6"))
QEMU_NETS = int(os.environ.get("TINYML_RANDOM_QEMU", "1"))
QEMU_TARGETS = ("qemu-an386", "qemu-an500", "qemu-an547")
BLOCKS = ("conv", "dw", "res", "se", "avg", "max", "concat", "resize", "pad", "hswish")


def _factory(r):
    import tensorflow as tf

    rng = np.random.default_rng(r["seed"])

    def w(*shape, gain=0.5):
        fan_in = int(np.prod(shape[:-1])) or 1
        return tf.constant(rng.normal(0, gain * (2.0 / fan_in) ** 0.5, shape).astype(np.float32))

    plan, c = [], r["c"]
    plan.append(("stem", w(3, 3, c, r["stem"])))
    c = r["stem"]
    for kind, k, stride, cout in r["blocks"]:
        if kind == "conv":
            plan.append((kind, w(k, k, c, cout), k, stride))
            c = cout
        elif kind == "dw":
            plan.append((kind, w(k, k, c, 1), k, stride))
        elif kind == "res":
            plan.append((kind, w(k, k, c, c), k, 1))
        elif kind == "se":
            mid = max(c // 2, 1)
            plan.append((kind, (w(c, mid), w(mid, c)), 0, 1))
        elif kind == "concat":
            plan.append((kind, w(1, 1, c, cout), 1, 1))
            c = c + cout
        elif kind == "pad":
            plan.append((kind, w(k, k, c, cout), k, stride))
            c = cout
        else:
            plan.append((kind, None, k, stride))
    head = w(c, r["classes"])

    def f(x):
        y = tf.nn.relu6(tf.nn.conv2d(x, plan[0][1], 1, "SAME"))
        for kind, wt, k, stride in plan[1:]:
            if kind == "conv":
                y = tf.nn.relu(tf.nn.conv2d(y, wt, stride, r["padding"]))
            elif kind == "dw":
                y = tf.nn.relu6(tf.nn.depthwise_conv2d(y, wt, [1, stride, stride, 1], r["padding"]))
            elif kind == "res":
                y = y + tf.nn.conv2d(y, wt, 1, "SAME")
            elif kind == "se":
                s = tf.nn.relu(tf.matmul(tf.reduce_mean(y, axis=[1, 2]), wt[0]))
                y = y * tf.reshape(tf.sigmoid(tf.matmul(s, wt[1])), [1, 1, 1, -1])
            elif kind == "avg":
                y = tf.nn.avg_pool2d(y, k, stride, r["padding"])
            elif kind == "max":
                y = tf.nn.max_pool2d(y, k, stride, r["padding"])
            elif kind == "concat":
                y = tf.concat([y, tf.nn.relu(tf.nn.conv2d(y, wt, 1, "SAME"))], axis=-1)
            elif kind == "resize":
                y = tf.image.resize(y, [y.shape[1] * 2, y.shape[2] * 2], method="nearest")
            elif kind == "pad":
                lo, hi = k // 2, (k - 1) // 2 + stride - 1     # PyTorch's form: a PAD, then a VALID conv
                y = tf.pad(y, [[0, 0], [lo, hi], [lo, hi], [0, 0]])
                y = tf.nn.relu(tf.nn.conv2d(y, wt, stride, "VALID"))
            else:
                y = y * tf.nn.relu6(y + 3.0) / 6.0
        if r["head"] == "flat":
            y = tf.reshape(y, [1, -1])
            return tf.matmul(y, tf.constant(rng.normal(0, 0.1, (y.shape[1], r["classes"])).astype(np.float32)))
        logits = tf.matmul(tf.reduce_mean(y, axis=[1, 2]), head)
        return tf.nn.softmax(logits) if r["head"] == "softmax" else logits

    return f


@st.composite
def networks(draw):
    size = size0 = draw(st.integers(7, 21))
    c = draw(st.sampled_from([1, 2, 3, 5]))
    stem = draw(st.sampled_from([3, 4, 8]))
    blocks, channels = [], stem
    for _ in range(draw(st.integers(2, 6))):
        kind = draw(st.sampled_from(BLOCKS))
        k = draw(st.sampled_from([1, 2, 3, 5]))
        stride = draw(st.sampled_from([1, 1, 2]))
        if kind in ("avg", "max"):
            k = max(k, 2)
        if kind == "resize" and (size > 12 or channels * size * size > 2000):
            kind = "hswish"
        if kind in ("conv", "dw", "avg", "max", "pad") and size < k + 2:
            kind, stride = "hswish", 1
        cout = draw(st.sampled_from([2, 3, 6, 8]))
        if kind in ("res", "se", "hswish", "resize"):
            stride = 1
        blocks.append((kind, k, stride, cout))
        if kind in ("conv", "pad"):
            channels = cout
        elif kind == "concat":
            channels += cout
        size = size * 2 if kind == "resize" else -(-size // stride)
    recipe = {"c": c, "stem": stem, "blocks": blocks, "padding": draw(st.sampled_from(["SAME", "VALID"])),
              "head": draw(st.sampled_from(["mean", "softmax", "flat"])), "classes": draw(st.sampled_from([2, 5, 10])),
              "seed": draw(st.integers(0, 9999)), "float_io": draw(st.booleans()), "v": 1}
    return recipe, size0


def _model(net):
    recipe, size = net
    return build("randnet", recipe, _factory, [(1, size, size, recipe["c"])], float_io=recipe["float_io"])


@settings(max_examples=HOST_NETS)
@given(net=networks(), s=st.integers(0, 1000))
def test_random_network_bit_exact_on_the_host_and_canary_clean(net, s, tmp_path_factory):
    compiled = compile_model(_model(net))
    out = write_output(compiled, tmp_path_factory.mktemp("net") / "m")
    sets = random_inputs(compiled.graph, 3, seed=s)
    result = verify_target(compiled, out, sets, "host")
    assert result.ok, f"{net[0]}: {result.summary()}"
    result = verify_target(compiled, out, sets[:1], "host", canary=True)
    assert result.ok, f"{net[0]}: canary: {result.summary()}"


@settings(max_examples=QEMU_NETS)
@given(net=networks(), s=st.integers(0, 1000))
def test_random_network_bit_exact_in_qemu(net, s, tmp_path_factory):
    compiled = compile_model(_model(net), patch="auto")
    out = write_output(compiled, tmp_path_factory.mktemp("net") / "m")
    sets = random_inputs(compiled.graph, 2, seed=s)
    for target in QEMU_TARGETS:
        result = verify_target(compiled, out, sets, target)
        assert result.ok, f"{net[0]} on {target}: {result.summary()}"
