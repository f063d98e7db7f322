"""How each tool that ``bench_other_tools`` measures is put around one handler request.

A tool is a short name, the settings module its process runs with, the modules it needs, and a
``Candidate``: one request with the tool around it, and a check, run on the warm-up request, that
the tool really did its work (so a misconfigured tool cannot pass for a cheap one).
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from benchmarks import _common

DEMO_SETTINGS = "demo_site.settings"
HOST = "localhost"


@dataclass(frozen=True)
class Tool:
    name: str
    label: str
    distribution: str  # whose version the figures are for
    settings: str = DEMO_SETTINGS
    requires: tuple[str, ...] = ()


TOOLS = (
    Tool("profilecmds-none", "profile_request(profiler='none')", "django-profilecmds"),
    Tool("profilecmds", "profile_request() (pyinstrument + SQL origins)", "django-profilecmds"),
    Tool("pyinstrument", "pyinstrument Profiler around the handler", "pyinstrument"),
    Tool("capture-queries", "CaptureQueriesContext", "django"),
    Tool("silk", "silk middleware", "django-silk", "benchmarks.settings_silk", ("silk",)),
    Tool(
        "silk-profiler",
        "silk middleware + SILKY_PYTHON_PROFILER",
        "django-silk",
        "benchmarks.settings_silk_profiler",
        ("silk",),
    ),
    Tool(
        "debug-toolbar",
        "debug-toolbar, default panels",
        "django-debug-toolbar",
        "benchmarks.settings_debug_toolbar",
        ("debug_toolbar",),
    ),
)
TOOLS_BY_NAME = {tool.name: tool for tool in TOOLS}


@dataclass(frozen=True)
class Candidate:
    request: Callable[[str], Any]  # one request to the path, the tool around it
    check: Callable[[str, Any], None]  # raises ToolDidNotRun when the tool did nothing
    # Around the bare handler's requests: lifts what the tool left installed process-wide.
    bare_context: Callable[[], contextlib.AbstractContextManager[None]] = contextlib.nullcontext


class ToolDidNotRun(Exception):
    pass


def missing_requirement(tool: Tool) -> str | None:
    """Why the tool cannot be measured here (a module that fails to import), or None."""
    for module in tool.requires:
        try:
            importlib.import_module(module)
        except Exception as exc:  # an ImportError, or anything a broken install raises
            return f"{module} does not import ({type(exc).__name__}: {exc})"
    return None


def bare_handler() -> Any:
    """Django's handler with the demo's own middleware, whatever this process's settings add."""
    from django.test import override_settings

    with override_settings(MIDDLEWARE=importlib.import_module(DEMO_SETTINGS).MIDDLEWARE):
        return _common.bare_handler()[0]


def handler_request(handler: Any) -> Callable[[str], Any]:
    """One RequestFactory GET through ``handler``, its content read."""
    from django.test import RequestFactory

    factory = RequestFactory()

    def request(path: str) -> Any:
        response = handler.get_response(factory.get(path, HTTP_HOST=HOST))
        len(response.content)
        return response

    return request


def served(request: Callable[[str], Any]) -> Callable[[str], Any]:
    """``request`` on an empty query log, as request_started leaves it for a served request:
    the handler called directly sends no signal, and DEBUG's log, once full, leaves
    CaptureQueriesContext nothing to capture."""
    from django.db import reset_queries

    def request_served(path: str) -> Any:
        reset_queries()
        return request(path)

    return request_served


def candidate(tool: Tool) -> Candidate:
    """The tool's request and check, in a process whose settings are ``tool.settings``."""
    from django.core.handlers.base import BaseHandler

    if tool.settings == DEMO_SETTINGS:
        return IN_PROCESS[tool.name](handler_request(bare_handler()))
    handler = BaseHandler()
    handler.load_middleware()  # the tool's settings: its middleware first
    through_tool = handler_request(handler)
    if tool.name.startswith("silk"):
        return Candidate(through_tool, _silk_check(tool), _without_silk_sql_wrapper)
    return Candidate(through_tool, _toolbar_check)


def _profile_request(profiler: str | None) -> Callable[[Callable[[str], Any]], Candidate]:
    def make(bare: Callable[[str], Any]) -> Candidate:
        from django_profilecmds import profile_request

        options = {} if profiler is None else {"profiler": profiler}

        def request(path: str) -> Any:
            return profile_request(path, host=HOST, warmup=0, **options)  # type: ignore[arg-type]

        def check(path: str, result: Any) -> None:
            if result.status != 200 or result.failed or not result.queries:
                raise ToolDidNotRun(f"{path}: status {result.status}, {result.errors}")
            if profiler is None and result.calltree is None:
                raise ToolDidNotRun(f"{path}: no pyinstrument session")

        return Candidate(request, check)

    return make


def _pyinstrument(bare: Callable[[str], Any]) -> Candidate:
    from pyinstrument import Profiler

    def request(path: str) -> Any:
        profiler = Profiler(interval=0.001)  # profile_request's default interval
        profiler.start()
        bare(path)
        return profiler.stop()

    def check(path: str, session: Any) -> None:
        if session.duration <= 0:
            raise ToolDidNotRun(f"{path}: pyinstrument recorded nothing")

    return Candidate(request, check)


def _capture_queries(bare: Callable[[str], Any]) -> Candidate:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def request(path: str) -> Any:
        with CaptureQueriesContext(connection) as context:
            bare(path)
        return context

    def check(path: str, context: Any) -> None:
        if not context.captured_queries:
            raise ToolDidNotRun(f"{path}: no query captured")

    return Candidate(request, check)


IN_PROCESS: dict[str, Callable[[Callable[[str], Any]], Candidate]] = {
    "profilecmds-none": _profile_request("none"),
    "profilecmds": _profile_request(None),
    "pyinstrument": _pyinstrument,
    "capture-queries": _capture_queries,
}


def _silk_check(tool: Tool) -> Callable[[str, Any], None]:
    def check(path: str, response: Any) -> None:
        from silk.models import Request

        recorded = Request.objects.filter(path=path).order_by("-start_time").first()
        if recorded is None or not recorded.queries.exists():
            raise ToolDidNotRun(f"{path}: silk recorded no request with its queries")
        if tool.name == "silk-profiler" and not recorded.pyprofile:
            raise ToolDidNotRun(f"{path}: silk recorded no Python profile")

    return check


@contextlib.contextmanager
def _without_silk_sql_wrapper() -> Iterator[None]:
    """Silk's first request replaces ``SQLCompiler.execute_sql`` for the whole process (compiling
    each query twice from then on, recorded or not); the bare handler runs on Django's own."""
    from django.db.models.sql.compiler import SQLCompiler

    original = SQLCompiler.__dict__.get("_execute_sql")
    if original is None:  # no silk request yet
        yield
        return
    wrapper = SQLCompiler.execute_sql
    SQLCompiler.execute_sql = original  # type: ignore[method-assign]
    try:
        yield
    finally:
        SQLCompiler.execute_sql = wrapper  # type: ignore[method-assign]


def _toolbar_check(path: str, response: Any) -> None:
    # The toolbar is inserted into HTML pages; on the others it still runs its panels and
    # stores them for the history panel, and says so in a header.
    if response.get("Content-Type", "").startswith("text/html"):
        ran = b'id="djDebug"' in response.content
    else:
        ran = "djdt-request-id" in response.headers
    if not ran:
        raise ToolDidNotRun(f"{path}: no toolbar in the response")
