"""`make demo`: compile the MLPerf Tiny reference models, verify them bit-exactly on the
host against both oracles (random and Fashion-MNIST inputs), and write a summary."""

from __future__ import annotations

import sys
from pathlib import Path

from .datasets import fashion_mnist, image_like_input
from .pipeline import compile_model, write_output
from .verify import random_inputs, verify_host

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT.parent / "shared" / "models" / "mlperf_tiny"
OUT = ROOT / "out" / "demo"
TFLM_ARENA = {"vww_96_int8": 103_680, "pretrainedResnet_quant": 55_984, "kws_ref_model": 24_272,
              "ad01_int8": 3_984}


def main() -> int:
    models = sorted(MODELS.glob("*.tflite"))
    if not models:
        print(f"demo: no models in {MODELS}", file=sys.stderr)
        return 2
    images, _ = fashion_mnist("test")
    rows, ok = [], True
    for path in models:
        for contract in ("tflm", "litert"):
            compiled = compile_model(path, contract)
            out = write_output(compiled, OUT / f"{compiled.graph.name}-{contract}")
            t = compiled.graph.tensors[compiled.graph.inputs[0]]
            sets = random_inputs(compiled.graph, 50, 0)
            sets += [[image_like_input(images[i], t.shape, t.quant.scale, t.quant.zero_point)] for i in range(20)]
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
