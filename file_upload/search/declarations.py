"""Every search filter and facet of ``GET /api/files/``, declared once.

A ``Filter`` names a query parameter, how its values parse (its ``parse`` kind: bad values are
a JSON 400, whatever the backend), what it means (its ``kind``), the model column the SQL
backend compares and the index field the tantivy backend compares. Everything else is derived
from this table: the django-filter set and so the OpenAPI parameters (``filters.py``), the
parsing of a request (``SearchQuery.from_params``), the SQL conditions (``apply_filters``), the
index queries (``search.backends``), the facets a request may ask for and the facet sidebar the SPA
shows (``/api/metadata/fields/``'s ``facets``, in ``sidebar`` order).

Adding a filter is one ``Filter`` here (plus its index field in ``engine``'s layout when it
names a new one); adding a metadata field to ``metadata.METADATA_FIELDS`` adds its filter and
facet, and ``SIDEBAR`` decides whether and where the SPA shows it.

Kinds:
- ``values``: one or more values, OR-ed (``organism=a,b``); facet counts per value;
- ``all_of`` / ``any_of``: tags the file has all of / at least one of;
- ``owner``: usernames or user ids, OR-ed;
- ``min`` / ``max`` / ``after`` / ``before``: one bound of a range (``before`` of a whole day
  includes that day);
- ``folder`` / ``flag`` / ``text``: the folder (with ``recursive``), and free text ``q``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..metadata import METADATA_FIELDS
from ..models import AccessLevel, ParseStatus

# Identifier fields: one value per file, so no use as facets and no place in the index's
# facet columns (they are still filters, answered by both backends).
IDENTIFIER_FIELDS = frozenset({"sample_id", "bioproject_accession", "biosample_accession", "sra_accession"})


@dataclass(frozen=True)
class Filter:
    name: str  # the query parameter
    kind: str  # values | all_of | any_of | owner | min | max | after | before | folder | flag | text
    parse: str  # text | integer | date | choice | moment | bool
    label: str
    column: str = ""  # the model column (SQL backend)
    field: str = ""  # the index field (tantivy backend); "" when the index has none
    choices: tuple[str, ...] | None = None
    facet: bool = False  # may be asked for in ``facets=``
    facet_skips: tuple[str, ...] = ()  # filters a facet leaves out of its own counts
    facet_label: str = ""
    sidebar: int = 0  # the facet's place in the SPA's sidebar (1 = first); 0 = not shown there
    # The index column the facet counts when not ``field``: a list's combinations (``tagset``),
    # each counted once and added to each of its values.
    facet_column: str = ""


# Metadata facets the SPA's sidebar shows, by place (the other facets are still counted on request).
METADATA_SIDEBAR = {
    "organism": 1,
    "assay_type": 2,
    "data_type": 5,
    "file_format": 6,
    "platform": 7,
    "tissue": 8,
    "disease": 9,
    "reference_genome": 10,
}


def _metadata_filters() -> list[Filter]:
    filters = []
    for spec in METADATA_FIELDS:
        filters.append(
            Filter(
                spec.name,
                "values",
                spec.kind,
                f"{spec.label}: one or more values (repeat or comma-separate; OR-ed)",
                column=spec.name,
                field=spec.name,
                choices=spec.choices,
                facet=True,
                facet_label=spec.label,
                facet_skips=(spec.name,),
                sidebar=METADATA_SIDEBAR.get(spec.name, 0),
            )
        )
    return filters


FILTERS: tuple[Filter, ...] = (
    *_metadata_filters(),
    Filter(
        "project",
        "values",
        "integer",
        "Project ids (OR-ed)",
        "project_id",
        "project",
        facet=True,
        facet_skips=("project",),
        facet_label="Project",
        sidebar=12,
    ),
    Filter("folder", "folder", "text", "Folder id or null (project root)", "folder_id", "folder"),
    Filter("recursive", "flag", "bool", "With folder: include every subfolder (true/false)"),
    Filter(
        "tags",
        "all_of",
        "text",
        "Tags the file has all of (comma-separated or repeated)",
        "tags",
        "tags",
        facet=True,
        facet_skips=("tags", "tags_any"),
        facet_label="Tags",
        sidebar=3,
        facet_column="tagset",
    ),
    Filter("tags_any", "any_of", "text", "Tags the file has at least one of", "tags", "tags"),
    Filter(
        "access_level",
        "values",
        "choice",
        "Effective level: public, internal, restricted (OR-ed)",
        "effective_access_level",
        "access_level",
        choices=tuple(AccessLevel.values),
        facet=True,
        facet_skips=("access_level",),
        facet_label="Access level",
        sidebar=4,
    ),
    Filter("owner", "owner", "text", "Owner usernames (OR-ed)", "owner_id", "owner"),
    Filter(
        "parse_status",
        "values",
        "choice",
        "pending, running, done, failed, skipped (OR-ed)",
        "parse_status",
        "parse_status",
        choices=tuple(ParseStatus.values),
        facet=True,
        facet_skips=("parse_status",),
        facet_label="Parse status",
        sidebar=11,
    ),
    Filter("created_after", "after", "moment", "Created at or after (date or datetime)", "created_at", "created_at"),
    Filter(
        "created_before", "before", "moment", "Created before (a date includes that day)", "created_at", "created_at"
    ),
    Filter("updated_after", "after", "moment", "Updated at or after", "updated_at", "updated_at"),
    Filter("updated_before", "before", "moment", "Updated before", "updated_at", "updated_at"),
    Filter("size_min", "min", "integer", "Size in bytes at least", "size", "size"),
    Filter("size_max", "max", "integer", "Size in bytes at most", "size", "size"),
    Filter("sequencing_date_after", "min", "date", "Sequencing date on or after", "sequencing_date", "sequencing_day"),
    Filter(
        "sequencing_date_before", "max", "date", "Sequencing date on or before", "sequencing_date", "sequencing_day"
    ),
    Filter("q", "text", "text", "Free text over name, description, tags and metadata values; partial names match"),
)

BY_NAME: dict[str, Filter] = {f.name: f for f in FILTERS}
FACETS: dict[str, Filter] = {f.name: f for f in FILTERS if f.facet}
RANGE_KINDS = frozenset({"min", "max", "after", "before"})
RANGES: tuple[Filter, ...] = tuple(f for f in FILTERS if f.kind in RANGE_KINDS)
TERM_KINDS = frozenset({"values", "all_of", "any_of", "owner"})
# Facets the tantivy backend counts (identifiers are counted by SQL).
INDEX_FACETS = frozenset(name for name in FACETS if name not in IDENTIFIER_FIELDS)
FACETS_PARAM_LABEL = "Facet fields to count, e.g. organism,assay_type,tags,access_level"


def facet_list() -> list[dict[str, str]]:
    """The SPA's facet sidebar, in order (``/api/metadata/fields/``'s ``facets``): the facets
    with a ``sidebar`` place; the SPA asks for exactly these."""
    shown = sorted((f for f in FILTERS if f.facet and f.sidebar), key=lambda f: f.sidebar)
    return [{"name": f.name, "label": f.facet_label} for f in shown]
