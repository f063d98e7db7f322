"""Resolve dotted paths (``shop.views.listing_list``, ``shop.views.ListingList.get_queryset``,
``shop.stats``) into the Python functions whose lines can be profiled.

Decorators made with ``functools.wraps`` (login_required, cache_page, csrf_exempt...) are
unwrapped so the real body is profiled; properties, static and class methods, async functions
and generators are all plain functions underneath.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import pkgutil
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django_profilecmds.exceptions import ProfileCmdsError


class TargetError(ProfileCmdsError):
    """A dotted path that names nothing profilable."""


@dataclass
class Target:
    """One dotted path and the functions it stands for."""

    path: str
    kind: str  # function, method, class, module
    obj: Any
    functions: list[types.FunctionType] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def import_dotted(path: str) -> tuple[Any, str]:
    """Import the longest module prefix of ``path`` and walk the rest as attributes.

    Returns the object and the name of the module it was found in.
    """
    parts = path.split(".")
    if not all(part.isidentifier() for part in parts):
        raise TargetError(f"{path!r} is not a dotted Python path such as shop.views.listing_list.")
    module = None
    index = len(parts)
    while index > 0:
        name = ".".join(parts[:index])
        try:
            module = importlib.import_module(name)
            break
        except ModuleNotFoundError as exc:
            if exc.name is None or not name.startswith(exc.name):
                raise TargetError(f"Importing {name!r} failed: {exc}.") from exc
            index -= 1
        except (Exception, SystemExit) as exc:  # the module's own code raised, or exited
            raise _import_failed(name, exc) from exc
    if module is None:
        hint = _close(parts[0], [m.name for m in pkgutil.iter_modules()])
        raise TargetError(f"No module named {parts[0]!r}.{hint}")
    obj: Any = module
    for position in range(index, len(parts)):
        attribute = parts[position]
        try:
            obj = inspect.getattr_static(obj, attribute)
        except AttributeError:
            where = ".".join(parts[:position])
            candidates = [n for n in dir(obj) if not n.startswith("__")]
            if isinstance(obj, types.ModuleType) and hasattr(obj, "__path__"):
                candidates += [m.name for m in pkgutil.iter_modules(obj.__path__)]
            raise TargetError(
                f"{where!r} has no attribute or submodule {attribute!r}."
                f"{_close(attribute, candidates, prefix=where + '.')}"
            ) from None
    return obj, module.__name__


def command_parser(name: str) -> Any:
    """The argument parser of management command ``name``, as ``manage.py name`` builds it
    (raises ``KeyError`` for an unknown command)."""
    from django.core.management import get_commands, load_command_class
    from django.core.management.base import BaseCommand

    app = get_commands()[name]
    command = app if isinstance(app, BaseCommand) else load_command_class(app, name)
    return command.create_parser("manage.py", name)


def _import_failed(name: str, exc: BaseException) -> TargetError:
    """The error for a module whose code raised (or called ``sys.exit()``) while importing
    ``name``: it names the module that failed, not the attribute looked for in it."""
    from django_profilecmds.exception_summary import summarise_exception

    parts = name.split(".")
    prefixes = (".".join(parts[:end]) for end in range(1, len(parts) + 1))
    # Python drops a module that failed from sys.modules; its parents stay.
    failed = next((prefix for prefix in prefixes if prefix not in sys.modules), name)
    return TargetError(
        f"Importing {failed!r} raised {summarise_exception(exc)}; fix the module or check the name."
    )


def _close(name: str, candidates: list[str], prefix: str = "") -> str:
    close = difflib.get_close_matches(name, candidates, n=3)
    return f" Did you mean {', '.join(repr(prefix + c) for c in close)}?" if close else ""


def resolve_target(path: str, inherited: bool = False) -> Target:
    obj, module_name = import_dotted(path)
    if isinstance(obj, types.ModuleType):
        target = Target(path, "module", obj)
        for value in vars(obj).values():
            if getattr(value, "__module__", None) != obj.__name__:
                continue
            if inspect.isclass(value):
                _add_class_members(target, value, inherited=False)
            else:
                _add(target, value, quiet=True)
        if not target.functions:
            raise TargetError(f"The module {path!r} defines no Python functions or methods.")
        return target
    if inspect.isclass(obj):
        target = Target(path, "class", obj)
        _add_class_members(target, obj, inherited)
        if not target.functions:
            raise TargetError(
                f"The class {path!r} defines no Python methods"
                + ("." if inherited else " (add --inherited for its project-code bases).")
            )
        return target
    kind = "method" if "." in path[len(module_name) + 1 :] else "function"
    target = Target(path, kind, obj)
    _add(target, obj, quiet=False)
    return target


def _add_class_members(target: Target, cls: type, inherited: bool) -> None:
    classes = [cls]
    if inherited:
        from django_profilecmds.projectcode import ProjectCode

        is_project = ProjectCode()
        classes += [
            base
            for base in cls.__mro__[1:]
            if base is not object and is_project(inspect.getsourcefile(base) or "<unknown>")
        ]
    for klass in classes:
        for value in vars(klass).values():
            _add(target, value, quiet=True)


def _add(target: Target, value: Any, quiet: bool) -> None:
    """Add the plain functions behind ``value``; complain about it unless ``quiet``."""
    if isinstance(value, (staticmethod, classmethod)):
        value = value.__func__
    if isinstance(value, property):
        for accessor in (value.fget, value.fset, value.fdel):
            if accessor is not None:
                _add(target, accessor, quiet=True)
        return
    if hasattr(value, "func") and isinstance(getattr(value, "attrname", None), str):
        value = value.func  # functools.cached_property
    unwrapped = inspect.unwrap(value) if callable(value) else value
    if isinstance(unwrapped, types.FunctionType):
        if unwrapped is not value:
            target.notes.append(
                f"{_qualname(value)} is decorated; profiling the real body "
                f"{_qualname(unwrapped)} ({_where(unwrapped)})."
            )
        if unwrapped not in target.functions:
            target.functions.append(unwrapped)
        return
    if quiet:
        return
    if inspect.isbuiltin(value) or inspect.ismethoddescriptor(value) or callable(value):
        raise TargetError(
            f"{target.path!r} is a builtin or C function: line profiling needs Python source."
        )
    raise TargetError(
        f"{target.path!r} is a {type(value).__name__}, not a function, class or module."
    )


def _qualname(value: Any) -> str:
    return str(getattr(value, "__qualname__", getattr(value, "__name__", repr(value))))


def _where(function: types.FunctionType) -> str:
    code = function.__code__
    return f"{code.co_filename}:{code.co_firstlineno}"


def import_callable(dotted: str, option: str) -> Callable[..., Any]:
    """The callable ``dotted`` names (``option`` says which option gave it, for the error)."""
    function, _module = import_dotted(dotted)
    if isinstance(function, (staticmethod, classmethod)):
        function = function.__func__
    if not callable(function):
        raise TargetError(
            f"{option + ' ' if option else ''}{dotted!r} is a {type(function).__name__}, "
            "not callable."
        )
    return function  # type: ignore[no-any-return]


def call_input(dotted: str) -> Any:
    """What the ``--input`` factory returns: the call's first argument. Called inside the
    sandbox, so what the factory writes is rolled back too."""
    from django_profilecmds.exception_summary import summarise_exception

    factory = import_callable(dotted, "--input")
    try:
        return factory()
    except (Exception, SystemExit) as exc:
        raise ProfileCmdsError(
            f"The --input factory {dotted!r} raised {summarise_exception(exc)}; "
            "the call was not run."
        ) from exc
