"""The search's fitness: a candidate's accuracy with the supernet's weights, after
batch-norm recalibration, on the held-out validation split; and the optional
fine-tuning trials of the finalists (one epoch each, then the same validation).

It runs through the executor's `map_with`: `load_scorer(spec)` rebuilds the
trained supernet from its checkpoint file and the data from the dataset name, once
per worker (in this process, or in each Ray actor), and `score(scorer, arch)` then
evaluates one candidate (`trial(scorer, job)` runs one trial). Everything a worker needs is in the JSON spec, so a
remote worker gives the same numbers as this process."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import numpy as np

from .space import Arch

CALIB_BATCHES, CALIB_BATCH = 4, 250
VAL_IMAGES = 2000
TRIAL_IMAGES = 10_000


@dataclass(frozen=True)
class ScorerSpec:
    dataset: str
    seed: int
    train_limit: int | None
    width: float
    resolution: int
    weights: str          # the supernet checkpoint (.npz)
    val_images: int | None = VAL_IMAGES   # validation images to score on (None: the whole split)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


@dataclass
class Scorer:
    net: object
    calib: list[np.ndarray]
    val_x: np.ndarray
    val_y: np.ndarray
    trial_x: np.ndarray      # the first TRIAL_IMAGES training images, for fine-tuning trials
    trial_y: np.ndarray
    flip: bool


def calibration_batches(x_train: np.ndarray) -> list[np.ndarray]:
    return [x_train[i * CALIB_BATCH:(i + 1) * CALIB_BATCH] for i in range(CALIB_BATCHES)]


def load_scorer(spec_json: str) -> Scorer:
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from .data import load_dataset
    from .space import SearchSpace
    from .supernet import SuperNet

    spec = ScorerSpec(**json.loads(spec_json))
    ds = load_dataset(spec.dataset, seed=spec.seed, limit=spec.train_limit)
    space = SearchSpace(ds.channels, ds.num_classes, resolutions=ds.resolutions, input_width=ds.input_width)
    net = SuperNet(space, spec.width, spec.resolution, spec.seed)
    net.compile()
    net.load_state(SuperNet.read_weights(spec.weights))
    x_train = ds.at(ds.x_train[:TRIAL_IMAGES], spec.resolution)
    n = spec.val_images
    return Scorer(net, calibration_batches(x_train), ds.at(ds.x_val[:n], spec.resolution),
                  ds.y_val[:n], x_train, ds.y_train[:TRIAL_IMAGES], ds.flip)


def score(scorer: Scorer, arch_json: str) -> float:
    arch = Arch.from_json(arch_json)
    net = scorer.net
    return net.accuracy(arch, net.calibrate(arch, scorer.calib), scorer.val_x, scorer.val_y)


def trial(scorer: Scorer, job_json: str) -> float:
    """A fine-tuning trial: the candidate, started as the final training starts (fresh weights, or
    extracted from the supernet: the job's "init"), trained for one epoch on the trial images, its
    batch norm recalibrated, scored on the validation split. Seeded, so a rerun gives the same
    number."""
    import tensorflow as tf

    from .finish import finetune, initial_model, recalibrate_bn

    job = json.loads(job_json)
    arch = Arch.from_json(job["arch"])
    tf.keras.utils.set_random_seed(job["seed"])
    model = initial_model(arch, job.get("init", "supernet"), scorer.net, scorer.calib, job["seed"])
    finetune(model, scorer.trial_x, scorer.trial_y, job["batch"], job["seed"], scorer.flip, lambda _: None,
             epochs_wanted=1)
    recalibrate_bn(model, np.concatenate(scorer.calib))
    pred = model.predict(scorer.val_x, verbose=0, batch_size=500).argmax(1)
    return float((pred == scorer.val_y).mean())
