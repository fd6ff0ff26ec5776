"""Typed configurations: frozen dataclasses whose fields are also the command-line options.

A config class declares each field once, with its default and its help text (:func:`param`); the command
line is generated from it (:func:`add_options`, :func:`from_options`), so a default is written in one
place and a flag cannot drift from the field it sets.  :func:`config_hash` names a configuration by its
content, so that output folders of two different configurations never collide.

    @dataclass(frozen=True)
    class Fig2Scale:
        trials: int = param(20, "independent tests per cell")
        r: tuple[int, ...] = param((20, 40), "inputs per student neuron (the grid's rows)")

Supported field types: bool (``--flag`` / ``--no-flag``), int, float, str, ``X | None`` and tuples of int,
float or str (comma-separated on the command line: ``--r 20,40,80``).  A field whose annotation is none of
these is not offered on the command line (it keeps its value).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import types
import typing
from typing import Any

_HELP = "help"


def param(default: Any, help: str, **kw) -> Any:
    """A dataclass field with its help text (tuples, lists and dicts are copied per instance)."""
    meta = {_HELP: help} | kw.pop("metadata", {})
    if isinstance(default, (list, dict, set)):
        return dataclasses.field(default_factory=lambda d=default: type(d)(d), metadata=meta, **kw)
    return dataclasses.field(default=default, metadata=meta, **kw)


def help_of(f: dataclasses.Field) -> str:
    return f.metadata.get(_HELP, "")


def _unwrap_optional(tp) -> tuple[Any, bool]:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(tp)) == 2:
            return args[0], True
    return tp, False


def _parser_for(tp, name: str):
    """A function str -> value for the annotation ``tp`` (None when the type is not offered)."""
    tp, optional = _unwrap_optional(tp)
    scalar = {int: int, float: float, str: str}
    if tp in scalar:
        conv = scalar[tp]
    elif typing.get_origin(tp) is tuple:
        args = typing.get_args(tp)
        inner = args[0] if args else str
        if inner not in scalar or (len(args) == 2 and args[1] is not Ellipsis) or len(args) > 2:
            return None
        one = scalar[inner]

        def conv(text: str, one=one):
            return tuple(one(v) for v in text.split(",") if v.strip() != "")
    else:
        return None

    def parse(text: str):
        if optional and text.lower() in ("none", ""):
            return None
        try:
            return conv(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"--{name.replace('_', '-')}: cannot read {text!r} as "
                                             f"{getattr(tp, '__name__', tp)}") from None
    return parse


def _show(value) -> str:
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def options(cls) -> list[tuple[dataclasses.Field, Any]]:
    """The fields of ``cls`` that the command line offers, with their resolved annotations."""
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        tp = hints[f.name]
        if tp is bool or _parser_for(tp, f.name) is not None:
            out.append((f, tp))
    return out


def add_options(parser: argparse.ArgumentParser, cls, defaults=None, title: str | None = None) -> None:
    """Add one ``--field-name`` option per offered field of ``cls``.

    ``defaults``: an instance whose values are shown as the defaults (e.g. the chosen scale); the parsed
    namespace holds None for every option not given, so :func:`from_options` changes only what was given.
    """
    group = parser.add_argument_group(title or f"{cls.__name__} options")
    for f, tp in options(cls):
        flag = "--" + f.name.replace("_", "-")
        shown = getattr(defaults, f.name) if defaults is not None else (
            f.default if f.default is not dataclasses.MISSING else None)
        text = help_of(f) or f.name
        if tp is bool:
            group.add_argument(flag, dest=f"cfg_{f.name}", action=argparse.BooleanOptionalAction, default=None,
                               help=f"{text} (default {shown})")
        else:
            group.add_argument(flag, dest=f"cfg_{f.name}", type=_parser_for(tp, f.name), default=None,
                               metavar=f.name.upper(), help=f"{text} (default {_show(shown)})")


def given(cls, namespace: argparse.Namespace) -> dict:
    """The fields of ``cls`` set on the command line (name -> value)."""
    return {f.name: getattr(namespace, f"cfg_{f.name}") for f, _ in options(cls)
            if getattr(namespace, f"cfg_{f.name}", None) is not None}


def from_options(cls, namespace: argparse.Namespace, base=None):
    """``base`` (or the class defaults) with the options given on the command line applied."""
    changes = given(cls, namespace)
    return dataclasses.replace(base, **changes) if base is not None else cls(**changes)


def as_dict(cfg) -> dict:
    """A config (frozen dataclass, nested allowed) as plain JSON-able data; tuples become lists."""
    return json.loads(json.dumps(dataclasses.asdict(cfg), default=_json_default))


def _json_default(v):
    if isinstance(v, tuple):
        return list(v)
    raise TypeError(f"config value {v!r} is not JSON data")


def from_dict(cls, data: dict):
    """The config of class ``cls`` that :func:`as_dict` turned into ``data`` (lists back to tuples, nested
    configs rebuilt); unknown keys are an error naming them."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(f"{cls.__name__} has no field(s) {', '.join(unknown)}")
    kw = {}
    for name, value in data.items():
        tp, _ = _unwrap_optional(hints[name])
        if value is not None and dataclasses.is_dataclass(tp) and isinstance(value, dict):
            value = from_dict(tp, value)
        elif value is not None and (typing.get_origin(tp) is tuple) and isinstance(value, list):
            value = _tuple_of(value)
        kw[name] = value
    return cls(**kw)


def _tuple_of(values: list) -> tuple:
    return tuple(_tuple_of(v) if isinstance(v, list) else v for v in values)


def config_hash(data) -> str:
    """Eight hex digits naming a configuration by its content (sorted keys, so field order does not matter)."""
    if dataclasses.is_dataclass(data):
        data = as_dict(data)
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=_json_default)
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def is_frozen_config(obj) -> bool:
    return dataclasses.is_dataclass(obj) and not isinstance(obj, type) and obj.__dataclass_params__.frozen
