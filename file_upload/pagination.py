"""Pagination of the file search: page numbers with a count the search may already know, and a
cursor for deep pages (``?cursor=`` or ``?pagination=cursor``), which costs the same on page
10,000 as on page 1."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.paginator import Paginator
from django.utils.functional import cached_property
from rest_framework.pagination import CursorPagination

from file_project.pagination import StandardPagination


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


class SearchCursorPagination(CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def __init__(self, ordering: tuple[str, ...]) -> None:
        self.ordering = ordering

    def get_ordering(self, request: Any, queryset: Any, view: Any) -> tuple[str, ...]:
        return self.ordering


def wants_cursor(params: Any) -> bool:
    return "cursor" in params or params.get("pagination") == "cursor"
