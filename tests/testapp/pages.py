"""A page tree served by one catch-all view, as a CMS serves its pages (Wagtail's
``wagtail_serve``): which template renders, and what it costs, depends on the path."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.response import TemplateResponse

from tests.testapp.models import Book

# The blog page reads book.author in this many loops, each at a template line of its own.
BLOG_LOOPS = 5


def serve_page(request: HttpRequest, path: str) -> HttpResponse:
    section = path.split("/", 1)[0]
    if section == "":
        return render(request, "testapp/pages/home_page.html", {"count": Book.objects.count()})
    if section == "blog":
        # Deliberately an N+1 in each loop: a queryset of its own each, so none shares the
        # authors another loop loaded.
        shelves = {f"shelf{n}": Book.objects.all() for n in range(1, BLOG_LOOPS + 1)}
        return render(request, "testapp/pages/blog_page.html", shelves)
    if section == "shop":
        return TemplateResponse(
            request, "testapp/pages/shop_page.html", {"titles": Book.objects.count()}
        )
    if section == "docs":
        return render(request, "testapp/pages/docs_page.html", {"section": section}, "jinja2")
    if section == "api":
        return JsonResponse({"path": path})
    raise Http404(path)
