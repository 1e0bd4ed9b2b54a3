"""CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED: generated C is bit-exact with TFLM and
LiteRT over random shapes, strides, kernel sizes, dilations, padding, channel counts,
depth multipliers, activations and quantization parameters."""

import numpy as np
from helpers import assert_bit_exact
from hypothesis import given
from hypothesis import strategies as st
from opmodels import build
from strategies import activation, apply_activation, input_range, seed


def _conv_factory(r):
    import tensorflow as tf

    rng = np.random.default_rng(r["seed"])
    w = tf.constant(rng.normal(0, r["wscale"], size=(r["kh"], r["kw"], r["cin"], r["cout"])).astype(np.float32))
    b = tf.constant(rng.normal(0, 1, size=r["cout"]).astype(np.float32))

    def f(x):
        y = tf.nn.conv2d(x, w, strides=r["stride"], padding=r["padding"], dilations=r["dilation"]) + b
        return apply_activation(tf, y, r["act"])
    return f


@given(h=st.integers(3, 12), w=st.integers(3, 12), cin=st.sampled_from([1, 2, 3, 5, 8]),
       cout=st.sampled_from([1, 3, 4, 7, 16]), kh=st.sampled_from([1, 2, 3, 5]), kw=st.sampled_from([1, 3, 4]),
       stride=st.sampled_from([1, 2, 3]), padding=st.sampled_from(["SAME", "VALID"]), act=activation,
       rng=input_range, wscale=st.sampled_from([0.05, 0.5, 2.0]), s=seed, dilate=st.booleans())
def test_conv2d_bit_exact(h, w, cin, cout, kh, kw, stride, padding, act, rng, wscale, s, dilate):
    dilation = 2 if dilate and stride == 1 else 1
    if padding == "VALID" and (h < (kh - 1) * dilation + 1 or w < (kw - 1) * dilation + 1):
        padding = "SAME"
    recipe = dict(kh=kh, kw=kw, cin=cin, cout=cout, stride=stride, padding=padding, dilation=dilation, act=act,
                  wscale=wscale, seed=s)
    model = build("conv2d", recipe, _conv_factory, [(1, h, w, cin)], [rng])
    assert_bit_exact(model, count=6, seed=s, expect_ops={"CONV_2D"})


def _dw_factory(r):
    import tensorflow as tf

    rng = np.random.default_rng(r["seed"])
    w = tf.constant(rng.normal(0, 0.5, size=(r["kh"], r["kw"], r["cin"], r["mult"])).astype(np.float32))
    b = tf.constant(rng.normal(0, 1, size=r["cin"] * r["mult"]).astype(np.float32))

    def f(x):
        y = tf.nn.depthwise_conv2d(x, w, strides=[1, r["stride"], r["stride"], 1], padding=r["padding"],
                                   dilations=[r["dilation"]] * 2) + b
        return apply_activation(tf, y, r["act"])
    return f


@given(h=st.integers(3, 12), w=st.integers(3, 12), cin=st.sampled_from([1, 2, 3, 8, 13]),
       mult=st.sampled_from([1, 1, 2, 3]), k=st.sampled_from([3, 5, 7]), stride=st.sampled_from([1, 2]),
       padding=st.sampled_from(["SAME", "VALID"]), act=activation, rng=input_range, s=seed,
       dilate=st.booleans())
def test_depthwise_conv2d_bit_exact(h, w, cin, mult, k, stride, padding, act, rng, s, dilate):
    dilation = 2 if dilate and stride == 1 else 1
    if padding == "VALID" and min(h, w) < (k - 1) * dilation + 1:
        padding = "SAME"
    recipe = dict(kh=k, kw=k, cin=cin, mult=mult, stride=stride, padding=padding, dilation=dilation, act=act,
                  seed=s)
    model = build("dwconv", recipe, _dw_factory, [(1, h, w, cin)], [rng])
    assert_bit_exact(model, count=6, seed=s, expect_ops={"DEPTHWISE_CONV_2D"})


def _fc_factory(r):
    import tensorflow as tf

    rng = np.random.default_rng(r["seed"])
    w = tf.constant(rng.normal(0, r["wscale"], size=(r["depth"], r["units"])).astype(np.float32))
    b = tf.constant(rng.normal(0, 1, size=r["units"]).astype(np.float32))

    def f(x):
        return apply_activation(tf, tf.matmul(x, w) + b, r["act"])
    return f


@given(batch=st.sampled_from([1, 1, 3]), depth=st.sampled_from([1, 5, 16, 33, 64]),
       units=st.sampled_from([1, 2, 10, 31]), act=activation, rng=input_range,
       wscale=st.sampled_from([0.05, 0.5, 2.0]), s=seed)
def test_fully_connected_bit_exact(batch, depth, units, act, rng, wscale, s):
    recipe = dict(depth=depth, units=units, act=act, wscale=wscale, seed=s)
    model = build("fc", recipe, _fc_factory, [(batch, depth)], [rng])
    assert_bit_exact(model, count=8, seed=s, expect_ops={"FULLY_CONNECTED"})
