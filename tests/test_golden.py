"""Golden behaviour: the code still produces exactly what the base commit ead9394 produced.

For every case recorded by tests/golden/record.py (the four MLPerf Tiny models with patch "off"
and "auto"; 20 small random networks, tests/golden/netNN.tflite, with "off", "auto" and forced
patch specs), compile with the default contract and the reference kernels (the fast kernels
plan their own scratch, so their plans differ by design; they are checked byte for byte against
the reference kernels elsewhere), compare the memory plan field by field (arena,
lower bound, placement, every buffer's size / lifetime / offset, aliases, shared pairs, the patched
stage) and the host target's outputs, by sha256 of their exact bytes, for the recorded seeded
random inputs. A forced spec the base refused must be refused with the same message.

The fixtures are the base's behaviour, not an independent truth: regenerate them (record.py) only
for an intended change of behaviour, and say so in the commit."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest

from tinyengine.core.errors import TinyMLError
from tinyengine.core.patch import PatchSpec
from tinyengine.driver.boards import HOST
from tinyengine.driver.pipeline import compile_model, write_output
from tinyengine.driver.targets import run_batch
from tinyengine.driver.verify import random_inputs

# ----

GOLDEN = Path(__file__).resolve().parent / "golden"
MLPERF_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "models" / "mlperf_tiny"
EXPECTED = json.loads((GOLDEN / "expected.json").read_text())
CASES = EXPECTED["cases"]
PLAN_FIELDS = ("arena_bytes", "lower_bound_bytes", "scratch_bytes", "flash_bytes", "peak_step", "placement")
BUFFER_FIELDS = ("tensor", "size", "first", "last", "offset")
MAX_REPORTED = 40


def _model_path(case: dict) -> Path:
    if case["kind"] == "net":
        return GOLDEN / f"{case['model']}.tflite"
    path = MLPERF_DIR / f"{case['model']}.tflite"
    if not path.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"required data missing under CI: {path} (shared/models beside the checkout)")
        pytest.skip(f"missing: {path}")
    return path


def _patch(case: dict):
    p = case["patch"]
    return PatchSpec(p["split"], p["rows"], p["cols"]) if isinstance(p, dict) else p


def _digest(arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _plan_differences(expected: dict, compiled) -> list[str]:
    plan, diffs = compiled.plan, []
    for name in PLAN_FIELDS:
        got = getattr(plan, name)
        if got != expected[name]:
            diffs.append(f"plan.{name}: expected {expected[name]!r}, got {got!r}")
    stage = str(compiled.stage.spec) if compiled.stage is not None else None
    if stage != expected["stage"]:
        diffs.append(f"patch stage: expected {expected['stage']!r}, got {stage!r}")

    want = {b["key"]: b for b in expected["buffers"]}
    got_buffers = {b.key: b for b in plan.buffers}
    if len(got_buffers) != len(plan.buffers):
        diffs.append(f"buffers: duplicate keys in {[b.key for b in plan.buffers]}")
    for key in sorted(want.keys() - got_buffers.keys()):
        diffs.append(f"buffer {key}: missing (expected {want[key]})")
    for key in sorted(got_buffers.keys() - want.keys()):
        diffs.append(f"buffer {key}: unexpected extra buffer {got_buffers[key]}")
    for key in [k for k in want if k in got_buffers]:
        for name in BUFFER_FIELDS:
            got = getattr(got_buffers[key], name)
            if got != want[key][name]:
                diffs.append(f"buffer {key}.{name}: expected {want[key][name]!r}, got {got!r}")

    want_alias = {t: r for t, r in expected["alias"]}
    got_alias = {int(t): int(r) for t, r in plan.alias.items()}
    for t in sorted(want_alias.keys() | got_alias.keys()):
        if want_alias.get(t) != got_alias.get(t):
            diffs.append(f"alias of tensor {t}: expected {want_alias.get(t)!r}, got {got_alias.get(t)!r}")

    want_shared = {(a, b): d for a, b, d in expected["shared"]}
    got_shared = dict(plan.shared)
    for pair in sorted(want_shared.keys() | got_shared.keys()):
        if want_shared.get(pair) != got_shared.get(pair):
            diffs.append(f"shared {pair[0]} over {pair[1]}: expected max_start_after {want_shared.get(pair)!r}, "
                         f"got {got_shared.get(pair)!r}")
    return diffs


def _output_differences(case: dict, compiled, tmp_path: Path) -> list[str]:
    diffs = []
    sets = random_inputs(compiled.graph, case["input_count"], case["input_seed"])
    for k, (inputs, want) in enumerate(zip(sets, case["inputs"])):
        if _digest(inputs) != want:
            diffs.append(f"input #{k}: random_inputs(seed={case['input_seed']}) no longer gives the recorded "
                         "input (the outputs below are then expected to differ too)")
    out_dir = write_output(compiled, tmp_path / compiled.graph.name)
    outputs = run_batch(compiled, out_dir, HOST, sets).outputs
    for k, (got, want) in enumerate(zip(outputs, case["outputs"])):
        if len(got) != len(want):
            diffs.append(f"input #{k}: expected {len(want)} outputs, got {len(got)}")
        for j, (a, w) in enumerate(zip(got, want)):
            raw = np.ascontiguousarray(a).tobytes()
            where = f"input #{k} output #{j}"
            if list(a.shape) != w["shape"] or str(a.dtype) != w["dtype"]:
                diffs.append(f"{where}: expected {w['dtype']}{w['shape']}, got {a.dtype}{list(a.shape)}")
            elif hashlib.sha256(raw).hexdigest() != w["sha256"]:
                head = len(w["head"]) // 2
                diffs.append(f"{where}: bytes differ (sha256 {hashlib.sha256(raw).hexdigest()[:16]}..., "
                             f"expected {w['sha256'][:16]}...; first {head} bytes {raw[:head].hex()}, "
                             f"expected {w['head']})")
    return diffs


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_golden(case, tmp_path):
    path, patch = _model_path(case), _patch(case)
    label = f"{case['model']} patch={case['patch'] if isinstance(case['patch'], str) else patch}"
    if "error" in case:
        with pytest.raises(TinyMLError) as exc:
            compile_model(path, patch=patch, kernels="reference")
        assert str(exc.value) == case["error"], f"{label}: the refusal's message changed"
        return
    compiled = compile_model(path, patch=patch, kernels="reference")
    diffs = _plan_differences(case["plan"], compiled)
    diffs += _output_differences(case, compiled, tmp_path)
    if diffs:
        more = f"\n  ... and {len(diffs) - MAX_REPORTED} more" if len(diffs) > MAX_REPORTED else ""
        pytest.fail(f"{label}: {len(diffs)} differences from the base commit's golden record:\n  "
                    + "\n  ".join(diffs[:MAX_REPORTED]) + more)


def test_golden_fixtures_complete():
    """Every recorded net is on disk and the record covers what record.py promises."""
    nets = sorted({c["model"] for c in CASES if c["kind"] == "net"})
    assert nets == [f"net{i:02d}" for i in range(20)]
    assert all((GOLDEN / f"{n}.tflite").exists() for n in nets)
    mlperf = {(c["model"], c["patch"]) for c in CASES if c["kind"] == "mlperf"}
    assert len(mlperf) == 8
    assert len({c["id"] for c in CASES}) == len(CASES)
