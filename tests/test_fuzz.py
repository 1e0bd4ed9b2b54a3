"""The fuzz smoke test (tests/fuzzer.py): a fixed, seeded set of mutants of real models.

Property checked: every mutant through the reader and validator, and every mutant through the
whole compile (--patch auto), ends in success or a TinyMLError whose message is one line; none
raises anything else (a traceback), none runs past the per-mutant timeout. `make fuzz
FUZZ_MINUTES=N` runs the same for as long as asked."""

from __future__ import annotations

import fuzzer
from conftest import MODELS, require


def _check(reports: dict) -> None:
    lines = []
    for stage, rep in reports.items():
        for f in rep.failures[:10]:
            last = f["detail"].strip().splitlines()[-1] if f["detail"].strip() else ""
            lines.append(f"{stage} {f['outcome']} ({f['mutation']}): {last}")
    assert not lines, "\n".join(lines)


def test_reader_mutants_end_in_success_or_one_line_errors(tmp_path):
    require(MODELS.is_dir(), f"shared models in {MODELS}")
    reports = fuzzer.fuzz(reader=4000, compile_=0, seed=11, out=tmp_path, include_mlperf=True)
    assert sum(reports["reader"].counts.values()) == 4000
    assert reports["reader"].counts["error"] > 500 and reports["reader"].counts["ok"] > 500, reports["reader"].summary()
    _check(reports)


def test_compile_mutants_end_in_success_or_one_line_errors(tmp_path):
    reports = fuzzer.fuzz(reader=0, compile_=250, seed=12, out=tmp_path, include_mlperf=False)
    rep = reports["compile"]
    assert sum(rep.counts.values()) == 250
    assert rep.counts["ok"] > 20 and rep.counts["error"] > 100, rep.summary()
    _check(reports)
