"""The generated code under AddressSanitizer and UndefinedBehaviorSanitizer.

Property checked: the MLPerf models (both schedules: in place with the fast kernels, and out
of place with the reference kernels; with and without patches), the golden record's random
networks (conv, depthwise, residual, SE, pooling, concat, ...), the recurrent and PAD models and
the fuzz survivors that compile run with no sanitizer report, and their outputs equal the
normal build's byte for byte."""

from __future__ import annotations

from pathlib import Path

import fuzzer
import numpy as np
import pytest
from sanitize import build_sanitized, run_sanitized

from tinyengine.driver.pipeline import compile_model, write_output
from tinyengine.driver.targets import run_batch
from tinyengine.driver.verify import random_inputs

GOLDEN = Path(__file__).resolve().parent / "golden"


def _check(model: Path, tmp_path: Path, count: int = 3, **schedule) -> None:
    compiled = compile_model(model, **schedule)
    out = write_output(compiled, tmp_path / "m")
    exe = build_sanitized(compiled, out, tmp_path / "asan")
    sets = random_inputs(compiled.graph, count, seed=4)
    ours = run_sanitized(exe, compiled, sets)
    normal = run_batch(compiled, out, "host", sets).outputs
    for a, b in zip(ours, normal):
        assert all(np.array_equal(x, y) for x, y in zip(a, b))


@pytest.mark.parametrize("name", ["ad01_int8", "kws_ref_model", "pretrainedResnet_quant", "vww_96_int8"])
@pytest.mark.parametrize("schedule", ["fast-inplace", "reference-out-of-place", "patch-auto"])
def test_mlperf_models_are_clean(models_dir, tmp_path, name, schedule):
    options = {"fast-inplace": {}, "reference-out-of-place": {"inplace": False, "kernels": "reference"},
               "patch-auto": {"patch": "auto"}}[schedule]
    _check(models_dir / f"{name}.tflite", tmp_path, count=2, **options)


@pytest.mark.parametrize("net", sorted(p.name for p in GOLDEN.glob("*.tflite")))
def test_random_networks_are_clean(tmp_path, net):
    _check(GOLDEN / net, tmp_path, patch="auto")


def test_recurrent_and_pad_models_are_clean(tmp_path):
    from test_ops_lstm import _model as lstm
    from test_ops_svdf import svdf_model
    from test_padfold import _model as padded

    for k, model in enumerate([lstm(b=2, t=4, f=5, u=7), lstm(layers=2, u=6, t=5), svdf_model(batches=2),
                               padded(True)]):
        _check(model, tmp_path / str(k), count=4)


def test_fuzz_survivors_are_clean(tmp_path):
    """Mutants of the golden networks that still compile (their shapes, scales and options
    edited into something valid) are built and run sanitized too."""
    rng = np.random.default_rng(21)
    schema = fuzzer._schema()
    pool = fuzzer.seeds(include_mlperf=False)
    done = 0
    for _attempt in range(400):
        k = int(rng.integers(0, len(pool)))
        data, _ = fuzzer.mutate(pool[k], rng, schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(pool[k], 0)))
        if fuzzer.run_one(data, "compile", 20.0)[0] != "ok":
            continue
        path = tmp_path / f"survivor{done}.tflite"
        path.write_bytes(data)
        _check(path, tmp_path / f"s{done}", count=2)
        done += 1
        if done == 8:
            break
    assert done == 8, f"only {done} survivors in 400 mutants"
