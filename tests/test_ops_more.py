"""SUB, SQUARED_DIFFERENCE (with broadcasting), LEAKY_RELU, PRELU, TANH, SUM, REDUCE_MAX and
TRANSPOSE_CONV (strides 1-3, SAME and VALID, with and without bias), BATCH_MATMUL (adjoints,
broadcast batches, constant or activation operands) and RSQRT (input zero points, scales, inside an
RMS norm; its output multiplier per contract): bit-exact with
TFLM and LiteRT on the host and in QEMU, over shapes, axes, alphas and quantization drawn by
hypothesis. SUM is checked against TFLM only: under --reference litert it is refused."""

from __future__ import annotations

import pytest
from helpers import assert_bit_exact
from hypothesis import given
from hypothesis import strategies as st
from opmodels import build
from strategies import activation, apply_activation, input_range, seed

shapes = st.sampled_from([((1, 4, 5, 3), (1, 4, 5, 3)), ((1, 4, 5, 3), (1, 1, 1, 3)), ((1, 6, 6, 8), (1, 6, 1, 8)),
                          ((2, 7), (2, 7)), ((1, 9), (1, 1))])


def _sub_factory(r):
    import tensorflow as tf

    def f(a, b):
        return apply_activation(tf, a - b, r["act"])
    return f


@given(shp=shapes, act=activation, r1=input_range, r2=input_range, s=seed)
def test_sub_bit_exact(shp, act, r1, r2, s):
    model = build("sub", dict(act=act), _sub_factory, list(shp), [r1, r2])
    assert_bit_exact(model, count=6, seed=s, expect_ops={"SUB"})


def _leaky_factory(r):
    import tensorflow as tf

    def f(x):
        return tf.nn.leaky_relu(x, alpha=r["alpha"])
    return f


@given(alpha=st.sampled_from([0.01, 0.1, 0.2, 0.3333, 0.5, 0.9]), rng=input_range, s=seed)
def test_leaky_relu_bit_exact(alpha, rng, s):
    model = build("leaky_relu", dict(alpha=alpha), _leaky_factory, [(1, 6, 6, 4)], [rng])
    assert_bit_exact(model, count=6, seed=s, expect_ops={"LEAKY_RELU"})


def _reduce_factory(r):
    import tensorflow as tf

    def f(x):
        fn = tf.reduce_sum if r["op"] == "sum" else tf.reduce_max
        return fn(x, axis=r["axes"], keepdims=r["keep"])
    return f


@given(op=st.sampled_from(["sum", "max"]), axes=st.sampled_from([[1, 2], [3], [1], [2, 3], [-1]]),
       keep=st.booleans(), rng=input_range, s=seed)
def test_sum_and_reduce_max_bit_exact(op, axes, keep, rng, s):
    """SUM against TF-Lite Micro only: LiteRT's int8 SUM is refused (see the next test)."""
    model = build("reduce", dict(op=op, axes=axes, keep=keep), _reduce_factory, [(1, 5, 4, 6)], [rng])
    assert_bit_exact(model, count=6, seed=s, expect_ops={"SUM" if op == "sum" else "REDUCE_MAX"},
                     contracts=("tflm",) if op == "sum" else ("tflm", "litert"))


def test_sum_under_litert_is_refused_in_one_line():
    from tinyengine.core.errors import UnsupportedModelError
    from tinyengine.driver.pipeline import compile_model

    model = build("reduce", dict(op="sum", axes=[3], keep=False), _reduce_factory, [(1, 5, 4, 6)], [(-1.0, 1.0)])
    try:
        compile_model(model, "litert")
    except UnsupportedModelError as exc:
        assert "SUM #0" in str(exc) and "--reference litert" in str(exc) and "\n" not in str(exc)
    else:
        raise AssertionError("SUM compiled under the litert contract")


def _tanh_factory(r):
    import tensorflow as tf

    def f(x):
        return tf.tanh(x * r["gain"])
    return f


@given(gain=st.sampled_from([1.0, 3.0, 0.2]), rng=input_range, s=seed)
def test_tanh_bit_exact(gain, rng, s):
    model = build("tanh", dict(gain=gain), _tanh_factory, [(1, 8, 8, 4)], [rng])
    assert_bit_exact(model, count=6, seed=s, expect_ops={"TANH"})


def _sqdiff_factory(r):
    import tensorflow as tf

    def f(a, b):
        return tf.math.squared_difference(a, b)
    return f


@given(shp=shapes, r1=input_range, r2=input_range, s=seed)
def test_squared_difference_bit_exact(shp, r1, r2, s):
    model = build("sqdiff", {}, _sqdiff_factory, list(shp), [r1, r2])
    assert_bit_exact(model, count=6, seed=s, expect_ops={"SQUARED_DIFFERENCE"})


def _prelu_factory(r):
    import numpy as np
    import tensorflow as tf

    shared = [d + 1 for d, n in enumerate(r["alpha"]) if n == 1]
    alpha = np.random.default_rng(r["seed"]).uniform(-0.5, 0.9, r["alpha"]).astype(np.float32)
    layer = tf.keras.layers.PReLU(alpha_initializer=tf.keras.initializers.Constant(alpha), shared_axes=shared or None)
    layer.build((1, 6, 6, 4))

    def f(x):
        return layer(x)
    return f


@given(alpha=st.sampled_from([(1, 1, 4), (6, 6, 4), (1, 1, 1)]), rng=input_range, s=seed)
def test_prelu_bit_exact(alpha, rng, s):
    model = build("prelu", dict(alpha=list(alpha), seed=s % 7, v=3), _prelu_factory, [(1, 6, 6, 4)], [rng])
    assert_bit_exact(model, count=6, seed=s, expect_ops={"PRELU"})


def _tconv_factory(r):
    import numpy as np
    import tensorflow as tf

    k, cin, cout, stride, padding, out_hw = r["k"], 4, r["cout"], r["stride"], r["padding"], r["out"]
    w = tf.constant(np.random.default_rng(5).normal(0, 0.3, (k, k, cout, cin)).astype(np.float32))
    b = tf.constant(np.random.default_rng(6).normal(0, 0.2, (cout,)).astype(np.float32))

    def f(x):
        y = tf.nn.conv2d_transpose(x, w, (1, out_hw, out_hw, cout), stride, padding)
        return tf.nn.relu(y + b) if r["bias"] else y
    return f


TCONV = [dict(k=3, cout=6, stride=2, padding="SAME", out=10, bias=True),
         dict(k=2, cout=3, stride=2, padding="VALID", out=10, bias=False),
         dict(k=3, cout=5, stride=1, padding="SAME", out=5, bias=True),
         dict(k=4, cout=8, stride=2, padding="SAME", out=9, bias=False),
         dict(k=3, cout=4, stride=3, padding="VALID", out=15, bias=True)]


@given(case=st.sampled_from(TCONV), rng=input_range, s=seed)
def test_transpose_conv_bit_exact(case, rng, s):
    model = build("transpose_conv", case, _tconv_factory, [(1, 5, 5, 4)], [rng])
    assert_bit_exact(model, count=4, seed=s, expect_ops={"TRANSPOSE_CONV"})


def _bmm_factory(r):
    import numpy as np
    import tensorflow as tf

    const = None if r["rhs"] is None else np.random.default_rng(8).normal(0, 0.5, r["rhs"]).astype(np.float32)

    def f(a, b=None):
        rhs = b if const is None else tf.constant(const)
        return tf.matmul(a, rhs, transpose_a=r["adj_x"], transpose_b=r["adj_y"])
    return f


BMM = [  # lhs shape, rhs shape, adj_x, adj_y, rhs constant (else a second input: same shape as lhs,
    # as the converter's calibration orders the inputs of a two-input function by shape otherwise)
    ((2, 4, 6), (2, 6, 5), False, False, True), ((2, 3, 4, 6), (6, 5), False, False, True),
    ((1, 6, 4), (1, 6, 5), True, False, False), ((2, 4, 6), (2, 5, 6), False, True, False),
    ((3, 4, 6), (1, 6, 5), False, False, True), ((1, 5, 5), (1, 5, 5), True, True, False),
]


@given(case=st.sampled_from(BMM), r1=input_range, s=seed)
def test_batch_matmul_bit_exact(case, r1, s):
    lhs, rhs, adj_x, adj_y, const = case
    recipe = dict(rhs=list(rhs) if const else None, adj_x=adj_x, adj_y=adj_y)
    shapes = [lhs] if const else [lhs, rhs]
    model = build("batch_matmul", recipe, _bmm_factory, shapes, [r1] * len(shapes))
    assert_bit_exact(model, count=4, seed=s)


def _rsqrt_factory(r):
    import tensorflow as tf

    def f(x):
        return tf.math.rsqrt(x)
    return f


def _rsqrt_inputs(model, count: int, seed: int) -> list:
    """Random int8 inputs at or above the input zero point: on a negative real input both oracles
    stop with an error ("Rsqrt is only defined for positive values")."""
    import numpy as np

    from tinyengine.core.reader import read_tflite

    graph = read_tflite(model)
    t = graph.tensors[graph.inputs[0]]
    rng = np.random.default_rng(seed)
    return [[rng.integers(t.quant.zero_point, 128, size=t.shape).astype(np.int8)] for _ in range(count)]


# lo 0 gives the input zero point -128 (every int8 value valid, the zero point itself included),
# lo < 0 zero points above it; hi the input scale, and with it the output's.
@given(shape=st.sampled_from([(1, 6, 6, 4), (2, 9), (1, 1, 1, 3), (3, 5, 7)]),
       lo=st.sampled_from([0.0, -0.5, -4.0]), hi=st.sampled_from([0.25, 1.0, 6.0, 40.0]), s=seed)
def test_rsqrt_bit_exact(shape, lo, hi, s):
    model = build("rsqrt", dict(v=1), _rsqrt_factory, [shape], [(lo, hi)])
    assert_bit_exact(model, seed=s, expect_ops={"RSQRT"}, input_sets=_rsqrt_inputs(model, 6, s))


def _rms_norm_factory(r):
    import tensorflow as tf

    def f(x):
        return x * tf.math.rsqrt(tf.reduce_mean(x * x, axis=-1, keepdims=True) + r["eps"])
    return f


@given(shape=st.sampled_from([(1, 4, 4, 8), (2, 16)]), eps=st.sampled_from([1e-3, 0.1]), rng=input_range, s=seed)
def test_rsqrt_in_rms_norm_bit_exact(shape, eps, rng, s):
    """RSQRT after MEAN and ADD (its input's zero point -128), its output broadcast into a MUL;
    the RSQRT runs in place over the ADD's output."""
    model = build("rms_norm", dict(eps=eps), _rms_norm_factory, [shape], [rng])
    assert_bit_exact(model, count=4, seed=s, expect_ops={"RSQRT", "MEAN"})


def _rsqrt_with_scales(tmp_path, input_scale: float, output_scale: float, output_zero_point: int):
    """The (1, 256) RSQRT model with its tensors' quantization rewritten (input zero point -128)."""
    import flatbuffers
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    base = build("rsqrt", dict(v=1), _rsqrt_factory, [(1, 256)], [(0.0, 2.0)])
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(base.read_bytes(), 0))
    graph = model.subgraphs[0]
    rsqrt = schema.BuiltinOperator.RSQRT
    op = next(o for o in graph.operators if model.operatorCodes[o.opcodeIndex].builtinCode == rsqrt)
    for t, scale, zp in ((op.inputs[0], input_scale, -128), (op.outputs[0], output_scale, output_zero_point)):
        graph.tensors[t].quantization.scale = [scale]
        graph.tensors[t].quantization.zeroPoint = [zp]
    b = flatbuffers.Builder(1024)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    path = tmp_path / f"rsqrt_{input_scale}_{output_scale}.tflite"
    path.write_bytes(b.Output())
    return path


# Scale pairs (found by search) on which 1 / (sqrt(input_scale) * output_scale) quantizes to different
# multipliers in double (TFLM) and in float32 (LiteRT), and some output differs.
RSQRT_CONTRACT_CASES = [(0.0012196915922686458, 0.010749872773885727, -92),
                        (0.1492992788553238, 0.006365316454321146, -11),
                        (0.0005983461742289364, 0.16858257353305817, -114)]


@pytest.mark.parametrize("case", RSQRT_CONTRACT_CASES)
def test_rsqrt_output_multiplier_follows_the_contract(tmp_path, case):
    """Every int8 input once: each contract's multiplier is bit-exact with its own oracle, and the
    two multipliers differ."""
    import numpy as np

    from tinyengine.driver.pipeline import compile_model

    model = _rsqrt_with_scales(tmp_path, *case)
    every = [[np.arange(-128, 128, dtype=np.int8).reshape(1, 256)]]
    params = {c: next(layer.params for layer in compile_model(model, c).layers if layer.op == "RSQRT")
              for c in ("tflm", "litert")}
    assert (params["tflm"].multiplier, params["tflm"].shift) != (params["litert"].multiplier, params["litert"].shift)
    assert_bit_exact(model, input_sets=every, expect_ops={"RSQRT"})


def test_rsqrt_scale_out_of_range_is_refused_in_one_line(tmp_path):
    from tinyengine.core.errors import UnsupportedModelError
    from tinyengine.driver.pipeline import compile_model

    model = _rsqrt_with_scales(tmp_path, 0.01, 1e6, 0)
    with pytest.raises(UnsupportedModelError) as exc:
        compile_model(model, "tflm")
    assert "RSQRT #0" in str(exc.value) and "outside the range" in str(exc.value) and "\n" not in str(exc.value)
