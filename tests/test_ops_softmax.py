"""SOFTMAX (with beta) and LOG_SOFTMAX: TFLite's fixed-point exp / log, bit-exact."""

from helpers import assert_bit_exact
from hypothesis import given
from hypothesis import strategies as st
from opmodels import build
from strategies import input_range, seed


def _factory(r):
    import tensorflow as tf

    def f(x):
        if r["op"] == "softmax":
            return tf.nn.softmax(x * r["beta"])
        return tf.nn.log_softmax(x)
    return f


@given(op=st.sampled_from(["softmax", "log_softmax"]), shape=st.sampled_from([(1, 2), (1, 10), (3, 12), (1, 4, 5)]),
       beta=st.sampled_from([1.0, 0.5, 2.0]), rng=input_range, s=seed)
def test_softmax_bit_exact(op, shape, beta, rng, s):
    model = build("softmax", dict(op=op, beta=beta if op == "softmax" else 1.0), _factory, [shape], [rng])
    assert_bit_exact(model, count=8, seed=s, expect_ops={op.upper()})
