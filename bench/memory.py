"""Peak SRAM benchmark (not a test): ours vs TF-Lite Micro's arena, measured side by
side in one run, for the four MLPerf Tiny models and a MobileNetV2-style model
(width 0.35, 96x96x3, built and int8-converted here with random weights and a
random representative set; memory does not depend on the weights).

    .venv/bin/python bench/memory.py [--max-overhead 0.2]

Writes bench/results/memory.md and memory.json."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tinyengine.core.schedule import DEFAULT_MAX_OVERHEAD  # noqa: E402
from tinyengine.driver.baselines import SHARED_MODELS  # noqa: E402
from tinyengine.driver.bench import bench_model, render_table, rows_json  # noqa: E402


def mobilenetv2_model(cache: Path) -> Path:
    path = cache / "mobilenetv2_035_96.tflite"
    if path.exists():
        return path
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import numpy as np
    import tensorflow as tf

    from tinynas.space import build_keras, mobilenetv2_like, to_int8_tflite

    tf.keras.utils.set_random_seed(0)
    model = build_keras(mobilenetv2_like(96, 0.35, 3, 2))
    rng = np.random.default_rng(0)
    data = to_int8_tflite(model, (rng.uniform(-1, 1, (1, 96, 96, 3)).astype(np.float32) for _ in range(16)))
    cache.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--max-overhead", type=float, default=DEFAULT_MAX_OVERHEAD)
    args = ap.parse_args()
    models = sorted(SHARED_MODELS.glob("*.tflite")) + [mobilenetv2_model(ROOT / ".cache" / "bench")]
    rows = []
    for m in models:
        rows.append(bench_model(m, args.max_overhead))
        print(f"  {rows[-1].model}: best {rows[-1].best:,} B vs TFLM {rows[-1].tflm_total:,} B", file=sys.stderr)
    table = render_table(rows)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "memory.md").write_text(
        "# Peak SRAM: ours vs TF-Lite Micro (bench/memory.py)\n\n" + table + "\n\n"
        f"Patch search limit: {100 * args.max_overhead:.0f}% extra MACs. TFLM arena measured with tflite-micro's "
        "recording allocator in the same run; 'activations' is its planned-tensor part.\n")
    (out / "memory.json").write_text(json.dumps(rows_json(rows), indent=2))
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
