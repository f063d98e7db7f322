"""The commands' options as they are typed: argparse, through call_command()'s argv."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command, load_command_class
from django.core.management.base import CommandError

BAD_CHOICES = [
    (
        "profile_view",
        ["/books/", "--sql=bogus"],
        "Unknown --sql mode 'bogus'; choose from summary, full, none.",
    ),
    (
        "profile_view",
        ["/books/", "--profiler", "yappi"],
        "Unknown profiler 'yappi'; choose from pyinstrument, cprofile, none.",
    ),
    (
        "profile_view",
        ["/books/", "--method=fetch"],
        "Unknown HTTP method 'FETCH'; choose from GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS.",
    ),
    (
        "profile_call",
        ["tests.testapp.lines.arithmetic", "--sql", "verbose"],
        "Unknown --sql mode 'verbose'; choose from summary, full, none.",
    ),
    (
        "profile_command",
        ["--profiler=perf", "check"],
        "Unknown profiler 'perf'; choose from pyinstrument, cprofile, none.",
    ),
    (
        "lineprof",
        ["tests.testapp.lines.arithmetic", "--unit=ns"],
        "Unknown --unit 'ns'; choose from s, ms, us.",
    ),
    (
        "profile_replay",
        ["access.log", "--format=xml"],
        "Unknown format 'xml'; choose from combined, har, jsonl.",
    ),
]


@pytest.mark.parametrize(("command", "argv", "message"), BAD_CHOICES)
def test_a_value_outside_a_fixed_set_is_a_one_line_error(command, argv, message):
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as info:  # refused while parsing: nothing ran
        call_command(command, *argv, stdout=out, stderr=err)
    assert str(info.value) == message
    assert info.value.returncode == 1
    assert out.getvalue() == err.getvalue() == ""


@pytest.mark.django_db(databases="__all__")
def test_typed_values_of_fixed_sets_reach_the_run():
    out = StringIO()
    call_command(
        "profile_view",
        "/echo/",
        "--method=post",
        "--profiler=none",
        "--sql=full",
        "--no-files",
        stdout=out,
    )
    text = out.getvalue()
    assert "POST /echo/ -> tests.testapp.views.echo" in text
    assert "profiler: none" in text


def parser_of(command):
    return load_command_class("django_profilecmds", command).create_parser("manage.py", command)


def test_help_lists_the_fixed_sets():
    text = parser_of("profile_view").format_help()
    assert "--profiler {pyinstrument,cprofile,none}" in text
    assert "--sql {summary,full,none}" in text
    assert "--unit {s,ms,us}" in parser_of("lineprof").format_help()


def helps(command):
    return {action.dest: action.help for action in parser_of(command)._actions}


def test_replay_shares_the_declarations_of_the_options_it_has_in_common():
    view, replay = helps("profile_view"), helps("profile_replay")
    shared = ["host", "nplusone_threshold", "send_email", "isolate_cache", "output_dir", "no_files"]
    for dest in shared:
        assert replay[dest] == view[dest], dest
    # Every request of the replay, not the one request of profile_view.
    assert replay["user"] != view["user"] and "every request" in replay["user"]
