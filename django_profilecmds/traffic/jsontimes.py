"""JSON lines with response times: one object per line, as structured loggers write them.

Which fields hold the time, the response time, the path, the method and the status is decided
once, from the first lines (see :mod:`.logs` for the names looked for), unless given; each
numeric field named like ``<layer>_ms``, ``<layer>_us``, ``<layer>_s`` or ``<layer>_time`` is
the time spent in a layer (``db_ms`` -> ``db``), unless the layers' fields are given.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django_profilecmds.replay.accesslog import request_line
from django_profilecmds.replay.jsonlines import json_object
from django_profilecmds.replay.recorded import Skip, SourceError, checked_method
from django_profilecmds.traffic.timed import TimedRequest, logged_path
from django_profilecmds.traffic.timestamps import IsoTimes

TIME_FIELDS = ("time", "timestamp", "@timestamp", "ts", "datetime", "date", "asctime", "created")
DURATION_FIELDS = (
    "duration",
    "duration_ms",
    "duration_us",
    "duration_s",
    "response_time",
    "response_time_ms",
    "request_time",
    "request_time_ms",
    "elapsed",
    "elapsed_ms",
    "latency",
    "latency_ms",
    "took",
    "took_ms",
    "time_taken",
)
PATH_FIELDS = ("path", "uri", "url", "request_uri", "request_path", "request")
METHOD_FIELDS = ("method", "request_method", "http_method")
STATUS_FIELDS = ("status", "status_code", "response_status", "http_status")
NOT_LAYERS = frozenset(
    (*TIME_FIELDS, *DURATION_FIELDS, *PATH_FIELDS, *METHOD_FIELDS, *STATUS_FIELDS)
)
SUFFIX_UNITS = {"ms": 1e3, "us": 1e6, "µs": 1e6, "s": 1.0}  # per second
# db_ms, cache_time, upstream_response_time, db_duration_ms: the layer, then the unit if any.
LAYER_NAME = re.compile(r"(.+?)(?:_response_time|_time|_duration)?(?:_(ms|us|s))?")
DURATION_TEXT = re.compile(r"\s*((?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(ms|us|µs|s)?\s*$")
MAX_LAYER = 86_400.0  # seconds: a field with more (an epoch, say) is not the time of a layer
CACHED_KEYS = 1024
MISSING: Any = object()


@dataclass(frozen=True)
class Field:
    """A field of the objects, by name: ``http.duration_ms`` is that key, or ``duration_ms``
    inside ``http``."""

    name: str
    per_second: float  # units of its numbers in a second

    @classmethod
    def named(cls, name: str, per_second: float | None) -> Field:
        """The field, in the unit its name ends with (``_ms``), else ``per_second``'s, else
        seconds."""
        unit = LAYER_NAME.fullmatch(name.rpartition(".")[2])
        suffix = unit.group(2) if unit is not None else None
        return cls(name, SUFFIX_UNITS[suffix] if suffix else per_second or 1.0)

    def get(self, data: dict[str, Any]) -> Any:
        value = data.get(self.name, MISSING)
        if value is MISSING and "." in self.name:
            value = data
            for part in self.name.split("."):
                if not isinstance(value, dict):
                    return MISSING
                value = value.get(part, MISSING)
        return value

    def seconds(self, value: Any) -> float | None:
        """A number (or numeric text, ``"12.5"``, ``"12.5ms"``) in this field's unit, in
        seconds; None if it is not a duration."""
        if isinstance(value, str):
            match = DURATION_TEXT.match(value)
            if match is None:
                return None
            number, unit = match.groups()
            seconds = float(number) / (SUFFIX_UNITS[unit] if unit else self.per_second)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            seconds = value / self.per_second
        else:
            return None
        return seconds if 0 <= seconds < math.inf else None


@dataclass(frozen=True)
class Layer:
    name: str  # db_ms -> db
    field: Field


class JsonTimes:
    """Reads JSON lines whose fields were chosen by :func:`json_times`."""

    def __init__(
        self,
        time: Field,
        duration: Field,
        path: str,
        method: str | None,
        status: str | None,
        layers: Sequence[Layer] | None,
        per_second: float | None,
    ) -> None:
        self.time, self.duration, self.path = time, duration, path
        self.method, self.status = method, status
        self.layers = layers  # None: every field named like a layer's time
        self._per_second = per_second
        self._times = IsoTimes()
        self._layer_keys: dict[str, Layer | None] = {}

    def parse(self, text: str, number: int) -> TimedRequest:
        """The request logged on line ``number``; :class:`Skip` if there is none."""
        data = json_object(text)
        logged = self.time.get(data)
        if logged is MISSING:
            raise Skip(f'no "{self.time.name}"')
        duration = self.duration.get(data)
        if duration is MISSING:
            raise Skip(f'no "{self.duration.name}"')
        seconds = self.duration.seconds(duration)
        if seconds is None:
            raise Skip(f'"{self.duration.name}" is not a duration')
        method, path = self._request(data)
        return TimedRequest(
            self._times.seconds(logged),
            method,
            path,
            _status(data.get(self.status)) if self.status else None,
            seconds,
            self._layers(data),
            number,
        )

    def _request(self, data: dict[str, Any]) -> tuple[str, str]:
        target = data.get(self.path)
        if not isinstance(target, str):
            raise Skip(f'no "{self.path}"' if target is None else f'"{self.path}" is not text')
        method = data.get(self.method) if self.method else None
        if " " in target and not target.startswith("/"):  # a request line: GET /books/ HTTP/1.1
            logged_method, target = request_line(target)
            method = method or logged_method
        return ("GET" if method is None else checked_method(method)), logged_path(target)

    def _layers(self, data: dict[str, Any]) -> Mapping[str, float]:
        layers: dict[str, float] | None = None
        if self.layers is None:
            for key, value in data.items():
                layer = self._layer_keys.get(key, MISSING)
                if layer is MISSING:
                    layer = self._layer_of(key)
                if layer is None:
                    continue
                seconds = layer.field.seconds(value)
                if seconds is not None and seconds <= MAX_LAYER:
                    layers = layers or {}
                    layers[layer.name] = seconds
        else:
            for layer in self.layers:
                seconds = layer.field.seconds(layer.field.get(data))
                if seconds is not None:
                    layers = layers or {}
                    layers[layer.name] = seconds
        return layers or {}

    def _layer_of(self, key: str) -> Layer | None:
        layer = None
        if key not in NOT_LAYERS and key not in (self.time.name, self.duration.name):
            named = LAYER_NAME.fullmatch(key)
            if named is not None and named.group(1) != key:
                layer = Layer(named.group(1), Field.named(key, self._per_second))
        if len(self._layer_keys) < CACHED_KEYS:
            self._layer_keys[key] = layer
        return layer


def json_times(
    name: str,
    objects: Sequence[dict[str, Any]],
    *,
    time_field: str | None,
    duration_field: str | None,
    layer_fields: Sequence[str] | None,
    per_second: float | None,
) -> JsonTimes:
    """The fields of these objects (the first lines of the file ``name``) that hold a request's
    time, response time, path, method and status; a :class:`SourceError` naming the file if no
    object has a time, response time or path."""
    times = IsoTimes()

    def is_time(value: Any) -> bool:
        try:
            times.seconds(value)
        except Skip:
            return False
        return True

    time = _chosen(objects, time_field, TIME_FIELDS, None, is_time)
    if time is None:
        raise SourceError(
            _missing(name, objects, "a time", time_field, TIME_FIELDS, "--time-field")
        )
    duration = _chosen(objects, duration_field, DURATION_FIELDS, per_second, _is_duration)
    if duration is None:
        raise SourceError(
            _missing(
                name,
                objects,
                "a response time",
                duration_field,
                DURATION_FIELDS,
                "--duration-field",
            )
        )
    path = _chosen(objects, None, PATH_FIELDS, None, lambda v: isinstance(v, str))
    if path is None:
        raise SourceError(_missing(name, objects, "a path", None, PATH_FIELDS, None))
    method = _chosen(objects, None, METHOD_FIELDS, None, lambda v: isinstance(v, str))
    status = _chosen(objects, None, STATUS_FIELDS, None, lambda v: v is not None)
    layers = None
    if layer_fields is not None:
        layers = [_given_layer(field, per_second) for field in layer_fields]
    return JsonTimes(
        time,
        duration,
        path.name,
        method.name if method else None,
        status.name if status else None,
        layers,
        per_second,
    )


def _chosen(
    objects: Sequence[dict[str, Any]],
    given: str | None,
    candidates: Sequence[str],
    per_second: float | None,
    accept: Callable[[Any], bool],
) -> Field | None:
    """The given field, or the first candidate, that has a value ``accept`` takes in at least
    one object."""
    for name in (given,) if given else candidates:
        field = Field.named(name, per_second)
        if any(accept(field.get(data)) for data in objects):
            return field
    return None


def _is_duration(value: Any) -> bool:
    return Field("", 1.0).seconds(value) is not None


def _given_layer(name: str, per_second: float | None) -> Layer:
    named = LAYER_NAME.fullmatch(name)
    return Layer(named.group(1) if named else name, Field.named(name, per_second))


def _missing(
    name: str,
    objects: Sequence[dict[str, Any]],
    what: str,
    given: str | None,
    candidates: Sequence[str],
    option: str | None,
) -> str:
    keys = sorted({key for data in objects for key in data})
    shown = ", ".join(keys[:12]) + (", ..." if len(keys) > 12 else "")
    if given:
        return f"{name}: no line has {what} in the field {given!r}; its lines have {shown}."
    named = f"; name yours with {option}" if option else f"; its lines have {shown}"
    return f"{name}: no line has {what} field ({', '.join(candidates)}){named}."


def _status(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and len(value) <= 4 and value.isascii() and value.isdigit():
        return int(value)
    return None
