"""What of one run is secret, and its result made safe to write: the redaction policy of
:mod:`.redact` applied to a ``RunResult``."""

from __future__ import annotations

import contextlib
import json
from typing import TYPE_CHECKING, Any

from django_profilecmds.reports.redact import Redactor, flattened
from django_profilecmds.reports.secrets import argv_secrets, is_sensitive

if TYPE_CHECKING:
    from django_profilecmds.result import RunResult
    from django_profilecmds.spec import RunSpec


def redactor_for(result: RunResult) -> Redactor:
    """The redactor for one run's output: its secrets are in ``result.secrets``."""
    return Redactor(result.secrets)


def run_secrets(result: RunResult) -> list[str]:
    """Every value of a run that is a secret wherever it shows up again.

    Values sent under a sensitive name (a ``password`` field, an ``Authorization`` header, a
    ``--api-key`` argument) may be echoed in a response body or land in SQL parameters; values
    the code itself wrote to or looked up by a sensitive column (a generated token) show up in
    EXPLAIN plans and response bodies; so do the literals of its SQL bound to such a column
    (``VALUES ('dave', 'x', 'the-token')``), which ``--sql full`` prints as they are.
    """
    import dataclasses

    redactor = Redactor(project_settings=False)
    secrets = [*result.secrets, *sent_secrets(dataclasses.asdict(result.spec))]
    for query in result.queries:
        secrets += redactor.secret_params(query.sql, query.params, query.many)
        secrets += redactor.secret_literals(query.sql)
    return [value for value in dict.fromkeys(secrets) if isinstance(value, str)]


def route_secrets(kwargs: dict[str, Any]) -> list[str]:
    """The values a URL pattern captured under sensitive names (``<uidb64>/<token>/``)."""
    return [str(value) for name, value in kwargs.items() if is_sensitive(name)]


def spec_secrets(spec: RunSpec) -> list[str]:
    """The values a run will send under sensitive names, known before it runs."""
    import dataclasses

    # The code is not imported yet: what its parser or signature says waits for the run.
    return sent_secrets(dataclasses.asdict(spec), code=False)


def sent_secrets(spec: dict[str, Any], *, code: bool = True) -> list[str]:
    """The values a run's spec (``dataclasses.asdict(RunSpec)``) sends under sensitive names."""
    request, call, command = spec.get("request"), spec.get("call"), spec.get("command")
    sent: list[tuple[str, str]] = []
    if request is not None:
        from urllib.parse import parse_qsl, urlsplit

        from django.http import parse_cookie

        sent += [*request["data"], *request["headers"]]
        sent += parse_qsl(urlsplit(request["path"]).query, keep_blank_values=True)
        for name, value in request["headers"]:
            if name.lower() == "cookie":
                sent += [(f"cookie {key}", item) for key, item in parse_cookie(value).items()]
        if request["json_body"] is not None:
            sent.extend(_json_pairs(request["json_body"]))
    if call is not None:
        sent.extend(_json_pairs(json.dumps(dict(call["kwargs"]), default=str)))
    planted = [value for name, value in sent if is_sensitive(name)]
    planted += [part for value in planted for part in value.split()]
    if command is not None:
        planted += argv_secrets(command["args"], is_sensitive)
        if code:
            planted += command_option_secrets(command["name"], command["args"])
    if call is not None and code:
        planted += call_argument_secrets(call["dotted"], call["args"], call["input"] is not None)
    return planted


def command_option_secrets(name: str, args: list[str]) -> list[str]:
    """The values of a command's options whose destination is sensitive, as its own parser
    reads them: ``-p VALUE`` for ``--password``, an abbreviation, ``nargs=2``."""
    if any(arg in ("-h", "--help", "--version") for arg in args):
        return []  # its parser would print and exit
    try:
        from django_profilecmds.targets import command_parser

        namespace, _unknown = command_parser(name).parse_known_args(list(args))
    except BaseException:  # an unknown command, a parse error: names still apply
        return []
    return [
        value
        for dest, item in vars(namespace).items()
        if is_sensitive(dest)
        for value in _scalars(item)
    ]


def call_argument_secrets(dotted: str, args: list[Any], has_input: bool) -> list[str]:
    """The positional ``--args`` of a call that land in a sensitive parameter (``password``)."""
    import inspect

    try:
        from django_profilecmds.targets import import_dotted

        function, _module = import_dotted(dotted)
        first = [None] if has_input else []
        bound = inspect.signature(function).bind_partial(*first, *args)
    except Exception:  # not importable or not bindable: names still apply
        return []
    return [
        value
        for name, item in bound.arguments.items()
        if is_sensitive(name)
        for value in _scalars(item)
    ]


def _scalars(value: Any) -> list[str]:
    """The strings and numbers in ``value`` (a list of lists for ``nargs`` with ``append``)."""
    return [
        str(item)
        for item in flattened([value])
        if isinstance(item, (str, int, float)) and not isinstance(item, bool)
    ]


def redact_result(result: dict[str, Any], redactor: Redactor) -> dict[str, Any]:
    """A copy of ``RunResult.to_dict()`` that is safe to write anywhere."""
    request = result["spec"]["request"]
    clean = redactor.data(result)
    for query in clean.get("queries", []):
        query["params"] = redactor.params(query["sql"], query["params"], query["many"])
        query["sql"] = redactor.sql(query["sql"])
    if clean.get("sql"):
        for group in clean["sql"].get("groups", []):
            group["sample"] = redactor.sql(group["sample"])
        for explain in clean["sql"].get("explains", []):
            explain["sql"] = redactor.sql(explain["sql"])
            explain["plan"] = redactor.plan(explain["plan"])
    if request is None:
        return clean  # type: ignore[no-any-return]
    clean_request = clean["spec"]["request"]
    clean_request["data"] = redactor.pairs(request["data"])
    clean_request["headers"] = redactor.pairs(request["headers"])
    if request["json_body"] is not None:
        clean_request["json_body"] = redactor.json_text(request["json_body"])
    preview = redactor.json_text(result["response"]["body_preview"])
    clean["response"]["body_preview"] = redactor.cut_off(preview)
    return clean  # type: ignore[no-any-return]


def _json_pairs(text: str) -> list[tuple[str, str]]:
    """Every (key, scalar value) pair anywhere in a JSON document."""
    pairs: list[tuple[str, str]] = []

    def walk(value: Any, key: str = "") -> None:
        if isinstance(value, dict):
            for name, item in value.items():
                walk(item, str(name))
        elif isinstance(value, list):
            for item in value:
                walk(item, key)
        elif key and value is not None:
            pairs.append((key, str(value)))

    with contextlib.suppress(ValueError, RecursionError):
        walk(json.loads(text))
    return pairs
