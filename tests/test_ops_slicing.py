"""SLICE, STRIDED_SLICE, SPLIT, SPLIT_V, UNPACK, PACK, GATHER, MAXIMUM and MINIMUM (the ops
PyTorch exports for indexing, chunking, stacking and clamping): bit-exact with TFLM and LiteRT
on the host and in QEMU, over shapes, slices (negative steps, masks, shrunk axes), axes and
quantization drawn by hypothesis."""

from __future__ import annotations

import numpy as np
from helpers import assert_bit_exact
from hypothesis import given
from hypothesis import strategies as st
from opmodels import build
from strategies import input_range, seed

SHAPE = (1, 6, 5, 4)


def _slice_factory(r):
    import tensorflow as tf

    def f(x):
        return tf.slice(x, r["begin"], r["size"])
    return f


@given(case=st.sampled_from([([0, 1, 0, 0], [1, 4, 5, 4]), ([0, 2, 1, 1], [1, -1, 3, 2]),
                             ([0, 0, 4, 3], [1, 6, 1, 1])]), rng=input_range, s=seed)
def test_slice_bit_exact(case, rng, s):
    begin, size = case
    model = build("slice", dict(begin=begin, size=size), _slice_factory, [SHAPE], [rng])
    assert_bit_exact(model, count=4, seed=s, expect_ops={"SLICE"} if -1 not in size else None)


def _strided_factory(r):
    import tensorflow as tf

    def f(x):
        return tf.strided_slice(x, r["begin"], r["end"], r["strides"], begin_mask=r["bm"], end_mask=r["em"],
                                shrink_axis_mask=r["sm"])
    return f


STRIDED = [  # begin, end, strides, begin mask, end mask, shrink mask
    ([0, 0, 0, 0], [1, 6, 5, 4], [1, 2, 2, 1], 0, 0, 0),       # x[:, ::2, ::2]
    ([0, -1, 0, 0], [1, -7, 5, 4], [1, -1, 1, 1], 0, 0, 0),    # x[:, ::-1]
    ([0, 1, -2, 0], [1, 5, 0, 4], [1, 1, -1, 2], 0, 0, 0),     # negative start, negative step
    ([0, 2, 0, 0], [1, 3, 5, 4], [1, 1, 1, 1], 0, 0, 2),       # x[:, 2] (a shrunk axis)
    ([0, 3, 1, 1], [0, 0, 4, 3], [1, 1, 1, 1], 9, 3, 0),       # masks
    ([0, 5, 4, 3], [1, 0, 0, 0], [1, -2, -3, -1], 0, 0, 0),    # negative steps on three axes
]


@given(case=st.sampled_from(STRIDED), rng=input_range, s=seed)
def test_strided_slice_bit_exact(case, rng, s):
    begin, end, strides, bm, em, sm = case
    model = build("strided_slice", dict(begin=begin, end=end, strides=strides, bm=bm, em=em, sm=sm),
                  _strided_factory, [SHAPE], [rng])
    assert_bit_exact(model, count=4, seed=s)


def _split_factory(r):
    import tensorflow as tf

    def f(x):
        parts = tf.split(x, r["splits"], axis=r["axis"])
        return [p * 1.5 for p in parts] if r["after"] else parts
    return f


@given(case=st.sampled_from([(3, 1), (2, 3), ([1, 2, 3], 1), ([3, 2], 2), ([1, 3], -1)]),
       after=st.booleans(), rng=input_range, s=seed)
def test_split_and_split_v_bit_exact(case, after, rng, s):
    splits, axis = case
    model = build("split", dict(splits=splits, axis=axis, after=after), _split_factory, [SHAPE], [rng])
    assert_bit_exact(model, count=3, seed=s, expect_ops={"SPLIT" if isinstance(splits, int) else "SPLIT_V"})


def _stack_factory(r):
    import tensorflow as tf

    def f(x):
        parts = tf.unstack(x, axis=r["axis"])
        return tf.stack(parts[::-1], axis=r["pack_axis"])
    return f


@given(axes=st.sampled_from([(1, 1), (2, 3), (3, 0), (1, 3)]), rng=input_range, s=seed)
def test_unpack_and_pack_bit_exact(axes, rng, s):
    model = build("unpack_pack", dict(axis=axes[0], pack_axis=axes[1], v=2), _stack_factory, [SHAPE], [rng])
    assert_bit_exact(model, count=3, seed=s, expect_ops={"UNPACK", "PACK"})


def _gather_factory(r):
    import tensorflow as tf

    def f(x):
        return tf.gather(x, tf.constant(r["indices"], tf.int32), axis=r["axis"])
    return f


@given(case=st.sampled_from([([2, 0, 1, 1], 1), ([4, 0], 2), ([[3, 1], [0, 2]], 3), ([5], 1)]),
       rng=input_range, s=seed)
def test_gather_bit_exact(case, rng, s):
    indices, axis = case
    model = build("gather", dict(indices=indices, axis=axis), _gather_factory, [SHAPE], [rng])
    assert_bit_exact(model, count=4, seed=s, expect_ops={"GATHER"})


def _max_min_factory(r):
    import tensorflow as tf

    def f(a, b):
        return tf.minimum(tf.maximum(a, b), r["cap"])
    return f


@given(shapes=st.sampled_from([[SHAPE, SHAPE], [SHAPE, (1, 1, 5, 1)], [(1, 6, 1, 4), (1, 1, 5, 4)]]),
       cap=st.floats(-0.5, 0.8), r1=input_range, r2=input_range, s=seed)
def test_maximum_minimum_bit_exact(shapes, cap, r1, r2, s):
    model = build("max_min", dict(cap=round(cap, 3)), _max_min_factory, shapes, [r1, r2])
    assert_bit_exact(model, count=4, seed=s, expect_ops={"MAXIMUM", "MINIMUM"})


def test_gather_index_out_of_range_is_a_clear_error():
    from tinyengine.core.errors import UnsupportedModelError
    from tinyengine.core.ir import Graph, Op, Quant, Tensor
    from tinyengine.core.passes import plan_model

    q = Quant((0.1,), (0,))
    tensors = (Tensor(0, "x", (4, 3), "int8", q), Tensor(1, "idx", (2,), "int32", None, np.array([1, 4], np.int32)),
               Tensor(2, "y", (2, 3), "int8", q))
    graph = Graph("g", tensors, (Op(0, "GATHER", (0, 1), (2,), {"axis": 0}),), (0,), (2,))
    try:
        plan_model(graph)
    except UnsupportedModelError as exc:
        assert "GATHER #0" in str(exc) and "outside [0, 4)" in str(exc) and "\n" not in str(exc)
    else:
        raise AssertionError("an out-of-range index compiled")
