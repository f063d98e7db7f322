from __future__ import annotations

import pytest

from django_profilecmds.exceptions import InvalidOption
from django_profilecmds.spec import (
    RequestSpec,
    RunSpec,
    load_json_body,
    parse_data,
    parse_headers,
)


def test_parse_data_keeps_order_repeats_and_equals_in_values():
    assert parse_data(["a=1", "a=2", "expr=x=y", "empty="]) == (
        ("a", "1"),
        ("a", "2"),
        ("expr", "x=y"),
        ("empty", ""),
    )


@pytest.mark.parametrize("bad", ["novalue", "=1"])
def test_parse_data_rejects(bad):
    with pytest.raises(InvalidOption, match="--data expects name=value"):
        parse_data([bad])


def test_parse_headers_trims_and_keeps_colons_in_values():
    assert parse_headers(["Accept-Language:  de ", "X-Url: http://a:8000/"]) == (
        ("Accept-Language", "de"),
        ("X-Url", "http://a:8000/"),
    )


@pytest.mark.parametrize("bad", ["NoColon", ": value", "Bad Name: x"])
def test_parse_headers_rejects(bad):
    with pytest.raises(InvalidOption, match="--header expects 'Name: value'"):
        parse_headers([bad])


def test_json_inline_file_and_errors(tmp_path):
    assert load_json_body('{"a": 1}') == '{"a": 1}'
    path = tmp_path / "body.json"
    path.write_text("[1, 2]")
    assert load_json_body(f"@{path}") == "[1, 2]"
    with pytest.raises(InvalidOption, match=r"not valid JSON: Expecting value at line 1 column 7"):
        load_json_body('{"a": }')
    path.write_text("{oops")
    with pytest.raises(InvalidOption, match=r"the file .* is not valid JSON"):
        load_json_body(f"@{path}")
    with pytest.raises(InvalidOption, match="No such file or directory"):
        load_json_body(f"@{tmp_path / 'missing.json'}")
    with pytest.raises(InvalidOption, match="Is a directory"):
        load_json_body(f"@{tmp_path}")
    with pytest.raises(InvalidOption, match="--json is not valid JSON: it is nested too deeply"):
        load_json_body("[" * 50_000)


def test_specs_validate_themselves():
    with pytest.raises(InvalidOption, match="must start with '/'"):
        RequestSpec(path="books/")
    with pytest.raises(InvalidOption, match="Unknown HTTP method 'BREW'"):
        RequestSpec(path="/", method="BREW")
    request = RequestSpec(path="/")
    with pytest.raises(InvalidOption, match="--warmup cannot be negative"):
        RunSpec(request=request, warmup=-1)
    with pytest.raises(InvalidOption, match="--interval"):
        RunSpec(request=request, interval=0)
    with pytest.raises(InvalidOption, match="choose from pyinstrument, cprofile, none"):
        RunSpec(request=request, profiler="perf")  # type: ignore[arg-type]
