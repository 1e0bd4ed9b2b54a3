"""Bad input gives a one-line error naming the problem, a non-zero exit status, and
no output directory: truncated file, random bytes, a float model, an unsupported op."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from opmodels import CACHE

from tinyengine.core.errors import MalformedModelError, UnsupportedModelError
from tinyengine.core.reader import parse_tflite


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tinyengine", *args], capture_output=True, text=True)


def assert_clean_failure(tmp_path: Path, model: Path, *needles: str) -> None:
    out = tmp_path / "out"
    proc = run_cli("compile", str(model), "-o", str(out))
    assert proc.returncode == 2, proc
    err = proc.stderr.strip()
    assert "Traceback" not in err, err
    assert len(err.splitlines()) == 1, err
    for needle in needles:
        assert needle in err, err
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


def test_truncated_file(tmp_path, models_dir):
    data = (models_dir / "kws_ref_model.tflite").read_bytes()
    for cut in (10, 100, 1000, len(data) // 2):
        bad = tmp_path / f"cut{cut}.tflite"
        bad.write_bytes(data[:cut])
        with pytest.raises(MalformedModelError):
            parse_tflite(bad.read_bytes(), bad.name)
    assert_clean_failure(tmp_path, tmp_path / f"cut{len(data) // 2}.tflite", "truncated or corrupt")


def test_random_bytes(tmp_path):
    rng = np.random.default_rng(0)
    bad = tmp_path / "noise.tflite"
    bad.write_bytes(rng.integers(0, 256, 5000, dtype=np.uint8).tobytes())
    assert_clean_failure(tmp_path, bad, "not a TFLite model")
    # random bytes behind a valid identifier must not crash the reader either
    for i in range(30):
        blob = bytearray(rng.integers(0, 256, 400, dtype=np.uint8).tobytes())
        blob[4:8] = b"TFL3"
        with pytest.raises((MalformedModelError, UnsupportedModelError)):
            parse_tflite(bytes(blob), f"fuzz{i}")


def test_missing_file(tmp_path):
    assert_clean_failure(tmp_path, tmp_path / "nope.tflite", "cannot read model")


def _float_model() -> Path:
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    path = CACHE / "float_conv.tflite"
    if not path.exists():
        w = tf.constant(np.ones((3, 3, 2, 4), np.float32))
        module = tf.Module()
        module.f = tf.function(lambda x: tf.nn.conv2d(x, w, 1, "SAME"),
                               input_signature=[tf.TensorSpec((1, 8, 8, 2), tf.float32)])
        conv = tf.lite.TFLiteConverter.from_concrete_functions([module.f.get_concrete_function()], module)
        CACHE.mkdir(parents=True, exist_ok=True)
        path.write_bytes(conv.convert())
    return path


def test_float_model(tmp_path):
    assert_clean_failure(tmp_path, _float_model(), "float32", "CONV_2D", "fully-int8")


def test_unsupported_op(tmp_path):
    from opmodels import build

    def factory(r):
        import tensorflow as tf

        return lambda x: tf.abs(x) * 2.0

    # int8 ABS: TF-Lite Micro and LiteRT run it, tinyml does not
    model = build("abs", {}, factory, [(1, 16)], [(-2.0, 2.0)])
    assert_clean_failure(tmp_path, model, "unsupported op ABS", "#0")


def _litert_refuses(tmp_path: Path) -> Path:
    """A model TF-Lite Micro runs and LiteRT refuses: a per-tensor bias whose quantized_dimension
    (3) is past its rank, as some older exporters wrote it."""
    import flatbuffers
    from test_int8_io import _model
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(_model(False).read_bytes(), 0))
    bias = next(t for t in model.subgraphs[0].tensors if t.type == schema.TensorType.INT32 and len(t.shape) == 1)
    bias.quantization.quantizedDimension = 3
    b = flatbuffers.Builder(1024)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    path = tmp_path / "old_export.tflite"
    path.write_bytes(b.Output())
    return path


def test_reference_both_when_litert_refuses(tmp_path):
    """--reference both: LiteRT's refusal is one line, TFLM's check still runs and reports, exit 0;
    --reference litert alone: the same line as the error, exit 2."""
    model = _litert_refuses(tmp_path)
    both = run_cli("verify", str(model), "--reference", "both", "--inputs", "2")
    assert both.returncode == 0, both.stderr
    lines = both.stdout.strip().splitlines()
    assert len(lines) == 2, both.stdout
    assert "2/2 inputs bit-exact vs tflm" in lines[0]
    assert lines[1].startswith("old_export: not checked: LiteRT cannot check 'old_export.tflite': ")
    assert "quantized_dimension" in lines[1]
    alone = run_cli("verify", str(model), "--reference", "litert", "--inputs", "2")
    assert alone.returncode == 2 and "Traceback" not in alone.stderr
    assert alone.stderr.strip().count("\n") == 0 and "LiteRT cannot check" in alone.stderr
