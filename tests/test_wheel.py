"""The wheel is complete: installed from it (not the editable checkout), tinyml compiles, verifies
on the host and in QEMU, and exports, with runtime_c/ and boards/ found inside the installed package."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

from conftest import require_tool

ROOT = Path(__file__).resolve().parents[1]
MODEL = "ad01_int8.tflite"   # the smallest shared model
# pip and setuptools name their warnings like this; the machine's pip config adds
# "WARNING: Location '...' is ignored" lines of its own, which are not ours to fix.
BUILD_WARNINGS = ("BuildBackendWarning", "SetuptoolsWarning", "SetuptoolsDeprecationWarning")


def _run(cmd: list, cwd: Path, env: dict | None = None, timeout: float = 300) -> str:
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))} exited {proc.returncode}:\n{out}"
    return out


def _copy_sources(dst: Path) -> None:
    """Copy what the build reads (pyproject.toml and every folder its packages map to), so the
    build's scratch files (build/, *.egg-info) never land in, or come stale from, the checkout."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    package_dir = config.get("package-dir", {})
    tops = {package_dir.get(p, p.replace(".", "/")).split("/")[0] for p in config["packages"]}
    dst.mkdir()
    for name in ["pyproject.toml", "MANIFEST.in", "README.md"]:
        if (ROOT / name).is_file():
            shutil.copy2(ROOT / name, dst / name)
    for top in sorted(tops):
        shutil.copytree(ROOT / top, dst / top, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


def _shipped_files(folder: str) -> set[str]:
    return {p.relative_to(ROOT / folder).as_posix() for p in (ROOT / folder).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}


def test_wheel_install_compiles_and_verifies(tmp_path: Path, models_dir: Path) -> None:
    require_tool("arm-none-eabi-gcc")
    require_tool("qemu-system-arm")
    model = (models_dir / MODEL).resolve()

    # 1. Build the wheel from a copy of the sources; setuptools must not warn.
    src = tmp_path / "src"
    _copy_sources(src)
    out = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", tmp_path / "dist", src], cwd=tmp_path)
    warnings = [line for line in out.splitlines() if any(w in line for w in BUILD_WARNINGS)]
    assert not warnings, "setuptools warned while building the wheel:\n" + out
    (wheel,) = (tmp_path / "dist").glob("tinyml_pipeline-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder in ("runtime_c", "boards"):
        missing = {f for f in _shipped_files(folder) if f"tinyengine/{folder}/{f}" not in names}
        assert not missing, f"{folder}/ files missing from {wheel.name}: {sorted(missing)}"
    assert "codegen/templates/model.c.j2" in names

    # 2. A fresh venv with the wheel alone; the pinned dependencies come from this .venv's
    # site-packages through a .pth line, added after the install so pip never sees (or touches)
    # the editable install there. A plain path line does not run that directory's own .pth files,
    # so the editable finder of the checkout stays out.
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=tmp_path)
    py = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", py, "install", "--no-deps", "--no-index", wheel], cwd=tmp_path)
    site = Path(_run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=tmp_path).strip())
    pinned = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    (site / "zz_pinned_packages.pth").write_text("".join(p + "\n" for p in pinned))

    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", TINYML_CACHE=str(tmp_path / "cache"),
               TINYML_SHARED_MODELS=str(models_dir))

    # 3. The package in use is the wheel's, with its own runtime_c/ and boards/.
    probe = ("import json, sys, tinyengine\n"
             "from tinyengine.driver import baselines, resources\n"
             "print(json.dumps({'file': tinyengine.__file__, 'path': sys.path,\n"
             "  'meta_path': [getattr(f, '__name__', type(f).__name__) for f in sys.meta_path],\n"
             "  'runtime': str(resources.RUNTIME_DIR), 'boards': str(resources.BOARDS_DIR),\n"
             "  'common': str(resources.COMMON_DIR), 'models': str(baselines.SHARED_MODELS)}))\n")
    info = json.loads(_run([py, "-c", probe], cwd=work, env=env).strip().splitlines()[-1])
    pkg = site / "tinyengine"
    assert Path(info["file"]) == pkg / "__init__.py"
    assert (Path(info["runtime"]), Path(info["boards"]), Path(info["common"])) == \
        (pkg / "runtime_c", pkg / "boards", pkg / "boards" / "common")
    assert Path(info["models"]) == models_dir
    assert not [f for f in info["meta_path"] if "Editable" in f], info["meta_path"]
    for entry in info["path"]:
        p = (work / entry).resolve()   # "" (python -c) is the cwd, the work folder
        assert not (p == ROOT or (ROOT in p.parents and entry not in pinned)), f"checkout on sys.path: {entry}"

    # 4. The CLI from the wheel, run outside the checkout.
    tinyml = venv / "bin" / "tinyml"
    _run([tinyml, "compile", model, "-o", "out"], cwd=work, env=env)
    assert (work / "out" / "model.c").is_file()
    out = _run([tinyml, "verify", model, "--target", "host,qemu-an386", "--inputs", "2"], cwd=work, env=env)
    lines = [line for line in out.splitlines() if "inputs bit-exact" in line]
    assert len(lines) == 2 and all(" 2/2 inputs bit-exact" in line for line in lines), out
    assert "qemu-an386" in out
    assert "qemu-an386" in _run([tinyml, "boards"], cwd=work, env=env)
    _run([tinyml, "export", "out", "--board", "qemu-an386", "-o", "proj"], cwd=work, env=env)
    exported = {p.name for p in (work / "proj" / "runtime" / "src").glob("*.c")}
    assert exported == {p.name for p in (ROOT / "runtime_c" / "src").glob("*.c")}
