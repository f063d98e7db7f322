from __future__ import annotations

import pytest
from django.test import override_settings

from django_profilecmds.exceptions import PathNotFound
from django_profilecmds.routing import closest_patterns, resolve_path
from django_profilecmds.viewroutes import NoViewRoute, view_route, view_targets


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


def route(*dotted, method=None):
    return view_route(view_targets(dotted), method)


def test_a_view_s_url_skips_patterns_with_arguments():
    assert route("tests.testapp.views.book_list") == ("/books/", "GET")
    assert route("tests.testapp.views.BookListView") == ("/books/cbv/", "GET")
    assert route("tests.testapp.views.echo") == ("/echo/", "GET")  # not /books/<int:pk>/


def test_a_drf_viewset_s_actions_are_routed_with_their_http_method():
    viewset = "tests.testapp.api.BookViewSet"
    assert route(f"{viewset}.list") == ("/api/books/", "GET")
    assert route(f"{viewset}.create") == ("/api/books/", "POST")
    assert route(viewset) == ("/api/books/", "GET")
    assert route(f"{viewset}.get_queryset") == ("/api/books/", "GET")
    assert route(f"{viewset}.get_queryset", method="POST") == ("/api/books/", "POST")
    actions = getattr(resolve_path("/api/books/").func, "actions", {})
    assert (actions["get"], actions["post"]) == ("list", "create")


def test_a_detail_action_says_it_needs_an_argument():
    needs = r"GET /api/books/<pk>/ takes arguments \(and 1 more pattern\)"
    with pytest.raises(NoViewRoute, match=needs) as info:
        route("tests.testapp.api.BookViewSet.retrieve")
    assert "(?P<" not in str(info.value)
    with pytest.raises(NoViewRoute, match=r"No URL routes PUT requests to these targets"):
        route("tests.testapp.api.BookViewSet.create", method="PUT")


def test_a_route_that_an_earlier_pattern_takes_is_named_with_the_view_that_takes_it():
    shadowed = override_settings(ROOT_URLCONF="tests.testapp.shadowed_urls")
    with shadowed, pytest.raises(NoViewRoute) as info:
        route("tests.testapp.api.Me")
    assert str(info.value) == (
        "No URL reaches these targets: GET /api/me/ is taken by an earlier pattern, whose "
        "view is tests.testapp.views.escape."
    )


def test_api_views_generic_views_and_their_handlers():
    assert route("tests.testapp.api.Me") == ("/api/me/", "GET")
    assert route("tests.testapp.api.Me.get") == ("/api/me/", "GET")
    assert route("tests.testapp.views.BookListView.get_queryset") == ("/books/cbv/", "GET")
    # A regex route (re_path(r"^api/tags/?$")) gives a path it matches, not its regex.
    assert route("tests.testapp.api.AuthorNames.list") == ("/api/tags", "GET")
    assert resolve_path("/api/tags").url_name == "api-tags"


def test_a_base_class_target_is_routed_through_a_view_that_inherits_it():
    from rest_framework.mixins import ListModelMixin

    path, method = route("rest_framework.mixins.ListModelMixin.list")
    view = getattr(resolve_path(path).func, "cls", None)
    assert view is not None and issubclass(view, ListModelMixin) and method == "GET"


def test_regex_routes_are_suggested_as_paths():
    assert "/api/books/" in closest_patterns("/api/book/")
    assert "/api/books/<pk>/" in closest_patterns("/api/books/<pk>")
    assert all("(?P" not in pattern and "^" not in pattern for pattern in closest_patterns("/api/"))


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
