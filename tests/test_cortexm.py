"""Cortex-M targets: the four MLPerf Tiny models are bit-exact in QEMU on Cortex-M4,
M7, M55 and a real STM32F405 memory map; the real-board firmware and an exported
project build with -Werror; models that do not fit fail with the numbers; hung and
faulting firmware are reported as such; instruction counts are deterministic."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import require_tool

from codegen.build import build_defines
from tinyengine.cli import main as tinyml
from tinyengine.core.errors import TinyMLError
from tinyengine.driver.boards import board_names, load_board, target_names
from tinyengine.driver.firmware import build_firmware
from tinyengine.driver.pipeline import compile_model, write_output
from tinyengine.driver.qemu import FirmwareError, run_raw
from tinyengine.driver.targets import firmware_for, firmware_model, run_batch
from tinyengine.driver.verify import random_inputs, verify_model, verify_target

MODELS = ["vww_96_int8", "pretrainedResnet_quant", "kws_ref_model", "ad01_int8"]
QEMU_BOARDS = ["qemu-an386", "qemu-an500", "qemu-stm32f405", "qemu-an547"]
HARDWARE_BOARDS = ["stm32f746-disco", "nucleo-h743zi"]
APPS = Path(__file__).resolve().parent / "firmware"


@pytest.fixture(autouse=True)
def toolchain():
    require_tool("arm-none-eabi-gcc")
    require_tool("qemu-system-arm")


def test_every_board_folder_loads_and_qemu_boards_are_targets():
    names = board_names()
    assert set(QEMU_BOARDS + HARDWARE_BOARDS) <= set(names)
    for name in names:
        board = load_board(name)
        assert board.flash.size > 0 and board.sram.size > 0
    assert set(QEMU_BOARDS) <= set(target_names()) and not set(HARDWARE_BOARDS) & set(target_names())


@pytest.mark.parametrize("board", QEMU_BOARDS)
@pytest.mark.parametrize("name", MODELS)
def test_mlperf_model_bit_exact_in_qemu(models_dir, name, board):
    """Bit-exact with TFLM on 8 random inputs, per-inference instruction counts reported."""
    result = verify_model(models_dir / f"{name}.tflite", "tflm", count=8, seed=3, target=board)
    assert result.ok and result.inputs == 8, result.summary()
    assert result.instructions is not None and result.instructions[0] > 0


# --kernels speed (pointwise and fully connected weights widened to int16): the DSP cores and the
# host, both contracts
@pytest.mark.parametrize("name, board, contract", [
    ("vww_96_int8", "qemu-an500", "tflm"), ("vww_96_int8", "host", "litert"), ("kws_ref_model", "qemu-an386", "tflm"),
    ("kws_ref_model", "qemu-an500", "litert"), ("ad01_int8", "qemu-an386", "litert"), ("ad01_int8", "host", "tflm"),
    ("pretrainedResnet_quant", "qemu-an500", "tflm"), ("pretrainedResnet_quant", "host", "litert")])
def test_speed_kernels_bit_exact(models_dir, name, board, contract):
    result = verify_model(models_dir / f"{name}.tflite", contract, count=3, seed=5, target=board, kernels="speed")
    assert result.ok and result.inputs == 3, result.summary()


@pytest.mark.parametrize("name", ["vww_96_int8", "pretrainedResnet_quant"])
def test_speed_kernels_in_a_patched_stage(models_dir, name):
    """--patch auto with the int16-weight kernels, in the stage and after it, on the M4."""
    result = verify_model(models_dir / f"{name}.tflite", "tflm", count=2, seed=6, target="qemu-an386", kernels="speed",
                          patch="auto")
    assert result.ok and result.inputs == 2, result.summary()


def test_speed_kernels_are_refused_on_helium(models_dir):
    """On the Cortex-M55 the int16 weights only slow the layers down (their Helium build is plain
    C): building for it says so in one line instead of running slow code."""
    with pytest.raises(TinyMLError, match=r"^'kws_ref_model' was compiled with --kernels speed, whose int16 weights "
                                          r"serve the DSP cores \(Cortex-M4/M7\); qemu-an547 has a cortex-m55 with "
                                          r"Helium, where --kernels fast is faster: compile with that$"):
        verify_model(models_dir / "kws_ref_model.tflite", "tflm", count=1, target="qemu-an547", kernels="speed")


@pytest.mark.parametrize("board", ["qemu-an386", "qemu-stm32f405"])
def test_litert_contract_bit_exact_in_qemu(models_dir, board):
    """The single-rounding FULLY_CONNECTED of the litert contract also holds on the Cortex-M build."""
    result = verify_model(models_dir / "ad01_int8.tflite", "litert", count=8, seed=4, target=board)
    assert result.ok, result.summary()


def test_qemu_mismatch_names_first_layer(models_dir, tmp_path):
    """tflm-contract code checked against LiteRT on a Cortex-M4 fails at one of AD's FULLY_CONNECTED
    layers; the firmware's per-layer dump names the same layer and tensor as the host's."""
    compiled = compile_model(models_dir / "ad01_int8.tflite", "tflm")
    out = write_output(compiled, tmp_path / "ad")
    inputs = random_inputs(compiled.graph, 5, 0)
    on_qemu = verify_target(compiled, out, inputs, "qemu-an386", reference="litert")
    on_host = verify_target(compiled, out, inputs, "host", reference="litert")
    assert not on_qemu.ok
    assert on_qemu.first_mismatch is not None and on_qemu.first_mismatch.op == "FULLY_CONNECTED"
    assert on_qemu.first_mismatch == on_host.first_mismatch and on_qemu.failed_input == on_host.failed_input


def _big_activation_model(tmp_path: Path) -> Path:
    """A conv whose input and output (2 x 128 KiB) cannot fit a 128 KiB SRAM."""
    from opmodels import build

    def factory(r):
        import tensorflow as tf

        w = tf.constant(np.random.default_rng(0).normal(0, 0.3, size=(1, 1, 8, 8)).astype(np.float32))
        return lambda x: tf.nn.relu(tf.nn.conv2d(x, w, strides=1, padding="SAME"))
    return build("bigconv", {"v": 1}, factory, [(1, 128, 128, 8)])


def test_model_too_big_for_stm32f405_fails_with_numbers(tmp_path, capsys):
    model = _big_activation_model(tmp_path)
    out = tmp_path / "big"
    status = tinyml(["compile", str(model), "-o", str(out), "--board", "qemu-stm32f405"])
    err = capsys.readouterr().err
    assert status == 2
    assert "does not fit qemu-stm32f405" in err and "131,072 B" in err and "layer" in err, err
    assert not out.exists(), "a failed compile must not leave an output directory"
    compiled = compile_model(model)
    good = write_output(compiled, tmp_path / "big-ok")
    with pytest.raises(TinyMLError, match=r"needs [\d,]+ B of SRAM .* the board has 131,072 B"):
        firmware_for(compiled, good, load_board("qemu-stm32f405"), out_dir=tmp_path / "fw")


def test_linker_overflow_is_reported_with_numbers(models_dir, tmp_path):
    """A board whose flash holds the weights but not weights + code: the link fails, naming the overflow."""
    boards = tmp_path / "boards"
    shutil.copytree(Path(load_board("qemu-stm32f405").folder).parent, boards)
    folder = boards / "qemu-stm32f405"
    (folder / "board.toml").write_text((folder / "board.toml").read_text()
                                       .replace("size = 0x00100000", "size = 0x00008000"))
    (folder / "memory.ld").write_text((folder / "memory.ld").read_text().replace("0x00100000", "0x00008000"))
    board = load_board("qemu-stm32f405", boards)
    compiled = compile_model(models_dir / "kws_ref_model.tflite")
    assert compiled.plan.flash_bytes < 0x8000   # passes the pre-link check ...
    out = write_output(compiled, tmp_path / "kws")
    with pytest.raises(TinyMLError, match=r"flash needs [\d,]+ B, the board has 32,768 B \([\d,]+ B over\)"):
        build_firmware([firmware_model(compiled, out)], board, tmp_path / "fw", defines=build_defines(compiled.layers))


@pytest.mark.parametrize("board", HARDWARE_BOARDS)
def test_real_board_firmware_builds_with_werror(models_dir, tmp_path, board, capsys):
    out = tmp_path / "vww"
    assert tinyml(["compile", str(models_dir / "vww_96_int8.tflite"), "-o", str(out), "--board", board]) == 0
    assert tinyml(["build", str(out), "-o", str(tmp_path / "fw")]) == 0
    assert "firmware.elf" in capsys.readouterr().out
    for f in ("firmware.elf", "firmware.bin", "firmware.hex", "size.json", "app_models.c"):
        assert (tmp_path / "fw" / f).exists(), f
    assert "tv0_expected" in (tmp_path / "fw" / "app_models.c").read_text()   # the self-test vector
    size = subprocess.run(["arm-none-eabi-size", str(tmp_path / "fw" / "firmware.elf")], capture_output=True,
                          text=True, check=True).stdout
    text = int(size.splitlines()[1].split()[0])
    report = (out / "report.md").read_text()
    assert f"## Firmware for {board}" in report and "`.text`" in report
    assert text > 240_000   # the VWW weights are in flash


def test_exported_project_builds_with_make(models_dir, tmp_path):
    require_tool("make")
    out = tmp_path / "kws"
    assert tinyml(["compile", str(models_dir / "kws_ref_model.tflite"), "-o", str(out)]) == 0
    project = tmp_path / "project"
    assert tinyml(["export", str(out), "--board", "stm32f746-disco", "-o", str(project)]) == 0
    assert "pyocd" in (project / "README.md").read_text()
    proc = subprocess.run(["make", "-C", str(project)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "-Werror" in proc.stdout
    assert (project / "build" / "firmware.elf").exists() and (project / "build" / "firmware.hex").exists()


def _app_firmware(tmp_path: Path, board: str, app: str):
    from tinyengine.driver.baselines import SHARED_MODELS

    compiled = compile_model(SHARED_MODELS / "ad01_int8.tflite")
    out = write_output(compiled, tmp_path / "ad")
    b = load_board(board)
    return b, firmware_for(compiled, out, b, out_dir=tmp_path / f"fw-{app}", app=APPS / f"app_{app}.c")


def test_hung_firmware_is_killed_at_the_timeout(models_dir, tmp_path):
    board, fw = _app_firmware(tmp_path, "qemu-an386", "hang")
    with pytest.raises(FirmwareError, match=r"did not finish within 2 s and was killed"):
        run_raw(board, fw.elf, b"", timeout=2)


@pytest.mark.parametrize("board", ["qemu-an386", "qemu-stm32f405"])
def test_hard_fault_is_reported_as_a_fault(models_dir, tmp_path, board):
    board, fw = _app_firmware(tmp_path, board, "fault")
    with pytest.raises(FirmwareError, match=r"hit a fault: tinyml: FAULT BusFault pc=0x[0-9a-f]{8}.*bfar=0xf0000000"):
        run_raw(board, fw.elf, b"", timeout=20)


@pytest.mark.parametrize("board", QEMU_BOARDS)
def test_counter_counts_instructions(models_dir, tmp_path, board):
    """A loop of exactly 2,000,001 instructions measures as that, to within one SysTick tick plus
    the counter read's own instructions (a call and a few loads, under 32)."""
    board, fw = _app_firmware(tmp_path, board, "calibrate")
    console, _ = run_raw(board, fw.elf, b"", timeout=20)
    ticks = int(console.split()[1])
    assert abs(ticks * 1e9 / board.clock_hz - 2_000_001) <= 1e9 / board.clock_hz + 32, console


def test_profile_is_deterministic(models_dir, tmp_path):
    compiled = compile_model(models_dir / "kws_ref_model.tflite")
    out = write_output(compiled, tmp_path / "kws")
    inputs = random_inputs(compiled.graph, 2, 0)
    a = run_batch(compiled, out, "qemu-an500", inputs)
    b = run_batch(compiled, out, "qemu-an500", inputs)
    assert np.array_equal(a.layer_instructions, b.layer_instructions)
    assert np.array_equal(a.total_instructions, b.total_instructions)
    assert a.layer_instructions.shape == (2, len(compiled.layers))
    assert a.total_instructions[0] == a.layer_instructions[0].sum()


def test_cli_run_profile_on_qemu(models_dir, tmp_path, capsys):
    out = tmp_path / "kws"
    assert tinyml(["compile", str(models_dir / "kws_ref_model.tflite"), "-o", str(out)]) == 0
    x = tmp_path / "x.npy"
    np.save(x, np.random.default_rng(0).integers(-128, 128, size=(1, 49, 10, 1), dtype=np.int8))
    y_host, y_qemu = tmp_path / "host.npy", tmp_path / "qemu.npy"
    assert tinyml(["run", str(out), "--input", str(x), "--output", str(y_host)]) == 0
    assert tinyml(["run", str(out), "--target", "qemu-stm32f405", "--input", str(x), "--output", str(y_qemu),
                   "--profile"]) == 0
    text = capsys.readouterr().out
    assert "DEPTHWISE_CONV_2D" in text and "total" in text
    assert np.array_equal(np.load(y_host), np.load(y_qemu))
    assert "## Instructions per layer on qemu-stm32f405" in (out / "report.md").read_text()
    assert tinyml(["run", str(out), "--target", "nucleo-h743zi", "--input", str(x)]) == 2


def test_cli_run_on_host_from_a_relative_directory(models_dir, tmp_path, monkeypatch, capsys):
    """A model directory given relative to the working directory builds and runs on the host (the
    host build compiles from another directory; a fresh cache makes it really compile)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TINYML_CACHE", str(tmp_path / "cache"))
    assert tinyml(["compile", str(models_dir / "kws_ref_model.tflite"), "-o", "kws"]) == 0
    np.save("x.npy", np.random.default_rng(1).integers(-128, 128, size=(1, 49, 10, 1), dtype=np.int8))
    assert tinyml(["run", "kws", "--input", "x.npy", "--output", "y.npy"]) == 0
    assert np.load("y.npy").shape == (1, 12)


def test_unknown_target_is_an_error(models_dir, capsys):
    assert tinyml(["verify", str(models_dir / "ad01_int8.tflite"), "--target", "qemu-foo"]) == 2
    assert "unknown target 'qemu-foo'" in capsys.readouterr().err
