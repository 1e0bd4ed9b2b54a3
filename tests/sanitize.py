"""Build a compiled model directory as a native executable with AddressSanitizer and
UndefinedBehaviorSanitizer (-fno-sanitize-recover: the first report aborts the run) and run it
on input sets, in order, from one process (a stateful model's sequence carries over)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

from codegen.build import build_defines
from tinyengine.driver.host import cache_root, runtime_sources
from tinyengine.driver.pipeline import Compiled
from tinyengine.driver.resources import RUNTIME_DIR

SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]

_HARNESS = r"""
#include <stdio.h>
#include <stdlib.h>
#include "model.h"

static uint8_t in_buf[P_INPUTS_BYTES + 1], out_buf[P_OUTPUTS_BYTES + 1];

int main(int argc, char **argv)
{
    const int sets = argc > 1 ? atoi(argv[1]) : 1;
    for (int s = 0; s < sets; ++s) {
        const void *ins[P_NUM_INPUTS];
        void *outs[P_NUM_OUTPUTS];
        size_t pos = 0;
        for (int i = 0; i < P_NUM_INPUTS; ++i) { ins[i] = in_buf + pos; pos += p_input_bytes[i]; }
        if (fread(in_buf, 1, pos, stdin) != pos) return 4;
        pos = 0;
        for (int i = 0; i < P_NUM_OUTPUTS; ++i) { outs[i] = out_buf + pos; pos += p_output_bytes[i]; }
        if (p_invoke_multi(ins, outs) != 0) return 3;
        fwrite(out_buf, 1, pos, stdout);
    }
    return 0;
}
"""


def _runtime_objects(defines: tuple[str, ...]) -> list[Path]:
    """The runtime compiled once per set of defines, sanitized (cached beside the host builds)."""
    import hashlib

    key = hashlib.sha256(" ".join([*SANITIZE, *defines, *(f.read_text() for f in runtime_sources()),
                                   *(f.read_text() for f in sorted((RUNTIME_DIR / "include").rglob("*.h")))])
                         .encode()).hexdigest()[:16]
    obj_dir = cache_root() / f"asan-{key}"
    objects = [obj_dir / f"{src.stem}.o" for src in runtime_sources()]
    if all(o.exists() for o in objects):
        return objects
    tmp = obj_dir.with_name(obj_dir.name + f".tmp{__import__('os').getpid()}")
    tmp.mkdir(parents=True, exist_ok=True)
    for src in runtime_sources():
        cmd = ["gcc", "-std=c99", "-O1", "-g", "-Wall", "-Wextra", "-Werror", *SANITIZE, *defines,
               f"-I{RUNTIME_DIR / 'include'}", "-c", str(src), "-o", str(tmp / f"{src.stem}.o")]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr[-3000:]
    try:
        tmp.rename(obj_dir)
    except OSError:    # another worker finished the same objects first
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    return objects


def build_sanitized(compiled: Compiled, model_dir: Path, out: Path) -> Path:
    p, P = compiled.c_name, compiled.c_name.upper()
    out.mkdir(parents=True, exist_ok=True)
    harness = out / "harness.c"
    harness.write_text(_HARNESS.replace("P_", f"{P}_").replace("p_", f"{p}_"))
    exe = out / "model_sanitized"
    defines = build_defines(compiled.layers)
    cmd = ["gcc", "-std=c99", "-O1", "-g", "-Wall", "-Wextra", "-Werror", *SANITIZE, *defines,
           f"-I{RUNTIME_DIR / 'include'}", f"-I{model_dir}", str(model_dir / "model.c"), str(harness),
           *map(str, _runtime_objects(defines)), "-lm", "-o", str(exe)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return exe


def run_sanitized(exe: Path, compiled: Compiled, input_sets: list[list[np.ndarray]]) -> list[list[np.ndarray]]:
    """Outputs of every input set; raises AssertionError with the sanitizer's report on any."""
    g = compiled.graph
    raw = b"".join(np.ascontiguousarray(x).tobytes() for inputs in input_sets for x in inputs)
    proc = subprocess.run([str(exe), str(len(input_sets))], input=raw, capture_output=True, timeout=600,
                          env={"ASAN_OPTIONS": "detect_leaks=0:abort_on_error=0", "UBSAN_OPTIONS": "print_stacktrace=1",
                               "PATH": "/usr/bin:/bin"})
    report = proc.stderr.decode(errors="replace")
    assert proc.returncode == 0 and "runtime error" not in report and "Sanitizer" not in report, \
        f"exit {proc.returncode}: {report[-3000:]}"
    from tinyengine.driver.targets import NUMPY

    specs = [(g.tensors[t].shape, np.dtype(NUMPY[g.tensors[t].dtype])) for t in g.outputs]
    per_set = sum(int(np.prod(s, dtype=np.int64)) * d.itemsize for s, d in specs)
    assert len(proc.stdout) == per_set * len(input_sets)
    outs = []
    for k in range(len(input_sets)):
        pos, one = k * per_set, []
        for shape, dtype in specs:
            n = int(np.prod(shape, dtype=np.int64))
            one.append(np.frombuffer(proc.stdout, dtype=dtype, count=n, offset=pos).reshape(shape))
            pos += n * dtype.itemsize
        outs.append(one)
    return outs


__all__ = ["build_sanitized", "run_sanitized"]
