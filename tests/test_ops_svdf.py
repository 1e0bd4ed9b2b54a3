"""SVDF (int8 input and output, int16 weights_time and state; TFLM's keyword model's op).

The TensorFlow converter emits SVDF from no Keras or tf.function model, so the test models are
written directly with the flatbuffer schema (tests/tflite_writer.py): random int8 feature
weights, int16 time weights, int32 bias and the quantization TFLM's own SVDF tests use in
spirit (bias scale = state scale x time-weights scale, checked by TFLM's Prepare).

Properties checked: bit-exact with TFLM and LiteRT on the host and in QEMU over batch, input
size, rank, memory, units and scales (hypothesis), the state carried across every call of a
sequence and compared call by call; the state matters (a fresh run of a later input differs)."""

from __future__ import annotations

import hashlib
import json

import numpy as np
from helpers import assert_bit_exact
from hypothesis import given
from hypothesis import strategies as st
from opmodels import CACHE
from strategies import seed
from tflite_writer import OpSpec, Spec, write_model

from tinyengine.driver.pipeline import compile_model
from tinyengine.driver.verify import random_inputs


def svdf_model(batches: int = 1, size: int = 10, units: int = 4, rank: int = 2, memory: int = 8,
               s_in: float = 0.02, z_in: int = -3, s_state: float = 0.004, s_out: float = 0.05, z_out: int = 5,
               model_seed: int = 0):
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    recipe = dict(b=batches, i=size, u=units, r=rank, m=memory, si=s_in, zi=z_in, ss=s_state, so=s_out, zo=z_out,
                  seed=model_seed, v=1)
    key = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]
    path = CACHE / f"svdf-{key}.tflite"
    if path.exists():
        return path
    rng = np.random.default_rng(model_seed)
    filters = units * rank
    s_wf, s_wt = 0.01, 2.0 ** -12
    tensors = [
        Spec("input", (batches, size), np.int8, s_in, z_in),
        Spec("weights_feature", (filters, size), np.int8, s_wf, 0, rng.integers(-127, 128, (filters, size))),
        Spec("weights_time", (filters, memory), np.int16, s_wt, 0, rng.integers(-4096, 4097, (filters, memory))),
        Spec("bias", (units,), np.int32, float(np.float32(s_state) * np.float32(s_wt)), 0,
             rng.integers(-20000, 20001, units)),
        Spec("state", (batches, memory * filters), np.int16, s_state, 0, variable=True),
        Spec("output", (batches, units), np.int8, s_out, z_out),
    ]
    options = schema.SVDFOptionsT()
    options.rank, options.fusedActivationFunction = rank, 1     # LiteRT insists on RELU (and ignores it)
    op = OpSpec("SVDF", (0, 1, 2, 3, 4), (5,), "SVDFOptions", options, version=3)
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    write_model(tmp, tensors, [op], [0], [5])
    tmp.replace(path)
    return path


cases = st.sampled_from([
    dict(), dict(batches=2, size=7, units=3, rank=1, memory=5), dict(size=20, units=8, rank=3, memory=4),
    dict(s_in=0.1, z_in=10, s_state=0.02, s_out=0.2, z_out=-20), dict(memory=1, rank=1, units=6),
    dict(batches=3, size=3, units=2, rank=2, memory=12, s_state=0.001, s_out=0.01),
])


@given(case=cases, model_seed=st.integers(0, 3), s=seed)
def test_svdf_bit_exact_call_by_call(case, model_seed, s):
    model = svdf_model(**case, model_seed=model_seed)
    assert_bit_exact(model, count=8, seed=s, expect_ops={"SVDF"})


def test_svdf_state_matters():
    compiled = compile_model(svdf_model())
    sets = random_inputs(compiled.graph, 3, seed=2)
    oracle = compiled.oracle()
    in_sequence = [oracle.run(x)[0] for x in sets]
    oracle.reset()
    assert not np.array_equal(oracle.run(sets[2])[0], in_sequence[2])
    assert compiled.plan.state_bytes == 2 * 8 * 8
