"""What the options of ``management.options`` parsed, as the library's typed values: the parts
of a :class:`~django_profilecmds.spec.RunSpec` (see ``runoptions.run_spec``), the output
directory and the baseline of a comparison.

``call_command()`` passes keyword arguments through unparsed, so a fixed set is checked here
again, with the ``CommandError`` of ``options.one_of``; other bad values raise the library's
:class:`~django_profilecmds.exceptions.ProfileCmdsError`, which the command reports.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from django_profilecmds.management.options import SQL_MODES, checked_choice

if TYPE_CHECKING:
    from django_profilecmds.choices import DriverName
    from django_profilecmds.profiling import Baseline
    from django_profilecmds.runoptions import ProfilingOptions, RunOptions, SenderOptions
    from django_profilecmds.spec import CallSpec, RequestSpec


def request_from_options(path: str, options: dict[str, Any]) -> RequestSpec:
    from django_profilecmds.spec import RequestSpec, load_json_body, parse_data, parse_headers

    return RequestSpec(
        path=path,
        method=options["method"] or "GET",
        data=parse_data(options["data"]),
        json_body=load_json_body(options["json"]),
        headers=parse_headers(options["header"]),
        host=options["host"],
        secure=options["secure"],
        enforce_csrf=options["enforce_csrf"],
    )


def sender_from_options(options: dict[str, Any]) -> SenderOptions:
    from django_profilecmds.exceptions import InvalidOption
    from django_profilecmds.runoptions import SenderOptions

    if options["direct"] and options["asgi"]:
        raise InvalidOption("Use either --direct or --asgi, not both.")
    driver: DriverName = "direct" if options["direct"] else "asgi" if options["asgi"] else "full"
    return SenderOptions(user=options["user"], driver=driver)


def call_from_options(dotted: str, options: dict[str, Any]) -> CallSpec:
    from django_profilecmds.spec import CallSpec, parse_call_arguments

    positional, named = parse_call_arguments(options["call_args"], options["call_kwargs"])
    return CallSpec(dotted, positional, named, input=options["input"])


def run_from_options(options: dict[str, Any]) -> RunOptions:
    from django_profilecmds.runoptions import RunOptions

    return RunOptions(
        repeat=options["repeat"],
        warmup=options["warmup"],
        commit=options["commit"],
        capture_email=not options["send_email"],
        isolate_cache=options["isolate_cache"],
    )


def profiling_from_options(options: dict[str, Any]) -> ProfilingOptions:
    """The profiler (PROFILECMDS['PROFILER'] and ['INTERVAL'] when not given), SQL analysis
    and budgets."""
    from django_profilecmds.analysis.budgets import Budgets
    from django_profilecmds.conf import get_settings
    from django_profilecmds.runoptions import ProfilingOptions

    checked_choice(options["sql"], SQL_MODES, "--sql mode")
    conf = get_settings()
    return ProfilingOptions(
        profiler=options["profiler"] or conf["PROFILER"],
        interval=conf["INTERVAL"] if options["interval"] is None else options["interval"],
        nplusone_threshold=options["nplusone_threshold"],
        explain=options["explain"],
        explain_top=options["explain_top"],
        explain_analyze=options["explain_analyze"],
        budgets=Budgets(
            max_queries=options["max_queries"],
            max_duplicates=options["max_duplicates"],
            max_db_time_ms=options["max_db_time_ms"],
        ),
    )


def output_dir_from_options(options: dict[str, Any]) -> str | os.PathLike[str] | None:
    """Where the report files go: None with --no-files."""
    from django_profilecmds.conf import get_settings

    if options["no_files"]:
        return None
    directory: str | os.PathLike[str] = options["output_dir"] or get_settings()["OUTPUT_DIR"]
    return directory


def baseline_from_options(options: dict[str, Any]) -> Baseline | None:
    """--alpha and --min-change checked and the --compare file read, before anything runs."""
    from django_profilecmds.analysis.compare import check_alpha
    from django_profilecmds.profiling import Baseline

    if not options["compare"]:
        check_alpha(options["alpha"], min_change_from_options(options))
        return None
    # profile_replay's --metric (None: its default); profile_view's verdicts are on wall time.
    metric = options.get("metric", "wall")
    return Baseline.load(
        options["compare"], options["alpha"], min_change_from_options(options), metric
    )


MIN_CHANGE = 0.05  # of a comparison with a baseline: the run-to-run noise of timing a view
AGAINST_MIN_CHANGE = 0.10  # of --against: two processes of the same code differ by up to ~5%


def min_change_from_options(options: dict[str, Any], default: float = MIN_CHANGE) -> float:
    """--min-change, or the default of the comparison being made."""
    value = options.get("min_change")
    return default if value is None else float(value)
