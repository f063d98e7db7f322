from __future__ import annotations

import pytest
from django.test import override_settings

from django_profilecmds.exceptions import PathNotFound
from django_profilecmds.routing import closest_patterns, find_view_url, resolve_path
from tests.testapp import views


def test_closest_patterns_and_missing_slash():
    assert closest_patterns("/books") == ["/books/"]
    assert "/books/cbv/" in closest_patterns("/books/cvb/")


def test_language_prefixed_paths_resolve_in_their_language():
    languages = [("en", "English"), ("de", "German")]
    with override_settings(ROOT_URLCONF="tests.testapp.i18n_urls", LANGUAGES=languages):
        assert resolve_path("/de/hello/").url_name == "i18n-echo"
        assert resolve_path("/en/hello/").url_name == "i18n-echo"
        with pytest.raises(PathNotFound):
            resolve_path("/fr/hello/")


def test_find_view_url_skips_patterns_with_arguments():
    assert find_view_url([views.book_list]) == "/books/"
    assert find_view_url([views.BookListView]) == "/books/cbv/"
    assert find_view_url([views.echo]) == "/echo/"  # not /books/<int:pk>/


def test_a_thread_s_own_urlconf_is_the_one_replay_resolves_with():
    from django.urls import set_urlconf

    from django_profilecmds.routing import match_path

    assert match_path("/books/") is not None
    set_urlconf("tests.testapp.i18n_urls")
    try:
        assert match_path("/books/") is None
    finally:
        set_urlconf(None)
    match = match_path("/books/")
    assert match is not None and match.url_name == "book-list"


def test_a_view_that_changes_its_match_changes_nobody_else_s():
    from django_profilecmds.routing import resolve_path

    first = resolve_path("/books/1/")
    first.kwargs["pk"] = 99
    assert resolve_path("/books/1/").kwargs == {"pk": 1}
