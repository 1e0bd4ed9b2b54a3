"""Several models in one program: `tinyml compile --name`, `tinyml build A B`, `--shared-arena`.

Properties checked:
- --name prefixes every generated symbol (kws_run, KWS_ARENA_BYTES, ...) and no tinyml_*
  model symbol is left; the default keeps tinyml_*; a bad name is refused in one line;
- a named model is bit-exact on the host and in QEMU like any other;
- one firmware holding a keyword model and a second model runs both bit-exact in QEMU (each
  picked with the app's "modelK" word), its symbols are both models', and its arena is the sum
  of the two plans, or, with --shared-arena, exactly the larger plan;
- `tinyml export` of both builds with make (one self-test vector per model);
- two models with the same prefix are refused."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import require
from test_int8_io import _model as small_model

from tinyengine.cli import main as tinyml
from tinyengine.core.errors import TinyMLError
from tinyengine.driver.commands import build_model_dir, load_compiled_dir
from tinyengine.driver.pipeline import compile_model
from tinyengine.driver.qemu import FirmwareError
from tinyengine.driver.targets import run_batch
from tinyengine.driver.verify import random_inputs, verify_model

BOARD = "qemu-an386"


def _need_arm() -> None:
    require(shutil.which("qemu-system-arm") is not None and shutil.which("arm-none-eabi-gcc") is not None,
            "qemu-system-arm and arm-none-eabi-gcc")


def test_name_prefixes_every_symbol(models_dir):
    code = compile_model(models_dir / "kws_ref_model.tflite", c_name="kws").code
    text = "\n".join(code.files.values())
    for symbol in ("kws_run(void)", "kws_input(int index)", "kws_output(int index)", "kws_invoke(",
                   "kws_invoke_multi(", "kws_input_bytes[", "kws_layer_names[", "kws_layer_ops[", "kws_arena[",
                   "kws_layer_hook(", "#define KWS_ARENA_BYTES", "#define KWS_NUM_LAYERS", "#ifndef KWS_MODEL_H"):
        assert symbol in text, symbol
    model_symbol = r"\btinyml_(?:run|input|output|invoke|arena|layer_\w+)\b|\bTINYML_(?:NUM|ARENA_B)\w*"
    leftover = set(re.findall(model_symbol, text))
    assert not leftover, leftover
    default = "\n".join(compile_model(models_dir / "kws_ref_model.tflite").code.files.values())
    assert "int tinyml_run(void)" in default and "#define TINYML_ARENA_BYTES" in default


@pytest.mark.parametrize("name", ["KWS", "1kws", "kws-2", "int", "a" * 33, "kws_"])
def test_bad_name_is_refused(name):
    with pytest.raises(TinyMLError, match="--name") as err:
        compile_model(small_model(False), c_name=name)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("target", ["host", BOARD])
def test_named_model_bit_exact(target):
    if target != "host":
        _need_arm()
    result = verify_model(small_model(False), "tflm", count=3, target=target, c_name="ww")
    assert result.ok, result.summary()


def _two_models(tmp_path: Path, models_dir: Path) -> list[Path]:
    kws, ww = tmp_path / "kws", tmp_path / "ww"
    assert tinyml(["compile", str(models_dir / "kws_ref_model.tflite"), "-o", str(kws), "--name", "kws"]) == 0
    assert tinyml(["compile", str(small_model(False)), "-o", str(ww), "--name", "ww"]) == 0
    return [kws, ww]


def _symbols(elf: Path) -> dict[str, int]:
    out = subprocess.run(["arm-none-eabi-nm", "-S", "-t", "d", str(elf)], capture_output=True, text=True,
                         check=True).stdout
    return {p[3]: int(p[1]) for p in (line.split() for line in out.splitlines()) if len(p) == 4}


@pytest.mark.parametrize("shared", [False, True])
def test_one_firmware_runs_two_models(tmp_path, models_dir, shared):
    _need_arm()
    dirs = _two_models(tmp_path, models_dir)
    result = build_model_dir(dirs, BOARD, tmp_path / "fw", shared_arena=shared)
    fw = result.firmware
    compiled = [load_compiled_dir(d)[0] for d in dirs]
    arenas = [c.plan.arena_bytes for c in compiled]
    symbols = _symbols(fw.elf)
    assert {"kws_run", "ww_run"} <= set(symbols) and "tinyml_run" not in symbols
    if shared:
        assert fw.size.arena_bytes == max(arenas) and symbols["tinyml_shared_arena"] == max(arenas)
        assert "kws_arena" not in symbols and "ww_arena" not in symbols
    else:
        assert fw.size.arena_bytes == sum(arenas)
        assert symbols["kws_arena"] == arenas[0] and symbols["ww_arena"] == arenas[1]
    size = json.loads((tmp_path / "fw" / "size.json").read_text())
    assert size["arena_bytes"] == fw.size.arena_bytes
    for k, (c, d) in enumerate(zip(compiled, dirs)):
        sets = random_inputs(c.graph, 3, seed=k)
        batch = run_batch(c, d, BOARD, sets, firmware=(fw, k))
        oracle = c.oracle()
        for inputs, outs in zip(sets, batch.outputs):
            for got, want in zip(outs, oracle.run(inputs)):
                assert np.array_equal(got, want), (c.graph.name, k)
    with pytest.raises(FirmwareError, match="no such model"):
        run_batch(compiled[1], dirs[1], BOARD, random_inputs(compiled[1].graph, 1, 0), firmware=(fw, 2))


def test_same_prefix_twice_is_refused(tmp_path, models_dir):
    a, b = tmp_path / "a", tmp_path / "b"
    assert tinyml(["compile", str(small_model(False)), "-o", str(a)]) == 0
    assert tinyml(["compile", str(small_model(False)), "-o", str(b)]) == 0
    with pytest.raises(TinyMLError, match="same symbol prefix"):
        build_model_dir([a, b], BOARD, tmp_path / "fw")


def test_export_of_two_models_builds_with_make(tmp_path, models_dir):
    require(shutil.which("make") is not None and shutil.which("arm-none-eabi-gcc") is not None,
            "make and arm-none-eabi-gcc")
    dirs = _two_models(tmp_path, models_dir)
    project = tmp_path / "project"
    assert tinyml(["export", *map(str, dirs), "--board", "stm32f746-disco", "-o", str(project),
                   "--shared-arena"]) == 0
    glue = (project / "app_models.c").read_text()
    assert "tv0_expected" in glue and "tv1_expected" in glue and "tinyml_shared_arena" in glue
    proc = subprocess.run(["make", "-C", str(project)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "-DTINYML_SHARED_ARENA=tinyml_shared_arena" in proc.stdout
    symbols = _symbols(project / "build" / "firmware.elf")
    assert {"kws_run", "ww_run", "tinyml_shared_arena"} <= set(symbols)
