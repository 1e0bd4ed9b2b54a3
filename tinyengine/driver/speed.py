"""Speed benchmark: instructions per inference of our generated code, one column per
kernel set (the reference kernels, the fast kernels, the speed set with int16 weights), per model and board, beside
TF-Lite Micro + CMSIS-NN figures measured elsewhere (MEASURED_ELSEWHERE).

Counts come from QEMU with -icount shift=0 (one instruction per virtual ns, so they
are deterministic): the firmware (boards/common/app_semihosting.c) reads SysTick in
the hook after every layer and re-reads it when the hook is done, so a layer's count
covers its kernel call and the code between two hooks, never the hook itself, and an
inference's total is the sum of its layers' ticks. One tick is 1e9 / clock_hz
instructions (40 on the 25 MHz MPS2 boards, 31.25 on the 32 MHz AN547), the
resolution of every count.

A column whose compile or firmware build fails (e.g. fast kernels not written yet)
is reported as "build failed: <one line>" and the rest of the run goes on."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from .boards import load_board
from .firmware import HELIUM_CPUS, code_flash_bytes
from .pipeline import compile_model, write_output
from .targets import firmware_for, run_batch
from .verify import random_inputs

# ---- figures measured elsewhere (the one place they live) ----

MEASURED_ELSEWHERE = ("measured with TFLM 90b983c + CMSIS-NN on mps2-an500 (Cortex-M7), same QEMU and gcc; "
                      "from the project issue")
MEASURED_ON = "qemu-an500"   # the board those figures are comparable with
GOAL_VS_CMSIS_NN = 0.5       # the goal: at most half of TFLM + CMSIS-NN's instructions
CODE_GOAL_BYTES = 16 * 1024  # the goal for code flash, for these models:
CODE_GOAL_MODELS = ("kws_ref_model", "pretrainedResnet_quant")


@dataclass(frozen=True)
class Published:
    """TF-Lite Micro's instructions per inference for one model (MEASURED_ELSEWHERE)."""

    model: str
    macs: int                # as quoted (rounded); our tables use the sum of Layer.macs
    tflm_reference: int      # TFLM with its reference kernels
    tflm_cmsis_nn: int       # TFLM with CMSIS-NN kernels


PUBLISHED: dict[str, Published] = {p.model: p for p in (
    Published("ad01_int8", 260_000, 1_961_853, 583_206),
    Published("kws_ref_model", 2_660_000, 44_204_276, 7_643_124),
    Published("pretrainedResnet_quant", 12_500_000, 109_345_532, 30_017_609),
    Published("vww_96_int8", 7_490_000, 103_151_375, 24_025_530),
)}


# ---- results ----

@dataclass(frozen=True)
class LayerSpeed:
    index: int
    op: str
    name: str
    kernel: str | None       # the C function, None for a view (RESHAPE)
    variant: str | None      # tinyengine.core.variants name ("reference", "fast", ...)
    macs: int
    instructions: int

    @property
    def per_mac(self) -> float | None:
        return self.instructions / self.macs if self.macs else None


@dataclass(frozen=True)
class KernelSetSpeed:
    """One model x board x kernel set. `totals` has one count per input; `layers` are the
    per-layer counts of the fastest of those inferences (so they add up to `total`)."""

    model: str
    board: str
    kernels: str
    macs: int = 0
    totals: tuple[int, ...] = ()
    layers: tuple[LayerSpeed, ...] = ()
    error: str | None = None   # "build failed: ..." or "run failed: ..."
    code_bytes: int | None = None   # firmware flash less the network's constants (firmware.code_flash_bytes)

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.totals)

    @property
    def total(self) -> int | None:
        """Instructions per inference: the minimum over the inputs."""
        return min(self.totals) if self.totals else None

    @property
    def layer_sum(self) -> int:
        return sum(x.instructions for x in self.layers)


@dataclass(frozen=True)
class SpeedRow:
    """One model on one board: a KernelSetSpeed per kernel set, in the order asked for."""

    model: str
    board: str
    runs: tuple[KernelSetSpeed, ...]

    @property
    def macs(self) -> int | None:
        return next((r.macs for r in self.runs if r.macs), None)

    @property
    def published(self) -> Published | None:
        return PUBLISHED.get(self.model)

    def run(self, kernels: str) -> KernelSetSpeed | None:
        """The last column with that kernel set (the candidate when a set is listed twice)."""
        return next((r for r in reversed(self.runs) if r.kernels == kernels), None)


@dataclass(frozen=True)
class SpeedReport:
    kernel_sets: tuple[str, ...]
    patch: str
    inputs: int
    rows: tuple[SpeedRow, ...]

    @property
    def boards(self) -> list[str]:
        return list(dict.fromkeys(r.board for r in self.rows))

    def row(self, model: str, board: str) -> SpeedRow | None:
        return next((r for r in self.rows if r.model == model and r.board == board), None)


# ---- measuring ----

def _one_line(exc: BaseException, tmp: str = "") -> str:
    """An exception as one line: its first line, plus the first compiler/linker error line under it
    (paths in the temporary directory `tmp` made relative)."""
    message = str(exc).replace(tmp.rstrip("/") + "/", "") if tmp else str(exc)
    lines = [x.strip() for x in message.splitlines() if x.strip()] or [type(exc).__name__]
    text = lines[0]
    detail = next((x for x in lines[1:] if "error" in x.lower() or "undefined reference" in x), None)
    if detail:
        text = f"{text.rstrip(':')}: {detail}"
    return text if len(text) <= 200 else text[:197] + "..."


def _measure_one(model: Path, board: str, kernels: str, patch: str, inputs: int, seed: int,
                 timeout: float) -> KernelSetSpeed:
    name = model.stem
    if kernels == "speed" and load_board(board).cpu in HELIUM_CPUS:
        return KernelSetSpeed(name, board, kernels, error="not run: int16 weights are for DSP cores")
    with tempfile.TemporaryDirectory(prefix="tinyml-speed-") as tmp:
        try:
            compiled = compile_model(model, patch=patch, kernels=kernels)
            name = compiled.graph.name
            model_dir = write_output(compiled, Path(tmp) / name, board)
            fw = firmware_for(compiled, model_dir, load_board(board))   # cached; run_batch reuses it
            code = code_flash_bytes(fw, model_dir)
        except Exception as exc:   # one failing column must not end the run
            return KernelSetSpeed(name, board, kernels, error=f"build failed: {_one_line(exc, tmp)}")
        macs = sum(layer.macs for layer in compiled.layers)
        try:
            batch = run_batch(compiled, model_dir, board, random_inputs(compiled.graph, inputs, seed),
                              timeout=timeout)
        except Exception as exc:
            return KernelSetSpeed(name, board, kernels, macs, error=f"run failed: {_one_line(exc, tmp)}",
                                  code_bytes=code)
    totals = tuple(int(x) for x in batch.total_instructions)
    best = totals.index(min(totals))
    layers = tuple(LayerSpeed(layer.index, layer.op, layer.name, layer.kernel, layer.variant, layer.macs, int(n))
                   for layer, n in zip(compiled.layers, batch.layer_instructions[best]))
    return KernelSetSpeed(name, board, kernels, macs, totals, layers, code_bytes=code)


def measure_speed(models: list[Path], boards: list[str], kernel_sets: Sequence[str] = ("reference", "fast"),
                  patch: str = "off", inputs: int = 2, progress: Callable[[str], None] | None = None,
                  seed: int = 0, timeout: float = 600.0) -> SpeedReport:
    """Compile every model with each kernel set, build its firmware for each board and count
    instructions over `inputs` random inputs (seeded, the same for every column). `progress`,
    if given, gets one line per column measured."""
    rows = []
    for model in models:
        model = Path(model)
        for board in boards:
            runs = []
            for kernels in kernel_sets:
                run = _measure_one(model, board, kernels, patch, inputs, seed, timeout)
                runs.append(run)
                if progress:
                    progress(f"{run.model} {board} {kernels}: "
                             + (f"{run.total:,} instructions" if run.ok else str(run.error)))
            rows.append(SpeedRow(runs[0].model, board, tuple(runs)))
    return SpeedReport(tuple(kernel_sets), patch, inputs, tuple(rows))


# ---- rendering ----

def _labels(kernel_sets: Sequence[str]) -> list[str]:
    """Column names: the kernel sets, a repeated one numbered ("reference", "reference #2")."""
    out = []
    for i, k in enumerate(kernel_sets):
        n = kernel_sets[:i].count(k)
        out.append(f"{k} #{n + 1}" if n else k)
    return out


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _count(run: KernelSetSpeed) -> str:
    return f"{run.total:,}" if run.ok else _cell(str(run.error))


def _ratio(a: int | None, b: int | None) -> str:
    return f"{a / b:.2f}x" if a and b else "-"


def _candidate(row: SpeedRow) -> int:
    """Index of the row's column compared with CMSIS-NN: the one with the fewest instructions
    among those that ran other than the reference kernels, else the last."""
    runs = [(r.total, i) for i, r in enumerate(row.runs) if r.ok and r.kernels != "reference"]
    return min(runs)[1] if runs else len(row.runs) - 1


def render_summary(report: SpeedReport) -> str:
    """One row per model x board: instructions per inference per kernel set, ratios to the first
    set and to TFLM + CMSIS-NN, and the issue's goal."""
    labels = _labels(report.kernel_sets)
    ratios = [f"{labels[i]} / {labels[0]}" for i in range(1, len(labels))]
    head = (["model", "MACs", "board", *labels, *ratios, "TFLM + CMSIS-NN †", "ours (fastest set) / CMSIS-NN",
             f"goal ({GOAL_VS_CMSIS_NN:g}x CMSIS-NN)"])
    lines = ["| " + " | ".join(head) + " |",
             "|" + "|".join(["---", "---:", "---", *["---:"] * (len(labels) + len(ratios)), "---:", "---:", "---"])
             + "|"]
    other_board = False
    for row in report.rows:
        runs = row.runs
        pub = row.published
        cand = _candidate(row)
        ours = runs[cand].total if runs[cand].ok else None
        cells = [row.model, f"{row.macs:,}" if row.macs else "-", row.board, *(_count(r) for r in runs),
                 *(_ratio(runs[i].total, runs[0].total) for i in range(1, len(runs)))]
        if pub is None:
            cells += ["-", "-", "-"]
        else:
            mark = "" if row.board == MEASURED_ON else " ‡"
            other_board = other_board or bool(mark)
            goal = int(GOAL_VS_CMSIS_NN * pub.tflm_cmsis_nn)
            met = "-" if ours is None else ("met" if ours <= goal else f"not met ({ours / goal:.2f}x the goal)")
            cells += [f"{pub.tflm_cmsis_nn:,}", f"{_ratio(ours, pub.tflm_cmsis_nn)} ({labels[cand]}){mark}",
                      f"≤ {goal:,}: {met}"]
        lines.append("| " + " | ".join(cells) + " |")
    notes = [f"† {MEASURED_ELSEWHERE}; not measured in this run."]
    if other_board:
        notes.append(f"‡ ours on another board than the TFLM + CMSIS-NN figure's ({MEASURED_ON}): indicative only.")
    return "\n".join(lines) + "\n\n" + "\n".join(notes)


def render_code(report: SpeedReport) -> str:
    """Flash for code per model x board x kernel set: the firmware's flash less the network's
    constants (what model_data.h declares), so kernels, model.c's calls, start-up and the QEMU
    application; with the issue's goal where it has one."""
    labels = _labels(report.kernel_sets)
    lines = ["| model | board | " + " | ".join(f"code flash {lab} (B)" for lab in labels) + " | goal |",
             "|---|---|" + "---:|" * len(labels) + "---|"]
    for row in report.rows:
        cells = [f"{r.code_bytes:,}" if r.code_bytes is not None else "-" for r in row.runs]
        cand = _candidate(row)
        ours = row.runs[cand].code_bytes
        goal = "-"
        if row.model in CODE_GOAL_MODELS:
            met = "-" if ours is None else ("met" if ours <= CODE_GOAL_BYTES else
                                            f"not met ({ours - CODE_GOAL_BYTES:,} B over)")
            goal = f"≤ {CODE_GOAL_BYTES:,}: {met} ({labels[cand]})"
        lines.append(f"| {row.model} | {row.board} | " + " | ".join(cells) + f" | {goal} |")
    return "\n".join(lines)


def render_published() -> str:
    """The figures measured elsewhere, as quoted."""
    lines = [f"TF-Lite Micro instructions per inference, {MEASURED_ELSEWHERE}:", "",
             "| model | MACs (quoted) | TFLM reference kernels | TFLM + CMSIS-NN | CMSIS-NN speed-up |",
             "|---|---:|---:|---:|---:|"]
    for p in PUBLISHED.values():
        lines.append(f"| {p.model} | {p.macs / 1e6:.2f} M | {p.tflm_reference:,} | {p.tflm_cmsis_nn:,} | "
                     f"{p.tflm_reference / p.tflm_cmsis_nn:.2f}x |")
    return "\n".join(lines)


def render_layers(report: SpeedReport, model: str, board: str, slowest: int = 3, min_share: float = 0.01) -> str:
    """Per layer of `model` on `board`: kernel and variant of the compared column (the fast one,
    or the last that ran), MACs, instructions per kernel set, share of the total and instructions
    per MAC. The `slowest` layers by instructions per MAC, among those taking at least `min_share`
    of the total (a 12-MAC softmax's ratio means nothing), are bold and ranked."""
    row = report.row(model, board)
    if row is None:
        return f"({model} was not measured on {board})"
    labels = _labels(report.kernel_sets)
    runs = row.runs
    ran = [i for i, r in enumerate(runs) if r.ok]
    if not ran:
        return f"### {model} on {board}\n\nno column ran: " + "; ".join(_cell(f"{lab}: {r.error}")
                                                                      for lab, r in zip(labels, runs))
    cand = _candidate(row)
    cand = cand if runs[cand].ok else ran[-1]
    base = runs[cand]
    by_index = [{x.index: x for x in r.layers} for r in runs]
    c = by_index[cand]
    total = base.total
    ranked = sorted((x for x in c.values() if x.per_mac is not None and x.instructions >= min_share * total),
                    key=lambda x: x.per_mac, reverse=True)
    rank = {x.index: i + 1 for i, x in enumerate(ranked[:slowest])}
    head = ["layer", "op", f"kernel / variant ({labels[cand]})", "MACs", *(f"instructions {lab}" for lab in labels),
            f"share ({labels[cand]})", f"instructions / MAC ({labels[cand]})", "slowest"]
    lines = [f"### {model} on {board}", "",
             "| " + " | ".join(head) + " |",
             "|" + "|".join(["---:", "---", "---", "---:", *["---:"] * len(labels), "---:", "---:", "---:"]) + "|"]
    for layer in base.layers:
        mine = c.get(layer.index)
        kv = f"{mine.kernel} / {mine.variant}" if mine and mine.kernel else ("(view)" if mine else "-")
        counts = [f"{d[layer.index].instructions:,}" if layer.index in d else "-" for d in by_index]
        share = f"{100 * mine.instructions / total:.1f}%" if mine and total else "-"
        per_mac = f"{mine.per_mac:.2f}" if mine and mine.per_mac is not None else "-"
        r = rank.get(layer.index)
        cells = [str(layer.index), layer.op, f"`{kv}`", f"{layer.macs:,}", *counts, share, per_mac,
                 f"#{r}" if r else ""]
        if r:
            cells = [f"**{x}**" if x else x for x in cells]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("| | total | | " + (f"{row.macs:,}" if row.macs else "-") + " | "
                 + " | ".join(f"{r.total:,}" if r.ok else "failed (below)" for r in runs) + " | | "
                 + (f"{total / row.macs:.2f}" if total and row.macs else "-") + " | |")
    failed = [f"{lab}: {r.error}" for lab, r in zip(labels, runs) if not r.ok]
    if failed:
        lines += ["", "; ".join(_cell(x) for x in failed)]
    return "\n".join(lines)


def render_markdown(report: SpeedReport, layers_board: str | None = None) -> str:
    """The whole report: summary, the figures measured elsewhere, and per-layer tables on
    `layers_board` (default: MEASURED_ON if measured, else the first board)."""
    boards = report.boards
    if layers_board is None:
        layers_board = MEASURED_ON if MEASURED_ON in boards else (boards[0] if boards else MEASURED_ON)
    models = list(dict.fromkeys(r.model for r in report.rows))
    parts = [
        "# Speed: instructions per inference (tinyengine/driver/speed.py)", "",
        f"Ours: counted in QEMU with -icount shift=0 (deterministic), minimum over {report.inputs} random "
        f"input(s) per column; kernel sets {', '.join(report.kernel_sets)}; patch {report.patch}. "
        "A layer's count is from SysTick read around it by the firmware's layer hook (the hook's own "
        "instructions excluded); the total is the sum over layers.", "",
        render_summary(report), "",
        "Flash for code: the firmware's flash less the network's constants (the objects model_data.h "
        "declares), i.e. kernels, the generated calls, start-up and the QEMU application.", "",
        render_code(report), "", render_published(), "",
        f"## Per layer on {layers_board}", "",
        "Bold: the layers with the most instructions per MAC among those taking at least 1% of the "
        "instructions (ranked in the last column).", "",
    ]
    for m in models:
        parts += [render_layers(report, m, layers_board), ""]
    return "\n".join(parts)


def report_json(report: SpeedReport) -> dict:
    def run_doc(r: KernelSetSpeed) -> dict:
        doc = asdict(r)
        doc["total"] = r.total
        doc["layers"] = [{**asdict(x), "instructions_per_mac": None if x.per_mac is None else round(x.per_mac, 4)}
                         for x in r.layers]
        return doc

    rows = []
    for row in report.rows:
        pub = row.published
        cand = row.runs[_candidate(row)]
        rows.append({"model": row.model, "board": row.board, "macs": row.macs, "compared": cand.kernels,
                     "runs": [run_doc(r) for r in row.runs],
                     "tflm_cmsis_nn": pub.tflm_cmsis_nn if pub else None,
                     "tflm_reference": pub.tflm_reference if pub else None,
                     "ours_over_cmsis_nn": round(cand.total / pub.tflm_cmsis_nn, 4) if pub and cand.ok else None,
                     "goal": int(GOAL_VS_CMSIS_NN * pub.tflm_cmsis_nn) if pub else None,
                     "code_goal_bytes": CODE_GOAL_BYTES if row.model in CODE_GOAL_MODELS else None})
    return {"kernel_sets": list(report.kernel_sets), "patch": report.patch, "inputs": report.inputs,
            "measured_elsewhere": {"label": MEASURED_ELSEWHERE, "board": MEASURED_ON,
                                   "models": {k: asdict(v) for k, v in PUBLISHED.items()}},
            "goal_vs_cmsis_nn": GOAL_VS_CMSIS_NN, "rows": rows}


def write_report(report: SpeedReport, out_dir: Path, layers_board: str | None = None) -> tuple[Path, Path]:
    """speed.md and speed.json in `out_dir`."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    md, js = out_dir / "speed.md", out_dir / "speed.json"
    md.write_text(render_markdown(report, layers_board))
    js.write_text(json.dumps(report_json(report), indent=2) + "\n")
    return md, js
