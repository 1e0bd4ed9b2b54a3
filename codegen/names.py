"""Short names for the comments of generated code: `t12 conv2d_3/Relu` for tensor 12.

TFLite tensor names carry every fused op's name (`a/Relu;a/BiasAdd;a/Conv2D...`);
comments use the first of them, cut to its last two path components. The full name
appears once, in the tensor table of model_data.h (and in plan.json)."""

from __future__ import annotations

import re

from tinyengine.core.errors import TinyMLError
from tinyengine.core.ir import Graph

MAX_SHORT = 40
DEFAULT_C_NAME = "tinyml"   # model.h's symbols without --name: tinyml_run, TINYML_ARENA_BYTES, ...
_C_KEYWORDS = frozenset("""auto break case char const continue default do double else enum extern float for goto if
    inline int long register restrict return short signed sizeof static struct switch typedef union unsigned void
    volatile while""".split())


def check_c_name(name: str) -> str:
    """`--name`: the prefix of every symbol of a generated model (kws -> kws_run, KWS_ARENA_BYTES):
    a lowercase C identifier of at most 32 characters, not a keyword; raises TinyMLError."""
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", name) or name in _C_KEYWORDS or name.endswith("_"):
        raise TinyMLError(f"--name {name!r}: use a lowercase C identifier of 1-32 characters (a-z, 0-9, _; "
                          "starting with a letter, not ending with _), e.g. kws")
    return name


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
