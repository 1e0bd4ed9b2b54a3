"""A weight-sharing supernet (OFA-style) over one (width, resolution) sub-space.

It holds the largest network of the sub-space: every stage at its deepest, every
block at the widest expand ratio and the 7x7 depthwise kernel. A sub-network is
selected by masks, so one traced TensorFlow function trains and evaluates any
of them:
  * elastic kernel (OFA's kernel transformation): a k x k kernel is the centred
    k x k window of the next larger one, passed through a learned k^2 x k^2 matrix
    of its block (identity at the start), so small kernels are not tied to the
    centre of the 7x7 one; a one-hot selector per block picks the kernel size and
    the chosen kernel is zero-padded to 7x7 (with 'same' padding this equals a
    k x k convolution);
  * elastic expand ratio: the first C_in x e expanded channels are kept;
  * elastic depth: the residual branch of a block past a stage's depth is gated
    off (the block becomes the identity).
Training follows the sandwich rule (largest, smallest and random sub-networks
each step). Batch norm runs on batch statistics while training; a sub-network
is scored after recalibrating them on training batches, then extracted into a
standalone Keras model (`build_keras(arch)`) with its own slice of the weights."""

from __future__ import annotations

import numpy as np

from tinyengine.errors import TinyMLError

from .space import Arch, SearchSpace, build_keras

EPS = 1e-3


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
        self._forward = None

    # ---- masks ----
    def masks(self, arch: Arch) -> tuple[np.ndarray, ...]:
        """(kernel selectors [blocks, kernel sizes] one-hot in `self.kernels` order, expand masks
        [blocks, max mid], gates [blocks])."""
        nb = len(self.blocks)
        maxmid = max(b["mid"] for b in self.blocks)
        ksel = np.zeros((nb, len(self.kernels)), np.float32)
        emask = np.zeros((nb, maxmid), np.float32)
        gate = np.zeros((nb,), np.float32)
        for i, blk in enumerate(self.blocks):
            stage = arch.stages[blk["stage"]]
            if blk["index"] < len(stage.blocks):
                block = stage.blocks[blk["index"]]
                gate[i] = 1.0
                k, e = block.kernel, block.expand
            else:
                k, e = min(self.space.kernels), min(self.space.expands)
            ksel[i, self.kernels.index(k)] = 1.0
            emask[i, :blk["cin"] * e if blk["stage"] > 0 else blk["mid"]] = 1.0
        return ksel, emask, gate

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
    def _call(self, x, ksel, emask, gate, stats=None):
        import tensorflow as tf

        collected = []

        def bn(y, gamma, beta):
            if stats is None:
                mean, var = tf.nn.moments(y, [0, 1, 2])
            else:
                mean, var = stats[len(collected)]
            collected.append((mean, var))
            return (y - mean) * tf.math.rsqrt(var + EPS) * gamma + beta

        w, g, b = self.stem
        x = tf.nn.relu6(bn(tf.nn.conv2d(x, w, self.max_arch.stem_stride, "SAME"), g, b))
        for i, blk in enumerate(self.blocks):
            m = emask[i, :blk["mid"]]
            y = x
            if "expand" in blk:
                w, g, b = blk["expand"]
                y = tf.nn.relu6(bn(tf.nn.conv2d(y, w, 1, "VALID"), g, b)) * m
            _, g, b = blk["dw"]
            w = 0.0
            for j, kw in enumerate(self.kernels_of(blk)):
                p = (self.kmax - kw.shape[0]) // 2
                w += ksel[i, j] * tf.pad(kw, [[p, p], [p, p], [0, 0], [0, 0]])
            s = blk["stride"]
            y = tf.nn.relu6(bn(tf.nn.depthwise_conv2d(y, w, [1, s, s, 1], "SAME"), g, b)) * m
            w, g, b = blk["project"]
            y = bn(tf.nn.conv2d(y, w, 1, "VALID"), g, b)
            x = x + gate[i] * y if blk["residual"] else y
        x = tf.reduce_mean(x, axis=[1, 2])
        return tf.matmul(x, self.fc[0]) + self.fc[1], collected

    def compile(self, learning_rate: float = 0.05):
        import tensorflow as tf

        self.opt = tf.keras.optimizers.SGD(learning_rate, momentum=0.9, nesterov=True)
        loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)

        @tf.function(reduce_retracing=True)
        def train_step(x, y, ksels, emasks, gates):
            total = 0.0
            with tf.GradientTape() as tape:
                for j in range(ksels.shape[0]):
                    logits, _ = self._call(x, ksels[j], emasks[j], gates[j])
                    total += loss_fn(y, logits)
                total /= ksels.shape[0]
                total += 4e-5 * tf.add_n([tf.reduce_sum(v * v) for v in self.decayed])
            grads = tape.gradient(total, self.variables)
            self.opt.apply_gradients(zip(grads, self.variables))
            return total

        @tf.function(reduce_retracing=True)
        def batch_stats(x, ksel, emask, gate):
            _, collected = self._call(x, ksel, emask, gate)
            return [tf.stack([m, v]) for m, v in collected]

        @tf.function(reduce_retracing=True)
        def predict(x, ksel, emask, gate, stats):
            logits, _ = self._call(x, ksel, emask, gate, [(s[0], s[1]) for s in stats])
            return tf.argmax(logits, axis=1, output_type=tf.int32)

        self._train, self._stats, self._predict = train_step, batch_stats, predict

    def train_step(self, x: np.ndarray, y: np.ndarray, archs: list[Arch]) -> float:
        ms = [self.masks(a) for a in archs]
        return float(self._train(x, y, np.stack([m[0] for m in ms]), np.stack([m[1] for m in ms]),
                                 np.stack([m[2] for m in ms])))

    def calibrate(self, arch: Arch, batches: list[np.ndarray]) -> list[np.ndarray]:
        """Batch-norm statistics of `arch` over calibration batches (mean of means; variance from
        E[x^2] - E[x]^2 across batches)."""
        k, e, g = self.masks(arch)
        sums = None
        for xb in batches:
            st = [s.numpy() for s in self._stats(xb, k, e, g)]
            second = [np.stack([s[0], s[1] + s[0] ** 2]) for s in st]
            sums = second if sums is None else [a + b for a, b in zip(sums, second)]
        out = []
        for s in sums:
            mean, sq = s[0] / len(batches), s[1] / len(batches)
            out.append(np.stack([mean, np.maximum(sq - mean ** 2, 0.0)]).astype(np.float32))
        return out

    def accuracy(self, arch: Arch, stats: list[np.ndarray], x: np.ndarray, y: np.ndarray,
                 batch: int = 500) -> float:
        k, e, g = self.masks(arch)
        correct = 0
        for i in range(0, len(x), batch):
            pred = self._predict(x[i:i + batch], k, e, g, stats).numpy()
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
