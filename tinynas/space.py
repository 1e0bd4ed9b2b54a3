"""The MCUNet-style search space as data: a MobileNetV2-like backbone (a stem conv,
stages of inverted-residual blocks, global pooling and a classifier), each block
with its own kernel size and expand ratio, each stage its own depth, plus a
global width multiplier and an input resolution. An `Arch` is plain data (JSON
round-trip) and builds into a Keras model."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import asdict, dataclass

KERNELS = (3, 5, 7)
EXPANDS = (3, 4, 6)
DEPTHS = (2, 3, 4)
# MobileNetV2's stage layout at width 1.0: (output channels, stride of the first block)
BASE_STAGES = ((16, 1), (24, 2), (32, 2), (64, 2), (96, 1), (160, 2))


@dataclass(frozen=True)
class Block:
    kernel: int
    expand: int


@dataclass(frozen=True)
class Stage:
    channels: int
    stride: int
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Arch:
    resolution: int
    width: float
    in_channels: int
    num_classes: int
    stem_channels: int
    stages: tuple[Stage, ...]
    stem_stride: int = 2
    input_width: int = 0     # 0: a square input (resolution x resolution); else a fixed width

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """(height, width, channels) of the input: `resolution` is the height (the time axis of a
        sequence), the width equals it for images and is fixed for feature-by-time inputs."""
        return (self.resolution, self.input_width or self.resolution, self.in_channels)

    @property
    def key(self) -> str:
        """A short stable identity, for caches and reports."""
        blocks = "|".join(",".join(f"{b.kernel}{b.expand}" for b in s.blocks) for s in self.stages)
        res = f"r{self.resolution}" + (f"x{self.input_width}" if self.input_width else "")
        return f"{res}-w{self.width:g}-s{self.stem_stride}-{blocks}"

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @staticmethod
    def from_json(text: str) -> Arch:
        d = json.loads(text)
        stages = tuple(Stage(s["channels"], s["stride"], tuple(Block(**b) for b in s["blocks"]))
                       for s in d["stages"])
        return Arch(d["resolution"], d["width"], d["in_channels"], d["num_classes"], d["stem_channels"], stages,
                    d.get("stem_stride", 2), d.get("input_width", 0))


def scaled(channels: int, width: float) -> int:
    """Channels times the width multiplier, rounded to a multiple of 8 (at least 8), as in MobileNetV2."""
    c = max(8, int(channels * width + 4) // 8 * 8)
    return c if c >= 0.9 * channels * width else c + 8


def mobilenetv2_like(resolution: int = 96, width: float = 0.35, in_channels: int = 3, num_classes: int = 2,
                     depths: tuple[int, ...] = (1, 2, 3, 4, 3, 3), kernel: int = 3, expand: int = 6) -> Arch:
    """MobileNetV2's own layout (first stage expand 1), scaled by width and resolution."""
    stages = []
    for i, ((c, s), d) in enumerate(zip(BASE_STAGES, depths)):
        stages.append(Stage(scaled(c, width), s, tuple(Block(kernel, 1 if i == 0 else expand) for _ in range(d))))
    return Arch(resolution, width, in_channels, num_classes, scaled(32, width), tuple(stages))


@dataclass(frozen=True)
class SearchSpace:
    """Where architectures come from: a base stage layout (channels at width 1.0, stride of the
    first block), per-block kernel and expand choices, per-stage depth choices, and the global
    width multipliers and input resolutions that make up the sub-spaces. The first stage is
    MobileNetV2's single expand-1 block and does not vary."""

    in_channels: int
    num_classes: int
    base_stages: tuple[tuple[int, int], ...] = ((16, 1), (24, 2), (40, 2), (80, 2), (96, 1))
    kernels: tuple[int, ...] = KERNELS
    expands: tuple[int, ...] = EXPANDS
    depths: tuple[int, ...] = DEPTHS
    widths: tuple[float, ...] = (0.25, 0.35, 0.5, 0.75, 1.0)
    resolutions: tuple[int, ...] = (28, 32, 40, 48)
    stem_channels: int = 32
    input_width: int = 0     # 0: square inputs; else every architecture's fixed input width

    def stem_stride(self, resolution: int) -> int:
        return 2 if resolution >= 64 else 1

    def sample(self, rng, width: float, resolution: int) -> Arch:
        stages = []
        for i, (c, stride) in enumerate(self.base_stages):
            if i == 0:
                blocks = (Block(int(rng.choice(self.kernels)), 1),)
            else:
                depth = int(rng.choice(self.depths))
                blocks = tuple(Block(int(rng.choice(self.kernels)), int(rng.choice(self.expands)))
                               for _ in range(depth))
            stages.append(Stage(scaled(c, width), stride, blocks))
        return Arch(resolution, width, self.in_channels, self.num_classes, scaled(self.stem_channels, width),
                    tuple(stages), self.stem_stride(resolution), self.input_width)

    def sample_within(self, rng, width: float, resolution: int, max_macs: int | None, tries: int = 200) -> Arch:
        """A random architecture of the sub-space with at most `max_macs` MACs (rejection sampling,
        so uniform over the ones that fit); the smallest if none of `tries` draws fits."""
        for _ in range(tries):
            arch = self.sample(rng, width, resolution)
            if max_macs is None or arch_macs(arch) <= max_macs:
                return arch
        return self.smallest(width, resolution)

    def from_key(self, key: str) -> Arch:
        """The architecture of this space whose `Arch.key` is `key` (as reports print it, with '|'
        or '/' between stages), e.g. 'r48-w0.25-s1-31|33,53|53,36|34,56,54|76,74,54,73'."""
        try:
            res, width, stem, blocks = key.split("-", 3)
            height, _, input_width = res[1:].partition("x")
            stage_keys = blocks.replace("/", "|").split("|")
            if not res.startswith("r") or not width.startswith("w") or not stem.startswith("s"):
                raise ValueError
            w = float(width[1:])
            stages = tuple(Stage(scaled(c, w), s, tuple(Block(int(b[0]), int(b[1:])) for b in sk.split(",")))
                           for (c, s), sk in zip(self.base_stages, stage_keys, strict=True))
            arch = Arch(int(height), w, self.in_channels, self.num_classes, scaled(self.stem_channels, w), stages,
                        int(stem[1:]), int(input_width or 0))
        except ValueError:
            raise ValueError(f"not an architecture key of this space ({len(self.base_stages)} stages): {key!r}, "
                             "expected e.g. 'r48-w0.25-s1-31|33,53|53,36|34,56,54|76,74,54,73'") from None
        if arch.key != key.replace("/", "|"):
            raise ValueError(f"not an architecture key of this space: {key!r} reads back as {arch.key!r}")
        return arch

    def largest(self, width: float, resolution: int) -> Arch:
        return self._uniform(width, resolution, max(self.kernels), max(self.expands), max(self.depths))

    def smallest(self, width: float, resolution: int) -> Arch:
        return self._uniform(width, resolution, min(self.kernels), min(self.expands), min(self.depths))

    def _uniform(self, width: float, resolution: int, k: int, e: int, d: int) -> Arch:
        stages = [Stage(scaled(c, width), s, (Block(k, 1),) if i == 0 else tuple(Block(k, e) for _ in range(d)))
                  for i, (c, s) in enumerate(self.base_stages)]
        return Arch(resolution, width, self.in_channels, self.num_classes, scaled(self.stem_channels, width),
                    tuple(stages), self.stem_stride(resolution), self.input_width)

    def mutate(self, arch: Arch, rng, prob: float = 0.2) -> Arch:
        stages = []
        for i, stage in enumerate(arch.stages):
            blocks = list(stage.blocks)
            if i > 0 and rng.random() < prob:
                depth = int(rng.choice(self.depths))
                while len(blocks) < depth:
                    blocks.append(Block(int(rng.choice(self.kernels)), int(rng.choice(self.expands))))
                blocks = blocks[:depth]
            blocks = [Block(int(rng.choice(self.kernels)) if rng.random() < prob else b.kernel,
                            (int(rng.choice(self.expands)) if rng.random() < prob else b.expand) if i > 0 else 1)
                      for b in blocks]
            stages.append(Stage(stage.channels, stage.stride, tuple(blocks)))
        return dataclasses.replace(arch, stages=tuple(stages))

    def crossover(self, a: Arch, b: Arch, rng) -> Arch:
        """Each stage's depth from one parent, each block's kernel and expand from either."""
        stages = []
        for sa, sb in zip(a.stages, b.stages):
            depth = len(sa.blocks) if rng.random() < 0.5 else len(sb.blocks)
            blocks = []
            for j in range(depth):
                options = [s.blocks[j] for s in (sa, sb) if j < len(s.blocks)]
                blocks.append(options[int(rng.integers(len(options)))])
            stages.append(Stage(sa.channels, sa.stride, tuple(blocks)))
        return dataclasses.replace(a, stages=tuple(stages))


@dataclass(frozen=True)
class BlockSite:
    """One block where it sits: its stage and index, stride, channels in and out, and whether
    it ends in a residual add (stride 1, channels kept)."""
    stage: int
    index: int
    block: Block
    stride: int
    cin: int
    cout: int

    @property
    def residual(self) -> bool:
        return self.stride == 1 and self.cin == self.cout

    @property
    def name(self) -> str:
        return f"s{self.stage}b{self.index}"


def block_sites(arch: Arch) -> list[BlockSite]:
    sites, c = [], arch.stem_channels
    for si, stage in enumerate(arch.stages):
        for bi, block in enumerate(stage.blocks):
            sites.append(BlockSite(si, bi, block, stage.stride if bi == 0 else 1, c, stage.channels))
            c = stage.channels
    return sites


def build_keras(arch: Arch):
    """The Keras model (float) of an architecture: ReLU6 everywhere, 'same' padding, residual adds
    where a block keeps its shape. Layers are named (stem_conv, s<stage>b<block>_expand/_dw/_project
    and their _bn, classifier) so weights can be copied in by name."""
    import tensorflow as tf

    layers = tf.keras.layers
    inp = tf.keras.Input(arch.input_shape)
    x = layers.Conv2D(arch.stem_channels, 3, strides=arch.stem_stride, padding="same", use_bias=False,
                      name="stem_conv")(inp)
    x = layers.BatchNormalization(epsilon=1e-3, name="stem_bn")(x)
    x = layers.ReLU(6.0)(x)
    for site in block_sites(arch):
        name, block = site.name, site.block
        y = x
        if block.expand != 1:
            y = layers.Conv2D(site.cin * block.expand, 1, use_bias=False, name=f"{name}_expand")(y)
            y = layers.BatchNormalization(epsilon=1e-3, name=f"{name}_expand_bn")(y)
            y = layers.ReLU(6.0)(y)
        y = layers.DepthwiseConv2D(block.kernel, strides=site.stride, padding="same", use_bias=False,
                                   name=f"{name}_dw")(y)
        y = layers.BatchNormalization(epsilon=1e-3, name=f"{name}_dw_bn")(y)
        y = layers.ReLU(6.0)(y)
        y = layers.Conv2D(site.cout, 1, use_bias=False, name=f"{name}_project")(y)
        y = layers.BatchNormalization(epsilon=1e-3, name=f"{name}_project_bn")(y)
        x = layers.Add()([x, y]) if site.residual else y
    x = layers.GlobalAveragePooling2D()(x)
    out = layers.Dense(arch.num_classes, name="classifier")(x)
    return tf.keras.Model(inp, out)


def to_int8_tflite(model, representative) -> bytes:
    """Full-integer (int8 in, int8 out) TFLite conversion with a representative dataset
    (an iterable of float32 input batches)."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]

    def gen():
        for x in representative:
            yield [x]
    converter.representative_dataset = gen
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    from tinyengine.driver.quiet import quiet

    with quiet((1, 2)):     # the converter prints the exported graph's signature and its options
        return converter.convert()


def conv_out(size: int, stride: int) -> int:
    """Output height (or width) of a convolution of the space: 'same' padding, or a 1x1 stride-1
    'valid' one, which keeps the size too."""
    return -(-size // stride)


def arch_macs(arch: Arch) -> int:
    """Multiply-accumulates of one inference, counted as the engine counts its lowered layers
    (equal to `cost.arch_cost(arch).macs`, without building the graph: microseconds, so a
    sampler can reject architectures over a MAC limit at every training step)."""
    h, w = (conv_out(n, arch.stem_stride) for n in arch.input_shape[:2])
    macs = h * w * arch.stem_channels * 9 * arch.in_channels
    for site in block_sites(arch):
        mid = site.cin * site.block.expand
        if site.block.expand != 1:
            macs += h * w * mid * site.cin
        k = site.block.kernel
        h, w = conv_out(h, site.stride), conv_out(w, site.stride)
        macs += h * w * mid * k * k + h * w * site.cout * mid
        if site.residual:
            macs += h * w * site.cout
    c = arch.stages[-1].channels
    return macs + h * w * c + c * arch.num_classes
