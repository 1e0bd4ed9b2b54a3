"""PAD, CONCATENATION, TRANSPOSE, RESIZE_NEAREST_NEIGHBOR, RESHAPE and SQUEEZE:
data movement, bit-exact with TFLM and LiteRT."""

from helpers import assert_bit_exact
from hypothesis import given
from hypothesis import strategies as st
from opmodels import build
from strategies import input_range, seed


def _pad_factory(r):
    import tensorflow as tf

    def f(x):
        return tf.pad(x, r["pads"])
    return f


@given(pads=st.sampled_from([[[0, 0], [1, 1], [2, 0], [0, 0]], [[0, 0], [0, 3], [1, 2], [0, 1]],
                             [[0, 0], [2, 2], [2, 2], [0, 0]]]), rng=input_range, s=seed)
def test_pad_bit_exact(pads, rng, s):
    model = build("pad", dict(pads=pads), _pad_factory, [(1, 4, 5, 3)], [rng])
    assert_bit_exact(model, count=4, seed=s, expect_ops={"PAD"})


def _concat_factory(r):
    import tensorflow as tf

    def f(a, b):
        return tf.concat([a, b], axis=r["axis"])
    return f


@given(axis=st.sampled_from([1, 2, 3, -1]), r1=input_range, s=seed)
def test_concatenation_bit_exact(axis, r1, s):
    shapes = [(1, 3, 4, 2), (1, 3, 4, 2)]
    model = build("concat", dict(axis=axis), _concat_factory, shapes, [r1, r1])
    assert_bit_exact(model, count=4, seed=s, expect_ops={"CONCATENATION"})


def _transpose_factory(r):
    import tensorflow as tf

    def f(x):
        return tf.transpose(x, r["perm"])
    return f


@given(perm=st.sampled_from([[0, 2, 1, 3], [0, 3, 1, 2], [3, 2, 1, 0], [0, 1, 3, 2]]), rng=input_range, s=seed)
def test_transpose_bit_exact(perm, rng, s):
    model = build("transpose", dict(perm=perm), _transpose_factory, [(1, 3, 4, 5)], [rng])
    assert_bit_exact(model, count=4, seed=s, expect_ops={"TRANSPOSE"})


def _resize_factory(r):
    import tensorflow as tf

    def f(x):
        return tf.compat.v1.image.resize_nearest_neighbor(x, r["size"], align_corners=r["align"],
                                                          half_pixel_centers=r["half"])
    return f


@given(size=st.sampled_from([[6, 8], [3, 2], [9, 9], [5, 7]]), mode=st.sampled_from([(False, False), (True, False),
                                                                                   (False, True)]),
       rng=input_range, s=seed)
def test_resize_nearest_bit_exact(size, mode, rng, s):
    model = build("resize", dict(size=size, align=mode[0], half=mode[1]), _resize_factory, [(1, 3, 4, 2)], [rng])
    assert_bit_exact(model, count=4, seed=s, expect_ops={"RESIZE_NEAREST_NEIGHBOR"})


def _reshape_factory(r):
    import tensorflow as tf

    def f(x):
        y = tf.nn.relu(x)
        y = tf.squeeze(y, axis=[1]) if r["op"] == "squeeze" else tf.reshape(y, [1, -1])
        return y * 2.0
    return f


@given(op=st.sampled_from(["squeeze", "reshape"]), rng=input_range, s=seed)
def test_views_bit_exact(op, rng, s):
    model = build("view", dict(op=op), _reshape_factory, [(1, 1, 6, 4)], [rng])
    assert_bit_exact(model, count=4, seed=s)
