"""Dataclasses to JSON-shaped data and back: what ``RunResult.to_dict()`` and ``from_dict()``
are made of. Going back is led by the classes' own annotations, so a field added to a result
dataclass is saved and read without a word here."""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def to_plain(value: Any) -> Any:
    """``value`` with dataclasses as dicts (``dataclasses.asdict``), lists and dicts copied
    and paths as strings; anything else as it is."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, list):
        return [to_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: to_plain(item) for key, item in value.items()}
    if isinstance(value, Path):
        return str(value)
    return value


def from_plain(kind: object, value: Any) -> Any:
    """``value`` (from JSON) as the annotation ``kind`` says: dataclasses rebuilt from dicts
    (keys they do not have are ignored, missing ones take their defaults), tuples from lists,
    paths from strings. Scalars are taken as they are."""
    if value is None:
        return None
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is typing.Union or origin is types.UnionType:
        arms = [arm for arm in args if arm is not type(None)]
        return from_plain(arms[0], value) if len(arms) == 1 else value
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        return build(kind, value, field_types(kind))
    if origin is list:
        return [from_plain(args[0], item) for item in value]
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(from_plain(args[0], item) for item in value)
        return tuple(from_plain(arm, item) for arm, item in zip(args, value, strict=True))
    if origin is dict:
        return {key: from_plain(args[1], item) for key, item in value.items()}
    if kind is Path:
        return Path(value)
    return value


def build(cls: type[T], data: Mapping[str, Any], hints: Mapping[str, object]) -> T:
    """A ``cls`` from the items of ``data`` that ``hints`` (field name: annotation) names."""
    values = {name: from_plain(hint, data[name]) for name, hint in hints.items() if name in data}
    return cls(**values)


def field_types(cls: type[Any], **names: object) -> dict[str, object]:
    """The resolved annotation of each field of ``cls`` that ``__init__`` takes. ``names``
    are what the annotations name but the module imports only for type checking."""
    known = _FIELD_TYPES.get(cls)
    if known is None:  # resolving is slow, and a report has thousands of queries
        hints = typing.get_type_hints(cls, localns=dict(names) or None)
        known = {field.name: hints[field.name] for field in dataclasses.fields(cls) if field.init}
        _FIELD_TYPES[cls] = known
    return known


_FIELD_TYPES: dict[type[Any], dict[str, object]] = {}
