"""Each driver sends the work the way it says, and the origin walk stops at the drivers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.http import HttpRequest

from django_profilecmds.collectors import NULL_OBSERVER, Observer
from django_profilecmds.collectors.sql import QueryCollector
from django_profilecmds.drivers import HARNESS_FILES, request_driver
from django_profilecmds.drivers.call import CallDriver
from django_profilecmds.drivers.command import CommandDriver
from django_profilecmds.exceptions import InvalidOption
from django_profilecmds.harness import Harness
from django_profilecmds.request_builder import RequestBuilder
from django_profilecmds.routing import resolve_path
from django_profilecmds.sandbox import SandboxOptions
from django_profilecmds.spec import RequestSpec
from django_profilecmds.users import Identity

pytestmark = pytest.mark.django_db(databases="__all__")


def send(
    path: str, driver_name: str, identity: Identity | None = None
) -> tuple[int, dict[str, str], dict[str, Any]]:
    """Status, headers and JSON body of ``path`` sent by the named driver, in the sandbox."""
    match = resolve_path(path.split("?", 1)[0])
    driver = request_driver(driver_name, match, identity)  # type: ignore[arg-type]
    request = RequestBuilder(RequestSpec(path), identity).build()
    with Harness(SandboxOptions()) as harness:
        outcome = harness.run_once(lambda _identity: driver.execute(request, NULL_OBSERVER))
    assert outcome.response is not None, outcome.error
    content = outcome.response.content  # type: ignore[attr-defined]
    body = json.loads(content) if outcome.body_size else {}
    return outcome.response.status_code, dict(outcome.response.items()), body


@pytest.mark.parametrize(
    ("name", "marker", "mode"),
    [
        ("full", "middleware-ran", "sync"),
        ("asgi", "middleware-ran", "async"),
        ("direct", None, None),
    ],
)
def test_middleware_runs_through_the_stack_and_not_with_the_view_alone(name, marker, mode):
    status, headers, body = send("/echo/?q=1", name)
    assert status == 200 and body["GET"] == {"q": ["1"]}
    assert headers.get("X-Marker") == marker
    assert headers.get("X-Handler-Mode") == mode


def test_the_direct_driver_attaches_the_user_the_middleware_would_have(member):
    with Harness(SandboxOptions()) as harness:
        identity = harness.identity(str(member.pk))
        match = resolve_path("/echo/")
        driver = request_driver("direct", match, identity)
        request = RequestBuilder(RequestSpec("/echo/"), identity).build()
        outcome = harness.run_once(lambda _identity: driver.execute(request, NULL_OBSERVER))
    assert outcome.response is not None
    seen = json.loads(outcome.response.content)  # type: ignore[attr-defined]
    assert seen["user"] == "ada@example.com"


def test_a_request_driver_given_no_request_says_so():
    driver = request_driver("full", resolve_path("/echo/"), None)
    with pytest.raises(TypeError, match="sends a request"):
        driver.execute(None, NULL_OBSERVER)


def squares(count: int):
    yield from (n * n for n in range(count))


async def async_total(numbers: list[int]) -> int:
    return sum(numbers)


@pytest.mark.parametrize(
    ("function", "args", "returned"),
    [
        (squares, [4], "returned list with 4 items"),  # a generator's body runs: consumed
        (async_total, [[1, 2, 3]], "returned int"),
        (dict, [], "returned dict with 0 items"),
    ],
)
def test_the_call_driver_runs_the_callable_and_summarises_what_it_returned(
    function, args, returned
):
    outcome = CallDriver(function, args, {}).execute(None, NULL_OBSERVER)
    assert outcome.error is None and outcome.returned == returned


def test_the_call_driver_keeps_the_traceback_of_a_callable_that_raises():
    outcome = CallDriver(int, ["not a number"], {}).execute(None, NULL_OBSERVER)
    assert outcome.error is not None and "ValueError" in outcome.error


def test_the_command_driver_captures_the_command_output():
    outcome = CommandDriver("check", []).execute(None, NULL_OBSERVER)
    assert outcome.error is None
    assert outcome.output is not None and "no issues" in outcome.output["stdout"]
    assert outcome.returned == "finished with 1 line of output"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("chek", "Unknown management command 'chek'. Did you mean 'check'?"),
        ("runserver", "profile_command cannot profile 'runserver': it never returns."),
        ("profile_view", "is a profiling command itself"),
    ],
)
def test_the_command_driver_refuses_what_it_cannot_profile(name, message):
    with pytest.raises(InvalidOption, match=message.replace("?", r"\?").replace(".", r"\.")):
        CommandDriver(name, [])


def test_every_driver_module_is_a_harness_file():
    import django_profilecmds.drivers as package

    modules = {path.name for path in Path(package.__file__).parent.glob("*.py")}
    assert {"fullstack.py", "direct.py", "asgi.py", "call.py", "command.py"} <= modules
    assert {Path(path).name for path in HARNESS_FILES} == modules


@pytest.mark.parametrize("name", ["full", "direct", "asgi"])
def test_a_query_origin_is_the_view_never_the_driver(books, name):
    queries = QueryCollector(harness_files=HARNESS_FILES)
    match = resolve_path("/books/authors/")
    driver = request_driver(name, match, None)
    request: HttpRequest = RequestBuilder(RequestSpec("/books/authors/")).build()
    with Harness(SandboxOptions(), queries) as harness:
        outcome = harness.run_once(lambda _identity: driver.execute(request, Observer([queries])))
    assert outcome.error is None
    origins = {q.origin for q in queries.queries}
    assert origins and all(origin is not None for origin in origins)
    assert {origin[2] for origin in origins if origin} == {"book_authors"}
    assert not any(origin[0] in HARNESS_FILES for origin in origins if origin)


def test_the_harness_files_are_spelt_as_the_drivers_were_imported(tmp_path):
    # A sys.path entry such as BASE_DIR / "./src" puts "/./" in every frame's file name.
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import django_profilecmds.drivers as d, django_profilecmds.drivers.fullstack as f;"
        "assert '/./' in f.__file__, f.__file__;"
        "print(f.FullStackDriver._get_response.__code__.co_filename in d.HARNESS_FILES)"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-c", code, f"{root}/./"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.stdout.strip() == "True", done.stderr


def test_the_handler_is_loaded_once_and_again_when_the_middleware_setting_changes(db):
    """The middleware chain is loaded once per process (as a server loads it), and a changed
    MIDDLEWARE setting, as a test's override_settings makes it, is honoured at once."""
    from django.conf import settings
    from django.test import override_settings

    from django_profilecmds.drivers.fullstack import FullStackDriver

    first, second = FullStackDriver(False), FullStackDriver(False)
    assert first.handler is second.handler
    assert send("/echo/", "full")[1].get("X-Marker") == "middleware-ran"
    without = [m for m in settings.MIDDLEWARE if not m.endswith("MarkerMiddleware")]
    with override_settings(MIDDLEWARE=without):
        assert FullStackDriver(False).handler is not first.handler
        assert "X-Marker" not in send("/echo/", "full")[1]
    assert send("/echo/", "full")[1].get("X-Marker") == "middleware-ran"
