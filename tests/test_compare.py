"""Before/after verdicts, and the files --save writes and --compare reads."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from django_profilecmds.analysis.compare import (
    FASTER,
    NO_CHANGE,
    ONLY_AFTER,
    ONLY_BEFORE,
    SLOWER,
    compare,
    load_samples,
    samples_document,
    save_samples,
    verdict,
)
from django_profilecmds.exceptions import ProfileCmdsError


def timings(seed: int, median: float, count: int = 60, spread: float = 0.15) -> list[float]:
    """Request times as a developer machine gives them: log-normal around ``median``."""
    rng = random.Random(seed)
    return [median * rng.lognormvariate(0, spread) for _ in range(count)]


def test_a_slowed_view_is_slower_and_a_sped_up_one_faster():
    before = timings(1, 0.020)
    outcome, change, p_value, _u = verdict(before, timings(2, 0.026))
    assert outcome == SLOWER and change == pytest.approx(0.3, abs=0.08) and p_value < 0.01
    assert verdict(before, timings(3, 0.014))[0] == FASTER


def test_the_same_view_measured_twice_is_flagged_at_most_alpha_of_the_time():
    """Two runs of an unchanged view differ by chance only: at alpha 0.01 about one pair in a
    hundred looks different, fewer still once changes under 5% count as noise."""
    outcomes = [
        verdict(timings(seed, 0.020), timings(seed + 1000, 0.020))[0] for seed in range(300)
    ]
    assert outcomes.count(NO_CHANGE) >= 0.99 * len(outcomes)


def test_a_shift_smaller_than_the_noise_is_no_change_however_small_p():
    """With thousands of samples a 2% shift is 'significant'; it is still noise."""
    before = timings(5, 0.020, count=4000, spread=0.05)
    after = [value * 1.02 for value in timings(6, 0.020, count=4000, spread=0.05)]
    outcome, change, p_value, _u = verdict(before, after, alpha=0.01, min_change=0.05)
    assert p_value < 0.01 and 0.01 < change < 0.03
    assert outcome == NO_CHANGE
    assert verdict(before, after, alpha=0.01, min_change=0.01)[0] == SLOWER


def entries(**samples: list[float]) -> dict[str, Any]:
    return {
        "entries": {
            key.replace("_", "-"): {"samples": values, "queries_per_request": 3.0}
            for key, values in samples.items()
        }
    }


def test_compare_key_by_key_with_views_on_one_side_only():
    baseline = entries(book_list=timings(1, 0.02), echo=timings(2, 0.002), gone=[0.01])
    current = entries(book_list=timings(3, 0.03), echo=timings(4, 0.002), new=[0.01])
    changes = {change.key: change for change in compare(baseline, current)}
    assert changes["book-list"].verdict == SLOWER
    assert changes["book-list"].median_before == pytest.approx(0.02, rel=0.1)
    assert changes["echo"].verdict == NO_CHANGE
    assert changes["gone"].verdict == ONLY_BEFORE and changes["gone"].median_after is None
    assert changes["new"].verdict == ONLY_AFTER and changes["new"].n_after == 1
    # Slower first: what needs attention leads.
    assert compare(baseline, current)[0].key == "book-list"


def test_two_single_entries_with_different_names_are_compared():
    """profile_view /books/ --save a.json, then profile_view /books/fast/ --compare a.json."""
    changes = compare(entries(slow=timings(1, 0.05)), entries(fast=timings(2, 0.01)))
    assert len(changes) == 1
    assert (changes[0].key, changes[0].baseline_key, changes[0].verdict) == ("fast", "slow", FASTER)


def test_saved_file_round_trips(tmp_path, settings):
    document = samples_document("replay", "access.log", entries(echo=[0.1, 0.2])["entries"])
    path = save_samples(tmp_path / "sub" / "before.json", document)
    loaded = load_samples(path)
    assert loaded["entries"]["echo"]["samples"] == [0.1, 0.2]
    assert loaded["kind"] == "replay" and loaded["settings"] == "tests.settings"
    assert loaded["environment"]["django"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        ("not json", "is not JSON"),
        ('{"some": "other file"}', "is not a file written by --save"),
        ('{"format": "django-profilecmds/samples", "version": 99}', "version 99"),
        (
            '{"format": "django-profilecmds/samples", "version": 1, '
            '"entries": {"a": {"samples": ["x"], "queries_per_request": 1}}}',
            "malformed entries",
        ),
        (
            '{"format": "django-profilecmds/samples", "version": 1, '
            '"entries": {"a": {"samples": [], "queries_per_request": 1}}}',
            "malformed entries",
        ),
        ("[" * 50_000, r"is not JSON \(nested too deeply\)"),
    ],
)
def test_a_bad_compare_file_is_a_clear_error(tmp_path, content, message):
    path = tmp_path / "baseline.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ProfileCmdsError, match=message):
        load_samples(path)


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"samples": [0.1, float("nan")]}, "sample 2 of 'a' is nan, not a finite number"),
        ({"samples": [float("inf")]}, "sample 1 of 'a' is inf, not a finite number"),
        ({"samples": [0.1, -0.2]}, "sample 2 of 'a' is -0.2, not a finite number"),
        ({"samples": [True]}, "sample 1 of 'a' is a boolean, not a finite number"),
        ({"samples": [10**400]}, "sample 1 of 'a' is a number too large, not a finite number"),
        ({"samples": "0.1"}, """'a' has no "samples" list"""),
        ({"queries_per_request": float("nan")}, """the "queries_per_request" of 'a' is nan"""),
        ({"queries_per_request": None}, """the "queries_per_request" of 'a' is missing or null"""),
        ({"queries_per_request": -1}, """the "queries_per_request" of 'a' is -1, not a finite"""),
    ],
)
def test_a_compare_file_with_impossible_samples_is_a_clear_error(tmp_path, entry, problem):
    """NaN, infinities and negative times used to reach the test, which raised ValueError."""
    path = tmp_path / "baseline.json"
    document = samples_document(
        "replay", "a.log", {"a": {"samples": [0.1], "queries_per_request": 1}}
    )
    document["entries"]["a"].update(entry)
    path.write_text(json.dumps(document))
    with pytest.raises(ProfileCmdsError) as raised:
        load_samples(path)
    assert str(raised.value).startswith(f"--compare: {path} has malformed entries: {problem}")


def test_saved_json_is_plain(tmp_path):
    document = samples_document("profile_view", "GET /books/", entries(x=[0.5])["entries"])
    text = save_samples(tmp_path / "a.json", document).read_text()
    assert json.loads(text)["source"] == "GET /books/"


@pytest.mark.django_db(databases="__all__")
def test_a_baseline_of_an_api_url_compares(tmp_path):
    """A view or URL whose name holds a word that sensitive names hold (/api/, api-root,
    token-list, a monkey) is a label of the report: its samples were masked and the file
    could not be compared."""
    from io import StringIO

    from django.core.management import call_command

    saved = tmp_path / "api.json"
    common = ["--repeat", "3", "--profiler", "none", "--no-files"]
    call_command("profile_view", "/n/api/", *common, "--save", str(saved), stdout=StringIO())
    document = json.loads(saved.read_text())
    (entry,) = document["entries"].values()
    assert list(document["entries"]) == ["GET /n/api/"]
    assert all(isinstance(sample, float) for sample in entry["samples"])
    out = StringIO()
    call_command("profile_view", "/n/api/", *common, "--compare", str(saved), stdout=out)
    assert "Compared with the baseline" in out.getvalue()
    assert "GET /n/api/" in out.getvalue()


def test_labels_of_a_report_are_not_names_but_their_secrets_are_masked():
    from django_profilecmds.reports.redact import MASK, Redactor
    from django_profilecmds.reports.replayredaction import redact_replay_document

    redactor = Redactor(["s3cr3t-token-value"])
    document: dict[str, Any] = {
        "entries": {
            "api-root": {"samples": [0.1], "api_key": "plain"},
            "GET /token/s3cr3t-token-value/": {"samples": [0.2]},
        },
        "api_key": "k",
    }
    masked = redact_replay_document(redactor, document)
    assert masked["entries"]["api-root"] == {"samples": [0.1], "api_key": MASK}
    assert masked["entries"][f"GET /token/{MASK}/"] == {"samples": [0.2]}
    assert masked["api_key"] == MASK
    assert document["entries"]["api-root"]["api_key"] == "plain"  # the input is left alone
