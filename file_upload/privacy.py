"""Redaction hints: warn when a file name or metadata value looks like personal data.

Heuristics, not a classifier: they flag e-mail addresses, dates that may be dates of birth,
medical record numbers and "Firstname_Lastname" patterns in names, so the uploader can rename
or move the value to the encrypted ``donor_id``/``notes`` fields. Nothing is blocked.

``require_consent`` guards uploads into projects flagged ``holds_human_data``: the uploader must
confirm that consent covers the data or that it is de-identified; the confirmation is audited.

Public surface: ``privacy_hints``, ``require_consent``, ``CONSENT_NOTICE``.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from django.core.exceptions import ValidationError

from authentication import audit

CONSENT_NOTICE = (
    "This project holds human (patient-derived) data, covered by GDPR and HIPAA. Upload only data "
    "whose donors consented to this use, or that is de-identified: no names, birth dates, record "
    "numbers or other direct identifiers in file names, metadata or contents."
)

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# Underscores join words in file names, so "word boundaries" are letters, not \b.
_DOB_WORD = re.compile(r"(?i)(?<![a-z])(dob|d\.o\.b|date[ _-]?of[ _-]?birth|born|geb(urtsdatum)?)(?![a-z])")
# Calendar dates with a 19xx/20xx year, ISO or day/month orders; sequencing run ids rarely look so.
_DATE = re.compile(
    r"(?<!\d)(?:(?:19|20)\d{2}[-_./](?:0?[1-9]|1[0-2])[-_./](?:0?[1-9]|[12]\d|3[01])"
    r"|(?:0?[1-9]|[12]\d|3[01])[-_./](?:0?[1-9]|1[0-2])[-_./](?:19|20)\d{2})(?!\d)"
)
_MRN = re.compile(r"(?i)(?<![a-z])(?:mrn|medical[ _-]?record|patient[ _-]?(?:id|no|number)|pat[ _-]?id)[ _:#-]*\d{4,}")
_PERSON = re.compile(r"(?:^|[_\-\s/])([A-Z][a-z]{2,})[_\s]([A-Z][a-z]{2,})(?=[_\-\s.]|$)")
_NOT_PEOPLE = {"Homo", "Mus", "Bone", "Cell", "Total", "Single", "Raw", "Data", "Sample", "Run", "Lane", "Read"}

# Fields where a date is expected and is not a hint by itself.
_DATE_FIELDS = {"sequencing_date"}


def _hints_for(field: str, value: str) -> list[dict[str, str]]:
    return [dict(hint) for hint in _cached_hints(field, value)]


@functools.lru_cache(maxsize=65536)
def _cached_hints(field: str, value: str) -> tuple[tuple[tuple[str, str], ...], ...]:
    """Metadata values repeat across files (organisms, tissues, formats): each is read once."""
    return tuple(tuple(hint.items()) for hint in _find_hints(field, value))


def _find_hints(field: str, value: str) -> list[dict[str, str]]:
    hints = []
    if _EMAIL.search(value):
        hints.append({"field": field, "kind": "email", "message": "looks like an e-mail address"})
    if _MRN.search(value):
        hints.append({"field": field, "kind": "mrn", "message": "looks like a medical record or patient number"})
    if _DOB_WORD.search(value) or (field not in _DATE_FIELDS and _DATE.search(value)):
        hints.append({"field": field, "kind": "date_of_birth", "message": "contains a date that may be a birth date"})
    for first, last in _PERSON.findall(value):
        if first not in _NOT_PEOPLE and last not in _NOT_PEOPLE:
            hints.append({"field": field, "kind": "person_name", "message": f"“{first} {last}” looks like a name"})
            break
    return hints


def privacy_hints(name: str = "", metadata: dict[str, Any] | None = None, **text: Any) -> list[dict[str, str]]:
    """``[{field, kind, message}]`` for values that may identify a person (empty: nothing seen).
    ``text`` takes further free-text fields (``description``, ``tags`` as a list)."""
    values: list[tuple[str, str]] = [("name", name or "")]
    for field, value in {**(metadata or {}), **text}.items():
        if field in {"donor_id", "notes"}:
            continue  # already encrypted: the right place for such values
        if isinstance(value, list | tuple):
            values += [(field, str(item)) for item in value]
        elif isinstance(value, str):
            values.append((field, value))
    return [hint for field, value in values if value for hint in _hints_for(field, value)]


def require_consent(user: Any, project: Any, confirmed: bool, *, via: str, name: str = "") -> None:
    """Refuse an upload into a human-data project without the uploader's confirmation (400
    ``consent_required``); audit the confirmation when given."""
    if not project.holds_human_data:
        return
    if not confirmed:
        message = ValidationError(f"{CONSENT_NOTICE} Confirm this to upload.", code="consent_required")
        raise ValidationError({"consent_confirmed": [message]})
    audit.record(user, "upload.consent", project, via=via, name=name[:255])
