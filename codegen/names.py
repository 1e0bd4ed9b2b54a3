"""Short names for the comments of generated code: `t12 conv2d_3/Relu` for tensor 12.

TFLite tensor names carry every fused op's name (`a/Relu;a/BiasAdd;a/Conv2D...`);
comments use the first of them, cut to its last two path components. The full name
appears once, in the tensor table of model_data.h (and in plan.json)."""

from __future__ import annotations

from tinyengine.core.ir import Graph

MAX_SHORT = 40


def c_comment(text: str) -> str:
    """Text safe inside a /* */ comment (tensor names come from the user's model)."""
    return text.replace("*/", "* /").replace("/*", "/ *").replace("\n", " ").replace("\r", " ")


def short_name(graph: Graph, t: int) -> str:
    first = graph.tensors[t].name.split(";")[0]
    parts = [p for p in first.split("/") if p]
    short = "/".join(parts[-2:]) if parts else first
    if len(short) > MAX_SHORT:
        short = short[:MAX_SHORT - 3] + "..."
    return c_comment(f"t{t} {short}" if short else f"t{t}")


def shape_text(graph: Graph, t: int) -> str:
    return "x".join(str(d) for d in graph.tensors[t].shape) or "scalar"
