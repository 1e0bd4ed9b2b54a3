"""`make demo`: compile the MLPerf Tiny reference models, verify them bit-exactly on the
host against both oracles (random and Fashion-MNIST inputs), and write a summary."""

from __future__ import annotations

import sys
from pathlib import Path

from .baselines import SHARED_MODELS, TFLM_ARENA
from .datasets import fashion_mnist
from .pipeline import compile_model, write_output
from .verify import image_inputs, random_inputs, verify_host

OUT = Path(__file__).resolve().parent.parent / "out" / "demo"


def main() -> int:
    models = sorted(SHARED_MODELS.glob("*.tflite"))
    if not models:
        print(f"demo: no models in {SHARED_MODELS}", file=sys.stderr)
        return 2
    images, _ = fashion_mnist("test")
    rows, ok = [], True
    for path in models:
        for contract in ("tflm", "litert"):
            compiled = compile_model(path, contract)
            out = write_output(compiled, OUT / f"{compiled.graph.name}-{contract}")
            sets = random_inputs(compiled.graph, 50, 0) + image_inputs(compiled.graph, images, 20)
            result = verify_host(compiled, out, sets, contract)
            print(result.summary() + " (50 random + 20 Fashion-MNIST inputs)")
            ok &= result.ok
            if contract == "tflm":
                p = compiled.plan
                rows.append((compiled.graph.name, len(compiled.layers), p.arena_bytes, p.lower_bound_bytes,
                             TFLM_ARENA.get(compiled.graph.name), p.flash_bytes))
    lines = ["| model | layers | our arena (B) | liveness lower bound (B) | TFLM arena (B) | ratio | flash (B) |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for name, n, arena, lb, tflm, flash in rows:
        ratio = f"{arena / tflm:.2f}x" if tflm else "-"
        lines.append(f"| {name} | {n} | {arena:,} | {lb:,} | {tflm:,} | {ratio} | {flash:,} |")
    table = "\n".join(lines)
    (OUT / "summary.md").write_text("# Demo summary\n\n" + table + "\n")
    print("\n" + table)
    print(f"\ngenerated code and reports: {OUT}/<model>-<contract>/ (model.c, plan.json, report.md)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
