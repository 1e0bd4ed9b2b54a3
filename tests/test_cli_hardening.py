"""CLI hardening: no input of any kind reaches the user as a traceback.

Properties checked (each through the real `tinyml` command in a subprocess):
- `-o` naming an existing file is refused before any work, the file untouched; an `-o` that
  cannot be created is a one-line error; both exit 2 and leave nothing behind;
- `tinyml run` with an empty, a corrupt, an .npz, a wrong-shape (same size: no silent reshape)
  or a wrong-dtype input, or an unwritable --output: one line naming the path or the expected
  shape, exit 2;
- two compiles to the same `-o` at once both succeed and the output is one complete result,
  with no temporary directories left;
- Ctrl-C during compile, build or verify exits 130 and leaves no partial output."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from test_bad_input import run_cli
from test_int8_io import _model

CLI = [sys.executable, "-m", "tinyengine"]


def _one_line_failure(proc: subprocess.CompletedProcess, *needles: str) -> str:
    assert proc.returncode == 2, proc
    err = proc.stderr.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    for needle in needles:
        assert needle in err, err
    return err


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if ".tmp-" in p.name or ".old-" in p.name)


def test_output_naming_a_file_is_refused(tmp_path):
    target = tmp_path / "notes.txt"
    target.write_text("keep me")
    _one_line_failure(run_cli("compile", str(_model(False)), "-o", str(target)), str(target), "not a directory")
    assert target.read_text() == "keep me" and _leftovers(tmp_path) == []


def test_output_that_cannot_be_created(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    out = blocker / "model"
    _one_line_failure(run_cli("compile", str(_model(False)), "-o", str(out)), "cannot write output", str(out))


@pytest.fixture(scope="module")
def compiled_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "m"
    proc = run_cli("compile", str(_model(False)), "-o", str(out))
    assert proc.returncode == 0, proc
    return out


def test_run_rejects_bad_inputs_in_one_line(compiled_dir, tmp_path):
    shape = (1, 16, 16, 3)
    cases = {}
    (tmp_path / "empty.npy").write_bytes(b"")
    cases["empty.npy"] = ("not a readable .npy file",)
    (tmp_path / "corrupt.npy").write_bytes(b"\x93NUMPY\x01\x00garbage" * 3)
    cases["corrupt.npy"] = ("not a readable .npy file",)
    np.savez(tmp_path / "arch.npz", a=np.zeros(shape, np.int8))
    cases["arch.npz"] = (".npz",)
    np.save(tmp_path / "shape.npy", np.zeros((1, 3, 16, 16), np.int8))      # same size, another shape
    cases["shape.npy"] = ("[1, 3, 16, 16]", "[1, 16, 16, 3]")
    np.save(tmp_path / "dtype.npy", np.zeros(shape, np.float32))
    cases["dtype.npy"] = ("float32", "int8")
    for name, needles in cases.items():
        proc = run_cli("run", str(compiled_dir), "--input", str(tmp_path / name))
        _one_line_failure(proc, name, *needles)
    good = tmp_path / "good.npy"
    np.save(good, np.zeros(shape, np.int8))
    proc = run_cli("run", str(compiled_dir), "--input", str(good), "--output", str(tmp_path / "nodir" / "x" / "y.npy"))
    _one_line_failure(proc, "cannot write output")


def test_two_compiles_to_one_output_both_succeed(tmp_path):
    model = str(_model(False))
    out = tmp_path / "shared"
    for _ in range(4):
        procs = [subprocess.Popen([*CLI, "compile", model, "-o", str(out)], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(2)]
        results = [(p.wait(), p.stderr.read()) for p in procs]
        assert all(rc == 0 for rc, _ in results), results
        assert {f.name for f in out.iterdir()} >= {"model.c", "model.h", "model_data.h", "plan.json", "meta.json"}
        assert _leftovers(tmp_path) == []


def _interrupt(args: list[str], delay: float) -> tuple[int, str]:
    proc = subprocess.Popen([*CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err


@pytest.mark.parametrize("delay", [0.3, 1.0, 2.5])
def test_ctrl_c_exits_130_and_leaves_no_partial_output(models_dir, tmp_path, delay):
    out = tmp_path / "vww"
    rc, err = _interrupt(["compile", str(models_dir / "vww_96_int8.tflite"), "-o", str(out), "--patch", "auto"], delay)
    assert rc in (130, 0), (rc, err)
    assert "Traceback" not in err, err
    if rc == 130:
        assert not out.exists()
    assert _leftovers(tmp_path) == []


def test_ctrl_c_during_build_and_verify(compiled_dir, models_dir, tmp_path):
    fw = tmp_path / "fw"
    rc, err = _interrupt(["build", str(compiled_dir), "--target", "qemu-an386", "-o", str(fw)], 1.5)
    assert rc in (130, 0) and "Traceback" not in err, (rc, err)
    if rc == 130:
        assert not fw.exists()
    assert _leftovers(tmp_path) == []
    rc, err = _interrupt(["verify", str(models_dir / "vww_96_int8.tflite"), "--inputs", "50", "--reference", "both"],
                         2.0)
    assert rc == 130 and "Traceback" not in err, (rc, err)
