"""ADD, MUL (with broadcasting), RELU, RELU6, LOGISTIC, HARD_SWISH, QUANTIZE and
DEQUANTIZE at float edges: bit-exact with TFLM and LiteRT."""

from helpers import assert_bit_exact
from hypothesis import given
from hypothesis import strategies as st
from opmodels import build
from strategies import activation, apply_activation, input_range, seed

shapes = st.sampled_from([((1, 4, 5, 3), (1, 4, 5, 3)), ((1, 4, 5, 3), (1, 1, 1, 3)), ((1, 6, 6, 8), (1, 6, 1, 8)),
                          ((2, 7), (2, 7)), ((1, 3, 1, 2), (1, 1, 4, 2)), ((1, 9), (1, 1))])


def _binary_factory(r):
    import tensorflow as tf

    def f(a, b):
        y = a + b if r["op"] == "add" else a * b
        return apply_activation(tf, y, r["act"])
    return f


@given(op=st.sampled_from(["add", "mul"]), shp=shapes, act=activation, r1=input_range, r2=input_range, s=seed)
def test_binary_bit_exact(op, shp, act, r1, r2, s):
    model = build("binary", dict(op=op, act=act), _binary_factory, list(shp), [r1, r2])
    assert_bit_exact(model, count=6, seed=s, expect_ops={op.upper()})


def _unary_factory(r):
    import tensorflow as tf

    def f(x):
        if r["op"] == "relu":
            return tf.nn.relu(x)
        if r["op"] == "relu6":
            return tf.nn.relu6(x)
        if r["op"] == "logistic":
            return tf.sigmoid(x)
        if r["op"] == "hard_swish":
            return x * tf.nn.relu6(x + 3.0) / 6.0
        raise ValueError(r["op"])
    return f


UNARY_OPS = {"relu": "RELU", "relu6": "RELU6", "logistic": "LOGISTIC", "hard_swish": "HARD_SWISH"}


@given(op=st.sampled_from(sorted(UNARY_OPS)), shape=st.sampled_from([(1, 17), (1, 3, 4, 5), (2, 33)]),
       rng=input_range, s=seed)
def test_unary_bit_exact(op, shape, rng, s):
    model = build("unary", dict(op=op), _unary_factory, [shape], [rng])
    assert_bit_exact(model, count=6, seed=s, expect_ops={UNARY_OPS[op]})


def _float_io_factory(r):
    import tensorflow as tf

    def f(x):
        return apply_activation(tf, x * 1.5 + x, r["act"])
    return f


@given(shape=st.sampled_from([(1, 8), (1, 3, 3, 2)]), act=activation, rng=input_range, s=seed)
def test_quantize_dequantize_float_edges_bit_exact(shape, act, rng, s):
    model = build("floatio", dict(act=act), _float_io_factory, [shape], [rng], float_io=True)
    assert_bit_exact(model, count=6, seed=s, expect_ops={"QUANTIZE", "DEQUANTIZE"})
