"""Strict parsing of what clients send: whole numbers, ids, dates, and JSON bodies.

A value is parsed or refused with a 400 naming the parameter; nothing a client sends reaches the
database or a library in a form that makes it raise (a 500):

- whole numbers are ASCII digits with an optional sign, within the database's 64-bit integer
  (Python's ``int`` also reads ``"1_000"``, ``"٣"`` and numbers of any size);
- dates are ``YYYY-MM-DD`` naming a real day, datetimes ISO 8601 (Django's parsers raise
  ``ValueError`` on a well-formed impossible date such as ``2020-02-30``);
- JSON bodies nest at most ``MAX_JSON_DEPTH`` levels (the standard parser recurses per level);
- neither JSON strings nor query parameters hold NUL characters (PostgreSQL stores none).

Public surface: ``INT_MAX``, ``as_id``, ``parse_int``, ``parse_date``, ``parse_moment``, ``IdFilter``,
``StrictCharField``, ``StrictBooleanField``, ``TEXT_VALUES``,
``StrictIntegerSerializerField``, ``StrictModelSerializer``, ``BoundedJSONParser``, ``MAX_JSON_DEPTH``,
``QueryStringMiddleware``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import django_filters
from django import forms
from django.db import models
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import dateparse, timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import JSONParser

INT_MAX = 2**63 - 1  # PostgreSQL bigint, SQLite INTEGER
MAX_JSON_DEPTH = 32


def _int_or_none(text: str, minimum: int, maximum: int) -> int | None:
    digits = text[1:] if text[:1] in "+-" else text
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 20:
        return None
    value = int(text)
    return value if minimum <= value <= maximum else None


def as_id(value: Any) -> int | None:
    """The id ``value`` spells, or None when it spells none (for optional parameters)."""
    return _int_or_none(str(value or "").strip(), 0, INT_MAX)


def parse_int(name: str, value: Any, *, minimum: int = 0, maximum: int = INT_MAX) -> int:
    """A whole number within ``minimum``..``maximum`` (default: an id), else 400."""
    parsed = _int_or_none(str(value).strip(), minimum, maximum)
    if parsed is None:
        raise ValidationError({name: [f"Expected a whole number from {minimum} to {maximum}."]})
    return parsed


def parse_date(name: str, value: Any) -> dt.date:
    try:
        parsed = dateparse.parse_date(str(value).strip())
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValidationError({name: ["Expected a date as YYYY-MM-DD."]})
    return parsed


def parse_moment(name: str, value: Any, *, end: bool = False) -> dt.datetime:
    """An aware datetime, or a whole day (midnight; with ``end``, the midnight after it, so that
    ``created_before=2026-01-31`` includes that day). Naive times are UTC."""
    text = str(value).strip()
    if len(text) <= 10:
        day = parse_date(name, text)
        moment = dt.datetime.combine(day + dt.timedelta(days=1) if end else day, dt.time.min)
    else:
        try:
            moment = dateparse.parse_datetime(text)
        except ValueError:
            moment = None
        if moment is None:
            raise ValidationError({name: ["Expected a date (YYYY-MM-DD) or an ISO 8601 datetime."]})
    utc = in_utc(timezone.make_aware(moment, dt.UTC) if timezone.is_naive(moment) else moment)
    if utc is None:
        raise ValidationError({name: [OUT_OF_RANGE]})
    return utc


OUT_OF_RANGE = "The date and time is out of range."


def in_utc(moment: dt.datetime) -> dt.datetime | None:
    """``moment`` in UTC, or None when that falls outside years 1 to 9999. Filters hand the
    database UTC only: PostgreSQL refuses offsets past about 16 hours."""
    try:
        return moment.astimezone(dt.UTC)
    except OverflowError:
        return None


class UtcIsoDateTimeField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 datetime filter value, given back in UTC (any offset is accepted, none
    reaches the database) and out-of-range moments refused with a form error."""

    def to_python(self, value: Any) -> dt.datetime | None:
        moment = super().to_python(value)
        if moment is None:
            return None
        utc = in_utc(moment)
        if utc is None:
            raise forms.ValidationError(OUT_OF_RANGE, code="invalid")
        return utc


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class StrictIntegerField(forms.IntegerField):
    """A form field for ids: ASCII digits within the database's integer, nothing else."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", INT_MAX)
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> int | None:
        if value in self.empty_values:
            return None
        parsed = _int_or_none(str(value).strip(), -INT_MAX - 1, INT_MAX)
        if parsed is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return parsed


@extend_schema_field({"type": "integer", "minimum": 0, "maximum": INT_MAX})
class IdFilter(django_filters.NumberFilter):
    """A filter on an id: ``?file=12``; anything but an id in range is a 400."""

    field_class = StrictIntegerField


def _check(value: Any, limit: int) -> None:
    """Refuse a parsed JSON body nested deeper than ``limit`` (400) or holding a NUL character
    (PostgreSQL stores none in text or jsonb; 400 naming the top-level field it is under)."""
    stack: list[tuple[Any, int, str | None]] = [(value, 1, None)]
    while stack:
        node, depth, field = stack.pop()
        if isinstance(node, str):
            if "\x00" in node:
                raise ValidationError({field or "non_field_errors": ["NUL characters are not allowed."]})
            continue
        if isinstance(node, dict):
            children = [(child, key) for key, child in node.items()] + [(key, key) for key in node]
        elif isinstance(node, list):
            children = [(child, None) for child in node]
        else:
            continue
        if depth > limit:
            raise ParseError(f"JSON nested deeper than {limit} levels.")
        stack.extend((child, depth + 1, field or (str(key) if depth == 1 else None)) for child, key in children)


class StrictCharField(serializers.CharField):
    """A string and only a string, within ``max_length`` as sent: DRF's ``CharField`` also takes
    a JSON number and stores its text, and measures the length after trimming whitespace, neither
    of which the schema (``type: string``, ``maxLength``) says."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        if self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """``true`` or ``false``: DRF's ``BooleanField`` also takes 0, 1, "yes", "on" … in JSON; a
    form (``curl -F``) still sends the words true and false."""

    def to_internal_value(self, data: Any) -> bool:
        if isinstance(data, bool):
            return data
        if reads_text(self) and data in ("true", "false"):
            return data == "true"
        self.fail("invalid", input=data)


TEXT_VALUES = "text_values"  # a serializer context key: every value arrives as text (tus metadata)


def reads_text(field: serializers.Field) -> bool:
    """Whether ``field`` reads text only (a form or multipart body, query parameters, or a
    serializer given ``context={TEXT_VALUES: True}``) rather than a JSON body."""
    from django.http import QueryDict

    root = field.root
    return isinstance(getattr(root, "initial_data", None), QueryDict) or bool(root.context.get(TEXT_VALUES))


class StrictIntegerSerializerField(serializers.IntegerField):
    """A JSON integer and only that: DRF's ``IntegerField`` also takes ``"12"``, ``12.0`` and
    ``true``; a form (``curl -F``) still sends digits as text."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not (isinstance(data, int) or (isinstance(data, str) and reads_text(self))):
            self.fail("invalid")
        return super().to_internal_value(data)


# A ``ModelSerializer`` whose text, boolean and integer model fields take only the JSON type the
# schema declares for them. (A comment, not a docstring: drf-spectacular would describe every
# schema component that has no docstring of its own with it.)
class StrictModelSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.BooleanField: StrictBooleanField,
        models.IntegerField: StrictIntegerSerializerField,
        models.BigIntegerField: StrictIntegerSerializerField,
        models.SmallIntegerField: StrictIntegerSerializerField,
        models.PositiveIntegerField: StrictIntegerSerializerField,
        models.PositiveSmallIntegerField: StrictIntegerSerializerField,
        models.PositiveBigIntegerField: StrictIntegerSerializerField,
    }


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser with the nesting bounded (deeper bodies are a 400, never a
    ``RecursionError`` in the parser or in whatever walks the data later) and no NUL characters."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels.") from None
        _check(data, MAX_JSON_DEPTH)
        return data


class QueryStringMiddleware:
    """Under ``/api/``, a query parameter holding a NUL character is a 400 (no database stores
    one in text; PostgreSQL's driver raises on it)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/"):
            for name, values in request.GET.lists():
                if "\x00" in name or any("\x00" in value for value in values):
                    shown = name.replace("\x00", "\\0")[:40]
                    message = "Query parameters may not contain NUL characters."
                    return JsonResponse(
                        {"detail": f"{shown}: {message}", "code": "invalid", "errors": {shown: [message]}}, status=400
                    )
        return self.get_response(request)
