"""Run a kernel variant and its reference kernel side by side on many cases, in one
build: a cffi module on the host, one firmware boot in QEMU.

A `Case` is C text: declarations (constant arrays and the params struct, rendered
by codegen), and two calls that write `out_ref` and `out_var`. `run_cases`
generates one C file with every case, builds it with the runtime for the target
(the board's compiler flags, so __ARM_FEATURE_DSP / __ARM_FEATURE_MVE select the
same inner loops as a real build), runs it, and returns the cases whose outputs
differ. Before each case both output buffers are filled with different bytes, so
an output byte a variant never writes is a mismatch too.

Also shared by the kernel test modules (tests/test_kernels_*.py): the targets and the
one-build hypothesis settings, the C declarations of a case (its arrays, the params
struct of a negative control), and the instruction-count firmware of their `bench`
entry points (SysTick ticks around each call under -icount shift=0)."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from conftest import require_tool
from hypothesis import HealthCheck, Phase, settings

from codegen.emit import c_array_body, c_struct
from tinyengine.core.layers import ConstArray, leaves
from tinyengine.driver.boards import HOST, Board, load_board
from tinyengine.driver.firmware import _compile, _flags, _link, _runtime_objects
from tinyengine.driver.host import RUNTIME, cache_root, runtime_sources
from tinyengine.driver.qemu import run_raw

QUIET = ["-Wno-unused-function", "-Wno-unused-variable"]   # a case may not use every buffer
CTYPES = {np.dtype(np.int8): "int8_t", np.dtype(np.int32): "int32_t", np.dtype(np.int16): "int16_t"}

# where the kernel tests run each variant: portable C on the host, Cortex-M4, M7 and M55 in QEMU
TARGETS = [HOST, "qemu-an386", "qemu-an500", "qemu-an547"]
# one hypothesis example per test (and target): an example is one build and, in QEMU, one boot
ONE_BUILD = settings(max_examples=1, phases=[Phase.explicit, Phase.generate],
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                            HealthCheck.large_base_example, HealthCheck.filter_too_much])


def require_target(target: str) -> None:
    """Skip (under CI: fail) a test for `target` when its tools are missing: QEMU and the
    Arm compiler for a board, nothing for the host."""
    if target != HOST:
        require_tool("qemu-system-arm")
        require_tool("arm-none-eabi-gcc")


def profile_examples() -> int:
    """max_examples of the "tinyml" hypothesis profile (TINYML_EXAMPLES, tests/conftest.py),
    for sizing the cases of one build by it. Not settings.default.max_examples: inside a
    running test that is the test's own setting (1 under ONE_BUILD)."""
    return settings.get_profile("tinyml").max_examples


@dataclass(frozen=True)
class Case:
    """One comparison. `decls` defines the case's constants with the prefix `c<index>_`
    (use `{p}` in the text for it); `ref` and `var` are statements that write `out_ref` /
    `out_var` (`out_bytes` bytes) and may use `scratch` (`scratch_bytes`) and `work` (a
    writable copy of `work_init`, for in-place kernels, `work_bytes` long)."""

    name: str
    decls: str
    ref: str
    var: str
    out_bytes: int
    scratch_bytes: int = 0
    work_init: str | None = None   # name of a const array copied into `work` before each call
    work_bytes: int = 0


def const_array(prefix: str, name: str, data: np.ndarray) -> str:
    data = np.ascontiguousarray(data)
    ctype = CTYPES[data.dtype]
    return (f"static const {ctype} {prefix}{name}[{max(data.size, 1)}] __attribute__((aligned(4))) = "
            f"{{{c_array_body(data) if data.size else '0'}}};\n")


def params_decl(prefix: str, params: Any) -> str:
    """The params struct and the constant arrays it points to (renamed to the case's prefix)."""
    text = ""
    renamed = {}
    for leaf in leaves(params):
        if isinstance(leaf, ConstArray) and leaf.name not in renamed:
            renamed[leaf.name] = dataclasses.replace(leaf, name=f"{prefix}{leaf.name}")
            text += const_array(prefix, leaf.name, leaf.data)

    def rename(v: Any) -> Any:
        if isinstance(v, ConstArray):
            return renamed[v.name]
        if dataclasses.is_dataclass(v):
            return dataclasses.replace(v, **{f.name: rename(getattr(v, f.name)) for f in dataclasses.fields(v)})
        return v

    params = rename(params)
    return text + f"static const {type(params).C_TYPE} {prefix}params = {c_struct(params)};\n"


def arrays_decl(prefix: str, **arrays: np.ndarray | None) -> str:
    """const_array of each of `arrays`, in order, named by its keyword; None ones (no bias)
    are left out."""
    return "".join(const_array(prefix, name, data) for name, data in arrays.items() if data is not None)


def layer_decl(prefix: str, params: Any, **arrays: np.ndarray | None) -> str:
    """A layer's declarations: params_decl, then arrays_decl of `arrays`."""
    return params_decl(prefix, params) + arrays_decl(prefix, **arrays)


def variant_params(bad: Any | None) -> tuple[str, str]:
    """(declarations, name) of the params struct a case's variant call gets: the case's own
    `{p}params` (nothing more to declare), or for a negative control the params `bad`,
    declared as `{p}bad_params`."""
    if bad is None:
        return "", "{p}params"
    return params_decl("{p}bad_", bad), "{p}bad_params"


def with_output_flipped(case: Case, index: int) -> Case:
    """`case` with byte `index` of its variant's output flipped after the call: a negative
    control the harness must report."""
    return dataclasses.replace(case, var=case.var + f"\n    out_var[{index}] ^= 1;")


def _source(cases: list[Case]) -> str:
    out = max(c.out_bytes for c in cases)
    scratch = max([c.scratch_bytes for c in cases] + [4])
    work = max([c.work_bytes for c in cases] + [4])
    lines = ['#include <string.h>', '#include "tinyml/kernels.h"', "",
             f"static int8_t out_ref[{out}] __attribute__((aligned(16)));",
             f"static int8_t out_var[{out}] __attribute__((aligned(16)));",
             f"static int8_t scratch[{scratch}] __attribute__((aligned(16)));",
             f"static int8_t work[{work}] __attribute__((aligned(16)));", ""]
    for i, c in enumerate(cases):
        p = f"c{i}_"
        lines.append(f"/* case {i}: {c.name} */")
        lines.append(c.decls.replace("{p}", p))
        init = f"memcpy(work, {c.work_init.replace('{p}', p)}, {c.work_bytes});" if c.work_init else ""
        lines.append(f"static int case{i}(void)\n{{\n    memset(out_ref, 0x5A, {c.out_bytes});\n"
                     f"    memset(out_var, 0xA5, {c.out_bytes});\n    {init}\n    {c.ref.replace('{p}', p)}\n"
                     f"    {init}\n    {c.var.replace('{p}', p)}\n"
                     f"    return memcmp(out_ref, out_var, {c.out_bytes}) != 0;\n}}\n")
    table = ", ".join(f"case{i}" for i in range(len(cases)))
    lines.append(f"static int (*const cases[{len(cases)}])(void) = {{{table}}};")
    lines.append(f"""
int kernel_check(int *bad, int max_bad)
{{
    int n = 0;
    for (int i = 0; i < {len(cases)}; ++i) {{
        if (cases[i]()) {{
            if (n < max_bad) bad[n] = i;
            ++n;
        }}
    }}
    return n;
}}
""")
    return "\n".join(lines)


APP = """#include <stdio.h>
#include "board.h"
int kernel_check(int *bad, int max_bad);
int main(void)
{
    int bad[64];
    int n = kernel_check(bad, 64);
    board_puts("mismatches ");
    board_put_u32((uint32_t)n);
    board_puts("\\n");
    for (int i = 0; i < n && i < 64; ++i) {
        board_puts("bad ");
        board_put_u32((uint32_t)bad[i]);
        board_puts("\\n");
    }
    return 0;
}
"""


def _host(source: str, work: Path, defines: tuple[str, ...] = ()) -> tuple[int, list[int]]:
    import cffi

    ffi = cffi.FFI()
    ffi.cdef("int kernel_check(int *bad, int max_bad);")
    name = "_kernelcheck_" + hashlib.sha256((source + " ".join(defines)).encode()).hexdigest()[:12]
    ffi.set_source(name, source, sources=[str(s) for s in runtime_sources()],
                   include_dirs=[str(RUNTIME / "include")],
                   extra_compile_args=["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", *QUIET, *defines])
    lib_path = ffi.compile(tmpdir=str(work))
    spec = importlib.util.spec_from_file_location(name, lib_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    bad = module.ffi.new("int[64]")
    n = module.lib.kernel_check(bad, 64)
    return n, [bad[i] for i in range(min(n, 64))]


def _boot(board: Board, sources: list[Path], obj: Path, elf: Path, defines: tuple[str, ...] = ()) -> str:
    """Build `sources` (in one folder, their headers beside them) with the runtime (compiled
    with `defines`) and the board's start-up and console code, boot the firmware in QEMU,
    return its console."""
    flags = _flags(board, [sources[0].parent]) + QUIET + list(defines)
    objects = _runtime_objects(board, defines)
    for src in (*sources, *board.sources):
        objects.append(_compile(src, obj / f"{src.parent.name}_{src.stem}.o", flags))
    _link(board, objects, elf)
    console, _ = run_raw(board, elf, b"", timeout=600.0)
    return console


def _qemu(source: str, work: Path, target: str, defines: tuple[str, ...] = ()) -> tuple[int, list[int]]:
    board = load_board(target)
    (work / "cases.c").write_text(source)
    (work / "app.c").write_text(APP)
    obj = work / "obj"
    obj.mkdir(exist_ok=True)
    console = _boot(board, [work / "cases.c", work / "app.c"], obj, work / "check.elf", defines)
    numbers = [int(line.split()[1]) for line in console.splitlines() if line.startswith(("mismatches", "bad"))]
    if not numbers:
        raise AssertionError(f"{target}: the kernel check printed nothing: {console!r}")
    return numbers[0], numbers[1:]


def run_cases(cases: list[Case], target: str, work: Path | None = None, defines: tuple[str, ...] = ()) -> list[str]:
    """Names of the cases whose variant output differs from the reference (empty: all equal).
    `defines`: -D flags for the runtime and the cases (as codegen.build.build_defines gives)."""
    if not cases:
        return []
    source = _source(cases)
    key = hashlib.sha256((source + " ".join(defines)).encode()).hexdigest()[:16]
    work = work or (cache_root() / "kernelcheck" / f"{target}-{key}")
    work.mkdir(parents=True, exist_ok=True)
    if target == HOST:
        n, bad = _host(source, work, defines)
    else:
        n, bad = _qemu(source, work, target, defines)
    names = [cases[i].name for i in bad]
    return names + ([f"... and {n - len(bad)} more"] if n > len(bad) else [])


# ---- instruction counts: the `bench` entry points of the kernel test modules ----------

BENCH_APP = """#include <string.h>
#include "board.h"
#include "tinyml/kernels.h"
%(decls)s
%(buffers)s
%(report)sint main(void)
{
    uint64_t t;
%(setup)s    board_counter_start();
%(runs)s
    return 0;
}
"""

REPORT = """static void report(const char *name, uint64_t ticks)
{
    board_puts("ticks ");
    board_puts(name);
    board_puts(" ");
    board_put_u32((uint32_t)ticks);
    board_puts("\\n");
}
"""


def bench_source(decls: str, buffers: dict[str, int], runs: str, setup: str = "", align: int = 16) -> str:
    """A firmware that times kernel calls: `decls` (the layers' constants), static int8_t
    `buffers` (name: bytes, `align`ed), then main() runs `setup` and the `runs` (timed_run
    statements; report() is defined when they use it)."""
    lines = "\n".join(f"static int8_t {name}[{size}] __attribute__((aligned({align})));"
                       for name, size in buffers.items())
    return BENCH_APP % {"decls": decls, "buffers": lines, "report": REPORT if "report(" in runs else "",
                        "setup": setup, "runs": runs}


def timed_run(label: str, body: str, reps: int | None = None) -> str:
    """Statements of main() that print `ticks <label> <SysTick ticks>` for `body`: once, the
    ticks printed inline; or with `reps`, `body` run `reps` times in a loop and the ticks
    printed through report()."""
    if reps is None:
        return (f"    t = board_counter_read();\n    {body}\n    t = board_counter_read() - t;\n"
                f"    board_puts(\"ticks {label} \");\n    board_put_u32((uint32_t)t);\n"
                "    board_puts(\"\\n\");\n")
    return (f"    t = board_counter_read();\n    for (int r = 0; r < {reps}; ++r) {{ {body} }}\n"
            f"    report(\"{label}\", board_counter_read() - t);\n")


def bench_ticks(target: str, source: str) -> tuple[dict[tuple[int, str], int], float]:
    """Build the firmware `source` (bench_source) for the QEMU board `target`, boot it, and
    return the ticks it printed by (index, kind) of each label "<index> <kind>", and the
    instructions per tick (under -icount shift=0 a tick is 1e9 / clock_hz instructions)."""
    board = load_board(target)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "bench.c").write_text(source)
        console = _boot(board, [work / "bench.c"], work, work / "bench.elf")
    ticks = {}
    for line in console.splitlines():
        if line.startswith("ticks "):
            _, i, kind, value = line.split()
            ticks[(int(i), kind)] = int(value)
    return ticks, 1e9 / board.clock_hz


def print_per_mac(target: str, counts: list[tuple[str, float, float]], width: int) -> None:
    """Print `target`, then each layer's (name, reference, fast) instructions per MAC of
    `counts` and the speed-up, the names `width` wide."""
    print(target)
    for name, ref, fast in counts:
        print(f"  {name:{width}s} ref {ref:6.3f} insn/MAC  fast {fast:6.3f} insn/MAC  ({ref / fast:4.2f}x)")


def bench_main(argv: list[str], doc: str, bench: Callable[[list[str]], None], targets: list[str]) -> None:
    """`python tests/test_kernels_<x>.py bench [target ...]`: `bench` on the targets named
    (default `targets`); without `bench`, print the module's `doc`."""
    if argv[1:2] == ["bench"]:
        bench(argv[2:] or targets)
    else:
        print(doc)
