"""Record the golden fixtures that tests/test_golden.py checks the code against.

Recorded on the base commit ead9394 (before the tinyengine restructuring), from an untouched
checkout of it, with:

    cd <checkout> && PYTHONPATH=<checkout> python tests/golden/record.py --out tests/golden

What is recorded, for every case (a model and a patch mode):
  * the memory plan: arena_bytes, lower_bound_bytes, scratch_bytes, flash_bytes, peak_step, placement,
    every buffer (key, tensor, size, first, last, offset), the alias map, the `shared` pairs and the
    patched stage's spec (None without one);
  * the host target's outputs for seeded random inputs (tinyengine.verify.random_inputs): shape, dtype,
    sha256 of the exact bytes and the first 16 bytes in hex; plus a sha256 of the inputs themselves,
    so a changed input generator is told apart from changed outputs.

Cases:
  * the four MLPerf Tiny models in shared/models/mlperf_tiny, patch "off" and "auto", 3 inputs, seed 11;
  * 20 small random conv networks (net00..net19.tflite beside this script), generated from
    numpy.random.default_rng(seed) and converted by TensorFlow to full-int8 .tflite the way
    tests/opmodels.py does; patch "off", "auto" and up to two forced PatchSpecs (the deepest split
    that can end a stage with a 2x2 grid, the shallowest with 3x1; clipped to the stage output).
    A forced spec the code refuses is recorded with its error message. 2 inputs, seed 11.

The .tflite files are fixtures in their own right (TF conversion need not be reproducible): an
existing netNN.tflite is reused, only a missing one is converted (--rebuild-nets converts all).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
from tinyengine.boards import HOST
from tinyengine.errors import TinyMLError
from tinyengine.patch import PatchSpec, candidate_specs
from tinyengine.pipeline import compile_model, write_output
from tinyengine.targets import run_batch
from tinyengine.verify import random_inputs

BASE_COMMIT = "ead9394"
MLPERF = ["ad01_int8", "kws_ref_model", "pretrainedResnet_quant", "vww_96_int8"]
DEFAULT_MODELS = Path(__file__).resolve().parents[3] / "shared" / "models" / "mlperf_tiny"
N_NETS = 20
INPUT_SEED = 11
MLPERF_INPUTS = 3
NET_INPUTS = 2
HEAD_BYTES = 16


# ---- random networks ----

def _out_size(size: int, k: int, stride: int, padding: str) -> int:
    return -(-size // stride) if padding == "SAME" else (size - k) // stride + 1


def net_recipe(seed: int) -> dict:
    """A few layers drawn from default_rng(seed): conv / depthwise / pointwise / residual add /
    average and max pool, SAME or VALID, stride 1 or 2, odd and even channel counts, then a head."""
    rng = np.random.default_rng(seed)
    size = int(rng.integers(8, 21))
    channels = int(rng.choice([1, 2, 3, 4, 5]))
    shape = [1, size, size, channels]
    blocks = []
    c = channels
    for _ in range(int(rng.integers(2, 6))):
        kind = str(rng.choice(["conv", "conv", "dw", "pw", "res", "avg", "max"]))
        padding = str(rng.choice(["SAME", "VALID"]))
        stride = int(rng.choice([1, 1, 2]))
        if kind == "conv":
            k = int(rng.choice([1, 2, 3, 5]))
        elif kind == "dw":
            k = int(rng.choice([3, 5]))
        elif kind in ("avg", "max"):
            k = int(rng.choice([2, 3]))
        elif kind == "res":
            k, stride, padding = int(rng.choice([1, 3])), 1, "SAME"
        else:   # pw
            k = 1
        if size < k + 2:
            kind, k, stride, padding = "pw", 1, 1, "VALID"
        if kind in ("conv", "pw"):
            cout = int(rng.choice([2, 3, 4, 5, 7, 8]))
        elif kind == "dw":
            cout = c * int(rng.choice([1, 1, 2]))   # depth multiplier 1 or 2
        else:
            cout = c
        blocks.append({"kind": kind, "k": k, "stride": stride, "padding": padding, "cin": c, "cout": cout})
        c = cout
        size = _out_size(size, k, stride, padding)
    head = str(rng.choice(["mean", "none", "dense", "dense_softmax"]))
    return {"seed": seed, "input_shape": shape, "blocks": blocks, "head": head,
            "units": int(rng.choice([3, 4, 6, 10])), "final_hw": size, "final_c": c}


def _net_fn(recipe: dict):
    import tensorflow as tf

    rng = np.random.default_rng(1000 + recipe["seed"])
    weights = []
    for b in recipe["blocks"]:
        k, cin, cout = b["k"], b["cin"], b["cout"]
        if b["kind"] in ("conv", "pw", "res"):
            weights.append(tf.constant(rng.normal(0, 0.4, size=(k, k, cin, cout)).astype(np.float32)))
        elif b["kind"] == "dw":
            weights.append(tf.constant(rng.normal(0, 0.4, size=(k, k, cin, cout // cin)).astype(np.float32)))
        else:
            weights.append(None)
    flat = recipe["final_hw"] ** 2 * recipe["final_c"]
    dense_w = tf.constant(rng.normal(0, 0.3, size=(flat, recipe["units"])).astype(np.float32))
    dense_b = tf.constant(rng.normal(0, 0.1, size=(recipe["units"],)).astype(np.float32))

    def f(x):
        for b, w in zip(recipe["blocks"], weights):
            kind, k, s, pad = b["kind"], b["k"], b["stride"], b["padding"]
            if kind == "conv":
                x = tf.nn.relu(tf.nn.conv2d(x, w, strides=s, padding=pad))
            elif kind == "pw":
                x = tf.nn.relu6(tf.nn.conv2d(x, w, strides=s, padding=pad))
            elif kind == "dw":
                x = tf.nn.relu6(tf.nn.depthwise_conv2d(x, w, strides=[1, s, s, 1], padding=pad))
            elif kind == "res":
                x = tf.nn.relu(x + tf.nn.conv2d(x, w, strides=1, padding="SAME"))
            elif kind == "avg":
                x = tf.nn.avg_pool2d(x, k, s, padding=pad)
            else:
                x = tf.nn.max_pool2d(x, k, s, padding=pad)
        if recipe["head"] == "mean":
            return tf.reduce_mean(x, axis=[1, 2])
        if recipe["head"] == "none":
            return x
        y = tf.matmul(tf.reshape(x, [1, flat]), dense_w) + dense_b
        return tf.nn.softmax(y) if recipe["head"] == "dense_softmax" else y
    return f


def convert_net(recipe: dict) -> bytes:
    """Full integer quantization with int8 input and output, as tests/opmodels.py `build` does."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    shape = tuple(recipe["input_shape"])
    module = tf.Module()
    module.f = tf.function(_net_fn(recipe), input_signature=[tf.TensorSpec(shape, tf.float32)])
    converter = tf.lite.TFLiteConverter.from_concrete_functions([module.f.get_concrete_function()], module)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]

    def representative():
        rng = np.random.default_rng(2000 + recipe["seed"])
        for _ in range(24):
            yield [rng.uniform(-1.0, 1.0, size=shape).astype(np.float32)]

    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return converter.convert()


# ---- what is recorded ----

def plan_record(compiled) -> dict:
    plan = compiled.plan
    return {
        "arena_bytes": plan.arena_bytes,
        "lower_bound_bytes": plan.lower_bound_bytes,
        "scratch_bytes": plan.scratch_bytes,
        "flash_bytes": plan.flash_bytes,
        "peak_step": plan.peak_step,
        "placement": plan.placement,
        "stage": str(compiled.stage.spec) if compiled.stage is not None else None,
        "alias": sorted([int(t), int(r)] for t, r in plan.alias.items()),
        "shared": [[a, b, int(d)] for (a, b), d in plan.shared.items()],
        "buffers": [{"key": b.key, "tensor": b.tensor, "size": b.size, "first": b.first, "last": b.last,
                     "offset": b.offset} for b in plan.buffers],
    }


def arrays_digest(arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def output_record(outputs) -> list[dict]:
    rec = []
    for a in outputs:
        raw = np.ascontiguousarray(a).tobytes()
        rec.append({"shape": list(a.shape), "dtype": str(a.dtype), "sha256": hashlib.sha256(raw).hexdigest(),
                    "head": raw[:HEAD_BYTES].hex()})
    return rec


def run_host(compiled, input_sets) -> list[list[np.ndarray]]:
    with tempfile.TemporaryDirectory(prefix="tinyml-golden-") as tmp:
        out = write_output(compiled, Path(tmp) / compiled.graph.name)
        return run_batch(compiled, out, HOST, input_sets).outputs


def record_case(path: Path, patch, count: int) -> dict:
    try:
        compiled = compile_model(path, patch=patch)
    except TinyMLError as exc:
        return {"error": str(exc)}
    sets = random_inputs(compiled.graph, count, INPUT_SEED)
    outs = run_host(compiled, sets)
    return {"plan": plan_record(compiled),
            "inputs": [arrays_digest(s) for s in sets],
            "outputs": [output_record(o) for o in outs]}


def forced_specs(path: Path) -> list[PatchSpec]:
    """Up to two forced stages: the deepest candidate split with a 2x2 grid and the shallowest
    with 3x1 (3x2 when there is only one split), clipped to the stage output's height and width."""
    base = compile_model(path)
    splits = sorted({s.split for s in candidate_specs(base.graph, base.layers)})
    if not splits:
        return []

    def spec(split: int, rows: int, cols: int) -> PatchSpec:
        oh, ow = base.graph.tensors[base.layers[split].outputs[0]].shape[1:3]
        return PatchSpec(split, min(rows, oh), min(cols, ow))

    out = [spec(splits[-1], 2, 2)]
    other = spec(splits[0], 3, 1) if splits[0] != splits[-1] else spec(splits[0], 3, 2)
    if other != out[0]:
        out.append(other)
    return out


def _patch_json(patch) -> str | dict:
    if isinstance(patch, PatchSpec):
        return {"split": patch.split, "rows": patch.rows, "cols": patch.cols}
    return patch


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    ap.add_argument("--models", type=Path, default=DEFAULT_MODELS, help="the MLPerf Tiny .tflite directory")
    ap.add_argument("--rebuild-nets", action="store_true", help="convert every random net again with TensorFlow")
    args = ap.parse_args(argv)
    import tinyengine

    print(f"tinyengine from {Path(tinyengine.__file__).parent}", file=sys.stderr)
    args.out.mkdir(parents=True, exist_ok=True)
    cases = []
    for name in MLPERF:
        for patch in ("off", "auto"):
            print(f"{name} {patch}", file=sys.stderr, flush=True)
            cases.append({"id": f"{name}-{patch}", "model": name, "kind": "mlperf", "patch": patch,
                          "input_seed": INPUT_SEED, "input_count": MLPERF_INPUTS,
                          **record_case(args.models / f"{name}.tflite", patch, MLPERF_INPUTS)})
    recipes = {}
    for seed in range(N_NETS):
        name = f"net{seed:02d}"
        recipe = net_recipe(seed)
        recipes[name] = recipe
        path = args.out / f"{name}.tflite"
        if args.rebuild_nets or not path.exists():
            print(f"{name}: converting", file=sys.stderr, flush=True)
            path.write_bytes(convert_net(recipe))
        for patch in ["off", "auto", *forced_specs(path)]:
            label = str(patch)
            print(f"{name} {label}", file=sys.stderr, flush=True)
            cases.append({"id": f"{name}-{label}", "model": name, "kind": "net", "patch": _patch_json(patch),
                          "input_seed": INPUT_SEED, "input_count": NET_INPUTS,
                          **record_case(path, patch, NET_INPUTS)})
    doc = {"base_commit": BASE_COMMIT, "contract": "tflm", "head_bytes": HEAD_BYTES,
           "recipes": recipes, "cases": cases}
    (args.out / "expected.json").write_text(json.dumps(doc, indent=1) + "\n")
    print(f"{len(cases)} cases -> {args.out / 'expected.json'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
