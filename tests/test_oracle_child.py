"""The reference interpreter in a child process (tinyengine/driver/oracle_child.py).

Properties checked: a model on which TF-Lite Micro aborts the process (SIGABRT in SOFTMAX's
Prepare) gives a one-line OracleRefusedError naming the interpreter, the model and the signal,
and this process goes on; on a model it runs, the child gives exactly the in-process oracle's
outputs, intermediate tensors and reset."""

from __future__ import annotations

from pathlib import Path

import flatbuffers
import numpy as np
import pytest
from conftest import MODELS, require
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from tinyengine.driver.oracle import OracleRefusedError, make_oracle
from tinyengine.driver.oracle_child import ChildOracle

KWS = MODELS / "kws_ref_model.tflite"


def _softmax_scale(path: Path, out: Path, scale: float) -> Path:
    """KWS with its SOFTMAX input's scale set to `scale`."""
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(path.read_bytes(), 0))
    sub = model.subgraphs[0]
    softmax = next(op for op in sub.operators
                   if max(model.operatorCodes[op.opcodeIndex].builtinCode,
                          model.operatorCodes[op.opcodeIndex].deprecatedBuiltinCode) == schema.BuiltinOperator.SOFTMAX)
    sub.tensors[softmax.inputs[0]].quantization.scale = [scale]
    b = flatbuffers.Builder(1024)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    out.write_bytes(b.Output())
    return out


def test_an_interpreter_that_aborts_is_a_one_line_refusal(tmp_path):
    require(KWS.exists(), f"{KWS}")
    model = _softmax_scale(KWS, tmp_path / "aborts.tflite", 1e-8)
    with pytest.raises(OracleRefusedError) as err:
        ChildOracle("tflm", model, 1)
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith("TF-Lite Micro cannot check 'aborts.tflite': it died with signal SIGABRT"), msg


def test_the_child_gives_what_the_interpreter_gives(tmp_path):
    require(KWS.exists(), f"{KWS}")
    child, local = ChildOracle("tflm", KWS, 1), make_oracle("tflm", KWS, 1)
    rng = np.random.default_rng(3)
    for _ in range(2):
        x = rng.integers(-128, 128, size=(1, 49, 10, 1), dtype=np.int8)
        a, b = child.run([x]), local.run([x])
        assert len(a) == 1 and np.array_equal(a[0], b[0])
        assert np.array_equal(child.tensor(5), local.tensor(5))
    child.reset()
    child.close()
