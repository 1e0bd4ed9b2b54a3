"""Cortex-M firmware: cross-compile the generated model, the runtime and a board's
start-up, console and application code with arm-none-eabi-gcc; check that it
fits the board before and after linking; report section sizes."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from ..core.errors import TinyMLError
from .appglue import SHARED_ARENA, GlueModel, glue_header, glue_source
from .boards import Board
from .host import MODEL_FILES, RUNTIME, _locked, cache_root, runtime_headers, runtime_sources
from .resources import COMMON_DIR

CC = "arm-none-eabi-gcc"
C_FLAGS = ["-std=c99", "-O2", "-g", "-ffunction-sections", "-fdata-sections", "-fno-tree-loop-distribute-patterns",
           "-Wall", "-Wextra", "-Werror", "-DTINYML_LAYER_HOOK"]
LD_FLAGS = ["-nostartfiles", "--specs=nano.specs", "-Wl,--gc-sections"]


@dataclass(frozen=True)
class Section:
    name: str
    address: int
    size: int
    region: str     # "flash", "sram" or "" (not loaded)
    in_flash: bool  # occupies flash bytes (code, rodata, .data's initial values)


@dataclass(frozen=True)
class SizeReport:
    board: str
    flash_used: int
    flash_size: int
    sram_used: int
    sram_size: int
    arena_bytes: int
    stack_bytes: int
    text: int
    data: int
    bss: int
    sections: tuple[Section, ...]

    def summary(self) -> str:
        return (f"flash {self.flash_used:,} / {self.flash_size:,} B ({100 * self.flash_used / self.flash_size:.1f}%), "
                f"SRAM {self.sram_used:,} / {self.sram_size:,} B ({100 * self.sram_used / self.sram_size:.1f}%: "
                f"arena {self.arena_bytes:,}, stack {self.stack_bytes:,}, "
                f"other {self.sram_used - self.arena_bytes - self.stack_bytes:,})")

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


@dataclass(frozen=True)
class Firmware:
    board: Board
    elf: Path
    size: SizeReport


def require_toolchain() -> None:
    if shutil.which(CC) is None:
        raise TinyMLError(f"{CC} not found; install it with 'make setup' "
                          "(Debian packages gcc-arm-none-eabi libnewlib-arm-none-eabi)")


def check_plan_fits(board: Board, arena_bytes: int, flash_bytes: int, peak_layer: str) -> None:
    """Before compiling anything: the planned arena + stack against SRAM, the constants against flash."""
    stack = board.stack_bytes if board.stack_in_sram else 0
    need = arena_bytes + stack
    if need > board.sram.size:
        raise TinyMLError(
            f"model does not fit {board.name}: needs {need:,} B of SRAM "
            f"(arena {arena_bytes:,} B, peak at {peak_layer}, + stack {stack:,} B), "
            f"the board has {board.sram.size:,} B "
            f"({need - board.sram.size:,} B over)")
    if flash_bytes > board.flash.size:
        raise TinyMLError(f"model does not fit {board.name}: its constants need {flash_bytes:,} B of flash, "
                          f"the board has {board.flash.size:,} B ({flash_bytes - board.flash.size:,} B over)")


def _flags(board: Board, include_dirs: list[Path]) -> list[str]:
    incs = [RUNTIME / "include", COMMON_DIR, board.folder, *include_dirs]
    return [*board.cflags, *C_FLAGS, *(f"-I{d}" for d in incs)]


def _compile(src: Path, obj: Path, flags: list[str]) -> Path:
    proc = subprocess.run([CC, *flags, "-c", str(src), "-o", str(obj)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise TinyMLError(f"{CC} failed on {src.name}:\n{proc.stderr.strip()}")
    return obj


def _runtime_objects(board: Board, defines: tuple[str, ...] = ()) -> list[Path]:
    """The kernels, compiled once per CPU flag set, set of defines and runtime version."""
    flags = [*_flags(board, []), *defines]
    sources = runtime_sources()
    h = hashlib.sha256(" ".join(flags).encode())
    for f in sources + runtime_headers():
        h.update(f.name.encode() + f.read_bytes())
    rt_dir = cache_root() / "arm" / f"runtime-{h.hexdigest()[:20]}"
    with _locked(rt_dir):
        objects = [rt_dir / (s.stem + ".o") for s in sources]
        if not (rt_dir / ".complete").exists():
            for s, o in zip(sources, objects):
                _compile(s, o, flags)
            (rt_dir / ".complete").write_text("ok")
    return objects


_OVERFLOW = re.compile(r"region `(\w+)' overflowed by (\d+) bytes")


def _link(board: Board, objects: list[Path], elf: Path) -> None:
    cmd = [CC, *board.cflags, *LD_FLAGS, f"-T{board.linker}", f"-L{COMMON_DIR}", f"-L{board.folder}",
           f"-Wl,--defsym=__stack_size={board.stack_bytes}", f"-Wl,-Map={elf.with_suffix('.map')}",
           *map(str, objects), "-lm", "-o", str(elf)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        over = _OVERFLOW.findall(proc.stderr)
        if over:
            parts = []
            for region, n in over:
                r = board.flash if region == "FLASH" else board.sram
                parts.append(f"{'flash' if region == 'FLASH' else 'SRAM'} needs {r.size + int(n):,} B, "
                             f"the board has {r.size:,} B ({int(n):,} B over)")
            raise TinyMLError(f"firmware does not fit {board.name}: " + "; ".join(parts))
        raise TinyMLError(f"linking the firmware for {board.name} failed:\n{proc.stderr.strip()}")


def section_sizes(board: Board, elf: Path) -> list[Section]:
    proc = subprocess.run(["arm-none-eabi-objdump", "-h", str(elf)], capture_output=True, text=True, check=True)
    sections = []
    # Idx Name Size VMA LMA File-off Algn / flags on the next line
    lines = proc.stdout.splitlines()
    for i, line in enumerate(lines):
        parts = line.split()
        if len(parts) >= 6 and parts[0].isdigit():
            name, size, vma, lma = parts[1], int(parts[2], 16), int(parts[3], 16), int(parts[4], 16)
            flags = lines[i + 1] if i + 1 < len(lines) else ""
            if "ALLOC" not in flags or size == 0:
                continue
            region = "flash" if board.flash.contains(vma) else "sram" if board.sram.contains(vma) else ""
            in_flash = "LOAD" in flags and board.flash.contains(lma)
            sections.append(Section(name, vma, size, region, in_flash))
    return sections


def size_report(board: Board, elf: Path, arena_bytes: int) -> SizeReport:
    sections = section_sizes(board, elf)
    flash_used = sum(s.size for s in sections if s.in_flash)
    sram_used = sum(s.size for s in sections if s.region == "sram")
    by = {s.name: s.size for s in sections}
    report = SizeReport(board.name, flash_used, board.flash.size, sram_used, board.sram.size, arena_bytes,
                        sum(s.size for s in sections if s.name == ".stack" and s.region == "sram"),
                        sum(s.size for s in sections if s.in_flash and s.name != ".data"),
                        by.get(".data", 0), by.get(".bss", 0), tuple(sections))
    if flash_used > board.flash.size or sram_used > board.sram.size:
        raise TinyMLError(f"firmware does not fit {board.name}: {report.summary()}")
    return report


_CONST_DECL = re.compile(r"^(?:static )?const [^=\[;]*?(\w+)\s*(?:\[|=)", re.M)


def code_flash_bytes(firmware: Firmware, model_dir: Path) -> int:
    """Flash for code: the firmware's flash less the network's constants (every object declared in
    model_dir/model_data.h: weights, biases, requantization tables, layer parameters), as the
    linked ELF has them."""
    names = set(_CONST_DECL.findall((Path(model_dir) / "model_data.h").read_text()))
    proc = subprocess.run(["arm-none-eabi-nm", "-S", "-t", "d", str(firmware.elf)], capture_output=True, text=True,
                          check=True)
    constants = 0
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[3] in names:
            constants += int(parts[1])
    return firmware.size.flash_used - constants


@dataclass(frozen=True)
class FirmwareModel:
    """One compiled model of a firmware: its directory (written by `tinyml compile`), what the
    app glue lists, its constants and where its peak is (for the fit check's message)."""

    model_dir: Path
    glue: GlueModel
    flash_bytes: int
    peak_layer: str
    state_bytes: int = 0    # variable tensors (never shared between models)
    wide_weights: bool = False   # compiled with --kernels speed: some layers take int16 weights


# cores with Helium, where --kernels speed's int16 weights only slow the widened layers down
HELIUM_CPUS = ("cortex-m55", "cortex-m85")


def check_models_fit(board: Board, models: list[FirmwareModel], shared_arena: bool) -> int:
    """The firmware's arena (the sum of the models' arenas, or the largest with a shared arena),
    checked with the constants against the board; returns the arena bytes. Raises TinyMLError
    for no model, two models with one symbol prefix, or a firmware too big for the board."""
    names = [m.glue.c_name for m in models]
    if not models:
        raise TinyMLError("no model to build")
    if len(set(names)) != len(names):
        raise TinyMLError(f"two models of one firmware have the same symbol prefix ({', '.join(names)}); "
                          "compile them with different --name")
    wide = next((m for m in models if m.wide_weights), None)
    if wide is not None and board.cpu in HELIUM_CPUS:
        raise TinyMLError(f"'{wide.glue.name}' was compiled with --kernels speed, whose int16 weights serve the DSP "
                          f"cores (Cortex-M4/M7); {board.name} has a {board.cpu} with Helium, where --kernels fast is "
                          "faster: compile with that")
    arenas = [m.glue.arena_bytes for m in models]
    arena = max(arenas) if shared_arena else sum(arenas)
    if len(models) == 1:
        where = models[0].peak_layer
    else:
        where = ", ".join(f"{m.glue.c_name} {a:,} B" for m, a in zip(models, arenas))
        where = f"{len(models)} models ({where}{', shared' if shared_arena else ''})"
    check_plan_fits(board, arena + sum(m.state_bytes for m in models), sum(m.flash_bytes for m in models), where)
    return arena


def build_firmware(models: list[FirmwareModel], board: Board, out_dir: Path, app: Path | None = None,
                   defines: tuple[str, ...] = (), shared_arena: bool = False) -> Firmware:
    """Build the compiled models for `board` into out_dir/firmware.elf, with the app glue
    (app_models.h / .c, tinyengine.driver.appglue) listing them in order. `defines`: the flags
    for the runtime and every model.c (codegen.build.build_defines over all the models' layers).
    `shared_arena`: the models share one arena, as large as the largest plan."""
    require_toolchain()
    arena = check_models_fit(board, models, shared_arena)
    out_dir.mkdir(parents=True, exist_ok=True)
    for m in models:
        for f in MODEL_FILES:
            if not (m.model_dir / f).exists():
                raise TinyMLError(f"'{m.model_dir}' has no {f}; run 'tinyml compile' first")
    glue = [m.glue for m in models]
    (out_dir / "app_models.h").write_text(glue_header(glue))
    (out_dir / "app_models.c").write_text(glue_source(glue, shared_arena))
    flags = [*_flags(board, [out_dir]), *defines]
    model_flags = [*flags, *([f"-DTINYML_SHARED_ARENA={SHARED_ARENA}"] if shared_arena else [])]
    objects = _runtime_objects(board, defines)
    obj_dir = out_dir / "obj"
    obj_dir.mkdir(exist_ok=True)
    for m in models:
        objects.append(_compile(m.model_dir / "model.c", obj_dir / f"model_{m.glue.c_name}.o", model_flags))
    app = app or board.app
    for src in (out_dir / "app_models.c", app, *board.sources):
        objects.append(_compile(src, obj_dir / f"{src.parent.name}_{src.stem}.o", flags))
    elf = out_dir / "firmware.elf"
    _link(board, objects, elf)
    report = size_report(board, elf, arena)
    (out_dir / "size.json").write_text(report.to_json())
    if not board.runs_here:
        for fmt, suffix in (("binary", ".bin"), ("ihex", ".hex")):
            subprocess.run(["arm-none-eabi-objcopy", "-O", fmt, str(elf), str(elf.with_suffix(suffix))], check=True)
    return Firmware(board, elf, report)
