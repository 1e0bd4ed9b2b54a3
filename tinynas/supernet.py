"""A weight-sharing supernet (OFA-style) over one (width, resolution) sub-space.

It holds the weights of the largest network of the sub-space: every stage at its
deepest, every block at the widest expand ratio and the 7x7 depthwise kernel. A
sub-network is selected by three small tensors (`selection`), so one traced
TensorFlow function trains and evaluates any of them, computing only the
channels and kernel size the sub-network uses (weight slicing; bench/supernet_step.py
measures the gain over masking the full network):
  * elastic kernel (OFA's kernel transformation): a k x k kernel is the centred
    k x k window of the next larger one, passed through a learned k^2 x k^2 matrix
    of its block (identity at the start), so small kernels are not tied to the
    centre of the 7x7 one; a switch on the block's kernel index runs the k x k
    depthwise convolution;
  * elastic expand ratio: the first C_in x e expanded channels are sliced out of
    the expand, depthwise, project and batch-norm weights;
  * elastic depth: the residual branch of a block past its stage's depth is gated
    off (the block becomes the identity; it is still computed, as a conditional
    that skips it made tracing the training step 3x slower).
Each training step trains the mean loss of a few sub-networks (`step_archs`: the
sandwich rule, or the largest with two random ones within the search's MAC limit).
Batch norm runs on batch statistics while training; a sub-network
is scored after recalibrating them on training batches, then extracted into a
standalone Keras model (`build_keras(arch)`) with its own slice of the weights."""

from __future__ import annotations

import numpy as np

from tinyengine.core.errors import TinyMLError, require_choice

from .options import SAMPLINGS
from .space import Arch, SearchSpace, build_keras

EPS = 1e-3
LEARNING_RATE = 0.05     # SGD's, decayed along a cosine over the supernet's training time (nas.py)


def step_archs(space: SearchSpace, width: float, resolution: int, sampling: str, max_macs: int | None,
               rng) -> list[Arch]:
    """The sub-networks one supernet step trains. Random ones are drawn only among those the search
    can pick (within `max_macs`). `sandwich` is OFA's rule. `feasible` drops the smallest: under a
    tight MAC limit, training the smallest every step makes it and its neighbours score far above
    the other candidates, so the search would pick them."""
    require_choice("supernet sampling", sampling, SAMPLINGS)
    largest = space.largest(width, resolution)
    if sampling == "sandwich":
        return [largest, space.smallest(width, resolution), space.sample_within(rng, width, resolution, max_macs)]
    return [largest] + [space.sample_within(rng, width, resolution, max_macs) for _ in range(2)]


def _batch_norm(y, gamma, beta, stats, collected: list):
    """Batch norm over the batch's statistics, or with `stats` (a list in layer order) the next
    pair of it; appends the (mean, var) used to `collected`."""
    import tensorflow as tf

    mean, var = tf.nn.moments(y, [0, 1, 2]) if stats is None else stats[len(collected)]
    collected.append((mean, var))
    return (y - mean) * tf.math.rsqrt(var + EPS) * gamma + beta


def _he(rng, shape, fan_in):
    return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)


class SuperNet:
    def __init__(self, space: SearchSpace, width: float, resolution: int, seed: int = 0):
        import tensorflow as tf

        self.space, self.width, self.resolution = space, width, resolution
        self.max_arch = space.largest(width, resolution)
        self.kmax, self.emax = max(space.kernels), max(space.expands)
        self.kernels = sorted(space.kernels, reverse=True)     # largest first: each derives from the one before
        rng = np.random.default_rng(seed)
        a = self.max_arch
        v = tf.Variable
        self.stem = (v(_he(rng, (3, 3, a.in_channels, a.stem_channels), 9 * a.in_channels)),
                     v(np.ones(a.stem_channels, np.float32)), v(np.zeros(a.stem_channels, np.float32)))
        self.blocks = []
        c = a.stem_channels
        for si, stage in enumerate(a.stages):
            for bi, _ in enumerate(stage.blocks):
                e = 1 if si == 0 else self.emax
                mid = c * e
                blk = {"stage": si, "index": bi, "cin": c, "mid": mid, "cout": stage.channels,
                       "stride": stage.stride if bi == 0 else 1,
                       "residual": bi > 0 or (stage.stride == 1 and c == stage.channels)}
                if e != 1:
                    blk["expand"] = (v(_he(rng, (1, 1, c, mid), c)), v(np.ones(mid, np.float32)),
                                     v(np.zeros(mid, np.float32)))
                blk["dw"] = (v(_he(rng, (self.kmax, self.kmax, mid, 1), 9)), v(np.ones(mid, np.float32)),
                             v(np.zeros(mid, np.float32)))
                # kernel transformation matrices, one per smaller kernel size (not weight-decayed)
                blk["ktm"] = [v(np.eye(k * k, dtype=np.float32)) for k in self.kernels[1:]]
                blk["project"] = (v(_he(rng, (1, 1, mid, stage.channels), mid)),
                                  v(np.ones(stage.channels, np.float32)), v(np.zeros(stage.channels, np.float32)))
                self.blocks.append(blk)
                c = stage.channels
        self.fc = (v(_he(rng, (c, a.num_classes), c)), v(np.zeros(a.num_classes, np.float32)))
        self.variables = [x for x in self.stem] + [x for b in self.blocks for k in ("expand", "dw", "project")
                                                   if k in b for x in b[k]] + list(self.fc)
        self.decayed = [x for x in self.variables if len(x.shape) > 1]   # weight decay: not the transforms
        self.transforms = [m for b in self.blocks for m in b["ktm"]]
        self.variables += self.transforms
        self._train = None

    # ---- selection ----
    def selection(self, arch: Arch) -> tuple[np.ndarray, ...]:
        """What `arch` uses of every block: (kernel-size index in `self.kernels` order [blocks] int32,
        expanded channels [blocks] int32, gate [blocks] float32: 1 where the block is in the
        sub-network). A gated-off block keeps the smallest kernel and expand ratio so its
        (unused) batch-norm statistics have a fixed size."""
        nb = len(self.blocks)
        kidx = np.zeros((nb,), np.int32)
        mids = np.zeros((nb,), np.int32)
        gate = np.zeros((nb,), np.float32)
        for i, blk in enumerate(self.blocks):
            stage = arch.stages[blk["stage"]]
            if blk["index"] < len(stage.blocks):
                block = stage.blocks[blk["index"]]
                gate[i] = 1.0
                k, e = block.kernel, block.expand
            else:
                k, e = min(self.space.kernels), min(self.space.expands)
            kidx[i] = self.kernels.index(k)
            mids[i] = blk["cin"] * e if "expand" in blk else blk["mid"]
        return kidx, mids, gate

    def kernels_of(self, blk: dict) -> list:
        """The depthwise kernels of a block for every kernel size, largest first (`self.kernels`
        order): each is the centred window of the one before, through its transformation matrix."""
        import tensorflow as tf

        out = [blk["dw"][0]]
        for k, m in zip(self.kernels[1:], blk["ktm"]):
            w = out[-1]
            lo = (w.shape[0] - k) // 2
            c = w[lo:lo + k, lo:lo + k]
            mid = c.shape[2]
            flat = tf.matmul(tf.reshape(tf.transpose(c, [2, 3, 0, 1]), [mid, k * k]), m)
            out.append(tf.transpose(tf.reshape(flat, [mid, 1, k, k]), [2, 3, 0, 1]))
        return out

    # ---- forward ----
    def _block(self, blk: dict, x, kidx, mid, stats):
        """One inverted-residual block on the first `mid` expanded channels with the kernel of
        index `kidx`: (output before the residual add, batch-norm statistics [(mean, var)] x 2-3).
        Only the selected slice and kernel size are computed."""
        import tensorflow as tf

        collected = []

        def bn(y, gamma, beta, n):
            return _batch_norm(y, gamma[:n], beta[:n], stats, collected)

        y = x
        if "expand" in blk:
            w, g, b = blk["expand"]
            y = tf.nn.relu6(bn(tf.nn.conv2d(y, w[:, :, :, :mid], 1, "VALID"), g, b, mid))
        _, g, b = blk["dw"]
        s = blk["stride"]
        kernels = self.kernels_of(blk)
        branches = [lambda kw=kw: tf.nn.depthwise_conv2d(y, kw[:, :, :mid, :], [1, s, s, 1], "SAME")
                    for kw in kernels]
        y = tf.nn.relu6(bn(tf.switch_case(kidx, branches), g, b, mid))
        w, g, b = blk["project"]
        y = bn(tf.nn.conv2d(y, w[:, :, :mid, :], 1, "VALID"), g, b, blk["cout"])
        return y, collected

    def _call(self, x, kidx, mids, gate, stats=None):
        """Logits of the sub-network selected by (kidx, mids, gate) (see `selection`) and the
        batch-norm statistics it used, in layer order; with `stats`, those are used instead of
        the batch's (inference)."""
        import tensorflow as tf

        kidx, mids, gate = (tf.convert_to_tensor(t) for t in (kidx, mids, gate))
        collected = []
        w, g, b = self.stem
        x = tf.nn.relu6(_batch_norm(tf.nn.conv2d(x, w, self.max_arch.stem_stride, "SAME"), g, b, stats, collected))
        for i, blk in enumerate(self.blocks):
            n = 3 if "expand" in blk else 2
            own = None if stats is None else stats[len(collected):len(collected) + n]
            y, st = self._block(blk, x, kidx[i], mids[i], own)
            # a block past its stage's depth is gated off (its residual branch times 0); a tf.cond
            # would skip its computation but made tracing the training step 3x slower
            x = x + gate[i] * y if blk["residual"] else y
            collected += st
        x = tf.reduce_mean(x, axis=[1, 2])
        return tf.matmul(x, self.fc[0]) + self.fc[1], collected

    def compile(self, learning_rate: float = LEARNING_RATE, distill: bool = False):
        """The traced training, statistics and prediction functions. With `distill`, a step's first
        sub-network (the largest, in every sampling) learns from the labels and the others from its
        predictions (BigNAS's in-place distillation: soft targets, no gradient through them)."""
        import tensorflow as tf

        self.opt = tf.keras.optimizers.SGD(learning_rate, momentum=0.9, nesterov=True)
        loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        soft_fn = tf.keras.losses.CategoricalCrossentropy(from_logits=True)

        @tf.function(reduce_retracing=True)
        def train_step(x, y, kidxs, mids, gates):
            total, teacher = 0.0, None
            with tf.GradientTape() as tape:
                for j in range(kidxs.shape[0]):
                    logits, _ = self._call(x, kidxs[j], mids[j], gates[j])
                    total += soft_fn(teacher, logits) if teacher is not None else loss_fn(y, logits)
                    if distill and j == 0:
                        teacher = tf.stop_gradient(tf.nn.softmax(logits))
                total /= kidxs.shape[0]
                total += 4e-5 * tf.add_n([tf.reduce_sum(v * v) for v in self.decayed])
            grads = tape.gradient(total, self.variables)
            self.opt.apply_gradients(zip(grads, self.variables))
            return total

        @tf.function(reduce_retracing=True)
        def batch_stats(x, kidx, mids, gate):
            _, collected = self._call(x, kidx, mids, gate)
            return [tf.stack([m, v]) for m, v in collected]

        @tf.function(reduce_retracing=True)
        def predict(x, kidx, mids, gate, stats):
            logits, _ = self._call(x, kidx, mids, gate, [(s[0], s[1]) for s in stats])
            return tf.argmax(logits, axis=1, output_type=tf.int32)

        self._train, self._stats, self._predict = train_step, batch_stats, predict

    def train_step(self, x: np.ndarray, y: np.ndarray, archs: list[Arch], learning_rate: float | None = None
                   ) -> float:
        """One SGD step on the mean loss of `archs` over the batch (at `learning_rate` if given)."""
        if learning_rate is not None:
            self.opt.learning_rate.assign(learning_rate)
        ms = [self.selection(a) for a in archs]
        return float(self._train(x, y, np.stack([m[0] for m in ms]), np.stack([m[1] for m in ms]),
                                 np.stack([m[2] for m in ms])))

    def calibrate(self, arch: Arch, batches: list[np.ndarray]) -> list[np.ndarray]:
        """Batch-norm statistics of `arch` over calibration batches (mean of means; variance from
        E[x^2] - E[x]^2 across batches)."""
        kidx, mids, gate = self.selection(arch)
        sums = None
        for xb in batches:
            st = [s.numpy() for s in self._stats(xb, kidx, mids, gate)]
            second = [np.stack([s[0], s[1] + s[0] ** 2]) for s in st]
            sums = second if sums is None else [a + b for a, b in zip(sums, second)]
        out = []
        for s in sums:
            mean, sq = s[0] / len(batches), s[1] / len(batches)
            out.append(np.stack([mean, np.maximum(sq - mean ** 2, 0.0)]).astype(np.float32))
        return out

    def accuracy(self, arch: Arch, stats: list[np.ndarray], x: np.ndarray, y: np.ndarray,
                 batch: int = 500) -> float:
        kidx, mids, gate = self.selection(arch)
        correct = 0
        for i in range(0, len(x), batch):
            pred = self._predict(x[i:i + batch], kidx, mids, gate, stats).numpy()
            correct += int((pred == y[i:i + batch]).sum())
        return correct / max(len(x), 1)

    # ---- extraction ----
    def extract(self, arch: Arch, stats: list[np.ndarray]):
        """A standalone Keras model of `arch` with the supernet's weights for it and the recalibrated
        batch-norm statistics."""
        model = build_keras(arch)
        bn_index = 0
        st = list(stats)

        def set_bn(name: str, gamma, beta, channels: int) -> None:
            nonlocal bn_index
            mean, var = st[bn_index][0][:channels], st[bn_index][1][:channels]
            model.get_layer(name).set_weights([gamma.numpy()[:channels], beta.numpy()[:channels], mean, var])
            bn_index += 1

        w, g, b = self.stem
        model.get_layer("stem_conv").set_weights([w.numpy()])
        set_bn("stem_bn", g, b, arch.stem_channels)
        for blk in self.blocks:
            stage = arch.stages[blk["stage"]]
            active = blk["index"] < len(stage.blocks)
            name = f"s{blk['stage']}b{blk['index']}"
            if not active:
                bn_index += 3 if "expand" in blk else 2
                continue
            block = stage.blocks[blk["index"]]
            cin = blk["cin"]
            mid = cin * block.expand if "expand" in blk else blk["mid"]
            if "expand" in blk:
                w, g, b = blk["expand"]
                model.get_layer(f"{name}_expand").set_weights([w.numpy()[:, :, :cin, :mid]])
                set_bn(f"{name}_expand_bn", g, b, mid)
            _, g, b = blk["dw"]
            w = self.kernels_of(blk)[self.kernels.index(block.kernel)]
            model.get_layer(f"{name}_dw").set_weights([w.numpy()[:, :, :mid, :]])
            set_bn(f"{name}_dw_bn", g, b, mid)
            w, g, b = blk["project"]
            model.get_layer(f"{name}_project").set_weights([w.numpy()[:, :, :mid, :]])
            set_bn(f"{name}_project_bn", g, b, blk["cout"])
        model.get_layer("classifier").set_weights([self.fc[0].numpy(), self.fc[1].numpy()])
        return model

    @staticmethod
    def read_weights(path) -> list[np.ndarray]:
        """The variables saved by `np.savez(path, *net.state())`, in order."""
        with np.load(path) as z:
            return [z[f"arr_{i}"] for i in range(len(z.files))]

    def state(self) -> list[np.ndarray]:
        return [v.numpy() for v in self.variables]

    def load_state(self, values: list[np.ndarray]) -> None:
        shapes = [tuple(v.shape) for v in self.variables]
        if [tuple(x.shape) for x in values] != shapes:
            raise TinyMLError(f"saved supernet weights do not match this supernet ({len(values)} arrays against "
                             f"{len(shapes)}); they come from another sub-space or an older version: delete "
                             "the checkpoint and search again")
        for v, x in zip(self.variables, values):
            v.assign(x)
