"""The memory scheduler: in-place layers, overlapping pointwise convs, patch-based
inference and placement. Every plan stays bit-exact (checked against TFLM, in a
debug build that fills free arena bytes with a canary after every layer and
fails on a stray write), no two live buffers overlap beyond what a kernel
allows, and the arena beats TF-Lite Micro's, measured in the same run."""

from __future__ import annotations

import re
import subprocess

import numpy as np
import pytest
from conftest import require_tool
from hypothesis import given
from hypothesis import strategies as st
from opmodels import build

from tinyengine.cli import main as tinyml
from tinyengine.core.errors import TinyMLError
from tinyengine.core.patch import PatchSpec, candidate_specs
from tinyengine.core.planner import check_no_overlap
from tinyengine.driver.bench import bench_model
from tinyengine.driver.boards import load_board
from tinyengine.driver.pipeline import compile_model, write_output
from tinyengine.driver.targets import firmware_for
from tinyengine.driver.verify import random_inputs, verify_model, verify_target

MODELS = ["vww_96_int8", "pretrainedResnet_quant", "kws_ref_model", "ad01_int8"]


def _verify(compiled, tmp_path, count=8, target="host", canary=True):
    out = write_output(compiled, tmp_path / compiled.graph.name)
    return verify_target(compiled, out, random_inputs(compiled.graph, count, 5), target, canary=canary)


@pytest.mark.parametrize("patch", ["off", "auto"])
@pytest.mark.parametrize("name", MODELS)
def test_shared_model_bit_exact_with_and_without_patches(models_dir, tmp_path, name, patch):
    """Bit-exact vs TFLM in the canary build; the plan has no illegal overlap."""
    compiled = compile_model(models_dir / f"{name}.tflite", patch=patch)
    assert check_no_overlap(compiled.plan) == []
    result = _verify(compiled, tmp_path)
    assert result.ok, result.summary()


@pytest.mark.parametrize("name", ["vww_96_int8", "pretrainedResnet_quant"])
def test_patched_model_bit_exact_on_cortex_m(models_dir, tmp_path, name):
    require_tool("qemu-system-arm")
    compiled = compile_model(models_dir / f"{name}.tflite", patch="auto")
    assert compiled.stage is not None
    result = _verify(compiled, tmp_path, count=4, target="qemu-an386", canary=False)
    assert result.ok, result.summary()


@pytest.mark.parametrize("name", MODELS)
def test_layer_by_layer_plan_within_5_percent_of_lower_bound(models_dir, name):
    plan = compile_model(models_dir / f"{name}.tflite").plan
    assert plan.arena_bytes <= 1.05 * plan.lower_bound_bytes, (plan.arena_bytes, plan.lower_bound_bytes)


@pytest.mark.parametrize("name", MODELS)
def test_arena_below_tflm_measured_in_the_same_run(models_dir, name):
    row = bench_model(models_dir / f"{name}.tflite")
    assert row.inplace <= row.plain and row.patched <= row.inplace
    assert row.best <= row.tflm_head < row.tflm_total
    if name != "ad01_int8":   # AD's TFLM activations are already minimal (768 B)
        assert row.best < row.tflm_head


def test_inplace_and_patches_reduce_vww_and_kws(models_dir):
    vww = bench_model(models_dir / "vww_96_int8.tflite")
    kws = bench_model(models_dir / "kws_ref_model.tflite")
    assert kws.inplace < 0.6 * kws.plain                  # pointwise convs overlapping their input
    assert vww.patched < 0.7 * vww.inplace                # the patched first stage
    assert vww.patched <= 0.31 * vww.tflm_total


def test_plan_peak_is_what_the_generated_code_uses(models_dir, tmp_path):
    """model.c's arena is the plan's, every arena offset it uses lies inside it, and the firmware's
    tinyml_arena symbol has exactly that size."""
    compiled = compile_model(models_dir / "vww_96_int8.tflite", patch="auto")
    out = write_output(compiled, tmp_path / "vww")
    source = (out / "model.c").read_text()
    declared = int(re.search(r"static int8_t tinyml_arena\[(\d+)\]", source).group(1))
    assert declared == compiled.plan.arena_bytes
    offsets = [int(x) for x in re.findall(r"ARENA\((\d+)\)", source)]
    assert offsets and max(offsets) < declared
    require_tool("arm-none-eabi-nm")
    fw = firmware_for(compiled, out, load_board("qemu-an386"), out_dir=tmp_path / "fw")
    nm = subprocess.run(["arm-none-eabi-nm", "-S", str(fw.elf)], capture_output=True, text=True, check=True).stdout
    size = next(int(line.split()[1], 16) for line in nm.splitlines() if line.endswith(" tinyml_arena"))
    assert size == compiled.plan.arena_bytes


def test_canary_build_catches_a_stray_write(models_dir, tmp_path, monkeypatch):
    """Negative control: a plan that gives a tensor 16 bytes less than the kernel writes is refused
    at compile time by the bounds check, and with that check off it fails in the canary build
    (tinyml_run returns 1000 + the layer)."""
    import tinyengine.core.passes as passes
    import tinyengine.core.planner as planner

    original = planner.best_placement

    def shrunk(buffers, *args):
        placed, name = original(buffers, *args)
        victim = max((b for b in placed if b.tensor is not None), key=lambda b: b.size)
        return [b if b is not victim else planner.Buffer(b.key, b.tensor, b.name, b.size - 16, b.first, b.last,
                                                          b.offset) for b in placed], name
    monkeypatch.setattr(planner, "best_placement", shrunk)
    with pytest.raises(TinyMLError, match=r"internal error: layer \d+ \w+ .* would touch bytes 0\.\.\d+ of .* "
                                          r"whose buffer holds \d+"):
        compile_model(models_dir / "kws_ref_model.tflite")
    monkeypatch.setattr(passes, "check_bounds", lambda *args: None)
    compiled = compile_model(models_dir / "kws_ref_model.tflite")
    with pytest.raises(TinyMLError, match=r"returned 10\d\d"):
        _verify(compiled, tmp_path, count=1)


def test_patch_errors_name_the_layer(models_dir, tmp_path, capsys):
    model = str(models_dir / "vww_96_int8.tflite")
    assert tinyml(["compile", model, "-o", str(tmp_path / "a"), "--patch", "3x3@30"]) == 2
    assert "cannot patch at layer 30: layer 28 RESHAPE cannot run patch by patch" in capsys.readouterr().err
    assert tinyml(["compile", model, "-o", str(tmp_path / "b"), "--patch", "lots"]) == 2
    assert "--patch must be 'auto', 'off' or <rows>x<cols>@<layer>" in capsys.readouterr().err
    assert tinyml(["compile", model, "-o", str(tmp_path / "c"), "--patch", "50x1@3"]) == 2
    assert "does not fit the stage output's 24x24" in capsys.readouterr().err
    assert not any((tmp_path / d).exists() for d in "abc")


def test_compile_patch_auto_writes_schedule_report_and_plot(models_dir, tmp_path, capsys):
    out = tmp_path / "vww"
    assert tinyml(["compile", str(models_dir / "vww_96_int8.tflite"), "-o", str(out), "--patch", "auto"]) == 0
    assert "patch-based stage" in capsys.readouterr().out
    import json

    plan = json.loads((out / "plan.json").read_text())
    stage = plan["schedule"]["patch_stage"]
    assert stage["overhead"] <= 0.2 and stage["patches"] == stage["rows"] * stage["cols"]
    assert plan["schedule"]["patch_candidates"] and plan["schedule"]["in_place"]
    report = (out / "report.md").read_text()
    assert "## Memory at each step" in report and "**peak**" in report and "patch-based stage" in report
    assert (out / "memory.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((out / "meta.json").read_text())["patch"] == stage["spec"]
    assert tinyml(["verify", str(models_dir / "vww_96_int8.tflite"), "--patch", stage["spec"], "--inputs", "2"]) == 0


def test_bench_cli_prints_measured_tflm_arena(models_dir, capsys, tmp_path):
    assert tinyml(["bench", str(models_dir / "kws_ref_model.tflite"), "--json", str(tmp_path / "b.json")]) == 0
    text = capsys.readouterr().out
    assert "| kws_ref_model | 24,272 | 16,000 |" in text
    import json

    row = json.loads((tmp_path / "b.json").read_text())[0]
    assert row["tflm_total"] == 24272 and row["best"] < row["tflm_total"]


# ---- property test: random conv networks, random patch splits and grids ----

def _net_factory(r):
    import tensorflow as tf

    rng = np.random.default_rng(r["seed"])
    weights = []
    for block in r["blocks"]:
        kind, k, stride, cout = block
        if kind == "conv":
            weights.append(tf.constant(rng.normal(0, 0.4, size=(k, k, r["channels"][len(weights)], cout))
                                       .astype(np.float32)))
        elif kind == "dw":
            weights.append(tf.constant(rng.normal(0, 0.4, size=(k, k, r["channels"][len(weights)], 1))
                                       .astype(np.float32)))
        elif kind == "res":
            c = r["channels"][len(weights)]
            weights.append(tf.constant(rng.normal(0, 0.3, size=(k, k, c, c)).astype(np.float32)))
        else:
            weights.append(None)

    def f(x):
        for (kind, k, stride, _cout), w in zip(r["blocks"], weights):
            if kind == "conv":
                x = tf.nn.relu(tf.nn.conv2d(x, w, strides=stride, padding=r["padding"]))
            elif kind == "dw":
                x = tf.nn.relu6(tf.nn.depthwise_conv2d(x, w, strides=[1, stride, stride, 1], padding=r["padding"]))
            elif kind == "res":
                x = tf.nn.relu(x + tf.nn.conv2d(x, w, strides=1, padding="SAME"))
            elif kind == "avg":
                x = tf.nn.avg_pool2d(x, k, stride, padding=r["padding"])
            else:
                x = tf.nn.max_pool2d(x, k, stride, padding=r["padding"])
        return tf.reduce_mean(x, axis=[1, 2])
    return f


@st.composite
def conv_nets(draw):
    size0 = size = draw(st.integers(10, 24))
    c = draw(st.sampled_from([1, 3, 4]))
    blocks, channels = [], []
    for _ in range(draw(st.integers(2, 5))):
        channels.append(c)
        kind = draw(st.sampled_from(["conv", "conv", "dw", "res", "avg", "max"]))
        k = draw(st.sampled_from([1, 2, 3, 5]))
        stride = draw(st.sampled_from([1, 1, 2]))
        if kind in ("avg", "max"):
            k = max(k, 2)
        if size < 2 * k + 2:
            kind, stride = "conv", 1
        cout = draw(st.sampled_from([2, 4, 8])) if kind == "conv" else c
        if kind == "res":
            k, stride = draw(st.sampled_from([1, 3])), 1
        blocks.append((kind, k, stride, cout))
        c = cout
        size = size // stride
    padding = draw(st.sampled_from(["SAME", "VALID"]))
    return {"blocks": blocks, "channels": channels, "padding": padding, "seed": draw(st.integers(0, 999))}, size0


@given(net=conv_nets(), pick=st.integers(0, 10_000),
       grid=st.tuples(st.integers(1, 5), st.integers(1, 5)).filter(lambda g: g[0] * g[1] > 1))
def test_random_networks_random_patches_bit_exact(net, pick, grid, tmp_path_factory):
    recipe, size = net
    model = build("patchnet", recipe, _net_factory, [(1, size, size, recipe["channels"][0])])
    base = compile_model(model)
    specs = candidate_specs(base.graph, base.layers)
    if not specs:
        return
    splits = sorted({s.split for s in specs}, reverse=True)   # deepest first: the interesting stages
    split = splits[pick % len(splits)]
    out_h, out_w = base.graph.tensors[base.layers[split].outputs[0]].shape[1:3]
    spec = PatchSpec(split, min(grid[0], out_h), min(grid[1], out_w))
    try:
        compiled = compile_model(model, patch=spec)
    except TinyMLError as exc:   # only the documented refusals
        assert "would need a larger input region" in str(exc), exc
        return
    assert check_no_overlap(compiled.plan) == []
    result = _verify(compiled, tmp_path_factory.mktemp("p"), count=3)
    assert result.ok, f"{spec}: {result.summary()}"


def _mbv2_factory(r):
    import tensorflow as tf

    from tinynas.space import build_keras, mobilenetv2_like

    tf.keras.utils.set_random_seed(r["seed"])
    model = build_keras(mobilenetv2_like(r["res"], r["width"], 3, 2, depths=(1, 2, 2, 2, 1, 1)))
    return lambda x: model(x, training=False)


@pytest.mark.parametrize("patch", ["off", "auto"])
def test_mobilenetv2_style_model_bit_exact(tmp_path, patch):
    """Inverted residuals: expanding pointwise convs overlap their input from below, projecting ones
    from above, depthwise runs in place, residual adds into the dying input; plus patches."""
    model = build("mbv2", {"res": 48, "width": 0.35, "seed": 1}, _mbv2_factory, [(1, 48, 48, 3)])
    compiled = compile_model(model, patch=patch)
    assert check_no_overlap(compiled.plan) == []
    assert any(layer.overlaps and layer.overlaps[1] < 0 for layer in compiled.layers)
    if patch == "auto":
        assert compiled.stage is not None
    result = _verify(compiled, tmp_path, count=4)
    assert result.ok, result.summary()


def test_verify_model_accepts_schedule_options(models_dir):
    result = verify_model(models_dir / "kws_ref_model.tflite", "tflm", count=2, inplace=False, kernels="reference")
    assert result.ok and result.arena_bytes == 16_000   # every activation out of place, no kernel scratch
