"""The values of `tinyml nas`'s choice options and their defaults, in one place.

Light on purpose (no numpy, no TensorFlow): the CLI reads it to build its parser,
and the modules that act on an option (data, supernet, finish, executor) import
the values from here."""

from __future__ import annotations

# --dataset (tinynas.data)
DATASETS = ("fashion-mnist", "spoken-digits", "har")
DEFAULT_DATASET = "fashion-mnist"

# --sampling: what each supernet training step trains (tinynas.supernet.step_archs)
SAMPLINGS = {
    "feasible": "the largest and two random sub-networks within the MAC limit",
    "sandwich": "the largest, the smallest and a random sub-network within the MAC limit",
}
DEFAULT_SAMPLING = "feasible"

# --supernet-loss: what the sub-networks of a step learn from (tinynas.supernet.SuperNet.compile);
# the largest always learns the labels
SUPERNET_LOSSES = {
    "labels": "every sub-network learns the labels",
    "distill": "the others learn the largest's predictions (in-place distillation)",
}
DEFAULT_SUPERNET_LOSS = "labels"

# --final-init: where the chosen sub-network's final training starts (tinynas.finish)
FINAL_INITS = {
    "scratch": "fresh weights (the supernet only ranks)",
    "supernet": "the supernet's weights for it (OFA's fine-tuning)",
}
DEFAULT_FINAL_INIT = "scratch"

# --backend: where candidates are evaluated (tinynas.executor)
BACKENDS = ("in-process", "ray")
DEFAULT_BACKEND = "in-process"
