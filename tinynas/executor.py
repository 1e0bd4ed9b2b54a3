"""Where candidate evaluations run: in this process (default) or on Ray. Both map
a picklable function over items and return results in order, so a search gives
the same result on either for a fixed seed.

`map` is for stateless jobs (a candidate's exact cost). `map_with` is for jobs that
need a heavy state built once per worker (the trained supernet and the validation
data for accuracy): `setup(spec)` builds it, `fn(state, item)` uses it. In this
process the state is built once per spec; on Ray each of a pool of actors (one per
CPU Ray offers) builds it once and the items are spread over them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from tinyengine.core.errors import TinyMLError

from .options import BACKENDS


class InProcessExecutor:
    def __init__(self) -> None:
        self._states: dict[tuple[Callable, str], Any] = {}

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
        return [fn(x) for x in items]

    def map_with(self, setup: Callable[[str], Any], spec: str, fn: Callable[[Any, Any], Any],
                 items: Iterable[Any]) -> list[Any]:
        key = (setup, spec)
        if key not in self._states:
            self._states[key] = setup(spec)
        state = self._states[key]
        return [fn(state, x) for x in items]

    def close(self) -> None:
        self._states.clear()


class _StatefulWorker:
    """A Ray actor body: builds the state once, then runs jobs against it."""

    def __init__(self, setup: Callable[[str], Any], spec: str) -> None:
        self.state = setup(spec)

    def run(self, fn: Callable[[Any, Any], Any], item: Any) -> Any:
        return fn(self.state, item)


class RayExecutor:
    def __init__(self, address: str | None = None, num_cpus: int | None = None) -> None:
        try:
            import ray
        except ImportError:
            raise TinyMLError("the Ray backend needs the 'ray' package: .venv/bin/pip install -r "
                              "requirements-ray.txt") from None
        self._ray = ray
        self._pools: dict[tuple[Callable, str], list[Any]] = {}
        self._owned = not ray.is_initialized()
        if self._owned:
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            if address:
                kwargs["address"] = address
            else:
                kwargs["num_cpus"] = num_cpus
            ray.init(**kwargs)

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
        remote = self._ray.remote(fn)
        return self._ray.get([remote.remote(x) for x in items])

    def map_with(self, setup: Callable[[str], Any], spec: str, fn: Callable[[Any, Any], Any],
                 items: Iterable[Any]) -> list[Any]:
        key = (setup, spec)
        if key not in self._pools:
            # one actor per CPU of the cluster; they reserve no CPU, so the stateless jobs that
            # run between their calls (candidate costs) still get scheduled
            size = max(1, int(self._ray.cluster_resources().get("CPU", 1)))
            actor = self._ray.remote(num_cpus=0)(_StatefulWorker)
            self._pools[key] = [actor.remote(setup, spec) for _ in range(size)]
        pool = self._pools[key]
        refs = [pool[i % len(pool)].run.remote(fn, x) for i, x in enumerate(items)]
        return self._ray.get(refs)

    def close(self) -> None:
        for pool in self._pools.values():
            for actor in pool:
                self._ray.kill(actor)
        self._pools.clear()
        if self._owned:
            self._ray.shutdown()


def make_executor(backend: str, address: str | None = None):
    if backend == "in-process":
        return InProcessExecutor()
    if backend == "ray":
        return RayExecutor(address)
    raise TinyMLError(f"unknown backend '{backend}'; available: {', '.join(BACKENDS)}")
