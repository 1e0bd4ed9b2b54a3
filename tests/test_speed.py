"""The speed benchmark (tinyengine/driver/speed.py) on the smallest shared model, one board,
the reference kernels in both columns and one input (about 10 s: two firmware runs, one
firmware build, cached after the first run)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from conftest import MODELS, require, require_tool

from tinyengine.driver.boards import load_board
from tinyengine.driver.firmware import code_flash_bytes
from tinyengine.driver.pipeline import compile_model, write_output
from tinyengine.driver.speed import MEASURED_ELSEWHERE, PUBLISHED, measure_speed, render_markdown, report_json
from tinyengine.driver.targets import firmware_for

MODEL = "ad01_int8"
BOARD = "qemu-an386"   # 25 MHz: one SysTick tick is exactly 40 instructions


@pytest.fixture(scope="module")
def report():
    require(MODELS.is_dir(), f"shared models in {MODELS}")
    require_tool("qemu-system-arm")
    require_tool("arm-none-eabi-gcc")
    return measure_speed([MODELS / f"{MODEL}.tflite"], [BOARD], kernel_sets=("reference", "reference"), inputs=1)


def test_layers_add_up_to_the_total(report):
    """The firmware charges each layer the ticks from the end of the previous layer's hook to the
    read at the start of its own (the hook's cost is charged to no layer) and reports the sum of
    those as the inference's total. So what holds, and is checked, is: the per-layer counts sum to
    the total exactly (here a tick is a whole 40 instructions, so no rounding), which is well within
    the 1% the hooks could have cost had the total been a separate read around the whole run."""
    for run in report.rows[0].runs:
        assert run.ok, run.error
        assert len(run.layers) == 10
        assert all(x.instructions > 0 for x in run.layers)
        assert run.layer_sum == run.total
        assert abs(run.layer_sum - run.total) <= 0.01 * run.total


def test_macs_match_the_plan(report):
    compiled = compile_model(MODELS / f"{MODEL}.tflite", kernels="reference")
    row = report.rows[0]
    assert row.macs == sum(layer.macs for layer in compiled.layers) > 0
    for run in row.runs:
        assert [(x.index, x.op, x.kernel, x.variant, x.macs) for x in run.layers] == \
               [(x.index, x.op, x.kernel, x.variant, x.macs) for x in compiled.layers]


def test_equal_kernel_sets_count_the_same(report):
    a, b = report.rows[0].runs
    assert a.totals == b.totals
    assert [x.instructions for x in a.layers] == [x.instructions for x in b.layers]


def test_markdown_names_the_figures_measured_elsewhere(report):
    md = render_markdown(report)
    pub = PUBLISHED[MODEL]
    assert MEASURED_ELSEWHERE in md and "TFLM 90b983c" in md
    assert f"{pub.tflm_cmsis_nn:,}" in md and f"{pub.tflm_reference:,}" in md
    assert f"{report.rows[0].runs[0].total:,}" in md
    assert f"### {MODEL} on {BOARD}" in md and "**#1**" in md
    doc = json.loads(json.dumps(report_json(report)))
    assert doc["rows"][0]["tflm_cmsis_nn"] == pub.tflm_cmsis_nn
    assert doc["rows"][0]["runs"][0]["total"] == report.rows[0].runs[0].total


def test_a_failing_column_is_reported_not_raised():
    require(MODELS.is_dir(), f"shared models in {MODELS}")
    report = measure_speed([MODELS / f"{MODEL}.tflite"], [BOARD], kernel_sets=("no-such-kernels",), inputs=1)
    run = report.rows[0].runs[0]
    assert not run.ok and run.error.startswith("build failed: ") and "\n" not in run.error
    assert "build failed: " in render_markdown(report)


def test_code_flash_is_the_firmware_less_the_planned_constants(report):
    """Code flash (the issue's code-size measure) is the linked firmware's flash less the objects
    model_data.h declares; those must add up to exactly the plan's flash_bytes, which counts the
    same constants from the other side (the planner's own byte count)."""
    a, b = report.rows[0].runs
    assert a.code_bytes == b.code_bytes and 0 < a.code_bytes
    compiled = compile_model(MODELS / f"{MODEL}.tflite", kernels="reference")
    with tempfile.TemporaryDirectory() as tmp:
        out = write_output(compiled, Path(tmp) / MODEL, BOARD)
        fw = firmware_for(compiled, out, load_board(BOARD))
        code = code_flash_bytes(fw, out)
    assert code == a.code_bytes
    assert fw.size.flash_used - code == compiled.plan.flash_bytes
    assert "code flash reference (B)" in render_markdown(report)
