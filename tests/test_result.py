"""RunResult: plain data, with the profilers' objects apart, to a dict and back."""

from __future__ import annotations

import dataclasses
import json

import pytest

from django_profilecmds import profile_request
from django_profilecmds.exceptions import InvalidReport
from django_profilecmds.reports.files import prepare_output_dir, write_reports
from django_profilecmds.reports.redact import MASK
from django_profilecmds.result import RunResult
from django_profilecmds.runner import run
from django_profilecmds.spec import CallSpec, RunSpec

pytestmark = pytest.mark.django_db(databases="__all__")

# What the JSON file, the HTML report and the index read, in the order they are written (the
# title right after the index row: the index reads a run's file from its start).
KEYS = [
    "title",
    "created",
    "spec",
    "driver",
    "view",
    "user",
    "identity",
    "status",
    "failed",
    "runs",
    "wall",
    "cpu",
    "query_count",
    "db_time",
    "response",
    "queries",
    "sql",
    "budget_failures",
    "targets",
    "output",
    "lines",
    "emails",
    "environment",
    "errors",
    "comparison",
    "comparison_settings",
    "warnings",
    "refused",
    "files_written",
    "files_deleted",
    "caches",
    "files",
]
QUERY_KEYS = [
    "run",
    "alias",
    "sql",
    "params",
    "many",
    "duration",
    "rows",
    "in_atomic",
    "stack",
    "template",
    "loop_line",
]
# Fields that a saved report holds as they are (no masking, no conversion).
PLAIN = [
    "created",
    "driver",
    "view",
    "user",
    "runs",
    "wall",
    "cpu",
    "response",
    "sql",
    "budget_failures",
    "targets",
    "output",
    "lines",
    "emails",
    "environment",
    "errors",
    "comparison",
    "comparison_settings",
    "warnings",
    "refused",
    "files_written",
    "files_deleted",
    "caches",
]


def test_to_dict_has_the_keys_the_reports_read(books):
    result = profile_request("/books/", profiler="none", repeat=2)
    data = result.to_dict()
    assert list(data) == KEYS
    assert list(data["queries"][0]) == QUERY_KEYS
    assert data["title"] == "GET /books/" and data["status"] == 200 and data["failed"] is False
    assert data["query_count"] == 13 and data["db_time"] == result.db_time
    assert data["spec"] == dataclasses.asdict(result.spec)
    assert data["wall"] == dataclasses.asdict(result.wall)
    assert data["sql"]["nplusone"][0]["count"] == 12  # per run
    assert json.loads(json.dumps(data))["queries"][0]["stack"][0][2] == "book_list"


def test_the_profilers_objects_are_apart_and_never_saved(books):
    result = profile_request("/books/")
    assert result.calltree is result.artefacts.calltree
    assert result.calltree is not None and result.function_stats is None
    result.calltree = None  # settable, as it was a field
    assert result.artefacts.calltree is None
    unsaved = {"artefacts", "calltree", "function_stats", "line_stats", "secrets"}
    assert not unsaved & set(result.to_dict())


def test_a_saved_report_reads_back_into_a_result(books, member, tmp_path):
    result = profile_request(
        "/books/create/",
        method="POST",
        data={"title": "Dune", "password": "planted-form-password"},
        user=member.email,
        explain=True,
        repeat=2,
        output_dir=tmp_path,
    )
    saved = json.loads(result.files["json"].read_text())
    loaded = RunResult.from_dict(saved)

    # The document comes back whole: to_dict() of what was read is the file, but for its row
    # of the index, which is drawn from the rest. (Through JSON, where tuples are lists.)
    document = {key: value for key, value in saved.items() if key != "index_row"}
    assert json.loads(json.dumps(loaded.to_dict())) == document

    # Against the run itself: the plain fields are equal...
    for name in PLAIN:
        assert getattr(loaded, name) == getattr(result, name), name
    assert loaded.emails[0].subject == "New book" and loaded.sql and loaded.sql.explains
    # ...what the file masked stays masked: the password sent...
    request = result.spec.request
    assert request is not None
    sent = dataclasses.replace(request, data=(("title", "Dune"), ("password", MASK)))
    assert loaded.spec == dataclasses.replace(result.spec, request=sent)
    # ...queries are QueryRecords again, with their parameters as the JSON holds them (lists,
    # masked, and str() of what JSON has no type for)...
    assert [dataclasses.replace(q, params=None) for q in loaded.queries] == [
        dataclasses.replace(q, params=None) for q in result.queries
    ]
    assert [q.params for q in loaded.queries] == [q["params"] for q in saved["queries"]]
    # ...the files are the paths the JSON lists: every file of the run but the index, written
    # after it...
    assert loaded.files == {kind: path for kind, path in result.files.items() if kind != "index"}
    # ...and what no report holds is not there: the run's secrets, the profilers' objects.
    assert result.secrets and loaded.secrets == []
    assert result.calltree is not None and loaded.calltree is None


def test_a_line_profiled_report_reads_back_its_line_tables(books, tmp_path):
    result = run(
        RunSpec(
            request=None,
            call=CallSpec("tests.testapp.lines.author_names"),
            profiler="none",
            lines=("tests.testapp.lines",),
        )
    )
    write_reports(result, prepare_output_dir(tmp_path))
    loaded = RunResult.from_dict(json.loads(result.files["json"].read_text()))
    assert loaded.lines == result.lines and loaded.targets == result.targets
    assert loaded.spec == result.spec
    assert loaded.line_stats is None  # in the .lprof file, not the JSON
    # Which profiled line each query ran on is not saved: the tables already count them.
    assert any(query.lines for query in result.queries)
    assert all(query.lines == [] for query in loaded.queries)


@pytest.mark.parametrize(
    "document",
    [
        {"index_row": {"created": "", "title": "GET /"}},
        {"kind": "replay", "replay": {"views": {}}},
    ],
)
def test_a_document_that_is_no_run_is_refused(document):
    with pytest.raises(InvalidReport) as excinfo:
        RunResult.from_dict(document)
    assert str(excinfo.value).startswith("Not a run's report: no 'spec', 'driver', 'user', ")


def test_a_damaged_report_is_refused(books, tmp_path):
    result = profile_request("/books/", profiler="none", output_dir=tmp_path)
    document = json.loads(result.files["json"].read_text())
    document["spec"]["request"] = None
    with pytest.raises(InvalidReport, match="^Not a run's report: Give exactly one of a URL"):
        RunResult.from_dict(document)
    document = json.loads(result.files["json"].read_text())
    document["runs"] = 2
    with pytest.raises(InvalidReport, match="^Not a run's report: "):
        RunResult.from_dict(document)
