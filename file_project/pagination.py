"""Page-number pagination shared by every list endpoint (``page``, ``page_size`` up to 500).

Both parameters are parsed strictly: a ``page`` or ``page_size`` that is not a whole number in
range is a 400 naming it (DRF would use the default size, or answer 404 for a page it cannot
read); a page past the last one stays a 404. The schema declares the same bounds."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from rest_framework.pagination import PageNumberPagination

from .parsers import parse_int

MAX_PAGE_SIZE = 500
PAGE_MAX = 2**31 - 1  # beyond any page a list could have; larger numbers are refused, not overflowed


class StrictPageSizeMixin:
    """``page_size`` is a whole number from 1 to ``max_page_size`` or a 400."""

    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request: Any) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size  # type: ignore[attr-defined]
        return parse_int(self.page_size_query_param, raw, minimum=1, maximum=self.max_page_size)

    def page_size_schema(self) -> dict[str, Any]:
        return {
            "name": self.page_size_query_param,
            "required": False,
            "in": "query",
            "description": f"Results per page (1 to {self.max_page_size})",
            "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
        }


class StandardPagination(StrictPageSizeMixin, PageNumberPagination):
    page_size = 50

    def get_page_number(self, request: Any, paginator: Paginator) -> Any:
        raw = request.query_params.get(self.page_query_param)
        if raw is None:
            return 1
        if raw in self.last_page_strings:
            return paginator.num_pages
        return parse_int(self.page_query_param, raw, minimum=1, maximum=PAGE_MAX)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        page = {
            "name": self.page_query_param,
            "required": False,
            "in": "query",
            "description": "A page number (1 is the first), or “last”; past the last page: 404",
            "schema": {"anyOf": [{"type": "integer", "minimum": 1, "maximum": PAGE_MAX}, {"enum": ["last"]}]},
        }
        return [page, self.page_size_schema()]
