"""Seed data for the concurrency run, through the same store service as every upload.

Run inside the app's environment::

    manage.py shell -c "from performance_test_project.seed import seed; seed(project_id, 200)"

Prints one JSON line: the ids of the files created.
"""

from __future__ import annotations

import io
import json
import random

ORGANISMS = ["Homo sapiens", "Mus musculus", "Danio rerio", "Drosophila melanogaster", "Arabidopsis thaliana"]
ASSAYS = ["WGS", "RNA-seq", "scRNA-seq", "ChIP-seq", "ATAC-seq", "WES"]
FORMATS = [("fastq.gz", "raw reads"), ("bam", "alignment"), ("vcf.gz", "variants"), ("h5ad", "expression matrix")]


def seed(project_id: int, count: int, size: int = 64 * 1024, rng_seed: int = 7) -> list[int]:
    from file_upload import services
    from file_upload.models import Project

    rng = random.Random(rng_seed)
    project = Project.objects.get(id=project_id)
    folders = [None] + [
        services.create_folder(project=project, parent=None, name=f"run-{n:02d}", actor=project.owner) for n in range(3)
    ]
    ids = []
    for n in range(count):
        ext, data_type = FORMATS[n % len(FORMATS)]
        file = services.store_file(
            project=project,
            folder=folders[n % len(folders)],
            name=f"sample-{n:05d}.{ext}",
            owner=project.owner,
            source=io.BytesIO(rng.randbytes(size)),
            metadata={
                "organism": ORGANISMS[n % len(ORGANISMS)],
                "assay_type": ASSAYS[n % len(ASSAYS)],
                "data_type": data_type,
                "tissue": rng.choice(["liver", "brain", "blood", "lung"]),
                "sample_id": f"S{n:05d}",
            },
            tags=["perf", f"batch-{n % 10}"],
        )
        ids.append(file.id)
    print(json.dumps(ids))
    return ids
