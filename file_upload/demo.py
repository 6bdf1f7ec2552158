"""Demo and benchmark data: ``seed_demo(files=N, users=U)`` adds realistic projects, nested
folders and files (metadata rows only; no bytes are stored) with skewed real-world value
distributions and mixed access levels, in bulk inserts (a million files in minutes).

Each call adds new projects, so calling it again grows the data set (the search benchmark
seeds 100,000 files and then grows them to 1,000,000)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from .models import File, Folder, NodeAccessLevel, ParseStatus, Project, ProjectMember, Role

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


def _picker(rng: random.Random, pairs: Sequence[tuple[Any, float]]) -> Callable[[int], list[Any]]:
    values = [pair[0] for pair in pairs]
    weights = [pair[1] for pair in pairs]
    return lambda k: rng.choices(values, weights=weights, k=k)


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


def _folders(rng: random.Random, project: Project, levels: Callable[[int], list[Any]]) -> list[Folder]:
    """raw/run<k>/lane<j>, processed/<assay>, analysis: three levels deep."""
    tops = [Folder(project=project, name=name, access_level=levels(1)[0]) for name in ("raw", "processed", "analysis")]
    Folder.objects.bulk_create(tops)
    runs = [
        Folder(project=project, parent=tops[0], name=f"run{k:02d}", access_level=levels(1)[0])
        for k in range(rng.randint(2, 6))
    ]
    runs += [Folder(project=project, parent=tops[1], name=f"set{k}", access_level=levels(1)[0]) for k in range(2)]
    Folder.objects.bulk_create(runs)
    lanes = [
        Folder(project=project, parent=run, name=f"lane{j}", access_level=levels(1)[0])
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


def seed_demo(
    *, files: int, users: int = 20, seed: int = 1, log: Callable[[str], None] | None = None
) -> dict[str, int]:
    """Add ``files`` files in new projects (about 10,000 per project) and make sure ``users``
    demo users (``demo-user-<i>``, password ``demo-pass-123``) exist; each user joins a few
    projects with a role. Returns what was created."""
    rng = random.Random(seed + Project.objects.count())
    say = log or (lambda message: None)
    started = time.monotonic()
    people = _users(max(users, 1))
    pick = {
        "organism": _picker(rng, [(o[0], o[1]) for o in ORGANISMS]),
        "assay": _picker(rng, [(name, spec[0]) for name, spec in ASSAYS.items()]),
        "platform": _picker(rng, [(p[0], p[1]) for p in PLATFORMS]),
        "tissue": _picker(rng, TISSUES),
        "cell_type": _picker(rng, CELL_TYPES),
        "disease": _picker(rng, DISEASES),
        "sex": _picker(rng, SEXES),
        "stage": _picker(rng, STAGES),
        "treatment": _picker(rng, TREATMENTS),
        "genotype": _picker(rng, GENOTYPES),
        "parse": _picker(rng, PARSE_STATUSES),
        "file_level": _picker(rng, FILE_LEVELS),
        "tag_count": _picker(rng, [(0, 25), (1, 35), (2, 25), (3, 15)]),
    }
    tag_values, tag_weights = [t[0] for t in TAGS], [t[1] for t in TAGS]
    organism_info = {o[0]: (o[2], o[3]) for o in ORGANISMS}
    platform_models = {p[0]: p[2] for p in PLATFORMS}
    project_levels = _picker(rng, PROJECT_LEVELS)
    folder_levels = _picker(rng, FOLDER_LEVELS)
    now = timezone.now()
    first = Project.objects.count()
    project_count = max(1, -(-files // FILES_PER_PROJECT))
    made = 0
    with _keep_timestamps():
        for p in range(project_count):
            number = first + p
            owner = people[number % len(people)]
            with transaction.atomic():
                project = Project.objects.create(
                    name=f"{rng.choice(PROJECT_WORDS)}-{number:04d}",
                    description=f"Demo project {number}",
                    owner=owner,
                    access_level=project_levels(1)[0],
                )
                members = rng.sample(people, k=min(len(people), rng.randint(1, 4)))
                ProjectMember.objects.bulk_create(
                    [
                        ProjectMember(project=project, user=user, role=rng.choice(list(Role.values)))
                        for user in members
                        if user.id != owner.id
                    ]
                )
                folders = [None, *_folders(rng, project, folder_levels)]
                n = min(FILES_PER_PROJECT, files - made)
                rows = []
                for i in range(n):
                    organism = pick["organism"](1)[0]
                    taxon, genomes = organism_info[organism]
                    assay = pick["assay"](1)[0]
                    data_type, file_format, _ = rng.choices(ASSAYS[assay][1], weights=[x[2] for x in ASSAYS[assay][1]])[
                        0
                    ]
                    platform = "10x Genomics" if assay == "scRNA-seq" and rng.random() < 0.7 else pick["platform"](1)[0]
                    folder = rng.choice(folders)
                    own_level = pick["file_level"](1)[0]
                    if own_level != NodeAccessLevel.INHERIT:
                        level = own_level
                    else:
                        level = folder.effective_access_level if folder else project.access_level
                    sample = f"S{number:04d}{i // 4:05d}"
                    read = "R1" if i % 2 == 0 else "R2"
                    created = now - timezone.timedelta(seconds=rng.randint(0, 3 * 365 * 86400))
                    tags = list(dict.fromkeys(rng.choices(tag_values, weights=tag_weights, k=pick["tag_count"](1)[0])))
                    rows.append(
                        File(
                            project=project,
                            folder=folder,
                            name=f"{sample}_{assay.lower()}_{i:05d}_{read}.{file_format}"
                            + (".gz" if file_format == "fastq" else ""),
                            description=rng.choice(["", "", "resequenced after QC failure", "pilot run", "replicate"]),
                            size=int(rng.lognormvariate(19, 2)),
                            sha256="".join(rng.choices("0123456789abcdef", k=64)),
                            storage_key=f"demo/{number}/{i}",
                            tags=tags,
                            access_level=own_level,
                            effective_access_level=level,
                            owner=rng.choice([owner, *members]),
                            upload_method=rng.choice(["web", "api", "tus", "ncbi import"]),
                            organism=organism,
                            taxon_id=taxon,
                            tissue=pick["tissue"](1)[0],
                            cell_type=pick["cell_type"](1)[0] if assay == "scRNA-seq" else "",
                            disease=pick["disease"](1)[0],
                            sex=pick["sex"](1)[0],
                            developmental_stage=pick["stage"](1)[0],
                            sample_id=sample,
                            treatment=pick["treatment"](1)[0],
                            genotype=pick["genotype"](1)[0],
                            assay_type=assay,
                            data_type=data_type,
                            file_format=file_format,
                            platform=platform,
                            instrument_model=rng.choice(platform_models[platform]),
                            library_layout=rng.choice(["paired", "paired", "single"]) if file_format == "fastq" else "",
                            read_length=rng.choice([50, 75, 100, 150, 150, 250]) if platform == "Illumina" else None,
                            reference_genome=rng.choice(genomes) if data_type in ("alignment", "variants") else "",
                            sequencing_date=(created - timezone.timedelta(days=rng.randint(1, 90))).date(),
                            bioproject_accession=f"PRJNA{100000 + number}" if rng.random() < 0.3 else "",
                            biosample_accession=f"SAMN{10_000_000 + number * 10_000 + i // 4}"
                            if rng.random() < 0.3
                            else "",
                            sra_accession=f"SRR{rng.randint(1_000_000, 29_999_999)}" if rng.random() < 0.2 else "",
                            parse_status=pick["parse"](1)[0],
                            created_at=created,
                            updated_at=created + timezone.timedelta(seconds=rng.randint(0, 30 * 86400)),
                        )
                    )
                File.objects.bulk_create(rows, batch_size=BATCH)
                made += n
            say(f"  project {project.name}: {n} files ({made}/{files}, {time.monotonic() - started:.0f} s)")
    return {"files": made, "projects": project_count, "users": len(people)}
