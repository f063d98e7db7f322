"""Which relation ran a query, read from Django's own frames while the query runs.

The N+1 hint must name the relation the code used, on the model whose rows were looped over.
Django knows both at query time: the descriptor of a forward or reverse one-to-one relation
(``novel.writer``), of a deferred field or of a generic foreign key has ``self`` and the
``instance`` it was read on; a related manager's queryset carries that instance in its hints
(reverse foreign keys and both sides of many-to-many), and a generic relation's queryset
filters on the object's content type and id. The walk of :mod:`.origins` hands the innermost
frames of those few code objects, met between the query and the code that started it, to
:meth:`RelationFinder.of_frames`; what it returns is cached, so a loop's queries share one.

Nothing here runs a query: a content type is only read from ``ContentType.objects``' cache,
which the generic relation filled just before.
"""

from __future__ import annotations

from types import CodeType, FrameType
from typing import Any, NamedTuple

# What a relation's frame is, for found().
FORWARD, REVERSE_ONE, DEFERRED, GENERIC_FK, QUERYSET = 1, 2, 3, 4, 5
MAX_KNOWN = 4096  # relations remembered, by what the queries of a loop share
MAX_GET_RESULTS = 21  # the limit Django's QuerySet.get() sets: a get(), not a slice


class Relation(NamedTuple):
    """The relation that ran a query, as the code used it.

    ``kind``: ``"forward"`` (a foreign key or one-to-one read on its model), ``"reverse-one"``
    (a one-to-one read from the other side), ``"many"`` (a reverse foreign key, either side of
    a many-to-many, a generic relation or a tag manager), ``"generic-fk"``, ``"deferred"`` (a
    deferred field loaded on first read). ``model``: the label of the instance's model, the
    rows being looped over; ``lookup``: the attribute the code read; ``target``: the label of
    the model the query loads, when there is one. ``changed``: how a related manager's
    queryset was changed per row (``"filtered"``, ``"ordered"``, ``"sliced"``, space
    separated), ``method``: what ran it (``"iterate"``, ``"count"``, ``"exists"``, ...), and
    ``order_by``: its ordering, when that is field names only, and ``limits``: its slice
    (``(0, 1)`` for ``.first()``).
    """

    kind: str
    model: str
    lookup: str
    target: str | None
    changed: str = ""
    method: str = "iterate"
    order_by: tuple[str, ...] = ()
    limits: tuple[int, int | None] | None = None


def relation_codes() -> dict[CodeType, int]:
    """The code objects whose frames tell the relation, with what each is."""
    from django.contrib.contenttypes import fields as generic
    from django.db.models.fields.related_descriptors import (
        ForwardManyToOneDescriptor,
        ReverseOneToOneDescriptor,
    )
    from django.db.models.query import QuerySet
    from django.db.models.query_utils import DeferredAttribute

    codes = {
        ForwardManyToOneDescriptor.__get__.__code__: FORWARD,
        ReverseOneToOneDescriptor.__get__.__code__: REVERSE_ONE,
        DeferredAttribute.__get__.__code__: DEFERRED,
    }
    # Django 6.0 moved the generic foreign key's __get__ to a descriptor class of its own.
    generic_fk = getattr(generic, "GenericForeignKeyDescriptor", generic.GenericForeignKey)
    codes[generic_fk.__get__.__code__] = GENERIC_FK
    for name in ("_fetch_all", "count", "exists", "aggregate", "contains"):
        codes[getattr(QuerySet, name).__code__] = QUERYSET
    return codes


def _label(model: Any) -> str:
    return str(model._meta.label)


class RelationFinder:
    """Reads the relation from one of :func:`relation_codes`' frames; cached per descriptor
    or per queryset's shape, so the queries of a loop share one :class:`Relation`."""

    def __init__(self) -> None:
        self.codes = relation_codes()  # holds the code objects, so their ids stay theirs
        self.code_ids = {id(code): kind for code, kind in self.codes.items()}
        self.files = frozenset(code.co_filename for code in self.codes)
        self._known: dict[tuple[Any, ...], Relation | None] = {}
        self._through_owners: dict[tuple[Any, Any], list[tuple[Any, Any]]] | None = None
        self._generic_targets: frozenset[Any] | None = None

    def of_frames(
        self, descriptor: tuple[FrameType, int] | None, queryset: FrameType | None
    ) -> Relation | None:
        """The relation that the walk's frames tell: the innermost descriptor's (it made the
        queryset that runs the query), else the innermost queryset's; None if neither knows."""
        if descriptor is None and queryset is None:
            return None
        try:
            if descriptor is not None:
                frame, kind = descriptor
                local = frame.f_locals
                found = self._of_descriptor(local.get("self"), local.get("instance"), kind)
                if found is not None or queryset is None:
                    return found
            assert queryset is not None
            return self._of_queryset(queryset.f_locals.get("self"), queryset.f_code.co_name)
        except Exception:  # a model or queryset of unusual make: no hint, never a failure
            return None

    def _of_descriptor(self, descriptor: Any, instance: Any, kind: int) -> Relation | None:
        if instance is None:
            return None
        key = (descriptor, type(instance))
        if key in self._known:
            return self._known[key]
        model = _label(type(instance))
        found: Relation | None = None
        if kind == FORWARD:
            field = descriptor.field
            found = Relation("forward", model, field.name, _label(field.related_model))
        elif kind == REVERSE_ONE:
            related = descriptor.related
            name = related.get_accessor_name()
            found = Relation("reverse-one", model, name, _label(related.related_model))
        elif kind == DEFERRED:
            found = Relation("deferred", model, descriptor.field.name, None)
        elif kind == GENERIC_FK:
            field = getattr(descriptor, "field", descriptor)  # Django 6: a descriptor's field
            found = Relation("generic-fk", model, field.name, None)
        self._known[key] = found
        return found

    def _of_queryset(self, queryset: Any, method: str) -> Relation | None:
        method = "iterate" if method == "_fetch_all" else method
        query = queryset._query
        if query is None:
            return None
        instance = queryset._hints.get("instance")
        if instance is not None:
            known = queryset._known_related_objects
            field = next(iter(known), None)
            # What the relation is made of, read cheaply: the loop's queries share it.
            # The joined tables tell two many-to-manys to one model apart.
            key: tuple[Any, ...] = (
                type(instance), queryset.model, field, method, tuple(query.alias_map),
                len(query.where.children), query.order_by, query.standard_ordering,
                query.low_mark, query.high_mark,
            )  # fmt: skip
            if key in self._known:
                return self._known[key]
            changed = _changes(query, len(known) or 1)
            if queryset.model._meta.auto_created:  # a many-to-many's .count(), .exists()
                found = _through_table(queryset.model, _filtered_fields(query), method)
            else:
                found = self._many(type(instance), queryset, field, changed, method)
            if found is not None and changed:
                found = _detailed(found, query)
            self._keep(key, found)
            return found
        # A generic relation or a tag manager: no hints, a filter on the content type.
        if queryset.model not in self.generic_targets():
            return None
        targets = _filtered_fields(query)
        if not targets:
            return None
        # The content type's fields by value (they tell the owner), the object's id not (it
        # differs for every row).
        kinds = tuple(
            (field, getattr(value, "pk", value)) if _names_content_type(field) else field
            for field, value in targets.items()
        )
        key = (queryset.model, kinds, _changes(query, 2), method)
        if key not in self._known:
            self._keep(key, self._generic(queryset.model, targets, key[2], method))
        return self._known[key]

    def _keep(self, key: tuple[Any, ...], found: Relation | None) -> None:
        if len(self._known) >= MAX_KNOWN:  # a view slicing by page: bounded all the same
            self._known.clear()
        self._known[key] = found

    def generic_targets(self) -> frozenset[Any]:
        if self._generic_targets is None:
            self._generic_targets = frozenset(target for _table, target in self.through_owners())
        return self._generic_targets

    def _many(
        self, model: Any, queryset: Any, field: Any, changed: str, method: str
    ) -> Relation | None:
        """A related manager's queryset, read on an instance of ``model``."""
        if field is not None:  # a reverse foreign key: the known related objects' field
            name = field.remote_field.get_accessor_name()
            return Relation("many", _label(model), name, _label(queryset.model), changed, method)
        target = queryset.model
        candidates = []
        for relation in model._meta.get_fields():
            if not relation.many_to_many or relation.related_model is None:
                continue
            if not issubclass(target, relation.related_model):
                continue
            forward = not relation.auto_created
            name = relation.name if forward else relation.get_accessor_name()
            through = (relation if forward else relation.field).remote_field.through
            candidates.append((name, through))
        # The one whose through table the query joins (none: not a many-to-many at all, as
        # refresh_from_db() on a model with one to itself).
        joined = {join.table_name for join in queryset._query.alias_map.values()}
        candidates = [c for c in candidates if c[1]._meta.db_table in joined]
        if len(candidates) != 1:
            return None
        return Relation("many", _label(model), candidates[0][0], _label(target), changed, method)

    def _generic(
        self, target: Any, fields: dict[Any, Any], changed: str, method: str
    ) -> Relation | None:
        """A queryset of ``target`` filtered on the fields of a generic relation's table."""
        owners = self.through_owners()
        matches = [
            (owner, relation)
            for table in {field.model for field in fields}
            for owner, relation in owners.get((table, target), ())
            if _owner_matches(owner, relation, table, fields)
        ]
        if len(matches) != 1:
            return None
        owner, relation = matches[0]
        return Relation("many", _label(owner), relation.name, _label(target), changed, method)

    def through_owners(self) -> dict[tuple[Any, Any], list[tuple[Any, Any]]]:
        """(the table a many relation filters on, the model it loads): the models that own
        such a relation, and the relation. Generic relations filter the target's own table;
        a tag manager filters its through table."""
        if self._through_owners is None:
            from django.apps import apps
            from django.contrib.contenttypes.fields import GenericRelation

            owners: dict[tuple[Any, Any], list[tuple[Any, Any]]] = {}
            for model in apps.get_models():
                for relation in model._meta.get_fields():
                    if getattr(relation, "model", None) is not model:
                        continue  # inherited: its owner is the parent
                    target = relation.related_model
                    if isinstance(relation, GenericRelation):
                        owners.setdefault((target, target), []).append((model, relation))
                        continue
                    through = getattr(getattr(relation, "remote_field", None), "through", None)
                    if (
                        isinstance(through, type)
                        and relation.many_to_many
                        and target
                        and not getattr(relation, "auto_created", False)
                        and not hasattr(relation, "m2m_field_name")
                    ):
                        # A tag manager (django-taggit style): not Django's many-to-many,
                        # whose queryset has hints; its through table is generic or not.
                        owners.setdefault((through, target), []).append((model, relation))
            self._through_owners = owners
        return self._through_owners


def _detailed(found: Relation, query: Any) -> Relation:
    """``found`` with the ordering and slice of a related manager's changed query: the
    ordering as the rows come (``.last()`` and ``.latest()`` reverse it), and no slice for a
    ``.get()``, whose limit is Django's guard against many rows."""
    order_by = tuple(query.order_by)
    if not all(isinstance(item, str) for item in order_by):
        order_by = ()
    elif not query.standard_ordering:
        order_by = tuple(name[1:] if name.startswith("-") else f"-{name}" for name in order_by)
    limits = (query.low_mark, query.high_mark)
    if limits == (0, None) or limits == (0, MAX_GET_RESULTS):
        return found._replace(order_by=order_by, limits=None)
    return found._replace(order_by=order_by, limits=limits)


def _through_table(through: Any, fields: dict[Any, Any], method: str) -> Relation | None:
    """A many-to-many's .count() or .exists(), which Django runs on its through table, with
    no hints: the filtered key of the table is the side the code read the relation on."""
    keys = [field for field in fields if field.model is through and field.many_to_one]
    if len(keys) != 1 or len(fields) != 1:
        return None
    (key,) = keys
    owner = key.related_model
    for relation in owner._meta.get_fields():
        if not relation.many_to_many or relation.related_model is None:
            continue
        forward = not relation.auto_created
        field = relation if forward else relation.field
        if field.remote_field.through is not through:
            continue
        side = field.m2m_field_name() if forward else field.m2m_reverse_field_name()
        if side == key.name:
            name = relation.name if forward else relation.get_accessor_name()
            return Relation("many", _label(owner), name, _label(relation.related_model), "", method)
    return None


def _names_content_type(field: Any) -> bool:
    """A field that says which model an object is: a content type, or its app and model."""
    related = getattr(field, "related_model", None)
    if related is not None and related._meta.label == "contenttypes.ContentType":
        return True
    return bool(field.model._meta.label == "contenttypes.ContentType")


def _owner_matches(owner: Any, relation: Any, table: Any, fields: dict[Any, Any]) -> bool:
    """Whether the filter on ``table`` is for ``owner``'s rows: the content type it names
    (by id, or by app label and model), or the owner a foreign key of the table points to."""
    for field, value in fields.items():
        value = getattr(value, "pk", value)
        if field.model._meta.label == "contenttypes.ContentType":
            opts = owner._meta.concrete_model._meta
            if field.name == "app_label" and value != opts.app_label:
                return False
            if field.name == "model" and value != opts.model_name:
                return False
        elif _names_content_type(field):
            if _content_type_id(owner, relation) != value:
                return False
        elif (
            field.model is table
            and field.many_to_one
            and field.related_model is not None
            and table is not relation.related_model
            and not issubclass(owner, field.related_model)
        ):
            return False  # the through table's key to the tagged object: not this owner
    return True


def _content_type_id(owner: Any, relation: Any) -> int | None:
    """The id of ``owner``'s content type, from ContentType.objects' cache only."""
    from django.contrib.contenttypes.models import ContentType

    concrete = getattr(relation, "for_concrete_model", True)
    opts = owner._meta.concrete_model._meta if concrete else owner._meta
    try:
        return int(ContentType.objects._get_from_cache(opts).pk)
    except (KeyError, AttributeError):
        return None


def _filtered_fields(query: Any) -> dict[Any, Any]:
    """The fields the top level of ``query``'s WHERE compares to a value, with the value."""
    fields: dict[Any, Any] = {}
    for child in getattr(query.where, "children", ()):
        target = getattr(getattr(child, "lhs", None), "target", None)
        if target is not None and not hasattr(child.rhs, "resolve_expression"):
            fields[target] = child.rhs
    return fields


def _changes(query: Any, filters: int) -> str:
    """How a related manager's query was changed from the manager's own (``filters``
    conditions): filtered further, ordered, sliced (``.first()``, ``[:3]``)."""
    words = []
    if len(getattr(query.where, "children", ())) > filters:
        words.append("filtered")
    if query.order_by:
        words.append("ordered")
    limits = (query.low_mark, query.high_mark)
    if limits != (0, None) and limits != (0, MAX_GET_RESULTS):  # not a .get()
        words.append("sliced")
    return " ".join(words)
