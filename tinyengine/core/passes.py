"""The engine's one entry point from a graph to a memory schedule: validate the graph's
interface, lower every op to a kernel call, fold PADs into the convolutions after them
(core/padfold.py), then schedule (in place, patches, placement).

`tinyml compile` (tinyengine.driver.pipeline) and TinyNAS's exact cost model
(tinynas.cost) both plan through `plan_model`, so the cost the search sees is the
plan the compiler emits."""

from __future__ import annotations

import dataclasses

from .bounds import check_bounds
from .contracts import get_contract
from .errors import TinyMLError
from .ir import Graph
from .layers import param_bytes_estimate
from .lower import lower_graph
from .padfold import fold_pads
from .patch import PatchSpec
from .schedule import DEFAULT_MAX_OVERHEAD, Schedule, schedule
from .state import state_layout
from .validate import validate
from .variants import DEFAULT_KERNELS


def plan_model(graph: Graph, contract: str = "tflm", inplace: bool = True, patch: str | PatchSpec = "off",
               max_overhead: float = DEFAULT_MAX_OVERHEAD, kernels: str = DEFAULT_KERNELS) -> Schedule:
    """Lower and schedule `graph` under the rounding `contract`. `inplace=False` plans every
    layer out of place (for comparison); `patch` is "off", "auto" or a PatchSpec; `kernels`
    is "fast" (the fastest exact variant of every layer) or "reference"."""
    rules = get_contract(contract)
    if not graph.inputs or not graph.outputs:
        raise TinyMLError(f"'{graph.name}' has no inputs or no outputs")
    validate(graph)
    lowered = fold_pads(graph, lower_graph(graph, rules))
    sched = schedule(graph, lowered, param_bytes_estimate(lowered), inplace, patch, max_overhead, kernels)
    check_bounds(graph, sched.layers, sched.plan, frozenset(sched.stage.layers) if sched.stage else frozenset())
    state = state_layout(graph).total_bytes
    if not state:
        return sched
    return dataclasses.replace(sched, plan=dataclasses.replace(sched.plan, state_bytes=state))
