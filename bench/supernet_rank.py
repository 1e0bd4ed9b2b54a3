"""How a finished `tinyml nas` run's supernet ranks architectures (not a test).

    .venv/bin/python bench/supernet_rank.py runs/bench-nas [--top 5]

Scores, with the run's trained supernet on the whole validation split (batch norm
recalibrated as in the search): the MobileNetV2 scaled to the run's sub-space, the
sub-space's largest network, and the run's best candidates (whose search scores came
from the first fitness.VAL_IMAGES validation images). Also prints the correlation of the
search's scores with MACs over every evaluated candidate. Used to check whether the
supernet's ranking agrees with what the architectures reach when trained."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from mobilenetv2 import mobilenetv2_for  # noqa: E402

from tinynas.cost import arch_cost  # noqa: E402
from tinynas.fitness import ScorerSpec, load_scorer  # noqa: E402
from tinynas.space import Arch  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", type=Path, help="the -o folder of a finished `tinyml nas` run")
    ap.add_argument("--top", type=int, default=5)
    args = ap.parse_args()
    state = json.loads((args.run / "checkpoint" / "state.json").read_text())
    config = json.loads(state["config"])
    sub = state["subspace"]
    width, res = sub["width"], sub["resolution"]
    limit = None if config["train_limit"] == "None" else int(config["train_limit"])
    # the search's own scorer (same supernet, same calibration batches), on the whole validation split
    scorer = load_scorer(ScorerSpec(config["dataset"], int(config["seed"]), limit, width, res,
                                    str(args.run / "checkpoint" / "supernet.npz"), val_images=None).to_json())
    net, space, x_val = scorer.net, scorer.net.space, scorer.val_x
    se = math.sqrt(0.25 / len(x_val))

    def val(arch: Arch) -> float:
        return net.accuracy(arch, net.calibrate(arch, scorer.calib), x_val, scorer.val_y)

    best = {e["key"]: e for e in state["history"]}
    ranked = sorted(best.values(), key=lambda e: -e["accuracy"])
    print(f"supernet of w{width:g} r{res}, {state.get('step', 0)} steps; accuracy on all {len(x_val):,} "
          f"validation images (standard error <= {se:.4f})\n")
    print("| architecture | MACs | search score | validation accuracy |")
    print("|---|---:|---:|---:|")
    for name, arch in [("scaled MobileNetV2", mobilenetv2_for(space, width, res)),
                       ("largest of the sub-space", space.largest(width, res))]:
        print(f"| {name} `{arch.key.replace('|', '/')}` | {arch_cost(arch).macs:,} | - | {val(arch):.4f} |")
    for e in ranked[:args.top]:
        arch = Arch.from_json(json.dumps(e["arch"]))
        print(f"| `{e['key'].replace('|', '/')}` | {e['cost']['macs']:,} | {e['accuracy']:.4f} | {val(arch):.4f} |")
    acc = np.array([e["accuracy"] for e in ranked])
    macs = np.array([e["cost"]["macs"] for e in ranked])
    print(f"\ncorrelation of search score with MACs over {len(ranked)} distinct candidates: "
          f"{np.corrcoef(acc, macs)[0, 1]:+.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
