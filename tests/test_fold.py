"""Compile-time folding for the fast kernels (tinyengine.core.fold).

- `mbqm`, the Python requantization the folding reasons with, is the C tm_mbqm
  (fixedpoint.h) for both roundings: compared through a cffi module over hypothesis values.
- Constant channels: a channel whose (multiplier, shift) the fast requantization cannot
  take and whose output is the same for every input is rewritten into the fast range, and
  the layer's outputs stay the same for every input (checked exhaustively on small layers);
  a layer with an out-of-range channel that is not constant is left alone.
- On the MLPerf VWW model (where 11 layers have such channels) every fast layer ends with
  every pair in the fast range."""

from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path

import cffi
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinyengine.core.fold import fold_constant_channels, folded_bias, mbqm, rq_fast
from tinyengine.core.params import PerChannelQuant
from tinyengine.core.passes import plan_model
from tinyengine.core.reader import read_tflite

RUNTIME = Path(__file__).resolve().parent.parent / "runtime_c"
MODELS = Path(__file__).resolve().parents[2] / "shared" / "models" / "mlperf_tiny"


@pytest.fixture(scope="module")
def c(tmp_path_factory):
    """tm_mbqm of fixedpoint.h, compiled."""
    ffi = cffi.FFI()
    ffi.cdef("int32_t mbqm(int32_t x, int32_t multiplier, int32_t shift, int single);")
    ffi.set_source("_tinyml_fold_check", '#include "tinyml/fixedpoint.h"\n'
                   "int32_t mbqm(int32_t x, int32_t m, int32_t s, int single)\n"
                   "{ return tm_mbqm(x, m, s, single ? TINYML_ROUND_SINGLE : TINYML_ROUND_DOUBLE); }\n",
                   include_dirs=[str(RUNTIME / "include")], extra_compile_args=["-std=c99", "-Wall", "-Werror"])
    lib_path = ffi.compile(tmpdir=str(tmp_path_factory.mktemp("fold_check")))
    spec = importlib.util.spec_from_file_location("_tinyml_fold_check", lib_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.lib


@given(x=st.integers(-(1 << 31), (1 << 31) - 1), m=st.integers(0, (1 << 31) - 1), shift=st.integers(-31, 0),
       single=st.booleans())
def test_python_mbqm_is_the_c_requantization(c, x, m, shift, single):
    assert mbqm(x, m, shift, single) == c.mbqm(x, m, shift, int(single))


@pytest.mark.parametrize("x", [-(1 << 31), -(1 << 30) - 1, -5, -1, 0, 1, 5, (1 << 30) + 1, (1 << 31) - 1])
@pytest.mark.parametrize("shift", [-31, -22, -21, -2, -1, 0, 1, 7])
def test_python_mbqm_at_the_edges(c, x, shift):
    for m, single in itertools.product([0, 1, (1 << 30), (1 << 31) - 1], [False, True]):
        assert mbqm(x, m, shift, single) == c.mbqm(x, m, shift, int(single)), (x, m, shift, single)


def _outputs(w: np.ndarray, folded: np.ndarray, m: np.ndarray, s: np.ndarray, single: bool) -> np.ndarray:
    """Every channel's requantized accumulator for every int8 input of a layer with 2 taps."""
    xs = np.array(list(itertools.product(range(-128, 128), repeat=2)), dtype=np.int64)
    acc = folded[None, :].astype(np.int64) + xs @ w.astype(np.int64).T
    return np.array([[mbqm(int(a), int(m[ch]), int(s[ch]), single) for ch, a in enumerate(row)] for row in acc])


@pytest.mark.parametrize("single", [False, True])
def test_constant_channels_are_rewritten_exactly(single):
    # channel 0 in range; channel 1 a near-zero multiplier (shift -30), constant 0; channel 2 a
    # zero multiplier with shift 0; channel 3 shift -25 with a bias that makes it constant 3
    w = np.array([[3, -7], [100, -100], [5, 6], [1, -1]], dtype=np.int8)
    bias = np.array([10, 20, -30, 3 << 26], dtype=np.int32)
    m = np.array([1 << 30, 1 << 30, 0, 1 << 30], dtype=np.int32)
    s = np.array([-8, -30, 0, -25], dtype=np.int32)
    folded = folded_bias(bias, w, input_offset=5, channel_axis=0)
    out = fold_constant_channels(w, folded, m, s, channel_axis=0, single=single)
    assert out is not None and out.channels == (1, 2, 3)
    assert all(rq_fast(int(a), int(b)) for a, b in zip(out.multiplier, out.shift))
    assert (out.weights[0] == w[0]).all() and not out.weights[1:].any()
    assert out.folded_bias[0] == folded[0] and out.multiplier[0] == m[0] and out.shift[0] == s[0]
    assert (_outputs(w, folded, m, s, single) == _outputs(out.weights, out.folded_bias, out.multiplier,
                                                          out.shift, single)).all()
    assert list(out.folded_bias[1:]) == [0, 0, 8 * 3]


def test_a_channel_that_is_not_constant_leaves_the_layer_alone():
    # shift -22 with a bias at a rounding step: the output is 0 or 1 depending on the input
    w = np.array([[3, -7], [100, 100]], dtype=np.int8)
    m = np.array([1 << 30, (1 << 31) - 1], dtype=np.int32)
    s = np.array([-8, -22], dtype=np.int32)
    folded = np.array([0, (1 << 21)], dtype=np.int32)
    assert mbqm(int(folded[1]) - 25600, int(m[1]), -22, False) != mbqm(int(folded[1]) + 25400, int(m[1]), -22, False)
    assert fold_constant_channels(w, folded, m, s, channel_axis=0, single=False) is None


def test_a_layer_in_range_is_left_alone():
    w = np.array([[3, -7]], dtype=np.int8)
    one = np.array([1 << 30], dtype=np.int32)
    assert fold_constant_channels(w, np.array([0], np.int32), one, np.array([-5], np.int32), 0, False) is None


def test_depthwise_channels_are_on_the_last_axis():
    w = np.zeros((1, 1, 2, 3), dtype=np.int8)   # 1HWC, 3 channels, 2 taps
    w[0, 0, :, 0] = [3, -7]
    w[0, 0, :, 1] = [9, 9]
    w[0, 0, :, 2] = [-4, 2]
    m = np.array([1 << 30, 1 << 30, 1 << 30], dtype=np.int32)
    s = np.array([-8, -31, -6], dtype=np.int32)
    out = fold_constant_channels(w, np.array([0, 0, 0], np.int32), m, s, channel_axis=3, single=False)
    assert out is not None and out.channels == (1,)
    assert (out.weights[..., 0] == w[..., 0]).all() and (out.weights[..., 2] == w[..., 2]).all()
    assert not out.weights[..., 1].any()


def test_vww_fast_layers_requantize_on_the_fast_path():
    graph = read_tflite(MODELS / "vww_96_int8.tflite")
    layers = plan_model(graph, "tflm", True, "off").layers
    pairs = {layer.index: list(zip(layer.params.quant.multiplier.data.reshape(-1),
                                   layer.params.quant.shift.data.reshape(-1)))
             for layer in layers if isinstance(getattr(layer.params, "quant", None), PerChannelQuant)}
    before = plan_model(graph, "tflm", True, "off", kernels="reference").layers
    slow_before = [layer.index for layer in before if isinstance(getattr(layer.params, "quant", None), PerChannelQuant)
                   and not all(rq_fast(int(a), int(b)) for a, b in zip(layer.params.quant.multiplier.data.reshape(-1),
                                                                       layer.params.quant.shift.data.reshape(-1)))]
    assert len(slow_before) == 11   # the model as exported
    assert all(rq_fast(int(a), int(b)) for pair in pairs.values() for a, b in pair)
