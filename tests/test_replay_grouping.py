"""profile_replay --group-by: one catch-all view (a CMS's page tree) split per template and per
path prefix, in the ranking, its N+1 lists, the reports, with workers and against baselines."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from django_profilecmds.replay.engine import ReplayOptions, replay_file
from tests.test_profile_replay import write_log
from tests.testapp.pages import BLOG_LOOPS

pytestmark = pytest.mark.django_db(databases="__all__")

# Every path but the project's own patterns reaches the catch-all view, "page-serve".
pages_site = override_settings(ROOT_URLCONF="tests.testapp.pages_urls")

TRAFFIC = (
    ["GET /blog/first/ HTTP/1.1"] * 3
    + ["GET /blog/second/ HTTP/1.1"] * 2
    + ["GET /shop/ HTTP/1.1"] * 4
    + ["GET /shop/cart/ HTTP/1.1"]
    + ["GET / HTTP/1.1"] * 2
    + ["GET /api/status/ HTTP/1.1"] * 2
    + ["GET /echo/ HTTP/1.1"]
)
BLOG = "page-serve · testapp/pages/blog_page.html"
SHOP = "page-serve · testapp/pages/shop_page.html"
HOME = "page-serve · testapp/pages/home_page.html"
MORE = f"… and {BLOG_LOOPS - 3} more (all in the JSON report)"


def replay(*args, **options):
    out = StringIO()
    call_command(
        "profile_replay", *[str(a) for a in args], stdout=out, stderr=StringIO(), **options
    )
    return out.getvalue()


def ranking(out: str) -> dict[str, tuple[int, int, str]]:
    """Each row of the ranking: its requests, its requests with an N+1, its dig-in command."""
    rows = {}
    for line in out.splitlines():
        if "  ->  " not in line:
            continue
        left, command = line.split("  ->  ", 1)
        # share requests mean p50 p95 CPU-p50 DB-p50 queries N+1 errors 4xx row
        fields = left.split(None, 11)
        if fields[1].isdigit():  # not the header
            rows[fields[11].strip()] = (int(fields[1]), int(fields[8]), command)
    return rows


def requests_per_row(out: str) -> dict[str, int]:
    return {name: row[0] for name, row in ranking(out).items()}


@pytest.fixture
def traffic(books, tmp_path):
    with pages_site:
        yield write_log(tmp_path / "pages.log", TRAFFIC)


def test_by_view_the_catch_all_is_one_row(traffic):
    out = replay(traffic, no_files=True)
    assert requests_per_row(out) == {"page-serve": 14, "echo": 1}


def test_by_template_each_page_type_is_a_row_with_its_own_command(traffic):
    out = replay(traffic, group_by="template", no_files=True)
    # Includes ({% include %}) and the extended base are not the page's template.
    assert requests_per_row(out) == {
        BLOG: 5,
        SHOP: 5,  # a TemplateResponse, rendered after the view returned
        HOME: 2,
        "page-serve · (no template)": 2,  # a JsonResponse
        "echo · (no template)": 1,
    }
    rows = ranking(out)
    assert rows[BLOG][1] == 5 and rows[SHOP][1] == rows[HOME][1] == 0
    # The command profiles the slowest request of that row: a page of that type.
    assert rows[BLOG][2].startswith("python manage.py profile_view /blog/")
    assert rows[SHOP][2].startswith("python manage.py profile_view /shop/")
    assert rows[HOME][2] == "python manage.py profile_view /"
    assert "Replayed 15 requests" in out and "2 views in 5 groups (by template)" in out
    header = next(line for line in out.splitlines() if line.lstrip().startswith("share"))
    assert header.endswith("view · template  ->  dig in with")


def test_by_path_prefix_each_section_is_a_row(traffic):
    out = replay(traffic, group_by="path-prefix", no_files=True)
    assert requests_per_row(out) == {
        "page-serve · /blog/": 5,
        "page-serve · /shop/": 5,
        "page-serve · /": 2,
        "page-serve · /api/": 2,
        "echo · /echo/": 1,
    }
    assert "2 views in 5 groups (by path prefix of 1 segment)" in out
    out = replay(traffic, group_by="path-prefix", path_segments=2, no_files=True)
    assert requests_per_row(out) == {
        "page-serve · /blog/first/": 3,
        "page-serve · /blog/second/": 2,
        "page-serve · /shop/": 4,
        "page-serve · /shop/cart/": 1,
        "page-serve · /": 2,
        "page-serve · /api/status/": 2,
        "echo · /echo/": 1,
    }
    rows = ranking(out)
    assert rows["page-serve · /blog/second/"][2] == "python manage.py profile_view /blog/second/"


@pytest.mark.parametrize(("group_by", "row"), [("view", "page-serve"), ("template", BLOG)])
def test_a_cut_nplusone_list_says_how_many_it_left_out(traffic, tmp_path, group_by, row):
    out = replay(traffic, group_by=group_by, output_dir=tmp_path / "p")
    listed = out.split("N+1 queries")[1].split("\n\n")[0].splitlines()[1:]
    start = listed.index(f"  {row}") + 1
    ours = []
    for line in listed[start:]:
        if not line.startswith("    "):
            break
        ours.append(line)
    assert len(ours) == 4 and ours[-1] == f"    {MORE}"
    # The first loops of the template, in its order (each ran in every blog request).
    assert [line.split(", template ")[1] for line in ours[:3]] == [
        f"testapp/pages/blog_page.html:{line} (5 requests)" for line in (3, 4, 5)
    ]
    data = json.loads(next((tmp_path / "p").glob("replay-*.json")).read_text())
    assert len(data["replay"]["views"][row]["nplusone"]) == BLOG_LOOPS
    page = next((tmp_path / "p").glob("replay-*.html")).read_text()
    assert MORE in page


def test_reports_carry_the_grouping(traffic, tmp_path):
    replay(traffic, group_by="template", output_dir=tmp_path / "p")
    data = json.loads(next((tmp_path / "p").glob("replay-*.json")).read_text())
    assert data["replay"]["group_by"] == "template"
    blog = data["replay"]["views"][BLOG]
    assert (blog["view"], blog["view_name"], blog["group"]) == (
        BLOG,
        "page-serve",
        "testapp/pages/blog_page.html",
    )
    assert data["replay"]["views"]["echo · (no template)"]["group"] == "(no template)"
    page = next((tmp_path / "p").glob("replay-*.html")).read_text()
    assert BLOG in page and "view · template</th>" in page
    assert "python manage.py profile_view /shop/" in page
    assert '<div class="v">5</div><div class="k">groups (by template)</div>' in page
    assert '<div class="v">2</div><div class="k">views</div>' in page


@pytest.mark.django_db(databases="__all__", transaction=True)
@pytest.mark.parametrize(("group_by", "segments"), [("template", 1), ("path-prefix", 2)])
def test_workers_merge_each_group_to_the_single_process_counts(
    tmp_path, monkeypatch, group_by, segments
):
    from django_profilecmds.replay import engine
    from tests.testapp.models import Author, Book

    monkeypatch.setattr(engine, "usable_cpus", lambda: 2)
    author = Author.objects.create(name="Committed")  # workers see committed rows only
    Book.objects.bulk_create(Book(title=f"B{i}", author=author) for i in range(6))
    log = write_log(tmp_path / "pages.log", TRAFFIC)
    options = {"group_by": group_by, "path_segments": segments}
    with pages_site:
        single = replay_file(log, ReplayOptions(**options))
        parallel = replay_file(log, ReplayOptions(workers=2, **options))
    assert len(single.views) >= 5 and set(parallel.views) == set(single.views)
    for key, view in single.views.items():
        other = parallel.views[key]
        assert (other.requests, other.total_queries, other.flagged_requests, other.nplusone) == (
            view.requests,
            view.total_queries,
            view.flagged_requests,
            view.nplusone,
        )
        assert (other.view_name, other.group) == (view.view_name, view.group)


def test_a_baseline_is_compared_group_by_group(traffic, tmp_path):
    replay(traffic, group_by="template", save=tmp_path / "before.json", no_files=True)
    saved = json.loads((tmp_path / "before.json").read_text())
    assert set(saved["entries"]) == {
        BLOG,
        SHOP,
        HOME,
        "page-serve · (no template)",
        "echo · (no template)",
    }
    out = replay(traffic, group_by="template", compare=tmp_path / "before.json", no_files=True)
    lines = out.split("Compared with the baseline")[1].splitlines()
    header = next(i for i, line in enumerate(lines) if line.strip().startswith("verdict "))
    compared = [line for line in lines[header + 1 :] if line.strip()]
    assert len(compared) == 5
    assert not any("new in this run" in line or "not in this run" in line for line in compared)
    assert any(line.endswith(f"  {BLOG}") for line in compared)


@pytest.mark.parametrize(
    ("saved", "now", "message"),
    [
        (
            {"group_by": "template"},
            {},
            "--compare: {path} groups requests by template, and this replay by view: pass "
            "--group-by template to compare with it, or save a new baseline.",
        ),
        (
            {"group_by": "path-prefix"},
            {"group_by": "path-prefix", "path_segments": 2},
            "--compare: {path} groups requests by path prefix of 1 segment, and this replay by "
            "path prefix of 2 segments: pass --group-by path-prefix --path-segments 1 to "
            "compare with it, or save a new baseline.",
        ),
    ],
)
def test_a_baseline_grouped_another_way_is_a_one_line_error(traffic, tmp_path, saved, now, message):
    before = tmp_path / "before.json"
    replay(traffic, save=before, no_files=True, **saved)
    with pytest.raises(CommandError) as raised:
        replay(traffic, compare=before, no_files=True, **now)
    assert str(raised.value) == message.format(path=before)
    assert raised.value.returncode == 1


def test_a_baseline_saved_before_grouping_existed_groups_by_view(traffic, tmp_path):
    before = tmp_path / "before.json"
    replay(traffic, save=before, no_files=True)
    saved = json.loads(before.read_text())
    del saved["replay"]["group_by"], saved["replay"]["path_segments"]
    before.write_text(json.dumps(saved))
    assert "Compared with the baseline" in replay(traffic, compare=before, no_files=True)
    with pytest.raises(CommandError, match="groups requests by view, and this replay by template"):
        replay(traffic, group_by="template", compare=before, no_files=True)


def test_the_template_hook_is_there_only_during_the_replay(traffic):
    from django.template.backends import django as django_backend

    original = django_backend.Template.render
    stats = replay_file(traffic, ReplayOptions(group_by="template"))
    assert BLOG in stats.views
    assert django_backend.Template.render is original


JINJA2 = {
    "BACKEND": "django.template.backends.jinja2.Jinja2",
    "NAME": "jinja2",
    "APP_DIRS": True,
}


def test_a_jinja2_page_is_grouped_under_its_template(books, tmp_path):
    pytest.importorskip("jinja2")
    from django.conf import settings
    from django.template.backends import jinja2 as jinja2_backend

    original = jinja2_backend.Template.render
    log = write_log(tmp_path / "docs.log", ["GET /docs/ HTTP/1.1"] * 2 + ["GET / HTTP/1.1"])
    with pages_site, override_settings(TEMPLATES=[*settings.TEMPLATES, JINJA2]):
        stats = replay_file(log, ReplayOptions(group_by="template"))
    assert {key: view.requests for key, view in stats.views.items()} == {
        "page-serve · testapp/pages/docs_page.html": 2,
        HOME: 1,
    }
    assert jinja2_backend.Template.render is original


UNKNOWN = "Unknown --group-by 'url'; choose from view, template, path-prefix."
SEGMENTS = "--path-segments must be a positive integer, got {}."
PREFIX = ["--group-by", "path-prefix", "--path-segments"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--group-by", "url"], UNKNOWN),
        ([*PREFIX, "0"], SEGMENTS.format("'0'")),
        ([*PREFIX, "-1"], SEGMENTS.format("'-1'")),
        ([*PREFIX, "two"], SEGMENTS.format("'two'")),
        (
            ["--path-segments", "2"],
            "--path-segments counts the segments of --group-by path-prefix; pass --group-by "
            "path-prefix too.",
        ),
    ],
)
def test_bad_grouping_options_are_one_line_errors(traffic, args, message):
    with pytest.raises(CommandError) as raised:
        replay(traffic, *args, "--no-files")
    assert str(raised.value) == message and raised.value.returncode == 1


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"group_by": "url"}, UNKNOWN),
        ({"group_by": "path-prefix", "path_segments": 0}, SEGMENTS.format(0)),
    ],
)
def test_bad_grouping_values_from_call_command_are_one_line_errors(traffic, options, message):
    with pytest.raises(CommandError) as raised:
        replay(traffic, no_files=True, **options)
    assert str(raised.value) == message and raised.value.returncode == 1


def test_grouping_is_left_alone_by_the_locust_export(traffic, tmp_path):
    out = replay(traffic, group_by="template", export_locust=tmp_path / "locustfile.py")
    assert "15 requests for 2 views" in out
    assert Path(tmp_path / "locustfile.py").exists()


def test_a_secret_in_a_row_name_is_masked_and_the_row_kept(books, tmp_path):
    """A path prefix is the traffic's: the project's SECRET_KEY in a path stays out of the
    output and the files, and the row named by it keeps its figures."""
    from django.conf import settings

    secret = settings.SECRET_KEY
    log = write_log(tmp_path / "a.log", [f"GET /{secret}/ HTTP/1.1"] * 2 + ["GET /api/x/ HTTP/1.1"])
    with pages_site:
        out = replay(log, group_by="path-prefix", save=tmp_path / "s.json", output_dir=tmp_path)
    files = [path.read_text() for path in tmp_path.glob("*.*") if path.suffix in (".json", ".html")]
    assert files and all(secret not in text for text in [out, *files])
    data = json.loads(next(tmp_path.glob("replay-*.json")).read_text())
    assert sorted(row["requests"] for row in data["replay"]["views"].values()) == [1, 2]
    assert data["replay"]["views"]["page-serve · /api/"]["requests"] == 1
