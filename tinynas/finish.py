"""The last phase of `tinyml nas`: the chosen sub-network becomes a deployable,
verified int8 model. Train it (from fresh weights, or from the supernet's with --final-init supernet;
its own batch norm, flip augmentation where the dataset allows it, cosine learning rate) for the
remaining budget, quantize it fully to int8 with a representative set, compile it
with the engine, verify it bit-exactly against TF-Lite Micro (host, and the board
in QEMU when it has one), and measure the int8 accuracy of the generated C on
the whole test set next to TFLite's own int8 accuracy: the two must be equal."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from tinyengine.core.errors import TinyMLError, require_choice

from .data import Dataset, flip_half
from .interrupt import keras_callback
from .options import FINAL_INITS
from .schedule import cosine_decay
from .search import Evaluated
from .space import to_int8_tflite

LEARNING_RATE = 1e-3


def initial_model(arch, init: str, net, calib, seed: int):
    """The Keras model the final training (and a fine-tuning trial) starts from."""
    import tensorflow as tf

    from .space import build_keras

    require_choice("final-training start", init, FINAL_INITS)
    if init == "supernet":
        return net.extract(arch, net.calibrate(arch, calib))
    tf.keras.utils.set_random_seed(seed)
    return build_keras(arch)


def _quantize(x: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    return np.clip(np.round(x / scale) + zero_point, -128, 127).astype(np.int8)


def plan_epochs(done: int, planned: int, last_epoch_s: float, seconds_left: float) -> int:
    """How many epochs in all fit before the deadline, after `done` epochs, the last of which took
    `last_epoch_s`. The plan is made after the first epoch and revised once after the second (the
    first also traces the training function, so it overstates an epoch); later it is only
    shortened, when epochs run slower. The revision at most doubles
    the plan, so the cosine learning rate never rises."""
    fit = done + int(seconds_left // last_epoch_s)
    if done == 1:
        return fit
    if done == 2:
        return min(fit, 2 * planned)
    return min(planned, fit)


def finetune(model, x: np.ndarray, y: np.ndarray, batch: int, seed: int, flip: bool, log,
             deadline: float | None = None, epochs_wanted: int | None = None, check=None) -> int:
    """Adam with a cosine learning-rate decay, either over `epochs_wanted` epochs or over as many
    whole epochs as fit before `deadline` (see `plan_epochs`). Returns the number of epochs run."""
    import tensorflow as tf

    model.compile(optimizer=tf.keras.optimizers.Adam(LEARNING_RATE),
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    rng = np.random.default_rng([seed, 7])
    epochs, planned, per_epoch = 0, epochs_wanted or 1, None
    while True:
        started = time.monotonic()
        if epochs_wanted is not None:
            if epochs == epochs_wanted:
                break
        elif per_epoch is not None:
            planned = plan_epochs(epochs, planned, per_epoch, deadline - started)
            if planned <= epochs:
                break
        xb = x.copy()
        if flip:
            flip_half(xb, rng)
        lr = cosine_decay(epochs / planned, LEARNING_RATE)
        model.optimizer.learning_rate.assign(lr)
        hist = model.fit(xb, y, batch_size=batch, epochs=1, verbose=0, shuffle=True,
                         callbacks=[keras_callback(check)] if check else None)
        epochs += 1
        per_epoch = time.monotonic() - started
        log(f"  fine-tune epoch {epochs}: lr {lr:.2e}, loss {hist.history['loss'][-1]:.4f}, "
            f"train accuracy {hist.history['accuracy'][-1]:.4f} ({per_epoch:.0f} s)")
    return epochs


def recalibrate_bn(model, x: np.ndarray) -> None:
    """Set every batch norm's moving statistics to the statistics of `x` (one forward pass in
    training mode with momentum 0). After a short fine-tune the moving averages still lag behind
    the weights; this makes inference use statistics of the weights as they are."""
    import tensorflow as tf

    bns = [layer for layer in model.layers if isinstance(layer, tf.keras.layers.BatchNormalization)]
    saved = [bn.momentum for bn in bns]
    for bn in bns:
        bn.momentum = 0.0
    model(x, training=True)
    for bn, m in zip(bns, saved):
        bn.momentum = m


def finish(cfg, ds: Dataset, net, chosen: Evaluated, calib, clock, limits, finetune_end: float, log,
           check=lambda: None) -> dict:
    from tinyengine.driver.boards import load_board
    from tinyengine.driver.oracle import make_oracle
    from tinyengine.driver.pipeline import compile_model, write_output
    from tinyengine.driver.targets import run_batch
    from tinyengine.driver.verify import random_inputs, verify_target

    arch = chosen.arch
    res = arch.resolution
    model = initial_model(arch, cfg.final_init, net, calib, cfg.seed)
    log(f"final training of {arch.key} from {FINAL_INITS[cfg.final_init]} ({cfg.final_init})")
    x_train, x_test = ds.at(ds.x_train, res), ds.at(ds.x_test, res)
    deadline = clock.start + finetune_end * clock.budget
    epochs = finetune(model, x_train, ds.y_train, cfg.batch, cfg.seed, ds.flip, log, deadline=deadline, check=check)
    check()
    recalibrate_bn(model, np.concatenate(calib))
    float_acc = float((model.predict(x_test, verbose=0, batch_size=500).argmax(1) == ds.y_test).mean())
    log(f"trained {epochs} epochs, batch norm recalibrated: float test accuracy {float_acc:.4f}")

    rng = np.random.default_rng([cfg.seed, 9])
    reps = x_train[rng.choice(len(x_train), 256, replace=False)]
    tflite = to_int8_tflite(model, (reps[i:i + 1] for i in range(len(reps))))
    model_path = cfg.out / "model.tflite"
    model_path.write_bytes(tflite)

    compiled = compile_model(model_path, "tflm", patch="auto")
    if compiled.plan.arena_bytes > limits.sram_bytes or compiled.plan.flash_bytes > limits.flash_bytes:
        raise TinyMLError(f"the exported model plans {compiled.plan.arena_bytes:,} B arena / "
                          f"{compiled.plan.flash_bytes:,} B flash, over the limits the search used "
                          f"({limits.sram_bytes:,} / {limits.flash_bytes:,})")
    out_dir = write_output(compiled, cfg.out / "compiled", board=cfg.board)

    # bit-exact: random inputs and real test images, host and (if any) the board in QEMU
    inp = compiled.graph.tensors[compiled.graph.inputs[0]]
    q = inp.quant
    test_q = _quantize(x_test, q.scale, q.zero_point)
    sets = random_inputs(compiled.graph, cfg.verify_inputs, cfg.seed) + [[test_q[i:i + 1]] for i in range(20)]
    check()
    checks = [verify_target(compiled, out_dir, sets, "host")]
    board = load_board(cfg.board) if cfg.board else None
    if board is not None and board.runs_here:
        checks.append(verify_target(compiled, out_dir, sets[:5], board.name))
    for c in checks:
        log("  " + c.summary())
        if not c.ok:
            raise TinyMLError(f"the exported model is not bit-exact: {c.summary()}")

    # int8 accuracy on the whole test set: generated C (host) and TF-Lite Micro
    started = time.monotonic()
    check()
    oracle = make_oracle("tflm", model_path, 1)
    ref_pred = np.array([int(np.argmax(oracle.run([test_q[i:i + 1]])[0])) for i in range(len(test_q))])
    batch = run_batch(compiled, out_dir, "host", [[test_q[i:i + 1]] for i in range(len(test_q))])
    c_pred = np.array([int(np.argmax(o[0])) for o in batch.outputs])
    tflite_acc = float((ref_pred == ds.y_test).mean())
    c_acc = float((c_pred == ds.y_test).mean())
    log(f"int8 test accuracy: generated C {c_acc:.4f}, TF-Lite Micro {tflite_acc:.4f} "
        f"({len(test_q):,} images, {time.monotonic() - started:.0f} s)")
    if c_acc != tflite_acc or not np.array_equal(ref_pred, c_pred):
        raise TinyMLError(f"the generated C's predictions differ from TF-Lite Micro's on the test set "
                          f"({int((ref_pred != c_pred).sum())} images)")
    return {
        "arch": arch.key, "resolution": res, "width": arch.width,
        "supernet_val_accuracy": chosen.accuracy, "finetune_epochs": epochs, "float_test_accuracy": float_acc,
        "int8_test_accuracy_tflm": tflite_acc, "int8_test_accuracy_c": c_acc, "test_images": int(len(test_q)),
        "arena_bytes": compiled.plan.arena_bytes, "flash_bytes": compiled.plan.flash_bytes,
        "patch": str(compiled.stage.spec) if compiled.stage else "off",
        "macs": sum(layer.macs for layer in compiled.layers),
        "verified": [c.summary() for c in checks],
        "instructions": checks[-1].instructions[0] if checks[-1].instructions else None,
        "model": str(Path(model_path)), "compiled": str(out_dir), "seconds": clock.spent,
    }
