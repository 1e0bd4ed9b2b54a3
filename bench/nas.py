"""TinyNAS benchmark (not a test): search a Fashion-MNIST model for given limits and
compare it with MobileNetV2 scaled by width and resolution to the same limits and
trained for as many epochs as the searched model's fine-tuning.

    .venv/bin/python bench/nas.py [--budget-minutes 60] [--sram-kb 64] [--flash-kb 256]
                                  [--finetune-trials K]

Both models are int8, compiled by the engine, and scored by the generated C on
the whole test set (bit-exact with TF-Lite Micro). Writes bench/results/nas.md."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from mobilenetv2 import largest_fitting_mobilenetv2, train_and_score  # noqa: E402

from tinynas.data import load_dataset  # noqa: E402
from tinynas.nas import NasConfig, run_nas  # noqa: E402
from tinynas.space import SearchSpace  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budget-minutes", type=float, default=60.0)
    ap.add_argument("--sram-kb", type=float, default=64)
    ap.add_argument("--flash-kb", type=float, default=256)
    ap.add_argument("--finetune-trials", type=int, default=1, metavar="K",
                    help="as `tinyml nas --finetune-trials`: train the K best candidates for one epoch each and "
                         "keep the best (default 1: no trials)")
    ap.add_argument("-o", "--output", default=str(ROOT / "runs" / "bench-nas"))
    args = ap.parse_args()
    out = Path(args.output)
    started = time.monotonic()
    cfg = NasConfig("fashion-mnist", out, int(args.sram_kb * 1024), int(args.flash_kb * 1024),
                    budget_minutes=args.budget_minutes, finetune_trials=args.finetune_trials)
    nas = run_nas(cfg)
    nas_minutes = (time.monotonic() - started) / 60
    search = json.loads((out / "search.json").read_text())
    nas["max_macs"] = search["limits"]["max_macs"]
    nas["final_ranking"] = search["final_ranking"]
    nas["final_init"] = search["final_init"]
    nas["finetune_trials"] = search["finetune_trials"]
    training = (f"search, then {nas['finetune_epochs']} epochs from scratch" if nas["final_init"] == "scratch"
                else f"supernet + {nas['finetune_epochs']} fine-tune epochs")
    ds = load_dataset("fashion-mnist")
    space = SearchSpace(ds.channels, ds.num_classes, resolutions=ds.resolutions, input_width=ds.input_width)
    baseline_arch = largest_fitting_mobilenetv2(space, cfg.limits)
    baseline = train_and_score(baseline_arch, ds, max(nas["finetune_epochs"], 1), cfg.batch, out)
    rows = [
        "| model | int8 test accuracy (generated C) | arena (B) | constants in flash (B) | MACs | training |",
        "|---|---:|---:|---:|---:|---|",
        f"| TinyNAS `{nas['arch'].replace('|', '/')}` | {nas['int8_test_accuracy_c']:.4f} | {nas['arena_bytes']:,} | "
        f"{nas['flash_bytes']:,} | {nas['macs']:,} | {training} |",
        f"| MobileNetV2 scaled `{baseline['arch'].replace('|', '/')}` | {baseline['int8_test_accuracy_c']:.4f} | "
        f"{baseline['arena_bytes']:,} | {baseline['flash_bytes']:,} | {baseline['macs']:,} | "
        f"{baseline['epochs']} epochs from scratch |",
    ]
    text = (f"# TinyNAS on Fashion-MNIST, SRAM {args.sram_kb:g} KiB, flash {args.flash_kb:g} KiB "
            f"(bench/nas.py)\n\nBudget {args.budget_minutes:g} min; the NAS run took {nas_minutes:.1f} min "
            "including the final verification and the 10,000-image C evaluation; its MAC limit was "
            + (f"{nas['max_macs']:,}" if nas["max_macs"] else "none") + ".\n\n" + "\n".join(rows) + "\n")
    if nas["finetune_trials"]:
        text += ("\nFine-tuning trials (1 epoch each, validation accuracy; the best was trained):\n\n"
                 + "\n".join(f"* `{t['key'].replace('|', '/')}`: supernet {t['supernet_accuracy']:.4f}, "
                              f"after 1 epoch {t['trial_accuracy']:.4f}" for t in nas["finetune_trials"]) + "\n")
    (ROOT / "bench" / "results").mkdir(parents=True, exist_ok=True)
    (ROOT / "bench" / "results" / "nas.md").write_text(text)
    (ROOT / "bench" / "results" / "nas.json").write_text(json.dumps({"nas": nas, "baseline": baseline}, indent=2))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
