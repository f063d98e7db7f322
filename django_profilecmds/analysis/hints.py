"""The fix printed for an N+1: made from the relation that ran its queries, and checked.

The relation (:mod:`django_profilecmds.collectors.relations`) says which model's rows were
looped over and which attribute the code read on each. A loop that reads through two relations
(``novel.writer.publisher``) shows as two groups, the outer one loading the inner one's rows:
the inner fix names the lookup from the looped model (``select_related("writer__publisher")``).
Before a fix is shown it is checked: Django compiles a ``select_related`` lookup (an invalid one
raises ``FieldError``); a ``prefetch_related`` lookup must reach, part by part, a descriptor
Django can prefetch through (Django itself only checks that with rows in hand); a deferred
field must be a field of the model. A fix that fails is not printed: the plain advice is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django_profilecmds.collectors.relations import Relation

SELECT_KINDS = ("forward", "reverse-one")
NESTING = 3  # relations followed from the looped model at most


@dataclass
class Fix:
    """A checked change to the looped queryset: ``getattr(qs, method)(lookup)``, or with
    ``to_attr``, ``qs.prefetch_related(Prefetch(lookup, queryset=..., to_attr=to_attr))``
    (the code then reads ``row.<to_attr>``); ``method == "only"`` adds ``lookup`` to the
    fields ``.only()`` loads. ``model`` is the label of the queryset's model."""

    model: str
    method: str
    lookup: str
    to_attr: str | None = None


@dataclass
class Hint:
    text: str
    fix: Fix | None = None


def hint_for(
    relation: Relation | None,
    shape: str,
    caller: str,
    outer: Sequence[Relation],
    alias: str = "default",
    taken: set[str] | None = None,
) -> Hint:
    """The hint for an N+1 whose queries ``relation`` ran (None: no relation did), from
    ``caller`` (the function or template line that ran them). ``outer``: the relations of the
    other N+1 groups that load, row for row, the rows this one is read on (the same loop going
    through two relations). ``taken``: the ``to_attr`` names the request's other hints use."""
    if relation is None:
        return Hint(_not_a_relation(shape, caller))
    try:
        return _relation_hint(relation, outer, alias, set() if taken is None else taken) or Hint(
            _plain(relation)
        )
    except Exception:  # an unusual model or manager: the plain advice, never a failure
        return Hint(_plain(relation))


def _relation_hint(
    relation: Relation, outer: Sequence[Relation], alias: str, taken: set[str]
) -> Hint | None:
    model, path = _looped(relation, outer)
    lookup = "__".join([*path, relation.lookup])
    name = _name(model)
    if relation.kind in SELECT_KINDS:  # and so is every relation on the path (see _looped)
        if not _select_ok(model, lookup, alias):
            return None
        return Hint(
            f'Add select_related("{lookup}") to the {name} queryset '
            "(one JOIN instead of a query per row).",
            Fix(model, "select_related", lookup),
        )
    if relation.kind == "deferred":
        if path or not _has_field(model, relation.lookup):
            return None
        return Hint(
            f"{name}.{relation.lookup} is deferred (.only() or .defer()) and loaded with a query "
            f'per row: add "{relation.lookup}" to .only(...) on the {name} queryset, or take it '
            "out of .defer(...).",
            Fix(model, "only", relation.lookup),
        )
    if not _prefetch_ok(model, lookup):
        return None
    if relation.method == "aggregate":
        return Hint(
            f"Each {_name(relation.model)} row runs an aggregate over {relation.lookup}, which "
            f"a prefetch cannot answer: annotate the {name} queryset with it instead "
            f'(annotate(<name>=<the aggregate>("{lookup}__<field>"))) and read it per row.'
        )
    if relation.kind == "many" and relation.changed:
        return _prefetch_object(relation, model, lookup, taken)
    text = f'Add prefetch_related("{lookup}") to the {name} queryset (one query for all rows'
    if relation.kind == "generic-fk":
        text += ", one per content type"
    text += ")."
    if relation.method in ("count", "exists"):
        text += f" .{relation.method}() then reads the prefetched rows"
        if relation.method == "count":
            attribute = f"{lookup}_count"
            text += (
                f' (or annotate({attribute}=Count("{lookup}")) to count in SQL, and read '
                f"row.{attribute} in place of .count())"
            )
        text += "."
    return Hint(text, Fix(model, "prefetch_related", lookup))


def _prefetch_object(relation: Relation, model: str, lookup: str, taken: set[str]) -> Hint:
    """A related manager filtered, ordered or sliced per row: one Prefetch with the same
    queryset, into a list the loop reads instead."""
    to_attr = _free_attribute(model, f"{relation.lookup}_list", taken)
    taken.add(to_attr)
    target = _name(relation.target) if relation.target else "the related model"
    changed = relation.changed.split()
    if "filtered" in changed:
        queryset = f"{target}.objects.filter(<the same filter>)"
        if relation.order_by:
            queryset += f".order_by({_names(relation.order_by)})"
    elif relation.order_by:
        queryset = f"{target}.objects.order_by({_names(relation.order_by)})"
    else:
        queryset = f"{target}.objects.all()"
    limits = relation.limits if _slices_prefetch(model, lookup) else None
    if limits is not None:
        low, high = limits
        # A sliced Prefetch (Django 4.2+) loads only that many rows per row.
        queryset += f"[{low or ''}:{'' if high is None else high}]"
    read = f"{_name(relation.model).lower()}.{to_attr} in the loop"
    if relation.limits == (0, 1):
        read += " (a list of at most 1 row, in place of .first())"
    elif relation.limits is not None:
        read += " (a list, in place of the slice)"
    if relation.limits is not None and limits is None:
        read += "; this manager's prefetch cannot be sliced, so slice the list"
    return Hint(
        f"Each {_name(relation.model)} row runs a {relation.lookup} query of its own "
        f'({", ".join(changed)}): add prefetch_related(Prefetch("{lookup}", '
        f'queryset={queryset}, to_attr="{to_attr}")) to the {_name(model)} queryset, and '
        f"read {read}.",
        Fix(model, "prefetch_related", lookup, to_attr),
    )


def _names(fields: tuple[str, ...]) -> str:
    return ", ".join(f'"{name}"' for name in fields)


def _looped(relation: Relation, outer: Sequence[Relation]) -> tuple[str, list[str]]:
    """The model whose rows the loop goes over, and the relations from it to ``relation``'s
    model: an outer group of the same loop loading the rows this relation is read on."""
    model, path = relation.model, list[str]()
    for _ in range(NESTING):
        parent = next(
            (
                r
                for r in outer
                if r.kind in SELECT_KINDS
                and r.target == model
                and r != relation
                and r.lookup not in path  # a self-referential chain: followed once
            ),
            None,
        )
        if parent is None:
            break
        model = parent.model
        path.insert(0, parent.lookup)
    return model, path


def _plain(relation: Relation) -> str:
    return (
        f"{_name(relation.model)}.{relation.lookup} runs a query per row: load it with the "
        f"{_name(relation.model)} rows (select_related / prefetch_related)."
    )


def _not_a_relation(shape: str, caller: str) -> str:
    verb = shape.split(" ", 1)[0].upper()
    if caller.endswith(".html") or ".html:" in caller or ".txt:" in caller:
        where = f"the template line {caller} runs"  # a template's: once per row of its loop
    else:
        where = f"{caller} runs" if caller else "the code runs"
    if shape.upper().startswith("SELECT COUNT("):
        way = "count for all rows in one query, with annotate(Count(...)) on the looped queryset"
    elif verb == "INSERT":
        way = "create the rows in one query with bulk_create()"
    elif verb == "UPDATE":
        way = "write them in one query with bulk_update() or a single update()"
    elif verb == "DELETE":
        way = "delete them in one query with filter(...).delete()"
    else:
        way = "fetch the rows once before the loop (filter(pk__in=...), in_bulk())"
    return (
        f"Not a relation of a queryset's rows: {where} this query once per iteration of a "
        f"loop; {way}."
    )


def _model(label: str) -> Any:
    from django.apps import apps

    return apps.get_model(label)


def _name(label: str) -> str:
    return label.rsplit(".", 1)[-1]


def _has_field(label: str, name: str) -> bool:
    from django.core.exceptions import FieldDoesNotExist

    try:
        _model(label)._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return True


def _select_ok(label: str, lookup: str, alias: str) -> bool:
    """Django's own check: the compiler raises FieldError for a lookup select_related cannot
    follow. The SQL is compiled, never run."""
    from django.core.exceptions import FieldError

    queryset = _model(label)._base_manager.select_related(lookup)
    try:
        queryset.query.get_compiler(using=alias).as_sql()
    except FieldError:
        return False
    return True


def _prefetch_ok(label: str, lookup: str) -> bool:
    """Each part of ``lookup`` is a descriptor or manager Django prefetches through."""
    model = _model(label)
    parts = lookup.split("__")
    for index, part in enumerate(parts):
        descriptor = model.__dict__.get(part)
        if descriptor is None:
            descriptor = next(
                (vars(base)[part] for base in model.__mro__ if part in vars(base)), None
            )
        if descriptor is None:
            return False
        manager = getattr(descriptor, "related_manager_cls", None)
        if not any(
            hasattr(candidate, name)
            for candidate in (descriptor, manager)
            for name in ("get_prefetch_querysets", "get_prefetch_queryset")
        ):
            return False
        if index < len(parts) - 1:
            model = _next_model(descriptor)
            if model is None:
                return False
    return True


def _next_model(descriptor: Any) -> Any:
    """The model a descriptor leads to, to follow a lookup further."""
    if hasattr(descriptor, "field") and hasattr(descriptor, "related_manager_cls"):
        reverse = getattr(descriptor, "reverse", None)
        if reverse is not None:  # many-to-many: reverse tells the side
            return descriptor.rel.related_model if reverse else descriptor.rel.model
        field = descriptor.field  # a reverse foreign key's, or a generic relation
        return field.model if field.many_to_one else field.related_model
    if hasattr(descriptor, "related"):  # reverse one-to-one
        return descriptor.related.related_model
    field = getattr(descriptor, "field", None)
    return getattr(field, "related_model", None)


def _slices_prefetch(label: str, lookup: str) -> bool:
    """Whether the last relation of ``lookup`` has Django's own related manager, whose
    prefetch takes a sliced queryset (Django 4.2+); others (modelcluster's) cannot."""
    model = _model(label)
    *path, last = lookup.split("__")
    for part in path:
        model = _next_model(getattr(model, part))
    manager = getattr(getattr(model, last, None), "related_manager_cls", None)
    return getattr(manager, "__module__", "") == "django.db.models.fields.related_descriptors"


def _free_attribute(label: str, name: str, taken: set[str]) -> str:
    model = _model(label)
    candidate, number = name, 2
    while hasattr(model, candidate) or candidate in taken:
        candidate, number = f"{name}_{number}", number + 1
    return candidate
