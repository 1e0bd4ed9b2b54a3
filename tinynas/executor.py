"""Where candidate evaluations run: in this process (default) or on Ray. Both map
a picklable function over items and return results in order, so a search gives
the same result on either for a fixed seed."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from tinyengine.errors import TinyMLError


class InProcessExecutor:
    name = "in-process"

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
        return [fn(x) for x in items]

    def close(self) -> None:
        pass


class RayExecutor:
    name = "ray"

    def __init__(self, address: str | None = None, num_cpus: int | None = None) -> None:
        try:
            import ray
        except ImportError:
            raise TinyMLError("the Ray backend needs the 'ray' package: .venv/bin/pip install -r "
                              "requirements-ray.txt") from None
        self._ray = ray
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

    def close(self) -> None:
        if self._owned:
            self._ray.shutdown()


def make_executor(backend: str, address: str | None = None):
    if backend == "in-process":
        return InProcessExecutor()
    if backend == "ray":
        return RayExecutor(address)
    raise TinyMLError(f"unknown backend '{backend}'; available: in-process, ray")
