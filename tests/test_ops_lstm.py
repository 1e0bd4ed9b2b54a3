"""UNIDIRECTIONAL_SEQUENCE_LSTM (int8, the integer LSTM of TF-Lite Micro or of LiteRT) and the
state it keeps.

Properties checked, on Keras (tf_keras) LSTMs converted with full integer quantization:
- bit-exact with TF-Lite Micro and with LiteRT, each under its own contract, on the host and in
  QEMU over shapes, batch sizes, time-major layout, a Dense after it, two stacked LSTMs and
  return_sequences=False (hypothesis; cell scales 2^-13 to 2^-17 among the cases, where LiteRT's
  tanh of the cell state takes 2, 0 or none of its cases), with the state carried across every
  call of a sequence, compared call by call;
- the state matters (the oracle's outputs after earlier calls differ from a fresh run), and
  `tinyml_reset()` starts a new sequence: the generated code then repeats its first outputs;
- the state lives outside the arena (plan.state_bytes, model.h's _STATE_BYTES);
- the two arithmetics differ: the code compiled for one contract disagrees with the other's
  interpreter, so each contract's check can fail."""

from __future__ import annotations

import numpy as np
from helpers import assert_bit_exact
from hypothesis import given
from hypothesis import strategies as st
from opmodels import build_keras
from strategies import seed

from tinyengine.core.reader import read_tflite
from tinyengine.driver.pipeline import compile_model, write_output
from tinyengine.driver.targets import run_batch
from tinyengine.driver.verify import random_inputs


def _lstm_factory(r):
    import tf_keras as keras

    if r["time_major"]:
        inp = keras.Input((r["b"], r["f"]), batch_size=r["t"])
    else:
        inp = keras.Input((r["t"], r["f"]), batch_size=r["b"])
    x = inp
    for k in range(r["layers"]):
        last = k == r["layers"] - 1
        x = keras.layers.LSTM(r["u"], return_sequences=r["seq"] or not last, time_major=r["time_major"])(x)
    if r["dense"]:
        x = keras.layers.Dense(3)(x)
    return keras.Model(inp, x)


def _model(b=1, t=6, f=4, u=8, seq=True, time_major=False, layers=1, dense=False, rng=(-1.0, 1.0)):
    r = dict(b=b, t=t, f=f, u=u, seq=seq, time_major=time_major, layers=layers, dense=dense, v=1)
    shape = (t, b, f) if time_major else (b, t, f)
    return build_keras("lstm", r, _lstm_factory, [shape], [rng])


cases = st.sampled_from([
    dict(), dict(b=2, t=4, f=5, u=7), dict(t=10, f=3, u=16, seq=False), dict(u=5, dense=True),
    dict(b=3, t=3, f=2, u=4, time_major=True), dict(layers=2, u=6, t=5), dict(f=12, u=20, t=3, rng=(-4.0, 4.0)),
    dict(b=2, t=7, f=1, u=3, seq=False, dense=True),
])


@given(case=cases, s=seed)
def test_lstm_bit_exact_call_by_call(case, s):
    model = _model(**case)
    assert_bit_exact(model, count=6, seed=s, expect_ops={"UNIDIRECTIONAL_SEQUENCE_LSTM"})


def test_state_carries_over_and_reset_starts_again(tmp_path):
    model = _model(b=2, t=4, f=5, u=7)
    compiled = compile_model(model)
    g = compiled.graph
    assert len(g.variables) == 2
    assert compiled.plan.state_bytes == 16 + 2 * 7 * 2      # int8 hidden (14 B in a 16-byte slot), int16 cell
    out = write_output(compiled, tmp_path / "m")
    assert "#define TINYML_STATE_BYTES 44" in (out / "model.h").read_text()
    sets = random_inputs(g, 4, seed=1)
    oracle = compiled.oracle()
    oracle.reset()
    in_sequence = [oracle.run(x)[0] for x in sets]
    oracle.reset()
    fresh = [oracle.run(x)[0] for x in sets[1:2]]
    assert not np.array_equal(in_sequence[1], fresh[0]), "the state should change the second call's output"
    ours = run_batch(compiled, out, "host", sets + sets).outputs    # no reset in between: state continues
    assert all(np.array_equal(a[0], b) for a, b in zip(ours[:4], in_sequence))
    assert not np.array_equal(ours[4][0], in_sequence[0])
    again = run_batch(compiled, out, "host", sets).outputs          # a batch starts from tinyml_reset()
    assert all(np.array_equal(a[0], b) for a, b in zip(again, in_sequence))


def test_each_contracts_lstm_disagrees_with_the_other_interpreter(tmp_path):
    """The gemmlowp sigmoid/tanh and single-rounded cell products are LiteRT's, the table and
    double rounding TFLM's: on one sequence each compiled model equals its own oracle call by
    call and differs from the other's somewhere (so neither check passes by accident)."""
    model = _model(b=2, t=4, f=5, u=7)
    runs = {}
    for contract in ("tflm", "litert"):
        compiled = compile_model(model, contract)
        sets = random_inputs(compiled.graph, 4, seed=3)
        oracle = compiled.oracle()
        oracle.reset()
        runs[contract] = ([oracle.run(x)[0] for x in sets],
                          [o[0] for o in run_batch(compiled, write_output(compiled, tmp_path / contract), "host",
                                                   sets).outputs])
    for contract, (theirs, ours) in runs.items():
        assert all(np.array_equal(a, b) for a, b in zip(ours, theirs)), f"{contract}: not bit-exact with its oracle"
    assert not all(np.array_equal(a, b) for a, b in zip(runs["tflm"][1], runs["litert"][0])), \
        "TFLM's arithmetic matched LiteRT on every call: the contracts' LSTMs should differ"


def test_converter_emits_the_fused_op_with_variable_state():
    g = read_tflite(_model())
    assert [op.kind for op in g.ops] == ["UNIDIRECTIONAL_SEQUENCE_LSTM"]
    assert sorted(g.tensors[t].dtype for t in g.variables) == ["int16", "int8"]


def test_litert_requantizes_the_hidden_output_with_the_intermediates_scale(tmp_path):
    """LiteRT scales and offsets the hidden output by the op's fifth intermediate tensor, not the
    hidden state (the converter makes them equal): with that intermediate's scale and zero point
    changed in the file, the code compiled for litert takes them and stays bit-exact."""
    import flatbuffers

    from tinyengine.core.reader import schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(_model().read_bytes(), 0))
    sg = model.subgraphs[0]
    (op,) = [o for o in sg.operators if o.intermediates is not None and len(o.intermediates) == 5]
    q = sg.tensors[int(op.intermediates[4])].quantization
    q.scale = [float(np.float32(q.scale[0] * 1.7))]
    q.zeroPoint = [int(q.zeroPoint[0]) + 5]
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    patched = tmp_path / "lstm_patched.tflite"
    patched.write_bytes(builder.Output())
    (layer,) = [lay for lay in compile_model(patched, "litert").layers if lay.op == "UNIDIRECTIONAL_SEQUENCE_LSTM"]
    assert layer.params.hidden_zero_point == q.zeroPoint[0]
    assert_bit_exact(patched, count=4, contracts=("litert",))
