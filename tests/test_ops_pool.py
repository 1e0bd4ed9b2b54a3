"""AVERAGE_POOL_2D, MAX_POOL_2D and MEAN: bit-exact with TFLM and LiteRT."""

from helpers import assert_bit_exact
from hypothesis import given
from hypothesis import strategies as st
from opmodels import build
from strategies import input_range, seed


def _pool_factory(r):
    import tensorflow as tf

    def f(x):
        pool = tf.nn.avg_pool2d if r["op"] == "avg" else tf.nn.max_pool2d
        return pool(x, ksize=[r["kh"], r["kw"]], strides=r["stride"], padding=r["padding"])
    return f


@given(op=st.sampled_from(["avg", "max"]), h=st.integers(2, 11), w=st.integers(2, 11),
       c=st.sampled_from([1, 3, 8]), kh=st.sampled_from([1, 2, 3]), kw=st.sampled_from([2, 3, 4]),
       stride=st.sampled_from([1, 2, 3]), padding=st.sampled_from(["SAME", "VALID"]), rng=input_range, s=seed)
def test_pool_bit_exact(op, h, w, c, kh, kw, stride, padding, rng, s):
    if padding == "VALID" and (h < kh or w < kw):
        padding = "SAME"
    recipe = dict(op=op, kh=kh, kw=kw, stride=stride, padding=padding)
    model = build("pool", recipe, _pool_factory, [(1, h, w, c)], [rng])
    assert_bit_exact(model, count=6, seed=s, expect_ops={"AVERAGE_POOL_2D" if op == "avg" else "MAX_POOL_2D"})


def _mean_factory(r):
    import tensorflow as tf

    def f(x):
        return tf.reduce_mean(x, axis=r["axes"], keepdims=r["keep"]) * r["gain"]
    return f


@given(h=st.integers(1, 9), w=st.integers(2, 9), c=st.sampled_from([3, 4, 10]),
       axes=st.sampled_from([[1, 2], [1, 2], [2], [3]]), keep=st.booleans(),
       gain=st.sampled_from([1.0, 1.0, 0.3, 4.0]), rng=input_range, s=seed)
def test_mean_bit_exact(h, w, c, axes, keep, gain, rng, s):
    model = build("mean", dict(axes=axes, keep=keep, gain=gain), _mean_factory, [(1, h, w, c)], [rng])
    assert_bit_exact(model, count=6, seed=s, expect_ops={"MEAN"})
