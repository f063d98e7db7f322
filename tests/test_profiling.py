"""profiling.profile(): the output directory, the run, the comparison and the saved samples."""

from __future__ import annotations

import json

import pytest

from django_profilecmds.exceptions import InvalidOption, OutputDirError, ProfileCmdsError
from django_profilecmds.profiling import Baseline, profile
from django_profilecmds.runoptions import ProfilingOptions, RunOptions, run_spec
from django_profilecmds.spec import RequestSpec

pytestmark = pytest.mark.django_db(databases="__all__")

TOKEN = "planted-session-token3"


def test_output_dir_and_save_write_the_reports_and_the_masked_samples(tmp_path, capsys):
    spec = run_spec(
        request=RequestSpec(f"/leaks/reset/MQ/{TOKEN}/"),
        runs=RunOptions(repeat=2),
        profiling=ProfilingOptions(profiler="none"),
    )
    save = tmp_path / "before.json"
    result = profile(spec, output_dir=tmp_path / "out", save=save)
    assert result.status == 200
    assert {"html", "json", "index", "samples"} <= result.files.keys()
    assert result.files["html"].parent == (tmp_path / "out").resolve()
    assert result.files["samples"] == save
    saved = save.read_text()
    document = json.loads(saved)
    assert document["format"] == "django-profilecmds/samples"
    [(key, entry)] = document["entries"].items()
    assert key.startswith("GET /leaks/reset/MQ/") and len(entry["samples"]) == 2
    assert TOKEN not in saved  # captured by the URL pattern as <token>: masked
    assert result.comparison == []  # saved, not compared
    assert capsys.readouterr() == ("", "")  # the library prints nothing


def test_a_baseline_compares_and_on_secrets_hears_the_values_as_they_are_known(tmp_path):
    sent: list[list[str]] = []
    spec = run_spec(
        request=RequestSpec("/echo/", data=(("password", "planted-form-pw4"),)),
        profiling=ProfilingOptions(profiler="none"),
    )
    profile(spec, save=tmp_path / "before.json", on_secrets=sent.append)
    before, after = sent
    assert "planted-form-pw4" in before  # from the spec, before the run
    assert set(before) <= set(after)  # and all of the run's, after it

    baseline = Baseline.load(tmp_path / "before.json", alpha=0.05, min_change=0.1)
    result = profile(spec, baseline=baseline)
    [change] = result.comparison
    assert change["key"] == "GET /echo/" and change["n_before"] == change["n_after"] == 1
    assert result.comparison_settings["baseline"] == str(tmp_path / "before.json")
    assert result.comparison_settings["alpha"] == 0.05
    assert result.comparison_settings["min_change_pct"] == pytest.approx(10)
    assert "samples" not in result.files  # compared, not saved


def test_an_unusable_output_dir_fails_before_anything_runs(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    heard: list[list[str]] = []
    spec = run_spec(request=RequestSpec("/books/"), profiling=ProfilingOptions(profiler="none"))
    with pytest.raises(OutputDirError, match="Cannot create the output directory"):
        profile(spec, output_dir=blocker / "reports", on_secrets=heard.append)
    assert heard == []


def test_a_baseline_checks_its_thresholds_and_its_file(tmp_path):
    with pytest.raises(InvalidOption, match=r"--alpha is a probability in \(0, 1\), got 2"):
        Baseline.load(tmp_path / "missing.json", alpha=2)
    with pytest.raises(ProfileCmdsError, match="does not exist"):
        Baseline.load(tmp_path / "missing.json")
