"""Every console example in README.md runs on the demo project, and shows its real output."""

from __future__ import annotations

import pytest

from tests import readme_examples as readme

pytestmark = pytest.mark.slow

EXAMPLES = readme.examples()


def test_every_example_is_run_or_says_why_not():
    for example in EXAMPLES:
        assert example.runs or example.reason_not_run, (
            f"README.md:{example.line}: {example.command!r} is neither run by the suite nor "
            "listed in tests/readme_examples.py's NOT_RUN"
        )
    assert sum(example.runs for example in EXAMPLES) >= 20


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    directory = tmp_path_factory.mktemp("readme")
    return directory, readme.prepare_demo(directory)


@pytest.mark.parametrize("example", [e for e in EXAMPLES if e.runs], ids=lambda e: f"line{e.line}")
def test_example_runs_and_shows_its_real_output(demo, example):
    directory, env = demo
    done = readme.run(example, directory, env)
    assert done.returncode == 0, f"README.md:{example.line}: {example.command}\n{done.stderr}"
    assert "Traceback" not in done.stderr
    problems = readme.differences(example.shown, done.stdout)
    assert not problems, f"README.md:{example.line}: {example.command}\n" + "\n".join(problems)


def test_the_shape_comparison_tells_a_wrong_example_from_a_right_one():
    shown = ["  wall 343.5 ms · 420 queries", "0.343 listing_list  shop/views.py:39", "Reports:"]
    right = "  wall 12.0 ms ·   418 queries\n0.210 listing_list  shop/views.py:39\nReports:\n"
    assert readme.differences(shown, right) == []
    assert readme.differences(shown, right.replace("queries", "rows"))
    assert readme.differences(shown, right.replace("listing_list", "home"))
    assert readme.differences(shown, right + "Extra line\n")
    assert readme.differences([*shown, "..."], right + "Extra line\n") == []


@pytest.mark.parametrize("snippet", readme.snippets(), ids=lambda s: f"line{s.line}")
def test_python_snippet_runs(demo, snippet):
    directory, env = demo
    done = readme.run_snippet(snippet, directory, env)
    assert done.returncode == 0, f"README.md:{snippet.line}\n{done.stdout}\n{done.stderr}"


def test_make_demo_ends_with_the_first_example():
    """The first output shown is what ``make demo`` prints: its last step is that command."""
    makefile = (readme.ROOT / "Makefile").read_text()
    recipe = makefile.split("\ndemo:", 1)[1].split("\n\n", 1)[0].strip().splitlines()
    last = recipe[-1].strip().replace("$(DEMO)", "python demo_site/manage.py")
    first = next(e for e in EXAMPLES if e.runs)
    assert first.command == last
    assert first.shown


def test_a_querys_sql_after_its_table_is_free_to_differ_between_django_versions():
    shown = ['   1  0.0 ms  0%  shop/views.py:46 in x  SELECT … FROM "shop_listing" WHERE "a"']
    real = '   1  0.1 ms  0%  shop/views.py:46 in x  SELECT … FROM "shop_listing" WHERE "a" = ?\n'
    assert readme.differences(shown, real) == []
    assert readme.differences(shown, real.replace("shop_listing", "shop_tag"))


def test_a_replay_rows_slowest_request_may_be_another_path_of_the_view():
    shown = [" 85.1% 51 listing-list -> python manage.py profile_view /listings/ --user=1"]
    real = " 84.0% 51 listing-list -> python manage.py profile_view '/listings/?page=2' --user=1"
    assert readme.differences(shown, real) == []
    assert readme.differences(shown, real.replace("/listings/", "/account/"))
