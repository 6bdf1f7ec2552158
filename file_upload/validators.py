"""Validation of names that become folder or file names, and of accession formats."""

from __future__ import annotations

import re
import unicodedata

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

from .metadata import ACCESSION_PATTERNS

MAX_NAME_BYTES = 255


def normalise_name(name: str) -> str:
    """Unicode NFC, so "é" typed on macOS (decomposed) and on Linux (composed) is one name: two
    files that look the same can never sit side by side, and lookups by name agree."""
    return unicodedata.normalize("NFC", name) if isinstance(name, str) else name


def validate_object_name(name: str) -> None:
    """Reject names that could escape a folder or break other tools: ``/``, ``\\``, ``..``,
    control characters, surrounding whitespace, and more than 255 bytes of UTF-8."""
    if not name:
        raise ValidationError("A name is required.", code="blank")
    if name in {".", ".."}:
        raise ValidationError("“.” and “..” are not allowed as names.", code="invalid_name")
    if "/" in name or "\\" in name:
        raise ValidationError("Names may not contain “/” or “\\”.", code="invalid_name")
    if any(unicodedata.category(ch) in {"Cc", "Cf", "Zl", "Zp"} for ch in name):
        raise ValidationError("Names may not contain control characters.", code="invalid_name")
    if name != name.strip():
        raise ValidationError("Names may not start or end with whitespace.", code="invalid_name")
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        raise ValidationError(f"Names are limited to {MAX_NAME_BYTES} bytes.", code="name_too_long")


validate_bioproject = RegexValidator(
    re.compile(rf"^{ACCESSION_PATTERNS['bioproject'].pattern}$"), "Expected a BioProject accession such as PRJNA988806."
)
validate_biosample = RegexValidator(
    re.compile(rf"^{ACCESSION_PATTERNS['biosample'].pattern}$"), "Expected a BioSample accession such as SAMN36028301."
)
validate_sra = RegexValidator(
    re.compile(rf"^{ACCESSION_PATTERNS['sra'].pattern}$"), "Expected an SRA accession such as SRR25056225."
)
