"""Host target: build generated C + the runtime into a Python extension with cffi
(API mode) and run it. Builds are cached by a hash of every source and flag."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np

from ..core.errors import TinyMLError
from .resources import RUNTIME_DIR as RUNTIME

C_FLAGS = ["-std=c99", "-O2", "-fPIC", "-Wall", "-Wextra", "-Werror", "-DTINYML_LAYER_HOOK"]
MODEL_FILES = ("model.c", "model.h", "model_data.h", "model_debug.h")

_HARNESS = r"""
#include <string.h>
#include "model.h"
static uint8_t *g_dump;
static const uint32_t *g_offsets;
void MODEL_layer_hook(int layer, const void *output, size_t bytes)
{
    if (g_dump) memcpy(g_dump + g_offsets[layer], output, bytes);
}
void tinyml_host_set_dump(uint8_t *buf, const uint32_t *offsets)
{
    g_dump = buf;
    g_offsets = offsets;
}
"""

_CDEF = """
int tinyml_host_invoke(const void *const *inputs, void *const *outputs);
void tinyml_host_set_dump(uint8_t *buf, const uint32_t *offsets);
void tinyml_host_reset(void);
"""


def _harness(c_name: str) -> str:
    """The cffi module's C: the model's hook (dumps) and its invoke under fixed names."""
    return (_HARNESS.replace("MODEL_", f"{c_name}_")
            + f"int tinyml_host_invoke(const void *const *inputs, void *const *outputs)\n"
              f"{{\n    return {c_name}_invoke_multi(inputs, outputs);\n}}\n"
              f"void tinyml_host_reset(void)\n{{\n    {c_name}_reset();\n}}\n")


def cache_root() -> Path:
    base = os.environ.get("TINYML_CACHE") or os.path.join(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"),
                                                          "tinyml")
    return Path(base)


def runtime_sources() -> list[Path]:
    return sorted((RUNTIME / "src").glob("*.c"))


def runtime_headers() -> list[Path]:
    return sorted((RUNTIME / "include" / "tinyml").glob("*.h"))


def _digest(files: list[Path], extra: str) -> str:
    h = hashlib.sha256(extra.encode())
    for f in files:
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:20]


@dataclass
class HostModel:
    module: ModuleType
    input_bytes: list[int]
    output_specs: list[tuple[tuple[int, ...], np.dtype]]

    def reset(self) -> None:
        """Back to the model's initial state (a stateful model's variable tensors)."""
        self.module.lib.tinyml_host_reset()

    def run(self, inputs: list[np.ndarray], dump_offsets: np.ndarray | None = None,
            dump_bytes: int = 0) -> tuple[list[np.ndarray], bytes | None]:
        ffi, lib = self.module.ffi, self.module.lib
        in_bufs = [ffi.from_buffer(np.ascontiguousarray(x)) for x in inputs]
        for buf, n in zip(in_bufs, self.input_bytes):
            if len(buf) != n:
                raise TinyMLError(f"input has {len(buf)} bytes, the model expects {n}")
        outs = [np.zeros(shape, dtype=dtype) for shape, dtype in self.output_specs]
        out_bufs = [ffi.from_buffer(o) for o in outs]
        dump = None
        if dump_offsets is not None:
            dump = bytearray(dump_bytes)
            offsets = np.ascontiguousarray(dump_offsets, dtype=np.uint32)
            lib.tinyml_host_set_dump(ffi.from_buffer("uint8_t[]", dump), ffi.from_buffer("uint32_t[]", offsets))
        try:
            status = lib.tinyml_host_invoke(ffi.new("void *[]", [ffi.cast("void *", b) for b in in_bufs]),
                                             ffi.new("void *[]", [ffi.cast("void *", b) for b in out_bufs]))
        finally:
            if dump_offsets is not None:
                lib.tinyml_host_set_dump(ffi.NULL, ffi.NULL)
        if status != 0:
            raise TinyMLError(f"tinyml_invoke returned {status}")
        return outs, (bytes(dump) if dump is not None else None)


@contextlib.contextmanager
def _locked(directory: Path):
    """Serialise builds of one directory across processes (pytest-xdist workers)."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _compile(src: Path, out_dir: Path, include_dirs: list[Path], extra: list[str] | None = None) -> Path:
    obj = out_dir / (src.stem + ".o")
    includes = [f"-I{RUNTIME / 'include'}"] + [f"-I{d}" for d in include_dirs]
    proc = subprocess.run(["gcc", *C_FLAGS, *(extra or []), *includes, "-c", str(src), "-o", str(obj)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise TinyMLError(f"host compile of {src.name} failed:\n{proc.stderr.strip()}")
    return obj


def _runtime_objects(defines: tuple[str, ...] = ()) -> list[Path]:
    """The runtime kernels compiled once per runtime version (content hash) and set of defines."""
    sources = runtime_sources()
    digest = _digest(sources + runtime_headers(), " ".join(C_FLAGS + list(defines)))
    rt_dir = cache_root() / "host" / ("runtime-" + digest)
    with _locked(rt_dir):
        objects = [rt_dir / (src.stem + ".o") for src in sources]
        if not (rt_dir / ".complete").exists():
            objects = [_compile(src, rt_dir, [], list(defines)) for src in sources]
            (rt_dir / ".complete").write_text("ok")
    return objects


def build_host(model_dir: Path, input_bytes: list[int],
               output_specs: list[tuple[tuple[int, ...], np.dtype]], canary: bool = False,
               defines: tuple[str, ...] = (), c_name: str = "tinyml") -> HostModel:
    """Compile `model_dir`'s generated C with the runtime; reuse a cached build when unchanged.
    `c_name`: the prefix of the model's symbols (tinyml compile --name).
    `canary` builds model.c with -DTINYML_CANARY (free arena bytes checked and poisoned per layer).
    `defines`: the network's flags for the runtime and model.c (codegen.build.build_defines)."""
    import cffi

    model_dir = Path(model_dir).resolve()   # cffi compiles from its tmpdir: include paths must be absolute
    sources = runtime_sources() + runtime_headers()
    model_files = [model_dir / f for f in MODEL_FILES]
    for f in model_files:
        if not f.exists():
            raise TinyMLError(f"'{model_dir}' has no {f.name}; run 'tinyml compile' first")
    model_flags = [*defines, *(["-DTINYML_CANARY"] if canary else [])]
    harness = _harness(c_name)
    digest = _digest(sources + model_files, " ".join(C_FLAGS + model_flags) + harness + _CDEF)
    build_dir = cache_root() / "host" / digest
    module_name = f"_tinyml_host_{digest}"
    with _locked(build_dir):
        so = next(build_dir.glob(f"{module_name}*.so"), None)
        if so is None:
            objects = _runtime_objects(defines) + [_compile(model_dir / "model.c", build_dir, [model_dir], model_flags)]
            ffi = cffi.FFI()
            ffi.cdef(_CDEF)
            ffi.set_source(module_name, harness, include_dirs=[str(model_dir), str(RUNTIME / "include")],
                           extra_objects=[str(o) for o in objects])
            so = Path(ffi.compile(tmpdir=str(build_dir), verbose=False))
    spec = importlib.util.spec_from_file_location(module_name, so)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return HostModel(module, input_bytes, output_specs)
