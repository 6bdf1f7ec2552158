"""Demo and benchmark data: ``seed_demo(files=N, users=U)`` adds realistic projects, nested
folders and files (metadata rows only; no bytes are stored) with skewed real-world value
distributions and mixed access levels, by ``COPY`` on PostgreSQL (``bulk_load``: ten million
files in minutes).

Each call adds new projects, so calling it again grows the data set (the search benchmark
seeds 100,000 files and then grows them to 1,000,000)."""

from __future__ import annotations

import datetime as dt
import json
import random
import time
from bisect import bisect
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from itertools import accumulate
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.db.models import JSONField
from django.utils import timezone

from .metadata import METADATA_FIELD_NAMES
from .models import File, Folder, NodeAccessLevel, ParseStatus, Project, ProjectMember, Role, SearchChange

# (value, weight): weights follow what public archives hold (SRA/GEO/CELLxGENE shares, roughly).
ORGANISMS = [
    ("Homo sapiens", 46, 9606, ["GRCh38", "GRCh37", "T2T-CHM13"]),
    ("Mus musculus", 28, 10090, ["GRCm39", "GRCm38"]),
    ("Danio rerio", 5, 7955, ["GRCz11"]),
    ("Drosophila melanogaster", 5, 7227, ["BDGP6"]),
    ("Saccharomyces cerevisiae", 4, 4932, ["R64"]),
    ("Arabidopsis thaliana", 4, 3702, ["TAIR10"]),
    ("Caenorhabditis elegans", 3, 6239, ["WBcel235"]),
    ("Rattus norvegicus", 3, 10116, ["mRatBN7.2"]),
    ("Escherichia coli", 1.5, 562, ["ASM584v2"]),
    ("SARS-CoV-2", 0.5, 2697049, ["ASM985889v3"]),
]
# assay: weight, [(data_type, file_format, weight)], platforms
ASSAYS = {
    "RNA-seq": (30, [("raw reads", "fastq", 6), ("alignment", "bam", 3), ("expression matrix", "tsv", 1)]),
    "scRNA-seq": (18, [("raw reads", "fastq", 5), ("expression matrix", "h5ad", 3), ("alignment", "bam", 2)]),
    "WGS": (20, [("raw reads", "fastq", 5), ("alignment", "cram", 3), ("variants", "vcf", 2)]),
    "WES": (9, [("raw reads", "fastq", 4), ("alignment", "bam", 3), ("variants", "vcf", 3)]),
    "ChIP-seq": (7, [("raw reads", "fastq", 5), ("alignment", "bam", 3), ("annotation", "bed", 2)]),
    "ATAC-seq": (6, [("raw reads", "fastq", 5), ("alignment", "bam", 3), ("annotation", "bed", 2)]),
    "Bisulfite-seq": (3, [("raw reads", "fastq", 6), ("alignment", "bam", 4)]),
    "Hi-C": (2, [("raw reads", "fastq", 6), ("other", "cool", 4)]),
    "Amplicon": (3, [("raw reads", "fastq", 8), ("reference", "fasta", 2)]),
    "Other": (2, [("document", "pdf", 5), ("other", "txt", 5)]),
}
PLATFORMS = [
    ("Illumina", 78, ["Illumina NovaSeq 6000", "Illumina NovaSeq X", "Illumina NextSeq 2000", "Illumina HiSeq 4000"]),
    ("10x Genomics", 8, ["Chromium X"]),
    ("ONT", 6, ["PromethION", "MinION Mk1C"]),
    ("PacBio", 5, ["PacBio Revio", "PacBio Sequel II"]),
    ("MGI", 3, ["DNBSEQ-G400"]),
]
TISSUES = [
    ("blood", 18),
    ("liver", 12),
    ("brain", 11),
    ("lung", 8),
    ("kidney", 7),
    ("heart", 6),
    ("skin", 5),
    ("colon", 5),
    ("bone marrow", 4),
    ("spleen", 4),
    ("pancreas", 3),
    ("retina", 2),
    ("whole organism", 6),
    ("", 9),
]
CELL_TYPES = [("", 60), ("T cell", 8), ("B cell", 5), ("hepatocyte", 5), ("neuron", 6), ("macrophage", 5)]
CELL_TYPES += [("fibroblast", 4), ("epithelial cell", 4), ("stem cell", 3)]
DISEASES = [("normal", 55), ("", 15), ("breast carcinoma", 6), ("COVID-19", 5), ("type 2 diabetes", 4)]
DISEASES += [("Alzheimer disease", 4), ("lung adenocarcinoma", 4), ("colorectal cancer", 4), ("asthma", 3)]
SEXES = [("female", 40), ("male", 40), ("mixed", 5), ("unknown", 10), ("", 5)]
STAGES = [("adult", 60), ("", 20), ("embryo", 8), ("juvenile", 6), ("aged", 6)]
TREATMENTS = [("", 55), ("control", 20), ("DMSO", 8), ("LPS", 5), ("dexamethasone", 4), ("knockdown", 8)]
GENOTYPES = [("", 50), ("wild type", 35), ("Trp53-/-", 5), ("APOE4", 4), ("BRCA1 mut", 3), ("Cre+", 3)]
TAGS = [
    ("qc-passed", 30),
    ("raw", 20),
    ("published", 12),
    ("batch-1", 10),
    ("batch-2", 9),
    ("batch-3", 7),
    ("pilot", 6),
    ("replicate", 6),
    ("control", 5),
    ("needs-review", 4),
    ("archive", 4),
    ("hg38-lifted", 2),
    ("low-coverage", 2),
    ("contaminated", 1),
]
PARSE_STATUSES = [(ParseStatus.DONE, 88), (ParseStatus.SKIPPED, 6), (ParseStatus.FAILED, 2), (ParseStatus.PENDING, 4)]
PROJECT_LEVELS = [("restricted", 50), ("internal", 40), ("public", 10)]
FOLDER_LEVELS = [(NodeAccessLevel.INHERIT, 88), ("restricted", 8), ("internal", 3), ("public", 1)]
FILE_LEVELS = [(NodeAccessLevel.INHERIT, 97), ("restricted", 2), ("public", 1)]
PROJECT_WORDS = ["atlas", "cohort", "screen", "pilot", "consortium", "timecourse", "knockout", "organoid"]
FILES_PER_PROJECT = 10_000
BATCH = 1000  # psycopg binds at most 65,535 parameters per statement


def _picker(rng: random.Random, pairs: Sequence[tuple[Any, float]]) -> Callable[[], Any]:
    """One weighted draw: ``rng.choices(values, weights)[0]`` with the cumulative weights worked
    out once (the same draw from the same generator state)."""
    values = [pair[0] for pair in pairs]
    cumulative = list(accumulate(pair[1] for pair in pairs))
    total, hi, draw = cumulative[-1] + 0.0, len(values) - 1, rng.random
    return lambda: values[bisect(cumulative, draw() * total, 0, hi)]


def _hex64(rng: random.Random) -> str:
    """``"".join(rng.choices("0123456789abcdef", k=64))`` from one ``getrandbits``: each of the
    64 draws is ``random()``, made of two 32-bit outputs, and its hex digit is the first output's
    top four bits, so 128 outputs give the same digits and leave the generator in the same state."""
    return rng.getrandbits(4096).to_bytes(512, "little")[3::8].hex()[::2]


@contextmanager
def _keep_timestamps():
    """Let bulk inserts carry spread-out created/updated times instead of "now"."""
    created, updated = File._meta.get_field("created_at"), File._meta.get_field("updated_at")
    saved = created.auto_now_add, updated.auto_now
    created.auto_now_add = updated.auto_now = False
    try:
        yield
    finally:
        created.auto_now_add, updated.auto_now = saved


def _users(count: int) -> list[Any]:
    User = get_user_model()
    password = make_password("demo-pass-123")
    existing = set(User.objects.filter(username__startswith="demo-user-").values_list("username", flat=True))
    User.objects.bulk_create(
        [User(username=f"demo-user-{i}", password=password) for i in range(count) if f"demo-user-{i}" not in existing]
    )
    return list(User.objects.filter(username__startswith="demo-user-").order_by("id"))


def _folders(rng: random.Random, project: Project, levels: Callable[[], Any]) -> list[Folder]:
    """raw/run<k>/lane<j>, processed/<assay>, analysis: three levels deep."""
    tops = [Folder(project=project, name=name, access_level=levels()) for name in ("raw", "processed", "analysis")]
    Folder.objects.bulk_create(tops)
    runs = [
        Folder(project=project, parent=tops[0], name=f"run{k:02d}", access_level=levels())
        for k in range(rng.randint(2, 6))
    ]
    runs += [Folder(project=project, parent=tops[1], name=f"set{k}", access_level=levels()) for k in range(2)]
    Folder.objects.bulk_create(runs)
    lanes = [
        Folder(project=project, parent=run, name=f"lane{j}", access_level=levels())
        for run in runs
        if run.name.startswith("run")
        for j in range(1, rng.randint(2, 4))
    ]
    Folder.objects.bulk_create(lanes)
    folders = tops + runs + lanes
    by_id = {folder.id: folder for folder in folders}
    for folder in folders:  # parents come first in this list
        parent = by_id.get(folder.parent_id) if folder.parent_id else None
        folder.tree_path = f"{parent.tree_path if parent else '/'}{folder.id}/"
        folder.name_path = f"{parent.name_path if parent else ''}/{folder.name}"
        inherited = parent.effective_access_level if parent else project.access_level
        own = folder.access_level
        folder.effective_access_level = inherited if own == NodeAccessLevel.INHERIT else own
    Folder.objects.bulk_update(folders, ["tree_path", "name_path", "effective_access_level"])
    return folders


# The columns ``_file_rows`` yields, in order; every other column takes the model's default.
FILE_COLUMNS = (
    *("project_id", "folder_id", "name", "description", "size", "sha256", "storage_key", "tags"),
    *("access_level", "effective_access_level", "owner_id", "upload_method"),
    *METADATA_FIELD_NAMES,
    *("parse_status", "created_at", "updated_at"),
)


class _Draws:
    """The weighted value lists of one seeding run, bound to its random generator."""

    def __init__(self, rng: random.Random) -> None:
        self.organism = _picker(rng, [(o[0], o[1]) for o in ORGANISMS])
        self.assay = _picker(rng, [(name, spec[0]) for name, spec in ASSAYS.items()])
        self.platform = _picker(rng, [(p[0], p[1]) for p in PLATFORMS])
        self.tissue = _picker(rng, TISSUES)
        self.cell_type = _picker(rng, CELL_TYPES)
        self.disease = _picker(rng, DISEASES)
        self.sex = _picker(rng, SEXES)
        self.stage = _picker(rng, STAGES)
        self.treatment = _picker(rng, TREATMENTS)
        self.genotype = _picker(rng, GENOTYPES)
        self.parse = _picker(rng, PARSE_STATUSES)
        self.file_level = _picker(rng, FILE_LEVELS)
        self.tag_count = _picker(rng, [(0, 25), (1, 35), (2, 25), (3, 15)])
        self.tag = _picker(rng, TAGS)
        self.kind = {name: _picker(rng, [(x[:2], x[2]) for x in spec[1]]) for name, spec in ASSAYS.items()}
        self.project_level = _picker(rng, PROJECT_LEVELS)
        self.folder_level = _picker(rng, FOLDER_LEVELS)


def _file_rows(
    rng: random.Random,
    draw: _Draws,
    project: Project,
    folders: list[Folder | None],
    uploaders: list[Any],
    number: int,
    n: int,
    now: dt.datetime,
) -> Iterator[tuple]:
    """``n`` files of one project as ``FILE_COLUMNS`` tuples: the draws, in the order of the
    generator, that made the demo data from the start (so a seed gives the same files)."""
    below = rng._randbelow  # what choice() and randint() draw with
    random_ = rng.random
    organism_info = {o[0]: (o[2], o[3]) for o in ORGANISMS}
    platform_models = {p[0]: p[2] for p in PLATFORMS}
    inherit = NodeAccessLevel.INHERIT
    descriptions = ["", "", "resequenced after QC failure", "pilot run", "replicate"]
    methods = ["web", "api", "tus", "ncbi import"]
    layouts = ["paired", "paired", "single"]
    read_lengths = [50, 75, 100, 150, 150, 250]
    second, day = dt.timedelta(seconds=1), dt.timedelta(days=1)
    for i in range(n):
        organism = draw.organism()
        taxon, genomes = organism_info[organism]
        assay = draw.assay()
        data_type, file_format = draw.kind[assay]()
        platform = "10x Genomics" if assay == "scRNA-seq" and random_() < 0.7 else draw.platform()
        folder = folders[below(len(folders))]
        own_level = draw.file_level()
        if own_level != inherit:
            level = own_level
        else:
            level = folder.effective_access_level if folder else project.access_level
        sample = f"S{number:04d}{i // 4:05d}"
        read = "R1" if i % 2 == 0 else "R2"
        created = now - second * below(3 * 365 * 86400 + 1)
        tags = list(dict.fromkeys([draw.tag() for _ in range(draw.tag_count())]))
        description = descriptions[below(5)]
        size = int(rng.lognormvariate(19, 2))
        sha256 = _hex64(rng)
        owner = uploaders[below(len(uploaders))]
        method = methods[below(4)]
        tissue = draw.tissue()
        cell_type = draw.cell_type() if assay == "scRNA-seq" else ""
        disease, sex, stage = draw.disease(), draw.sex(), draw.stage()
        treatment, genotype = draw.treatment(), draw.genotype()
        models = platform_models[platform]
        instrument = models[below(len(models))]
        layout = layouts[below(3)] if file_format == "fastq" else ""
        read_length = read_lengths[below(6)] if platform == "Illumina" else None
        genome = genomes[below(len(genomes))] if data_type in ("alignment", "variants") else ""
        sequenced = (created - day * (1 + below(90))).date()
        bioproject = f"PRJNA{100000 + number}" if random_() < 0.3 else ""
        biosample = f"SAMN{10_000_000 + number * 10_000 + i // 4}" if random_() < 0.3 else ""
        sra = f"SRR{1_000_000 + below(29_000_000)}" if random_() < 0.2 else ""
        parse = draw.parse()
        updated = created + second * below(30 * 86400 + 1)
        yield (
            project.id,
            folder.id if folder else None,
            f"{sample}_{assay.lower()}_{i:05d}_{read}.{file_format}" + (".gz" if file_format == "fastq" else ""),
            description,
            size,
            sha256,
            f"demo/{number}/{i}",
            tags,
            own_level,
            level,
            owner.id,
            method,
            organism,
            taxon,
            tissue,
            cell_type,
            disease,
            sex,
            stage,
            sample,
            treatment,
            genotype,
            assay,
            data_type,
            file_format,
            platform,
            instrument,
            layout,
            read_length,
            genome,
            sequenced,
            bioproject,
            biosample,
            sra,
            parse,
            created,
            updated,
        )


def _copy_defaults() -> tuple[list[str], str]:
    """The columns outside ``FILE_COLUMNS`` and their model defaults as one COPY text suffix."""
    names, texts = [], []
    for field in File._meta.concrete_fields:
        if field.primary_key or field.generated or field.attname in FILE_COLUMNS:
            continue
        value = field.get_default()
        if value is None:
            text = "\\N"
        elif isinstance(field, JSONField):
            text = json.dumps(value)
        else:
            text = str(field.get_db_prep_save(value, connection))
        names.append(field.column)
        texts.append(text)
    return names, "".join(f"\t{text}" for text in texts)


def _copy_text(row: tuple) -> str:
    """One ``_file_rows`` tuple as a COPY text line (the values never hold tabs, newlines or
    backslashes)."""
    out = []
    for value in row:
        if value is None:
            out.append("\\N")
        elif isinstance(value, list):
            out.append(json.dumps(value))
        elif isinstance(value, dt.date):
            out.append(value.isoformat())
        else:
            out.append(str(value))
    return "\t".join(out)


def _insert_files(rows: Iterator[tuple], copy_sql: str | None, suffix: str) -> int:
    """Insert the rows: ``COPY`` on PostgreSQL, ``bulk_create`` elsewhere."""
    count = 0
    if copy_sql is None:
        batch = [File(**dict(zip(FILE_COLUMNS, row, strict=True))) for row in rows]
        File.objects.bulk_create(batch, batch_size=BATCH)
        return len(batch)
    with connection.cursor() as cursor, cursor.cursor.copy(copy_sql) as copy:
        lines = []
        for row in rows:
            lines.append(f"{_copy_text(row)}{suffix}\n")
            count += 1
            if len(lines) == 2000:
                copy.write("".join(lines))
                lines = []
        if lines:
            copy.write("".join(lines))
    return count


def seed_demo(
    *,
    files: int,
    users: int = 20,
    seed: int = 1,
    log: Callable[[str], None] | None = None,
    bulk_load: bool = False,
) -> dict[str, int]:
    """Add ``files`` files in new projects (about 10,000 per project) and make sure ``users``
    demo users (``demo-user-<i>``, password ``demo-pass-123``) exist; each user joins a few
    projects with a role. Returns what was created.

    Files go in by ``COPY`` on PostgreSQL (``bulk_create`` elsewhere), one transaction per
    project. ``bulk_load`` (PostgreSQL, for benchmark databases) is faster still: the file
    table's secondary indexes are dropped for the load and built again after it (two at a time),
    the table's triggers do not run, and the change feed gets one row per new file as its
    trigger would have written (so a running index writer knows to rebuild)."""
    rng = random.Random(seed + Project.objects.count())
    say = log or (lambda message: None)
    started = time.monotonic()
    people = _users(max(users, 1))
    draw = _Draws(rng)
    now = timezone.now()
    first = Project.objects.count()
    project_count = max(1, -(-files // FILES_PER_PROJECT))
    postgres = connection.vendor == "postgresql"
    copy_sql = suffix = None
    if postgres:
        defaults, suffix = _copy_defaults()
        copy_sql = f"COPY {File._meta.db_table} ({', '.join([*FILE_COLUMNS, *defaults])}) FROM STDIN"
    made = 0
    with _keep_timestamps(), _bulk_load(say) if bulk_load and postgres else nullcontext():
        for p in range(project_count):
            number = first + p
            owner = people[number % len(people)]
            with transaction.atomic():
                project = Project.objects.create(
                    name=f"{rng.choice(PROJECT_WORDS)}-{number:04d}",
                    description=f"Demo project {number}",
                    owner=owner,
                    access_level=draw.project_level(),
                )
                members = rng.sample(people, k=min(len(people), rng.randint(1, 4)))
                ProjectMember.objects.bulk_create(
                    [
                        ProjectMember(project=project, user=user, role=rng.choice(list(Role.values)))
                        for user in members
                        if user.id != owner.id
                    ]
                )
                folders = [None, *_folders(rng, project, draw.folder_level)]
                n = min(FILES_PER_PROJECT, files - made)
                rows = _file_rows(rng, draw, project, folders, [owner, *members], number, n, now)
                if bulk_load and postgres:
                    _feed_after(lambda rows=rows: _insert_files(rows, copy_sql, suffix))
                else:
                    _insert_files(rows, copy_sql, suffix or "")
                made += n
            seconds = time.monotonic() - started
            rate = made / max(seconds, 1e-9)
            say(
                f"  project {project.name}: {n} files ({made}/{files}, {seconds:.0f} s, {rate:.0f} files/s,"
                f" about {(files - made) / max(rate, 1e-9):.0f} s left)"
            )
    return {"files": made, "projects": project_count, "users": len(people)}


def _feed_after(insert: Callable[[], int]) -> None:
    """Run ``insert`` (new file rows, the feed trigger off) and add the feed rows it would have
    written: the new ids are the ones above the table's highest before it (one writer)."""
    table, feed = File._meta.db_table, SearchChange._meta.db_table
    with connection.cursor() as cursor:
        # Not ``MAX(id)``: a table loaded by COPY has no statistics yet, and the planner then
        # aggregates over the whole primary key instead of reading its last entry (2.8 s at 6M
        # rows, once per project).
        cursor.execute(f"SELECT id FROM {table} ORDER BY id DESC LIMIT 1")
        before = (cursor.fetchone() or (0,))[0]
        insert()
        cursor.execute(
            f"INSERT INTO {feed} (file_id, xid, at)"
            f" SELECT id, pg_current_xact_id()::text::bigint, now() FROM {table} WHERE id > %s ORDER BY id",
            [before],
        )


PENDING_INDEXES = "biofm_bulk_load_pending_index"


@contextmanager
def _bulk_load(say: Callable[[str], None]) -> Iterator[None]:
    """The file table without its secondary indexes and triggers while the block loads it; the
    indexes are built again after it. Their definitions wait in a table, committed with the
    drop, so a load that is interrupted has them built by the next one (``restore_indexes``)."""
    table = File._meta.db_table
    restore_indexes(say)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {PENDING_INDEXES} (name text PRIMARY KEY, definition text)")
        cursor.execute(
            "SELECT c.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid"
            " WHERE x.indrelid = %s::regclass"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)",
            [table],
        )
        found = cursor.fetchall()
        for name, definition in found:
            cursor.execute(f"INSERT INTO {PENDING_INDEXES} VALUES (%s, %s)", [name, definition])
            cursor.execute(f'DROP INDEX "{name}"')
    say(f"  {len(found)} indexes of {table} dropped for the load")
    with connection.cursor() as cursor:
        # Statistics for the rows already there: without them the planner takes the table for
        # empty and reads each project's new rows for the feed by scanning all of it.
        cursor.execute(f"ANALYZE {table}")
        cursor.execute("SET session_replication_role = replica")  # no triggers (feed, foreign keys)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = DEFAULT")
    restore_indexes(say)


def restore_indexes(say: Callable[[str], None] = lambda message: None) -> None:
    """Build the indexes a bulk load dropped (two at a time, the costliest first)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [PENDING_INDEXES])
        if cursor.fetchone()[0] is None:
            return
        cursor.execute(f"SELECT name, definition FROM {PENDING_INDEXES}")
        pending = cursor.fetchall()
    if not pending:
        return
    started = time.monotonic()
    # GIN (trigram) indexes cost most; the widest column (search_text) first.
    pending.sort(key=lambda item: (" gin " not in item[1].lower(), "search_text" not in item[1], item[0]))

    def build(name: str, definition: str) -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
                cursor.execute(definition)
                cursor.execute(f"DELETE FROM {PENDING_INDEXES} WHERE name = %s", [name])
            say(f"  index {name} built ({time.monotonic() - started:.0f} s)")
        finally:
            connection.close()  # this thread's own connection

    with ThreadPoolExecutor(max_workers=2) as pool:
        for future in [pool.submit(build, name, definition) for name, definition in pending]:
            future.result()
