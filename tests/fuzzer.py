"""A seeded, structure-aware mutation fuzzer for the compiler's input: .tflite files.

Each mutant starts from a real model (the golden record's networks, the MLPerf Tiny models)
and gets one to three edits. Most edits are to the flatbuffer's fields, through the schema's
object API: a tensor's shape, type, buffer, quantization (NaN, inf, 0, -0, negative scales,
zero points out of range, missing or extra ones, another axis), an op's inputs and outputs (-1,
out of range, its own output, a constant), its opcode and options (strides, padding, axes), the
subgraph's inputs and outputs, variable flags, buffer contents. The rest are byte edits of
the packed file (bit flips, byte and int32 overwrites, truncation).

A mutant's outcome is `ok` (it compiled or parsed), `error` (a TinyMLError: its message must be
one line) or a failure: `crash` (any other exception: a traceback would reach the user),
`multiline` (an error of more than one line) or `hang` (longer than the per-mutant timeout).
A failure writes a reproducer (the mutant's bytes and what happened) to `--out`.

    python tests/fuzzer.py --minutes 30            (what `make fuzz FUZZ_MINUTES=30` runs)
    python tests/fuzzer.py --reader 5000 --compile 300 --seed 1

The suite's smoke test (tests/test_fuzz.py) runs a fixed, seeded few thousand reader mutants
and a few hundred whole compiles."""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GOLDEN = ROOT / "tests" / "golden"
SHARED = ROOT.parent / "shared" / "models" / "mlperf_tiny"

FLOATS = [float("nan"), float("inf"), -float("inf"), 0.0, -0.0, -1.0, 1e-38, 1e38, 1e-12, 3.0]


class Hang(Exception):
    pass


def seeds(include_mlperf: bool) -> list[bytes]:
    files = sorted(GOLDEN.glob("*.tflite"))
    if include_mlperf and SHARED.is_dir():
        files += sorted(p for p in SHARED.glob("*.tflite") if p.stat().st_size < 400_000)
    return [p.read_bytes() for p in files]


def _schema():
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    return schema


def _pack(model) -> bytes:
    import flatbuffers

    b = flatbuffers.Builder(1024)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def _pick_int(rng: np.random.Generator, n: int) -> int:
    return [-1, n, n + 7, 0, int(rng.integers(0, max(n, 1))), 2 ** 31 - 1][int(rng.integers(0, 6))]


def _mutate_fields(model, rng: np.random.Generator) -> str:
    """One edit of the unpacked model; returns what it did."""
    sg = model.subgraphs[0]
    tensors = sg.tensors or []
    ops = sg.operators or []
    nt = len(tensors)
    choice = int(rng.integers(0, 16))
    t = tensors[int(rng.integers(0, nt))] if nt else None
    op = ops[int(rng.integers(0, len(ops)))] if ops else None
    if choice == 0 and t is not None and t.shape is not None and len(t.shape):
        d = int(rng.integers(0, len(t.shape)))
        shape = list(t.shape)
        shape[d] = [0, 1, shape[d] + 1, max(shape[d] - 1, 0), 2 * shape[d], 3][int(rng.integers(0, 6))]
        t.shape = shape
        return f"shape of tensor {tensors.index(t)} -> {shape}"
    if choice == 1 and t is not None:
        shape = list(t.shape) if t.shape is not None else []
        t.shape = shape + [1] * int(rng.integers(1, 6)) if rng.random() < 0.6 else shape[:-1]
        return f"rank of tensor {tensors.index(t)} -> {len(t.shape)}"
    if choice == 2 and t is not None:
        t.type = int(rng.integers(0, 18))
        return f"type of tensor {tensors.index(t)} -> {t.type}"
    if choice == 3 and t is not None:
        t.buffer = _pick_int(rng, len(model.buffers or []))
        return f"buffer of tensor {tensors.index(t)} -> {t.buffer}"
    if choice in (4, 5) and t is not None and t.quantization is not None and t.quantization.scale is not None:
        q = t.quantization
        k = int(rng.integers(0, len(q.scale)))
        scales = list(q.scale)
        scales[k] = FLOATS[int(rng.integers(0, len(FLOATS)))]
        q.scale = scales
        return f"scale {k} of tensor {tensors.index(t)} -> {scales[k]}"
    if choice == 6 and t is not None and t.quantization is not None:
        q = t.quantization
        what = int(rng.integers(0, 4))
        if what == 0:
            q.zeroPoint = [int(rng.choice([-129, 128, 300, -40000, 40000, 2 ** 31 - 1]))]
        elif what == 1:
            q.zeroPoint = None
        elif what == 2 and q.scale is not None:
            q.scale = list(q.scale) + [0.5, 0.25]
        else:
            q.quantizedDimension = int(rng.integers(-1, 6))
        return f"quantization of tensor {tensors.index(t)} ({what})"
    if choice in (7, 8) and op is not None:
        field_ = "inputs" if choice == 7 else "outputs"
        lst = list(getattr(op, field_) if getattr(op, field_) is not None else [])
        what = int(rng.integers(0, 4))
        if what == 0 and lst:
            lst[int(rng.integers(0, len(lst)))] = _pick_int(rng, nt)
        elif what == 1 and lst:
            lst.pop(int(rng.integers(0, len(lst))))
        elif what == 2:
            lst.append(int(rng.integers(-1, nt)))
        elif op.inputs is not None and len(op.inputs) and field_ == "outputs" and lst:
            lst[0] = int(op.inputs[0])            # an op writing its own input
        setattr(op, field_, lst)
        return f"op {ops.index(op)} {field_} -> {lst}"
    if choice == 9 and op is not None:
        op.opcodeIndex = _pick_int(rng, len(model.operatorCodes or []))
        return f"op {ops.index(op)} opcode index -> {op.opcodeIndex}"
    if choice == 10 and model.operatorCodes:
        code = model.operatorCodes[int(rng.integers(0, len(model.operatorCodes)))]
        code.builtinCode = code.deprecatedBuiltinCode = int(rng.integers(0, 127))
        return f"builtin code -> {code.builtinCode}"
    if choice == 11 and op is not None and op.builtinOptions is not None:
        opts = op.builtinOptions
        names = [k for k, v in vars(opts).items() if isinstance(v, (int, bool)) and not isinstance(v, np.ndarray)]
        if names:
            k = names[int(rng.integers(0, len(names)))]
            v = int(rng.choice([0, 1, 2, 3, -1, 7, 100]))
            setattr(opts, k, bool(v) if isinstance(getattr(opts, k), bool) else v)
            return f"op {ops.index(op)} option {k} -> {v}"
    if choice == 12:
        which = "inputs" if rng.random() < 0.5 else "outputs"
        lst = list(getattr(sg, which) if getattr(sg, which) is not None else [])
        what = int(rng.integers(0, 3))
        if what == 0 and lst:
            lst[int(rng.integers(0, len(lst)))] = int(rng.integers(-1, nt + 2))
        elif what == 1:
            lst.append(int(rng.integers(0, max(nt, 1))))
        elif lst:
            lst.pop()
        setattr(sg, which, lst)
        return f"subgraph {which} -> {lst}"
    if choice == 13 and t is not None:
        t.isVariable = not t.isVariable
        return f"tensor {tensors.index(t)} variable -> {t.isVariable}"
    if choice == 14 and model.buffers:
        b = model.buffers[int(rng.integers(0, len(model.buffers)))]
        if b.data is not None and len(b.data):
            data = np.array(b.data, dtype=np.uint8)
            data[int(rng.integers(0, len(data)))] = int(rng.integers(0, 256))
            b.data = data if rng.random() < 0.8 else data[: len(data) // 2]
            return "buffer contents"
    if choice == 15 and len(ops) > 1:
        i, j = rng.choice(len(ops), 2, replace=False)
        ops[i], ops[j] = ops[j], ops[i]
        return f"ops {i} and {j} swapped"
    if t is not None:
        t.name = (t.name or b"t") + [b"\n", b"\r", b"\x00", b'"', b"*/"][int(rng.integers(0, 5))] + b"x"
        return f"name of tensor {tensors.index(t)}"
    return "nothing"


def _mutate_bytes(buf: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    data = bytearray(buf)
    what = int(rng.integers(0, 4))
    pos = int(rng.integers(0, len(data)))
    if what == 0:
        data[pos] ^= 1 << int(rng.integers(0, 8))
        return bytes(data), f"bit flip at {pos}"
    if what == 1:
        data[pos] = int(rng.choice([0, 0xFF, 0x7F, 0x80]))
        return bytes(data), f"byte set at {pos}"
    if what == 2 and pos + 4 <= len(data):
        data[pos:pos + 4] = int(rng.choice([0, -1, 2 ** 31 - 1, len(data) * 2])).to_bytes(4, "little", signed=True)
        return bytes(data), f"int32 at {pos}"
    return bytes(data[:pos]), f"truncated to {pos}"


def mutate(seed_bytes: bytes, rng: np.random.Generator, unpacked) -> tuple[bytes, str]:
    if rng.random() < 0.25 or unpacked is None:
        return _mutate_bytes(seed_bytes, rng)
    model = copy.deepcopy(unpacked)
    edits = [_mutate_fields(model, rng) for _ in range(int(rng.integers(1, 4)))]
    try:
        return _pack(model), "; ".join(edits)
    except Exception:   # the object API cannot pack what was made (e.g. an int out of its field's range)
        return _mutate_bytes(seed_bytes, rng)


@dataclass
class Report:
    counts: Counter = field(default_factory=Counter)
    failures: list[dict] = field(default_factory=list)

    def summary(self) -> str:
        return ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items()))


def _alarm(_signum, _frame):
    raise Hang()


def run_one(data: bytes, stage: str, timeout: float) -> tuple[str, str]:
    """(outcome, detail) of one mutant through the reader and the validator ('reader') or the whole
    compile with --patch auto ('compile')."""
    from tinyengine.core.errors import TinyMLError
    from tinyengine.core.reader import parse_tflite
    from tinyengine.core.validate import validate
    from tinyengine.driver.pipeline import compile_model

    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        if stage == "reader":
            validate(parse_tflite(data, name="mutant"))
        else:
            with tempfile.TemporaryDirectory(prefix="tinyml-fuzz-") as tmp:
                path = Path(tmp) / "mutant.tflite"
                path.write_bytes(data)
                compile_model(path, patch="auto")
        return "ok", ""
    except Hang:
        return "hang", f"more than {timeout} s"
    except TinyMLError as exc:
        msg = str(exc)
        return ("multiline", msg) if "\n" in msg or "\r" in msg else ("error", msg)
    except RecursionError:
        return "crash", traceback.format_exc()
    except Exception:
        return "crash", traceback.format_exc()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def fuzz(reader: int, compile_: int, seed: int = 0, minutes: float | None = None, timeout: float = 20.0,
         out: Path | None = None, include_mlperf: bool = True, progress: bool = False) -> dict[str, Report]:
    """Run `reader` reader mutants and `compile_` whole-compile mutants (or, with `minutes`, both
    until the time is up, about 10 reader mutants per compile). Failures are written to `out`."""
    rng = np.random.default_rng(seed)
    schema = _schema()
    pool = seeds(include_mlperf)
    unpacked = []
    for b in pool:
        try:
            unpacked.append(schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(b, 0)))
        except Exception:
            unpacked.append(None)
    small = [i for i, b in enumerate(pool) if len(b) < 60_000] or list(range(len(pool)))
    reports = {"reader": Report(), "compile": Report()}
    deadline = time.monotonic() + 60 * minutes if minutes else None
    done = Counter()

    def want(stage: str) -> bool:
        if deadline is not None:
            return time.monotonic() < deadline
        return done[stage] < (reader if stage == "reader" else compile_)

    while want("reader") or want("compile"):
        stage = "compile" if want("compile") and (not want("reader") or done["reader"] >= 10 * done["compile"]) \
            else "reader"
        k = int(rng.choice(small)) if stage == "compile" else int(rng.integers(0, len(pool)))
        data, how = mutate(pool[k], rng, unpacked[k])
        outcome, detail = run_one(data, stage, timeout)
        done[stage] += 1
        rep = reports[stage]
        rep.counts[outcome] += 1
        if outcome in ("crash", "hang", "multiline"):
            record = {"stage": stage, "outcome": outcome, "mutation": how, "seed_model": k, "detail": detail}
            rep.failures.append(record)
            if out is not None:
                out.mkdir(parents=True, exist_ok=True)
                name = hashlib.sha256(data).hexdigest()[:12]
                (out / f"{name}.tflite").write_bytes(data)
                (out / f"{name}.json").write_text(json.dumps(record, indent=2))
        if progress and sum(done.values()) % 500 == 0:
            print(f"  reader: {reports['reader'].summary()} | compile: {reports['compile'].summary()}", flush=True)
    return reports


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, help="run until this many minutes have passed")
    ap.add_argument("--reader", type=int, default=5000, help="reader mutants (without --minutes)")
    ap.add_argument("--compile", type=int, default=300, help="whole-compile mutants (without --minutes)")
    ap.add_argument("--seed", type=int, default=int(time.time()) % 100000)
    ap.add_argument("--timeout", type=float, default=20.0, help="seconds per mutant before it counts as a hang")
    ap.add_argument("--out", type=Path, default=ROOT / "fuzz-failures", help="where failing mutants are written")
    args = ap.parse_args()
    print(f"fuzzing with seed {args.seed}" + (f" for {args.minutes} min" if args.minutes else ""), flush=True)
    reports = fuzz(args.reader, args.compile, args.seed, args.minutes, args.timeout, args.out, progress=True)
    failed = 0
    for stage, rep in reports.items():
        print(f"{stage}: {sum(rep.counts.values())} mutants: {rep.summary()}")
        failed += len(rep.failures)
        for f in rep.failures[:20]:
            last = f["detail"].strip().splitlines()[-1] if f["detail"].strip() else ""
            print(f"  {f['outcome']}: {f['mutation']}: {last}")
    if failed:
        print(f"{failed} failing mutants written to {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
