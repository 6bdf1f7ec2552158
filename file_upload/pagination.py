"""Pagination of the file search: page numbers with a count the search may already know, and a
cursor for deep pages (``?cursor=`` or ``?pagination=cursor``), which costs the same on page
10,000 as on page 1."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.paginator import Paginator
from django.utils.functional import cached_property
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination

from file_project.pagination import StandardPagination, StrictPageSizeMixin


class _CountedPaginator(Paginator):
    def __init__(self, *args: Any, counter: Callable[[], int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._counter = counter

    @cached_property
    def count(self) -> int:
        return self._counter()


class SearchPagination(StandardPagination):
    """``page``/``page_size`` as everywhere; the total comes from ``counter`` (the count table
    answers unfiltered totals without counting a million rows)."""

    def __init__(self, counter: Callable[[], int]) -> None:
        self.counter = counter

    def django_paginator_class(self, *args: Any, **kwargs: Any) -> Paginator:  # type: ignore[override]
        return _CountedPaginator(*args, counter=self.counter, **kwargs)


class SearchCursorPagination(StrictPageSizeMixin, CursorPagination):
    page_size = 50

    def __init__(self, ordering: tuple[str, ...]) -> None:
        self.ordering = ordering

    def get_ordering(self, request: Any, queryset: Any, view: Any) -> tuple[str, ...]:
        return self.ordering


def wants_cursor(params: Any) -> bool:
    """``cursor=`` or ``pagination=cursor``; any other ``pagination`` is a 400."""
    pagination = params.get("pagination")
    if pagination is not None and pagination != "cursor":
        raise ValidationError({"pagination": ["The only pagination to ask for is “cursor”."]})
    return "cursor" in params or pagination == "cursor"


def page_window(request: Any) -> tuple[int, int] | None:
    """The slice of the results a page-number request will show (``start, stop``), known before
    the count; ``None`` for the last page, which needs the count first. A bad ``page`` or
    ``page_size`` is the same 400 the paginator gives."""
    paginator = SearchPagination(lambda: 0)
    size = paginator.get_page_size(request)
    if request.query_params.get(paginator.page_query_param) in paginator.last_page_strings:
        return None
    number = int(paginator.get_page_number(request, None))  # type: ignore[arg-type]
    return (number - 1) * size, number * size
