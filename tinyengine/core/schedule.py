"""The memory schedule of a lowered network: which stage (if any) runs patch by
patch, which layers run in place, and the resulting plan. `--patch auto` tries
every stage split and grid and keeps the smallest peak whose extra MACs stay
within the overhead limit.

A plan is made in two steps: tinyengine.core.lifetimes turns the scheduled layers
(and the patched stage) into buffer requests and allowed overlaps, then
tinyengine.core.planner places them."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from .errors import TinyMLError
from .inplace import apply_inplace
from .ir import Graph
from .kernels import Folding, fold_layers, select_kernels
from .layers import Layer, struct_bytes_estimate
from .lifetimes import buffer_requests
from .patch import PatchSpec, PatchStage, build_stage, candidate_specs, patch_params
from .planner import ORDERINGS, QUICK_ORDERINGS, Plan, live_bytes, place
from .variants import variant_named

DEFAULT_MAX_OVERHEAD = 0.20


@dataclass(frozen=True)
class Candidate:
    spec: str
    arena_bytes: int
    overhead: float
    allowed: bool


@dataclass(frozen=True)
class Schedule:
    layers: list[Layer]
    plan: Plan
    stage: PatchStage | None
    unpatched_arena: int                       # the same network without patches (in place as asked)
    candidates: tuple[Candidate, ...] = field(default_factory=tuple)   # what --patch auto evaluated
    max_overhead: float = DEFAULT_MAX_OVERHEAD


def stage_param_bytes(graph: Graph, layers: list[Layer], stage: PatchStage) -> int:
    """Flash for the distinct per-patch parameter structs (an upper bound, 4 bytes per field)."""
    seen: set[str] = set()
    total = 0
    for need in stage.regions:
        for i in stage.layers:
            layer = layers[i]
            values, _ = patch_params(graph, layer, [need[t] for t in layer.inputs], need[layer.outputs[0]])
            key = repr(values)
            if key not in seen:
                seen.add(key)
                total += struct_bytes_estimate(values)
    return total + 16 * len(stage.regions)   # rectangle copies, at most one per patch and tensor


def plan_memory(graph: Graph, layers: list[Layer], param_bytes: int = 0, stage: PatchStage | None = None,
                quick: bool = False) -> Plan:
    """Plan every buffer of the scheduled `layers` (run with the patched `stage`, if any);
    `quick`: fewer placement strategies, for comparing many candidates. `param_bytes`: flash
    besides the layers' constant arrays."""
    requests = buffer_requests(graph, layers, stage)
    placed = place(requests.buffers, requests.shared, QUICK_ORDERINGS if quick else tuple(ORDERINGS))
    flash = param_bytes + sum(c.nbytes for layer in layers for c in layer.consts)
    return Plan(placed.buffers, requests.alias, placed.arena_bytes, sum(layer.scratch_bytes for layer in layers),
                flash, placed.lower_bound_bytes, placed.peak_step, placed.strategy, requests.shared)


def _plan(graph: Graph, layers: list[Layer], param_bytes: int, inplace: bool,
          stage: PatchStage | None, quick: bool = False, kernels: str = "reference",
          folds: dict[int, Folding | None] | None = None) -> tuple[list[Layer], Plan]:
    """Layers placed in place, kernels chosen and memory planned, trading memory for speed only
    where the arena does not grow:
    - a variant that is faster for more scratch (KernelVariant.more_scratch) is kept only
      where it does not raise the arena (_kernels_and_plan);
    - an in-place depthwise layer runs out of place (the faster kernel, with its output in a
      buffer of its own) where the bytes live at its step, plus that output, stay within the
      in-place plan's arena; the plan with those layers out of place is kept when its arena
      is no larger.
    `quick` (comparing --patch auto candidates) plans the lean, in-place choice only: its
    arena is the one the full plan matches."""
    skip = set(stage.layers) if stage else set()
    placed = apply_inplace(graph, layers, skip) if inplace else layers
    folds = fold_layers(layers) if folds is None else folds
    flash = param_bytes + (stage_param_bytes(graph, layers, stage) if stage else 0)

    def plan_for(placed: list[Layer]) -> tuple[list[Layer], Plan]:
        if quick:
            scheduled = select_kernels(graph, placed, kernels, stage, frozenset(x.index for x in placed), folds)
            return scheduled, plan_memory(graph, scheduled, flash, stage, quick)
        return _kernels_and_plan(graph, placed, flash, stage, kernels, folds)

    scheduled, plan = plan_for(placed)
    # an in-place PAD makes its input's buffer output-sized for the input's whole life: where that
    # raises the peak elsewhere, the PADs run out of place
    pads = {x.index for x in placed if x.op in ("PAD", "PADV2") and x.inplace_of is not None}
    if pads:
        trial = plan_for(apply_inplace(graph, layers, skip | pads))
        if trial[1].arena_bytes < plan.arena_bytes:
            skip |= pads
            scheduled, plan = trial
    if quick:
        return scheduled, plan
    if not inplace or kernels == "reference":
        return scheduled, plan
    free = {layer.index for layer in scheduled if layer.op == "DEPTHWISE_CONV_2D" and layer.inplace_of is not None
            and live_bytes(plan.buffers, plan.shared, layer.index) - layer.scratch_bytes
            + graph.tensors[layer.outputs[0]].nbytes <= plan.arena_bytes}
    while free:
        trial = _kernels_and_plan(graph, apply_inplace(graph, layers, skip | free), flash, stage, kernels, folds)
        if trial[1].arena_bytes <= plan.arena_bytes:
            return trial
        over = {i for i in free if live_bytes(trial[1].buffers, trial[1].shared, i) > plan.arena_bytes}
        free -= over or free
    return scheduled, plan


SPEED_ARENA_SLACK = 0.02   # --kernels speed: more_scratch variants may take the arena 2% over the reference's


def _kernels_and_plan(graph: Graph, placed: list[Layer], flash: int, stage: PatchStage | None, kernels: str,
                      folds: dict[int, Folding | None]) -> tuple[list[Layer], Plan]:
    """Kernels chosen for the placed layers and memory planned. A more_scratch variant is
    kept only where it does not raise the arena: the plan with every such layer on its leaner
    variant sets the arena; the layers whose step is then over it (live bytes, their scratch
    included) go lean until the arena is no larger. The `speed` set allows up to
    SPEED_ARENA_SLACK over the reference kernels' arena (it trades flash, and this little SRAM,
    for instructions)."""
    scheduled = select_kernels(graph, placed, kernels, stage, folds=folds)
    plan = plan_memory(graph, scheduled, flash, stage)
    hungry = frozenset(layer.index for layer in scheduled
                       if layer.variant is not None and variant_named(layer.op, layer.variant).more_scratch)
    if not hungry:
        return scheduled, plan
    lean_layers = select_kernels(graph, placed, kernels, stage, hungry, folds)
    lean_plan = plan_memory(graph, lean_layers, flash, stage)
    limit = lean_plan.arena_bytes
    if kernels == "speed":   # up to SPEED_ARENA_SLACK over the reference kernels' arena
        reference = plan_memory(graph, placed, flash, stage).arena_bytes
        limit = max(limit, int(reference * (1 + SPEED_ARENA_SLACK)))
    lean: frozenset[int] = frozenset()
    while plan.arena_bytes > limit:
        over = {i for i in hungry - lean if live_bytes(plan.buffers, plan.shared, i) > limit}
        if not over:
            return lean_layers, lean_plan
        lean |= over
        scheduled = select_kernels(graph, placed, kernels, stage, lean, folds)
        plan = plan_memory(graph, scheduled, flash, stage)
    return scheduled, plan


def _best_variant(graph: Graph, layers: list[Layer], param_bytes: int, inplace: bool,
                  stage: PatchStage, quick: bool = False, kernels: str = "reference",
                  folds: dict[int, Folding | None] | None = None) -> tuple[PatchStage, list[Layer], Plan]:
    """The stage output in its own buffer, or sharing the stage input's: whichever plans smaller
    (sharing keeps the input's buffer alive as long as the output)."""
    variants = [stage]
    if stage.output_over_input is not None:
        variants.append(dataclasses.replace(stage, output_over_input=None))
    best = None
    for v in variants:
        scheduled, plan = _plan(graph, layers, param_bytes, inplace, v, quick, kernels, folds)
        if best is None or plan.arena_bytes < best[2].arena_bytes:
            best = (v, scheduled, plan)
    return best


def schedule(graph: Graph, layers: list[Layer], param_bytes: int, inplace: bool = True,
             patch: str | PatchSpec = "off", max_overhead: float = DEFAULT_MAX_OVERHEAD,
             kernels: str = "reference") -> Schedule:
    """`kernels`: "fast" moves every layer to its fastest exact variant (tinyengine.core.kernels),
    "reference" keeps the reference kernels."""
    folds = fold_layers(layers) if kernels != "reference" else {}   # once: the same for every plan
    base_layers, base_plan = _plan(graph, layers, param_bytes, inplace, None, kernels=kernels, folds=folds)
    if patch == "off":
        return Schedule(base_layers, base_plan, None, base_plan.arena_bytes)
    if isinstance(patch, PatchSpec):
        stage, scheduled, plan = _best_variant(graph, layers, param_bytes, inplace, build_stage(graph, layers, patch),
                                               kernels=kernels, folds=folds)
        return Schedule(scheduled, plan, stage, base_plan.arena_bytes, max_overhead=max_overhead)
    if patch != "auto":
        raise TinyMLError(f"unknown patch mode '{patch}'")
    # The layers after a stage run exactly as in the unpatched plan, so the bytes live at any later
    # step bound the patched arena from below: a split whose bound is no better than the best
    # arena so far is skipped whole, and candidates are compared with a quick placement.
    n = len(layers)
    # (the bound comes from the all-in-place, lean-kernel plan: what _plan adds for speed only
    # raises the bytes live at a step, so it stays a lower bound)
    _, bound_plan = _plan(graph, layers, param_bytes, inplace, None, quick=True, kernels=kernels, folds=folds)
    after = [max((live_bytes(bound_plan.buffers, bound_plan.shared, s) for s in range(k + 1, n + 1)), default=0)
             for k in range(n)]
    best: tuple[int, float, PatchStage] | None = None
    tried = []
    for spec in candidate_specs(graph, layers):
        if after[spec.split] >= (best[0] if best else base_plan.arena_bytes):
            continue
        try:
            stage = build_stage(graph, layers, spec)
        except TinyMLError:
            continue
        allowed = stage.overhead <= max_overhead
        if not allowed:
            tried.append(Candidate(str(spec), -1, stage.overhead, False))
            continue
        stage, _, plan = _best_variant(graph, layers, param_bytes, inplace, stage, quick=True, kernels=kernels,
                                       folds=folds)
        tried.append(Candidate(str(spec), plan.arena_bytes, stage.overhead, True))
        key = (plan.arena_bytes, stage.overhead)
        if best is None or key < best[:2]:
            best = (plan.arena_bytes, stage.overhead, stage)
    if best is not None:
        stage, scheduled, plan = _best_variant(graph, layers, param_bytes, inplace,
                                               build_stage(graph, layers, best[2].spec), kernels=kernels, folds=folds)
        if plan.arena_bytes < base_plan.arena_bytes:
            return Schedule(scheduled, plan, stage, base_plan.arena_bytes, tuple(tried), max_overhead)
    return Schedule(base_layers, base_plan, None, base_plan.arena_bytes, tuple(tried), max_overhead)
