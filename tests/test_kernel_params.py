"""The Python kernel parameter types are the C structs, and the Python scratch sizes
are the C `*_scratch_size()` functions.

A cffi module is compiled (API mode) from the structs and prototypes as written in
runtime_c/include/tinyml/kernels.h and the real kernel sources; cffi then checks
at compile time that every declared field sits where the C compiler put it. Each
frozen dataclass in tinyengine.core.params must list the same fields, in the same
order, with matching types; every kernel variant's scratch size must equal what
its C function returns; every variant's C function takes that params struct."""

from __future__ import annotations

import dataclasses
import re
import typing
from pathlib import Path

import cffi
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinyengine.core.layers import MAX_DIMS, ConstArray
from tinyengine.core.params import ALL_PARAM_TYPES, Dims, LstmArithmetic, Rounding, Tile
from tinyengine.core.variants import VARIANTS

RUNTIME = Path(__file__).resolve().parent.parent / "runtime_c"
HEADER = (RUNTIME / "include" / "tinyml" / "kernels.h").read_text()
ND_INDEX = (RUNTIME / "include" / "tinyml" / "nd_index.h").read_text()
FIXEDPOINT = (RUNTIME / "include" / "tinyml" / "fixedpoint.h").read_text()

C_MAX_DIMS = int(re.search(r"#define TINYML_MAX_DIMS (\d+)", ND_INDEX).group(1))
TYPEDEFS = re.findall(r"typedef (?:struct|enum) \{[^}]*\} \w+;", FIXEDPOINT + HEADER)
PROTOTYPES = re.findall(r"^(?:void|size_t) tinyml_\w+\([^;]*\);", HEADER, re.M)
SCRATCH_FUNCTIONS = sorted(re.findall(r"size_t (tinyml_\w+_scratch_size)\(", HEADER))


def _strip_comments(text: str) -> str:
    return re.sub(r"/\*.*?\*/", "", text, flags=re.S)


@pytest.fixture(scope="module")
def c(tmp_path_factory):
    """The structs and scratch-size functions of kernels.h, compiled against the real sources."""
    ffi = cffi.FFI()
    cdef = "\n".join(_strip_comments(t) for t in TYPEDEFS).replace("TINYML_MAX_DIMS", str(C_MAX_DIMS))
    cdef += "\n" + "\n".join(p for p in PROTOTYPES if "_scratch_size(" in p)
    ffi.cdef(cdef)
    # the files that define a scratch function (a variant may share its kernel's file)
    sources = sorted({str(f) for f in (RUNTIME / "src").glob("*.c") for fn in SCRATCH_FUNCTIONS
                      if re.search(rf"^size_t {fn}\(", f.read_text(), re.M)})
    ffi.set_source("_tinyml_params_check", '#include "tinyml/kernels.h"', sources=sources,
                   include_dirs=[str(RUNTIME / "include")], extra_compile_args=["-std=c99", "-Wall", "-Werror"])
    out = tmp_path_factory.mktemp("params_check")
    lib_path = ffi.compile(tmpdir=str(out))
    import importlib.util
    spec = importlib.util.spec_from_file_location("_tinyml_params_check", lib_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_one_max_dims():
    assert MAX_DIMS == C_MAX_DIMS
    assert "TINYML_ND_DIMS" not in ND_INDEX and HEADER.count("#define TINYML_MAX_DIMS") == 0


# the Python enums of the kernel parameters and their C types (an enum's values are its C names)
ENUM_C_TYPES = {Rounding: "tinyml_rounding_t", LstmArithmetic: "tinyml_lstm_arithmetic_t"}


def _check_field(cls: type, name: str, py_type, c_type) -> None:
    where = f"{cls.__name__}.{name} vs {cls.C_TYPE}"
    if isinstance(py_type, type) and dataclasses.is_dataclass(py_type) and py_type is not ConstArray:
        assert c_type.kind == "struct" and c_type.cname == py_type.C_TYPE, f"{where}: C has {c_type.cname}"
    elif py_type is ConstArray:
        assert c_type.kind == "pointer", f"{where}: a ConstArray must be a pointer, C has {c_type.cname}"
    elif py_type in ENUM_C_TYPES:
        assert c_type.cname == ENUM_C_TYPES[py_type], f"{where}: C has {c_type.cname}"
        assert c_type.kind == "enum" and {m.value: i for i, m in enumerate(py_type)} == c_type.relements, \
            f"{where}: the enum's members or their order differ from C's {c_type.relements}"
    elif py_type is int:
        assert c_type.kind == "primitive" and c_type.cname in ("int32_t", "int16_t"), f"{where}: C has {c_type.cname}"
    elif py_type is float:
        assert c_type.cname == "float", f"{where}: C has {c_type.cname}"
    elif typing.get_origin(py_type) is tuple:
        assert c_type.kind == "array" and c_type.length == MAX_DIMS and c_type.item.cname == "int32_t", \
            f"{where}: a tuple must be int32_t[TINYML_MAX_DIMS], C has {c_type.cname}"
    else:
        raise AssertionError(f"{where}: field type {py_type} has no C counterpart")


@pytest.mark.parametrize("cls", ALL_PARAM_TYPES, ids=lambda t: t.__name__)
def test_dataclass_mirrors_the_c_struct(c, cls):
    """Same field names, same order, matching types (checked against the compiled layout)."""
    assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen
    c_fields = c.ffi.typeof(cls.C_TYPE).fields
    hints = typing.get_type_hints(cls)
    py_names = [f.name for f in dataclasses.fields(cls)]
    assert py_names == [name for name, _ in c_fields], f"{cls.__name__} fields differ from {cls.C_TYPE}"
    for (_, field), py_name in zip(c_fields, py_names, strict=True):
        _check_field(cls, py_name, hints[py_name], field.type)


def test_every_params_struct_in_the_header_has_a_dataclass():
    c_types = {t.split()[-1].rstrip(";") for t in TYPEDEFS if t.startswith("typedef struct")}
    assert c_types == {cls.C_TYPE for cls in ALL_PARAM_TYPES}


def test_every_variant_names_a_kernel_that_takes_its_params():
    for op, variants in VARIANTS.items():
        assert variants[0].name == "reference", f"{op}: the reference kernel must come first"
        for v in variants:
            proto = next((p for p in PROTOTYPES if p.startswith(f"void {v.kernel}(")), None)
            assert proto is not None, f"{op} {v.name}: {v.kernel} is not declared in kernels.h"
            assert f"(const {v.params_type.C_TYPE} *p" in proto, f"{v.kernel} does not take {v.params_type.C_TYPE}"
            expected = f"{v.kernel}_scratch_size"
            if v.scratch_function is None:
                assert expected not in SCRATCH_FUNCTIONS, f"{v.kernel} has a scratch function the table ignores"
            else:
                assert v.scratch_function == expected


def test_every_scratch_function_belongs_to_a_variant():
    used = {v.scratch_function for vs in VARIANTS.values() for v in vs if v.scratch_function}
    assert used == set(SCRATCH_FUNCTIONS)


def _to_c(ffi, value, c_type):
    """A cffi initializer for a params dataclass (pointers left NULL)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, ConstArray):
        return {f.name: _to_c(ffi, getattr(value, f.name), None) for f in dataclasses.fields(value)
                if not isinstance(getattr(value, f.name), ConstArray)}
    if type(value) in ENUM_C_TYPES:
        return list(type(value)).index(value)    # members in C's order, from 0 (checked above)
    if isinstance(value, tuple):
        return list(value)
    return value


def _example(params_type: type, dims: list[int], extra: dict) -> object:
    """A params instance with the given geometry and neutral values elsewhere."""
    n, h, w, c_in, c_out, k = dims
    values = {}
    for f in dataclasses.fields(params_type):
        hint = typing.get_type_hints(params_type)[f.name]
        if hint is Dims:
            values[f.name] = {"input": Dims(n, h, w, c_in), "output": Dims(n, h, w, c_out),
                              "filter": Dims(c_out, k, k, c_in)}[f.name]
        elif hint is Tile:
            values[f.name] = Tile(1, 1) if f.name != "pad" else Tile(0, 0)
        elif hint in ENUM_C_TYPES:
            values[f.name] = next(iter(hint))
        elif hint is ConstArray:
            values[f.name] = ConstArray("unused", "int32_t", None)
        elif typing.get_origin(hint) is tuple:
            values[f.name] = (1,) * MAX_DIMS
        elif dataclasses.is_dataclass(hint):
            inner = {g.name: (ConstArray("unused", "int32_t", None) if typing.get_type_hints(hint)[g.name] is ConstArray
                              else 0) for g in dataclasses.fields(hint)}
            values[f.name] = hint(**inner)
        else:
            values[f.name] = 1
    values.update(extra.get(f"{n}x{h}x{w}", {}))
    return params_type(**values)


@given(dims=st.lists(st.integers(1, 40), min_size=6, max_size=6), outputs=st.integers(1, 5000))
def test_python_scratch_sizes_equal_the_c_functions(c, dims, outputs):
    """For every variant with scratch, over random geometries."""
    for op, variants in VARIANTS.items():
        for v in variants:
            if v.scratch_function is None:
                assert v.scratch_bytes(_example(v.params_type, dims, {})) == 0, f"{op} {v.name}"
                continue
            params = _example(v.params_type, dims, {})
            if hasattr(params, "num_outputs"):
                params = dataclasses.replace(params, num_outputs=outputs)
            struct = c.ffi.new(f"{v.params_type.C_TYPE} *", _to_c(c.ffi, params, None))
            assert v.scratch_bytes(params) == getattr(c.lib, v.scratch_function)(struct), \
                f"{op} {v.name}: Python scratch {v.scratch_bytes(params)} != C {v.scratch_function}"
