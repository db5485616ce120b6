"""Deterministic sample messages for every socialego_msgs type, and an exact comparison.

Both sides of the two-process DDS test import this module and build the same samples from the
generated type descriptions (SLOT_TYPES), so every field of every message, nested ones included,
gets non-default, edge-case (NaN, +-inf, -0.0, max ints, unicode, empty arrays) and long values
without listing fields by hand: a field added to a .msg file is covered automatically.
"""

from __future__ import annotations

import array
import importlib
import math
import random
import struct
from pathlib import Path
from typing import Any

import numpy as np
from rosidl_parser.definition import (
    AbstractNestedType,
    AbstractString,
    AbstractWString,
    Array,
    BasicType,
    BoundedSequence,
    NamespacedType,
)

MSG_DIR = Path(__file__).resolve().parents[1] / "socialego_msgs" / "msg"
# Every message type of the package, from the .msg files (not from the build), so a type that
# fails to generate is noticed.
MESSAGE_TYPES: tuple[str, ...] = tuple(sorted(p.stem for p in MSG_DIR.glob("*.msg")))
VARIANTS: tuple[str, ...] = ("default", "typical", "edge", "long")

LONG_ARRAY = 20_000  # primitive array length at the top level of a "long" sample
NESTED_ARRAY = {"typical": 2, "edge": 1, "long": 40}  # elements in arrays of messages
UNICODE_TEXT = "Ünïcødé 人-🙂 \u00e9\u0301 ∑ ß"

INT_RANGES = {
    "int8": (-(2**7), 2**7 - 1),
    "uint8": (0, 2**8 - 1),
    "char": (0, 2**8 - 1),
    "int16": (-(2**15), 2**15 - 1),
    "uint16": (0, 2**16 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "uint64": (0, 2**64 - 1),
}
ARRAY_TYPECODES = {
    "float": "f",
    "double": "d",
    "int8": "b",
    "uint8": "B",
    "char": "B",
    "int16": "h",
    "uint16": "H",
    "int32": "i",
    "uint32": "I",
    "int64": "q",
    "uint64": "Q",
}
NUMPY_DTYPES = {k: np.dtype(v) for k, v in ARRAY_TYPECODES.items()}
FLOAT_EDGES = (math.nan, math.inf, -math.inf, -0.0, 3.4028234663852886e38, 1.401298464324817e-45)


def message_class(namespaced: NamespacedType | str) -> type:
    """The generated Python class of a nested type or of a socialego_msgs type name."""
    if isinstance(namespaced, str):
        return getattr(importlib.import_module("socialego_msgs.msg"), namespaced)
    module = importlib.import_module(".".join(namespaced.namespaces))
    return getattr(module, namespaced.name)


def field_slots(cls: type) -> list[tuple[str, Any]]:
    """(field name, rosidl type) of every field of a generated message class."""
    names = list(cls.get_fields_and_field_types())
    return list(zip(names, cls.SLOT_TYPES, strict=True))


def _float32(value: float) -> float:
    return struct.unpack("f", struct.pack("f", value))[0]


def _basic_value(typename: str, variant: str, rng: random.Random, index: int) -> Any:
    if typename in ("float", "double"):
        if variant == "edge":
            value = FLOAT_EDGES[index % len(FLOAT_EDGES)]
            if typename == "double" and value == 1.401298464324817e-45:
                value = 5e-324
        else:
            value = rng.uniform(-5000.0, 5000.0)
        return _float32(value) if typename == "float" else value
    if typename == "boolean":
        return True if variant == "edge" else bool(index % 2 == 0)
    if typename == "octet":
        return bytes([255 if variant == "edge" else rng.randrange(1, 256)])
    low, high = INT_RANGES[typename]
    if variant == "edge":
        return low if low < 0 and index % 2 else high  # unsigned: max; signed: max or min
    return rng.randint(max(low, 1), min(high, 10_000))


def _string_value(variant: str, rng: random.Random, maximum: int | None, top_level: bool) -> str:
    if variant == "edge":
        text = UNICODE_TEXT
    elif variant == "long":
        # A long string at the top level only: nested and array strings stay a few hundred bytes.
        text = (UNICODE_TEXT + "|") * (400 if top_level else 8)
    else:
        text = f"id-{rng.randrange(10**6)}"
    if maximum:
        text = text[:maximum]
    return text


def _sequence_length(slot: AbstractNestedType, variant: str, depth: int) -> int:
    if isinstance(slot, Array):
        return slot.size
    if isinstance(slot.value_type, NamespacedType):
        length = NESTED_ARRAY[variant]
    elif isinstance(slot.value_type, AbstractString | AbstractWString):
        length = {"typical": 3, "edge": 0, "long": 300}[variant]
    elif variant == "edge":
        length = 0
    elif variant == "long":
        length = LONG_ARRAY if depth == 0 else 133
    else:
        length = 17
    if isinstance(slot, BoundedSequence):
        length = min(length, slot.maximum_size)
    return length


def _value(
    slot: Any, variant: str, rng: random.Random, depth: int, index: int = 0, in_array: bool = False
) -> Any:
    if isinstance(slot, BasicType):
        return _basic_value(slot.typename, variant, rng, index)
    if isinstance(slot, AbstractWString):
        raise NotImplementedError("wstring fields are not used by socialego_msgs")
    if isinstance(slot, AbstractString):
        top_level = depth == 0 and not in_array
        return _string_value(variant, rng, getattr(slot, "maximum_size", None), top_level)
    if isinstance(slot, NamespacedType):
        # Nested messages never get the long variant's huge arrays (sizes stay sane).
        return build_message(message_class(slot), variant, rng, depth + 1)
    if isinstance(slot, AbstractNestedType):
        length = _sequence_length(slot, variant, depth)
        items = [_value(slot.value_type, variant, rng, depth, i, True) for i in range(length)]
        value_type = slot.value_type
        if isinstance(value_type, BasicType) and value_type.typename in ARRAY_TYPECODES:
            if variant == "long" and value_type.typename in ("float", "double"):
                for i in range(0, length, 97):  # NaN scores sprinkled through long arrays
                    items[i] = math.nan
            if isinstance(slot, Array):
                return np.array(items, dtype=NUMPY_DTYPES[value_type.typename])
            return array.array(ARRAY_TYPECODES[value_type.typename], items)
        return items
    raise NotImplementedError(f"no sample rule for field type {slot!r}")


def build_message(cls: type, variant: str, rng: random.Random, depth: int = 0) -> Any:
    """One message of ``cls``: every field set according to ``variant`` (default = untouched)."""
    msg = cls()
    if variant == "default":
        return msg
    for index, (name, slot) in enumerate(field_slots(cls)):
        setattr(msg, name, _value(slot, variant, rng, depth, index))
    return msg


def samples(type_name: str) -> list[Any]:
    """The samples of one type, identical in every process (seeded by type and variant)."""
    cls = message_class(type_name)
    return [build_message(cls, v, random.Random(f"{type_name}/{v}")) for v in VARIANTS]


def _same_scalar(expected: Any, actual: Any) -> bool:
    if isinstance(expected, float) or isinstance(actual, float):
        expected, actual = float(expected), float(actual)
        if math.isnan(expected) or math.isnan(actual):
            return math.isnan(expected) and math.isnan(actual)
        return expected == actual and math.copysign(1, expected) == math.copysign(1, actual)
    return type(expected) is type(actual) and expected == actual


def _as_list(value: Any) -> list:
    if isinstance(value, np.ndarray | array.array):
        return value.tolist()
    if isinstance(value, bytes):
        return [value[i : i + 1] for i in range(len(value))]
    return list(value)


def differences(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Every field where two messages differ, bit-exactly for floats (NaN == NaN, -0.0 != 0.0)."""
    if type(expected) is not type(actual):
        return [f"{path or '<msg>'}: type {type(actual).__name__} != {type(expected).__name__}"]
    found: list[str] = []
    for name, slot in field_slots(type(expected)):
        here = f"{path}.{name}" if path else name
        want, got = getattr(expected, name), getattr(actual, name)
        if isinstance(slot, NamespacedType):
            found += differences(want, got, here)
        elif isinstance(slot, AbstractNestedType):
            want_items, got_items = _as_list(want), _as_list(got)
            if len(want_items) != len(got_items):
                found.append(f"{here}: length {len(got_items)} != {len(want_items)}")
                continue
            for i, (w, g) in enumerate(zip(want_items, got_items)):
                if isinstance(slot.value_type, NamespacedType):
                    found += differences(w, g, f"{here}[{i}]")
                elif not _same_scalar(w, g):
                    found.append(f"{here}[{i}]: {g!r} != {w!r}")
                    break  # one element is enough to report a broken array
        elif not _same_scalar(want, got):
            found.append(f"{here}: {got!r} != {want!r}")
    return found
