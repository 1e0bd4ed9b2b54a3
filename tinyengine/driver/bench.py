"""`tinyml bench`: peak SRAM of our plans against TF-Lite Micro's arena, measured
in the same run, for each model: out of place, in place, and with patch-based
inference. Prints a table with ratios and can write it as JSON and Markdown."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from ..core.schedule import DEFAULT_MAX_OVERHEAD
from .pipeline import compile_model
from .tflm_arena import measure_tflm_arena


@dataclass(frozen=True)
class BenchRow:
    model: str
    tflm_total: int          # TFLM arena: what TFLM's allocator needs in all
    tflm_head: int           # of which planned activations + scratch
    plain: int               # ours, layer by layer, out of place
    plain_lower_bound: int
    inplace: int             # ours, layer by layer, in place where exact
    inplace_lower_bound: int
    patched: int             # ours, in place + --patch auto
    patch: str               # the chosen patch split, or "off"
    patch_overhead: float    # extra MACs of the patched stage (fraction of the network)

    @property
    def best(self) -> int:
        return min(self.plain, self.inplace, self.patched)


def bench_model(path: Path, max_overhead: float = DEFAULT_MAX_OVERHEAD) -> BenchRow:
    tflm = measure_tflm_arena(path)
    plain = compile_model(path, inplace=False)
    inplace = compile_model(path)
    patched = compile_model(path, patch="auto", max_overhead=max_overhead)
    st = patched.stage
    return BenchRow(plain.graph.name, tflm.total, tflm.head, plain.plan.arena_bytes, plain.plan.lower_bound_bytes,
                    inplace.plan.arena_bytes, inplace.plan.lower_bound_bytes, patched.plan.arena_bytes,
                    str(st.spec) if st else "off", st.overhead if st else 0.0)


def render_table(rows: list[BenchRow]) -> str:
    lines = ["| model | TFLM arena (B) | TFLM activations (B) | ours, out of place (gap to bound) | "
             "ours, in place (gap to bound) | ours, in place + patches | patches (extra MACs) | best / TFLM |",
             "|---|---:|---:|---:|---:|---:|---|---:|"]
    for r in rows:
        def gap(arena: int, bound: int) -> str:
            return f"{arena:,} ({100 * (arena - bound) / max(bound, 1):+.1f}%)"
        patch = f"{r.patch} ({100 * r.patch_overhead:.1f}%)" if r.patch != "off" else "none"
        lines.append(f"| {r.model} | {r.tflm_total:,} | {r.tflm_head:,} | {gap(r.plain, r.plain_lower_bound)} | "
                     f"{gap(r.inplace, r.inplace_lower_bound)} | {r.patched:,} | {patch} | "
                     f"{r.best / r.tflm_total:.2f}x |")
    return "\n".join(lines)


def rows_json(rows: list[BenchRow]) -> list[dict]:
    return [{**asdict(r), "best": r.best, "best_over_tflm": round(r.best / r.tflm_total, 4)} for r in rows]
