"""Link detection: turn what a user pastes (an NCBI/ENA web address or a bare accession) into
the record to import.

``parse_link(text)`` returns a ``Link`` (``kind``, ``accession``, ``db``) or raises
``UnsupportedLink`` whose message lists ``SUPPORTED_PATTERNS``. Pure Python, no Django.

Kinds: ``gene`` (numeric GeneID), ``protein`` (RefSeq ``NP_``/``XP_``/``YP_``/``WP_``/``AP_`` or
GenBank protein accessions), ``nucleotide`` (RefSeq ``NM_``/``NC_``/... or GenBank nucleotide),
``sra`` (``SRR``/``ERR``/``DRR`` runs, ``SRX``/``ERX``/``DRX`` experiments, ``SRP``/``ERP``/``DRP``
studies), ``pubmed`` (PMID), ``bioproject`` (``PRJNA``/``PRJEB``/``PRJDB`` or the numeric uid),
``biosample`` (``SAMN``/``SAMEA``/``SAMD`` or the numeric uid).

A bare number is ambiguous (a GeneID and a PMID look alike), so it must carry its prefix:
``GeneID:7157``, ``PMID:22294463``; inside a web address the path says which database it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = ["KINDS", "Link", "SUPPORTED_PATTERNS", "UnsupportedLink", "parse_link"]

KINDS = ("gene", "protein", "nucleotide", "sra", "pubmed", "bioproject", "biosample")
DB_FOR_KIND = {
    "gene": "gene",
    "protein": "protein",
    "nucleotide": "nuccore",
    "sra": "sra",
    "pubmed": "pubmed",
    "bioproject": "bioproject",
    "biosample": "biosample",
}
KIND_LABELS = {
    "gene": "Gene",
    "protein": "Protein",
    "nucleotide": "Nucleotide",
    "sra": "SRA",
    "pubmed": "PubMed",
    "bioproject": "BioProject",
    "biosample": "BioSample",
}

SUPPORTED_PATTERNS = (
    "https://www.ncbi.nlm.nih.gov/gene/7157 or GeneID:7157",
    "https://www.ncbi.nlm.nih.gov/protein/NP_000537.3 or a protein accession (NP_000537.3, AAA12345.1)",
    "https://www.ncbi.nlm.nih.gov/nuccore/NM_000546.6 or a nucleotide accession (NM_000546.6)",
    "https://www.ncbi.nlm.nih.gov/sra/SRR25056225, https://trace.ncbi.nlm.nih.gov/Traces/?run=SRR25056225"
    " or an SRA run/experiment/study (SRR…, ERR…, DRR…, SRX…, SRP…)",
    "https://pubmed.ncbi.nlm.nih.gov/22294463/ or PMID:22294463",
    "https://www.ncbi.nlm.nih.gov/bioproject/PRJNA988806 or PRJNA…/PRJEB…/PRJDB…",
    "https://www.ncbi.nlm.nih.gov/biosample/SAMN36028301 or SAMN…/SAMEA…/SAMD…",
)

_PROTEIN = re.compile(r"^(?:[NXYWA]P_\d+|[A-Z]{3}\d{5}|[A-Z]{3}\d{7})(?:\.\d+)?$")
_NUCLEOTIDE = re.compile(r"^(?:N[MRCGTWZ]_\d+|X[MR]_\d+|[A-Z]\d{5}|[A-Z]{2}\d{6}|[A-Z]{2}\d{8})(?:\.\d+)?$")
_SRA = re.compile(r"^[SED]R[RXP]\d{6,}$")
_BIOPROJECT = re.compile(r"^PRJ(?:NA|EB|DB)\d+$")
_BIOSAMPLE = re.compile(r"^SAM(?:N|EA|D)\d+$")
_DIGITS = re.compile(r"^\d{1,12}$")
_PMID = re.compile(r"^\d{1,8}$")
_PREFIXED_GENE = re.compile(r"^GENE\s*(?:ID)?\s*[:#]?\s*(\d{1,12})$")
_PREFIXED_PMID = re.compile(r"^PMID\s*[:#]?\s*(\d{1,8})$")

_NCBI_HOSTS = {"www.ncbi.nlm.nih.gov", "ncbi.nlm.nih.gov"}
_PUBMED_HOSTS = {"pubmed.ncbi.nlm.nih.gov"}
_TRACE_HOSTS = {"trace.ncbi.nlm.nih.gov", "www.be-md.ncbi.nlm.nih.gov"}
_ENA_HOSTS = {"www.ebi.ac.uk", "ebi.ac.uk"}


@dataclass(frozen=True)
class Link:
    kind: str
    accession: str

    @property
    def db(self) -> str:
        return DB_FOR_KIND[self.kind]

    @property
    def label(self) -> str:
        return KIND_LABELS[self.kind]

    @property
    def is_numeric_uid(self) -> bool:
        """BioProject/BioSample given by their numeric uid rather than their accession."""
        return self.kind in ("bioproject", "biosample") and self.accession.isdigit()


class UnsupportedLink(ValueError):
    """The text is neither a supported NCBI address nor an accession we recognise."""

    def __init__(self, text: str, reason: str = "") -> None:
        self.text = text
        self.reason = reason
        self.patterns = SUPPORTED_PATTERNS
        lead = reason or "This is not an NCBI link or accession that can be imported."
        super().__init__(f"{lead} Supported: " + "; ".join(SUPPORTED_PATTERNS) + ".")


def _bare(token: str) -> Link | None:
    """A bare accession (already upper-cased and stripped)."""
    if match := _PREFIXED_GENE.match(token):
        return Link("gene", match.group(1))
    if match := _PREFIXED_PMID.match(token):
        return Link("pubmed", match.group(1))
    if _SRA.match(token):
        return Link("sra", token)
    if _BIOPROJECT.match(token):
        return Link("bioproject", token)
    if _BIOSAMPLE.match(token):
        return Link("biosample", token)
    if _PROTEIN.match(token):
        return Link("protein", token)
    if _NUCLEOTIDE.match(token):
        return Link("nucleotide", token)
    return None


def _by_kind(kind: str, token: str) -> Link | None:
    """An identifier taken from a path or query whose database is already known."""
    token = unquote(token).strip().upper()
    if not token:
        return None
    if kind == "gene":
        return Link("gene", token) if _DIGITS.match(token) else None
    if kind == "pubmed":
        return Link("pubmed", token) if _PMID.match(token) else None
    if kind == "protein":
        return Link("protein", token) if _PROTEIN.match(token) or _DIGITS.match(token) else None
    if kind == "nucleotide":
        return Link("nucleotide", token) if _NUCLEOTIDE.match(token) or _DIGITS.match(token) else None
    if kind == "sra":
        return Link("sra", token) if _SRA.match(token) else None
    if kind == "bioproject":
        return Link("bioproject", token) if _BIOPROJECT.match(token) or _DIGITS.match(token) else None
    if kind == "biosample":
        return Link("biosample", token) if _BIOSAMPLE.match(token) or _DIGITS.match(token) else None
    return None


_PATH_KINDS = {
    "gene": "gene",
    "protein": "protein",
    "nuccore": "nucleotide",
    "nucleotide": "nucleotide",
    "sra": "sra",
    "pubmed": "pubmed",
    "bioproject": "bioproject",
    "biosample": "biosample",
}


def _from_url(text: str) -> Link | None:
    url = urlsplit(text if "://" in text else f"https://{text}")
    host = (url.hostname or "").lower()
    segments = [s for s in url.path.split("/") if s]
    query = {key.lower(): values for key, values in parse_qs(url.query).items()}

    def first(*keys: str) -> str:
        for key in keys:
            if query.get(key):
                return query[key][0]
        return ""

    if host in _PUBMED_HOSTS:
        candidate = segments[0] if segments else first("term")
        return _by_kind("pubmed", candidate)
    if host in _TRACE_HOSTS:
        candidate = first("run", "acc", "study", "term")
        return _by_kind("sra", candidate)
    if host in _ENA_HOSTS:
        # https://www.ebi.ac.uk/ena/browser/view/SRR25056225
        return _bare(unquote(segments[-1]).upper()) if segments else None
    if host in _NCBI_HOSTS and segments:
        kind = _PATH_KINDS.get(segments[0].lower())
        if kind is None:
            return None
        candidate = segments[1] if len(segments) > 1 else first("term", "acc", "id")
        candidate = re.sub(r"\[[A-Za-z ]+\]$", "", unquote(candidate))  # term=PRJNA988806[PRJA]
        return _by_kind(kind, candidate)
    return None


def parse_link(text: str) -> Link:
    """What ``text`` points to; ``UnsupportedLink`` (listing the supported forms) otherwise."""
    cleaned = (text or "").strip().strip("<>\"'")
    if not cleaned:
        raise UnsupportedLink(text, "Paste an NCBI link or accession.")
    if len(cleaned) > 2000:
        raise UnsupportedLink(text[:100], "That text is too long to be a link.")
    looks_like_url = "://" in cleaned or re.match(r"^[\w.-]+\.(?:gov|uk|org)(?:/|$)", cleaned, re.I) is not None
    if looks_like_url:
        link = _from_url(cleaned)
    else:
        token = cleaned.upper()
        link = _bare(token)
        if link is None and _DIGITS.match(token):
            raise UnsupportedLink(
                text, "A bare number could be a GeneID or a PubMed ID: write GeneID:7157 or PMID:22294463."
            )
    if link is None:
        raise UnsupportedLink(text)
    return link
