"""The four MLPerf Tiny reference models: compiled C is bit-exact on the host with
TF-Lite Micro and with LiteRT (each under its own rounding contract), on 50 random
inputs and on real Fashion-MNIST images resized to each model's input."""

import pytest
from conftest import require

from tinyengine.core.planner import check_no_overlap
from tinyengine.core.reader import read_tflite
from tinyengine.driver.baselines import TFLM_ARENA
from tinyengine.driver.datasets import FASHION_MNIST_DIR, fashion_mnist
from tinyengine.driver.pipeline import compile_model
from tinyengine.driver.verify import image_inputs, verify_model

MODELS = ["vww_96_int8", "pretrainedResnet_quant", "kws_ref_model", "ad01_int8"]


@pytest.mark.parametrize("contract", ["tflm", "litert"])
@pytest.mark.parametrize("name", MODELS)
def test_mlperf_model_bit_exact_random_inputs(models_dir, name, contract):
    result = verify_model(models_dir / f"{name}.tflite", contract, count=50, seed=1)
    assert result.ok and result.inputs == 50, result.summary()


@pytest.mark.parametrize("contract", ["tflm", "litert"])
@pytest.mark.parametrize("name", MODELS)
def test_mlperf_model_bit_exact_fashion_mnist(models_dir, name, contract):
    require((FASHION_MNIST_DIR / "t10k-images-idx3-ubyte.gz").exists(), "dataset-fashion-mnist")
    images, _ = fashion_mnist("test")
    inputs = image_inputs(read_tflite(models_dir / f"{name}.tflite"), images, 20)
    result = verify_model(models_dir / f"{name}.tflite", contract, input_sets=inputs)
    assert result.ok and result.inputs == 20, result.summary()


@pytest.mark.parametrize("name", MODELS)
def test_plan_has_no_overlapping_live_tensors(models_dir, name):
    compiled = compile_model(models_dir / f"{name}.tflite")
    assert check_no_overlap(compiled.plan) == []
    assert compiled.plan.arena_bytes >= compiled.plan.lower_bound_bytes


# A layer-by-layer plan must never need more than TF-Lite Micro's arena.
@pytest.mark.parametrize("name", MODELS)
def test_arena_smaller_than_tflm(models_dir, name):
    assert compile_model(models_dir / f"{name}.tflite").plan.arena_bytes < TFLM_ARENA[name]


def test_contracts_really_differ_on_ad(models_dir):
    """The tflm contract's code checked against LiteRT must fail on the AD model, at its first
    FULLY_CONNECTED: the two oracles round per-tensor int8 FC differently."""
    import tempfile
    from pathlib import Path

    from tinyengine.driver.pipeline import write_output
    from tinyengine.driver.verify import random_inputs, verify_host

    compiled = compile_model(models_dir / "ad01_int8.tflite", "tflm")
    with tempfile.TemporaryDirectory() as tmp:
        out = write_output(compiled, Path(tmp) / "ad")
        result = verify_host(compiled, out, random_inputs(compiled.graph, 5, 0), reference="litert")
    assert not result.ok
    assert result.first_mismatch is not None and result.first_mismatch.op == "FULLY_CONNECTED"
