"""Search-space optimisation and evolutionary search (MCUNet's two steps).

Search-space optimisation: for every (width, resolution) sub-space, sample
architectures, keep those whose exact cost fits the limits, and pick the
sub-space whose fitting models have the most MACs (the median of the fitting
ones, among sub-spaces where at least a fifth fit); the CDFs are kept for the
plot. Evolution: a population of fitting architectures scored by a fitness
function (supernet accuracy), the best as parents, children by mutation and
crossover, redrawn until they fit; all from one seeded RNG."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from .cost import Cost, arch_cost
from .space import Arch, SearchSpace


@dataclass(frozen=True)
class Limits:
    sram_bytes: int     # for the planned arena (the board's SRAM less stack and other data)
    flash_bytes: int
    max_macs: int | None = None

    def ok(self, cost: Cost) -> bool:
        return cost.fits(self.sram_bytes, self.flash_bytes) and (self.max_macs is None or cost.macs <= self.max_macs)


@dataclass
class SubSpace:
    width: float
    resolution: int
    samples: int
    fitting_macs: list[int] = field(default_factory=list)

    @property
    def fit_ratio(self) -> float:
        return len(self.fitting_macs) / max(self.samples, 1)

    @property
    def score(self) -> float:
        if self.fit_ratio < 0.2 or not self.fitting_macs:
            return 0.0
        return float(np.median(self.fitting_macs))


def _cost_job(arch_json: str) -> dict:
    """Exact cost of one architecture (runs in a worker for the Ray backend)."""
    return asdict(arch_cost(Arch.from_json(arch_json)))


def optimise_space(space: SearchSpace, limits: Limits, samples: int, rng: np.random.Generator, executor,
                   progress: Callable[[int, int], None] | None = None) -> tuple[SubSpace, list[SubSpace]]:
    subspaces, done = [], 0
    total = len(space.widths) * len(space.resolutions)
    for width in space.widths:
        for res in space.resolutions:
            archs = [space.sample(rng, width, res) for _ in range(samples)]
            costs = [Cost(**c) for c in executor.map(_cost_job, [a.to_json() for a in archs])]
            sub = SubSpace(width, res, samples, sorted(c.macs for c in costs if limits.ok(c)))
            subspaces.append(sub)
            done += 1
            if progress:
                progress(done, total)
    # fewer than a fifth fitting anywhere: fall back to the sub-space where most fit
    best = max(subspaces, key=lambda s: (s.score, s.fit_ratio, float(np.median(s.fitting_macs or [0]))))
    return best, subspaces


@dataclass
class Evaluated:
    arch: Arch
    cost: Cost
    accuracy: float
    generation: int


def _mutant(space: SearchSpace, ranked: list[Evaluated], rng: np.random.Generator) -> Callable[[], Arch]:
    return lambda: space.mutate(ranked[int(rng.integers(len(ranked)))].arch, rng)


def _child(space: SearchSpace, ranked: list[Evaluated], rng: np.random.Generator) -> Callable[[], Arch]:
    return lambda: space.crossover(ranked[int(rng.integers(len(ranked)))].arch,
                                   ranked[int(rng.integers(len(ranked)))].arch, rng)


def evolve(space: SearchSpace, sub: SubSpace, limits: Limits, fitness: Callable[[list[Arch]], list[float]], executor,
           rng: np.random.Generator, population: int, generations: int, parents: int,
           history: list[Evaluated] | None = None, start_generation: int = 0,
           on_generation: Callable[[int, list[Evaluated]], None] | None = None,
           should_stop: Callable[[], bool] | None = None) -> list[Evaluated]:
    """Every evaluated candidate, in order. `fitness` scores a generation's new candidates at once
    (so an executor can spread them). A resumed search passes its history and the next generation."""
    history = list(history or [])
    seen = {e.arch.key for e in history}

    def draw(make: Callable[[], Arch], n: int) -> list[Evaluated]:
        out: list[Evaluated] = []
        for _ in range(n * 50):
            if len(out) >= n:
                break
            arch = make()
            if arch.key in seen:
                continue
            seen.add(arch.key)
            cost = Cost(**executor.map(_cost_job, [arch.to_json()])[0])
            if limits.ok(cost):
                out.append(Evaluated(arch, cost, -1.0, gen))
        return out

    for gen in range(start_generation, generations):
        previous = [e for e in history if e.generation == gen - 1]
        if should_stop and should_stop() and previous:
            break
        if not previous:
            fresh = draw(lambda: space.sample(rng, sub.width, sub.resolution), population)
            kept: list[Evaluated] = []
        else:
            kept = sorted(previous, key=lambda e: -e.accuracy)[:parents]
            n_mut = (population - len(kept)) // 2
            fresh = draw(_mutant(space, kept, rng), n_mut)
            fresh += draw(_child(space, kept, rng), population - len(kept) - n_mut)
        for e, acc in zip(fresh, fitness([e.arch for e in fresh])):
            e.accuracy = acc
        history.extend(fresh)
        history.extend(Evaluated(e.arch, e.cost, e.accuracy, gen) for e in kept)   # parents survive
        if on_generation:
            on_generation(gen, history)
    return history


def top_distinct(history: list[Evaluated], n: int) -> list[Evaluated]:
    """The `n` best distinct architectures (a parent appears once per generation it survives)."""
    out: list[Evaluated] = []
    for e in sorted(history, key=lambda e: (-e.accuracy, e.cost.sram_bytes)):
        if all(o.arch.key != e.arch.key for o in out):
            out.append(e)
    return out[:n]


def within_noise(accuracies: list[float], macs: list[int], images: int) -> int:
    """Which finalist to keep, given each one's accuracy on the same `images` validation images and
    its MACs: the one with the most MACs among those within one standard error (binomial, of the
    best accuracy) of the best. Differences smaller than that are sampling noise of the validation
    split, and within a sub-space that fits, MCUNet's premise is that more MACs train to higher
    accuracy. Ties go to the more accurate, then to the earlier."""
    best = max(accuracies)
    se = float(np.sqrt(best * (1.0 - best) / max(images, 1)))
    close = [i for i, a in enumerate(accuracies) if a >= best - se]
    return max(close, key=lambda i: (macs[i], accuracies[i], -i))


def best_of(history: list[Evaluated]) -> Evaluated:
    return max(history, key=lambda e: (e.accuracy, -e.cost.sram_bytes))
