"""TF-Lite Micro's own arena size for a model, measured: the pip tflite-micro
interpreter allocates with its recording allocator, and print_allocations()
reports the total, the head (the planned activation tensors and scratch) and the
tail (persistent runtime structures). The report is printed by C++ code through
its own stdio (to stderr), so it is read from a child Python process."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import TinyMLError

_CHILD = """
import sys
from tflite_micro.python.tflite_micro import runtime
data = open(sys.argv[1], "rb").read()
interp = runtime.Interpreter.from_bytes(data, arena_size=max(len(data) * 4, 8 << 20))
interp.print_allocations()
"""


@dataclass(frozen=True)
class TflmArena:
    total: int   # what TFLM needs for the arena
    head: int    # planned activations + scratch (the part comparable to our arena)
    tail: int    # persistent runtime structures (tensor metadata, node structs, kernel buffers)


def measure_tflm_arena(model: Path) -> TflmArena:
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(model)], capture_output=True, text=True, timeout=300)
    report = proc.stdout + proc.stderr
    found = {k: int(v) for k, v in re.findall(r"Arena allocation (total|head|tail) (\d+) bytes", report)}
    if proc.returncode != 0 or set(found) != {"total", "head", "tail"}:
        detail = (proc.stderr.strip().splitlines() or ["no report"])[-1]
        raise TinyMLError(f"TF-Lite Micro could not allocate '{model}': {detail}")
    return TflmArena(found["total"], found["head"], found["tail"])
