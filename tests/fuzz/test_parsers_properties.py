"""Property-based fuzzing (hypothesis) of the parsers that read untrusted header and link text:
the HTTP Range parser, the tus header parsers and the NCBI link detector. Each must answer every
input with a result or its documented refusal, never with another exception.

``BIOFM_FUZZ_EXAMPLES`` sets the examples per property (default 300)."""

from __future__ import annotations

import base64
import os
import string

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from rest_framework import exceptions

from file_download.services import MAX_RANGES, ByteRange, Unsatisfiable, parse_range
from file_project.domain import InvalidInput
from file_upload import tus
from file_upload.uploads import ChunkChecksum, _expected_checksum, parse_metadata
from ncbi_bridge.links import KINDS, Link, UnsupportedLink, parse_link

FUZZ = settings(
    max_examples=int(os.environ.get("BIOFM_FUZZ_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
# Header values reach Django as latin-1 text (WSGI), so every code point below 256 is possible.
header_text = st.text(alphabet=st.characters(max_codepoint=255), max_size=80)
range_specs = st.lists(
    st.one_of(
        st.tuples(st.integers(0, 300), st.integers(0, 300)).map(lambda p: f"{min(p)}-{max(p)}"),
        st.integers(0, 300).map(lambda n: f"{n}-"),
        st.integers(0, 300).map(lambda n: f"-{n}"),
    ),
    min_size=1,
    max_size=8,
)


# --- Range ---------------------------------------------------------------------------------------


def _check_ranges(ranges: list[ByteRange], size: int) -> None:
    assert ranges, "an empty list must be Unsatisfiable instead"
    for current in ranges:
        assert 0 <= current.start <= current.end < size
    for before, after in zip(ranges, ranges[1:], strict=False):
        assert before.end + 1 < after.start, "ranges must be sorted and merged"


@FUZZ
@given(header=header_text, size=st.integers(0, 10**12))
@example(header="bytes=\u00b2-", size=10)  # a latin-1 digit that int() refuses
@example(header="bytes=0-\u00b9\u00b3", size=10)
def test_range_parser_never_fails_unexpectedly(header: str, size: int) -> None:
    try:
        ranges = parse_range(header, size)
    except Unsatisfiable:
        return
    if ranges is not None:
        _check_ranges(ranges, size)


@FUZZ
@given(specs=range_specs, size=st.integers(0, 300), spaces=st.booleans())
def test_range_parser_covers_exactly_the_requested_bytes(specs: list[str], size: int, spaces: bool) -> None:
    header = "bytes=" + (", " if spaces else ",").join(specs)
    wanted: set[int] = set()
    for spec in specs:
        first, _, last = spec.partition("-")
        if not first:
            wanted |= set(range(max(size - int(last), 0), size))
        elif int(first) < size:
            wanted |= set(range(int(first), min(int(last), size - 1) + 1 if last else size))
    try:
        ranges = parse_range(header, size)
    except Unsatisfiable:
        assert not wanted
        return
    if len(specs) > MAX_RANGES:
        assert ranges is None
        return
    assert ranges is not None
    _check_ranges(ranges, size)
    assert {i for r in ranges for i in range(r.start, r.end + 1)} == wanted


# --- tus headers ----------------------------------------------------------------------------------


class _Request:
    def __init__(self, headers: dict[str, str]) -> None:
        self.headers = headers


@FUZZ
@given(value=header_text)
@example(value="\u00b2")
def test_tus_integer_headers_accept_only_plain_digits(value: str) -> None:
    try:
        parsed = tus._int_header(_Request({"Upload-Length": value}), "Upload-Length")
    except exceptions.ValidationError:
        assert not (value.isascii() and value.isdigit())
        return
    assert parsed is None if value == "" else parsed == int(value) and value.isascii()


metadata_keys = st.text(alphabet=string.ascii_letters + string.digits + "_-.", min_size=1, max_size=12)


@FUZZ
@given(values=st.dictionaries(metadata_keys, st.text(max_size=40), max_size=6))
def test_tus_metadata_round_trips(values: dict[str, str]) -> None:
    """Every value comes back as sent, except one holding NUL, which no database stores: a 400."""
    header = ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}" if value else key for key, value in values.items()
    )
    if any("\x00" in value for value in values.values()):
        with pytest.raises(InvalidInput):
            parse_metadata(header)
    else:
        assert parse_metadata(header) == values


@FUZZ
@given(header=header_text)
def test_tus_metadata_refuses_garbage_with_a_400(header: str) -> None:
    try:
        result = parse_metadata(header)
    except InvalidInput:
        return
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in result.items())


@FUZZ
@given(header=header_text)
def test_tus_checksum_header_refuses_garbage_with_a_400(header: str) -> None:
    try:
        parsed = ChunkChecksum.parse(header)
    except InvalidInput:
        return
    assert isinstance(parsed.digest, bytes)


@FUZZ
@given(value=st.text(max_size=80))
def test_whole_file_checksum_metadata(value: str) -> None:
    try:
        parsed = _expected_checksum(value)
    except InvalidInput:
        return
    if parsed is not None:
        algorithm, digest = parsed
        assert algorithm in {"sha256", "md5"} and len(digest) == {"sha256": 64, "md5": 32}[algorithm]
        assert set(digest) <= set("0123456789abcdef")


# --- NCBI link detector ---------------------------------------------------------------------------


@FUZZ
@given(text=st.one_of(st.text(max_size=120), st.text(alphabet=string.printable, max_size=120)))
@example(text="https://www.ncbi.nlm.nih.gov/sra/" + "9" * 3000)
def test_link_detector_answers_link_or_refusal(text: str) -> None:
    try:
        link = parse_link(text)
    except UnsupportedLink:
        return
    assert link.kind in KINDS and link.accession and link.db


sra_runs = st.from_regex(r"\A[SED]R[RXP][0-9]{6,9}\Z")
bioprojects = st.from_regex(r"\APRJ(NA|EB|DB)[0-9]{1,9}\Z")


@FUZZ
@given(accession=st.one_of(sra_runs, bioprojects), lower=st.booleans(), wrap=st.sampled_from(["", " ", "<>", '"']))
def test_link_detector_recognises_accessions_and_their_urls(accession: str, lower: bool, wrap: str) -> None:
    kind = "bioproject" if accession.startswith("PRJ") else "sra"
    typed = accession.lower() if lower else accession
    bare = wrap[:1] + typed + wrap[1:] if wrap != " " else f"  {typed}  "
    assert parse_link(bare) == Link(kind, accession)
    assert parse_link(f"https://www.ncbi.nlm.nih.gov/{kind}/{accession}") == Link(kind, accession)


pytestmark = pytest.mark.fuzz
