"""`make demo`: compile the MLPerf Tiny reference models with the full memory schedule
(in place + --patch auto), verify them bit-exactly on the host against both oracles
(random and Fashion-MNIST inputs) and in QEMU on every emulated Cortex-M board (with
instruction counts), build the real-board firmware, measure TFLM's arena next to
ours, and write a summary."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from codegen.build import build_defines

from .driver.baselines import SHARED_MODELS, TFLM_ARENA
from .driver.bench import bench_model, render_table
from .driver.boards import board_names, load_board
from .driver.datasets import fashion_mnist
from .driver.firmware import build_firmware
from .driver.pipeline import compile_model, write_output
from .driver.targets import firmware_model
from .driver.verify import image_inputs, random_inputs, verify_host, verify_target

OUT = Path(__file__).resolve().parent.parent / "out" / "demo"


def main() -> int:
    models = sorted(SHARED_MODELS.glob("*.tflite"))
    if not models:
        print(f"demo: no models in {SHARED_MODELS}", file=sys.stderr)
        return 2
    images, _ = fashion_mnist("test")
    rows, ok = [], True
    qemu_boards = [b for b in board_names() if load_board(b).runs_here]
    hw_boards = [b for b in board_names() if not load_board(b).runs_here]
    insn_rows, fw_rows, bench_rows = [], [], []
    for path in models:
        for contract in ("tflm", "litert"):
            compiled = compile_model(path, contract, patch="auto")
            out = write_output(compiled, OUT / f"{compiled.graph.name}-{contract}")
            sets = random_inputs(compiled.graph, 50, 0) + image_inputs(compiled.graph, images, 20)
            result = verify_host(compiled, out, sets, contract)
            print(result.summary() + " (50 random + 20 Fashion-MNIST inputs)")
            ok &= result.ok
            if contract == "tflm":
                bench_rows.append(bench_model(path))
                counts = []
                for board in qemu_boards:
                    r = verify_target(compiled, out, sets[:10], board, contract)
                    print(r.summary())
                    ok &= r.ok
                    counts.append(r.instructions[0] if r.instructions else 0)
                insn_rows.append((compiled.graph.name, counts))
                for board in hw_boards:
                    b = load_board(board)
                    fw_dir = out / f"fw-{board}"
                    expected = compiled.oracle(contract).run(sets[0])
                    vector = (b"".join(x.tobytes() for x in sets[0]), b"".join(y.tobytes() for y in expected))
                    fw = build_firmware([firmware_model(compiled, out, vector)], b, fw_dir,
                                        defines=build_defines(compiled.layers))
                    print(f"{compiled.graph.name}: {board} firmware: {fw.size.summary()}")
                    fw_rows.append((compiled.graph.name, board, fw.size.flash_used, fw.size.sram_used))
                p = compiled.plan
                rows.append((compiled.graph.name, len(compiled.layers), p.arena_bytes, p.lower_bound_bytes,
                             TFLM_ARENA.get(compiled.graph.name), p.flash_bytes))
    lines = ["Peak SRAM, ours vs TF-Lite Micro's arena (measured now with its recording allocator):", "",
             render_table(bench_rows), "",
             "| model | layers | arena as compiled (--patch auto) (B) | flash (B) |", "|---|---:|---:|---:|"]
    for name, n, arena, _lb, _tflm, flash in rows:
        lines.append(f"| {name} | {n} | {arena:,} | {flash:,} |")
    lines += ["", "Instructions per inference in QEMU (-icount shift=0, SysTick; 10 inputs, the minimum):", "",
              "| model | " + " | ".join(qemu_boards) + " |", "|---|" + "---:|" * len(qemu_boards)]
    for name, counts in insn_rows:
        lines.append(f"| {name} | " + " | ".join(f"{c:,}" for c in counts) + " |")
    lines += ["", "Real-board firmware (built, not run here):", "", "| model | board | flash (B) | SRAM (B) |",
              "|---|---|---:|---:|"]
    for name, board, flash, sram in fw_rows:
        lines.append(f"| {name} | {board} | {flash:,} | {sram:,} |")
    table = "\n".join(lines)
    (OUT / "summary.md").write_text("# Demo summary\n\n" + table + "\n")
    print("\n" + table)
    print(f"\ngenerated code and reports: {OUT}/<model>-<contract>/ (model.c, plan.json, report.md)")
    print("\nTinyNAS, small budget (3 min, <= 3 MMACs) for the STM32F405 on Fashion-MNIST:")
    from tinynas.nas import NasConfig, run_nas

    board = load_board("qemu-stm32f405")
    nas_out = OUT / "nas-fashion-mnist"
    if nas_out.exists():
        shutil.rmtree(nas_out)
    result = run_nas(NasConfig("fashion-mnist", nas_out, board.sram.size, board.flash.size, board.stack_bytes,
                               board.name, budget_minutes=3, samples=4, population=6, generations=3, parents=2,
                               train_limit=20000, max_macs=3_000_000))
    nas_line = (f"TinyNAS: `{result['arch']}`: int8 test accuracy {result['int8_test_accuracy_c']:.4f} from the "
                f"generated C (TF-Lite Micro: {result['int8_test_accuracy_tflm']:.4f}) on {result['test_images']:,} "
                f"images, arena {result['arena_bytes']:,} B, flash {result['flash_bytes']:,} B, "
                f"{result['instructions']:,} instructions/inference on {board.name}; {nas_out}/report.md")
    if result.get("ranking_note"):   # a 3-minute budget leaves the supernet too little training to rank
        nas_line += f"\n\nTinyNAS note: {result['ranking_note']}."
    print(nas_line)
    with open(OUT / "summary.md", "a") as f:
        f.write("\n" + nas_line + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
