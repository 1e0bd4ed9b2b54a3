"""The `tinyml` command itself: errors carry their exit status, the parser does not load the
search (only tinynas.options), and a compile that does not fit a board says what --patch auto
would plan."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

from tinyengine import cli
from tinyengine.core.errors import TinyMLError


def test_an_error_exits_with_its_own_status(monkeypatch, capsys):
    from tinynas.nas import NasInterrupted

    def interrupted(args):
        raise NasInterrupted("interrupted; the search is checkpointed in x: run the same command to resume")

    def bad(args):
        raise TinyMLError("bad input")

    monkeypatch.setattr(cli, "cmd_boards", interrupted)
    assert cli.main(["boards"]) == 130
    assert capsys.readouterr().err == ("tinyml: error: interrupted; the search is checkpointed in x: run the same "
                                       "command to resume\n")
    monkeypatch.setattr(cli, "cmd_boards", bad)
    assert cli.main(["boards"]) == 2
    assert capsys.readouterr().err == "tinyml: error: bad input\n"


def test_the_parser_loads_only_the_search_options():
    """Building the parser (nas's choices and defaults included) imports tinynas.options and
    nothing else of tinynas, and no TensorFlow."""
    code = ("import sys; from tinyengine.cli import build_parser; "
            "a = build_parser().parse_args(['nas', '-o', 'x']); "
            "print(a.dataset, a.sampling, a.supernet_loss, a.final_init, a.backend); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tinynas', 'tensorflow')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == ["fashion-mnist feasible labels scratch in-process", "['tinynas', 'tinynas.options']"]


def test_a_compile_that_does_not_fit_suggests_patch_auto(models_dir, tmp_path, monkeypatch, capsys):
    """vww plans about 46 KB layer by layer and 31 KB with --patch auto: on a board with 40,000 B
    for the arena, --board fails with both numbers; with --patch auto it fits."""
    from tinyengine.driver import boards
    from tinyengine.driver.pipeline import compile_model

    real = boards.load_board
    small = dataclasses.replace(real("qemu-stm32f405"), name="small-m4",
                                sram=boards.Region(0x20000000, 40_000 + 8192))
    monkeypatch.setattr(boards, "load_board", lambda name, *a, **k: small if name == "small-m4" else real(name))
    model = str(models_dir / "vww_96_int8.tflite")
    assert cli.main(["compile", model, "-o", str(tmp_path / "a"), "--board", "small-m4"]) == 2
    err = capsys.readouterr().err
    auto = compile_model(model, patch="auto")
    assert 40_000 < compile_model(model).plan.arena_bytes and auto.plan.arena_bytes < 40_000
    assert "does not fit small-m4" in err
    assert f"with --patch auto the arena would be {auto.plan.arena_bytes:,} B (patches {auto.stage.spec})" in err
    assert not (tmp_path / "a").exists()
    assert cli.main(["compile", model, "-o", str(tmp_path / "b"), "--board", "small-m4", "--patch", "auto"]) == 0
    assert "fits small-m4" in capsys.readouterr().out


def test_nas_needs_a_board_or_both_memory_sizes(capsys):
    assert cli.main(["nas", "-o", "never-written", "--sram-kb", "64"]) == 2
    assert capsys.readouterr().err == "tinyml: error: give --board, or both --sram-kb and --flash-kb\n"


def test_boards_lists_every_board(capsys):
    from tinyengine.driver.boards import board_names

    assert cli.main(["boards"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["board", "cpu", "flash", "SRAM", "runs"]
    assert [line.split()[0] for line in lines[1:]] == board_names()
