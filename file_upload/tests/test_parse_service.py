"""``parse_file`` end to end: status lifecycle, failures that never crash the worker, budgets,
metadata autofill, the reparse API and the stale sweep."""

from __future__ import annotations

import gzip
import hashlib
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from authentication.models import AuditEvent
from file_upload import services, storage
from file_upload.models import File
from file_upload.parsers import registry
from file_upload.parsers.base import ParseError

from .factories import ProjectFactory, blob_bytes, make_file
from .test_parsers import make_bam, make_fastq, make_h5ad, make_missorted_bam
from .tools import idxstats, requires_tools

FASTQ_RECORDS = [
    b"@r%d\n%s\n+\n%s\n" % (i, hashlib.sha256(b"%d" % i).hexdigest().encode(), b"I" * 64) for i in range(500)
]


@pytest.fixture
def project(alice):
    return ProjectFactory(name="Stats", owner=alice)


pytestmark = pytest.mark.usefixtures("storage_backend")


def stored_digest(file: File) -> str:
    return hashlib.sha256(blob_bytes(file.storage_key)).hexdigest()


class StoredIndex:
    """The index the index task keeps beside a file's bytes (``<key>.bai``), in either backend."""

    def __init__(self, file: File) -> None:
        self.key = file.storage_key + ".bai"

    def exists(self) -> bool:
        return storage.exists(self.key)

    def unlink(self) -> None:
        storage.delete_blob(self.key)


def bai_of(file: File) -> StoredIndex:
    return StoredIndex(file)


def leftover_temporaries(file: File) -> list[Path]:
    """Half-built indexes beside the blob (local) or local copies left behind (object store)."""
    if storage.is_s3():
        cache = Path(settings.UPLOAD_TMP_DIR) / "cache"
        return [p for p in cache.rglob("*") if p.is_file()] if cache.exists() else []
    return list(storage.path_for(file.storage_key).parent.glob("*.tmp"))


@contextmanager
def bam_with_index(file: File) -> Iterator[Path]:
    """A path of the stored BAM with its stored index beside it, for samtools."""
    with storage.local_copy(file.storage_key) as path:
        if storage.is_s3():
            with storage.open_blob(file.storage_key + ".bai") as source, open(f"{path}.bai", "wb") as target:
                shutil.copyfileobj(source, target)
        yield path


@pytest.mark.django_db
class TestParseLifecycle:
    def test_fastq_done_with_stats_and_started_at(self, project):
        file = make_file(project, "reads.fastq", b"@r1\nACGT\n+\nIIII\n@r2\nGGNN\n+\n!!II\n")
        assert file.parse_status == "pending"
        parsed = services.parse_file(file.id)
        assert parsed.parse_status == "done"
        assert parsed.parse_started_at is not None
        assert parsed.stats["reads"] == 2 and parsed.stats["bases"] == 8
        assert "_hints" not in parsed.stats

    def test_status_is_running_while_the_parser_works(self, project, monkeypatch):
        seen = {}

        class Spy:
            formats = ("fasta",)

            def parse(self, path):
                row = File.objects.get(name="g.fa")
                seen["status"], seen["started"] = row.parse_status, row.parse_started_at
                return {"sequences": 1}

        monkeypatch.setattr(registry, "_PARSERS", {})
        registry.register(Spy())
        services.parse_file(make_file(project, "g.fa", b">a\nAC\n").id)
        assert seen["status"] == "running" and seen["started"] is not None

    @pytest.mark.parametrize(
        "name, content, message",
        [
            ("trunc.fastq.gz", gzip.compress(b"".join(FASTQ_RECORDS))[:3000], "truncated"),
            ("junk.fastq", bytes(range(256)) * 8, "record 1 (line 1)"),
            ("mismatch.fastq", b"@r1\nACGT\n+\nIII\n@r2\nAC\n+\nII\n", "record 1 (line 1): sequence and quality"),
            ("noheader.vcf", b"chr1\t5\t.\tA\tG\t50\tPASS\t.\n", "line 1: not a VCF file"),
            ("fake.h5ad", b"not hdf5\n", "not an HDF5"),
        ],
    )
    def test_malformed_files_fail_with_one_line_and_keep_their_bytes(self, project, name, content, message):
        file = make_file(project, name, content)
        before = stored_digest(file)
        parsed = services.parse_file(file.id)
        assert parsed.parse_status == "failed"
        assert message in parsed.parse_error
        assert "\n" not in parsed.parse_error
        assert parsed.stats == {}
        assert stored_digest(parsed) == before == parsed.sha256

    def test_bam_cut_mid_record_fails(self, project, tmp_path):
        bam = make_bam(tmp_path / "a.bam", n_pairs=2000, sort=False).read_bytes()
        file = make_file(project, "cut.bam", bam[: len(bam) // 2])
        parsed = services.parse_file(file.id)
        assert parsed.parse_status == "failed"
        assert parsed.parse_error and "\n" not in parsed.parse_error

    def test_an_unexpected_parser_error_fails_the_file_not_the_worker(self, project, monkeypatch):
        class Broken:
            formats = ("fasta",)

            def parse(self, path):
                raise ZeroDivisionError("division by zero\nsecond line")

        monkeypatch.setattr(registry, "_PARSERS", {})
        registry.register(Broken())
        parsed = services.parse_file(make_file(project, "g.fa", b">a\nAC\n").id)
        assert parsed.parse_status == "failed"
        assert parsed.parse_error == "could not read the file as fasta: division by zero second line"

    def test_parse_error_message_is_its_first_line(self, project, monkeypatch):
        class Strict:
            formats = ("fasta",)

            def parse(self, path):
                raise ParseError("line 2: bad\ndetail")

        monkeypatch.setattr(registry, "_PARSERS", {})
        registry.register(Strict())
        assert services.parse_file(make_file(project, "g.fa", b">a\nAC\n").id).parse_error == "line 2: bad"

    def test_byte_budget_truncates(self, project, settings, tmp_path, monkeypatch):
        from file_upload.parsers import fastq

        monkeypatch.setattr(fastq, "BLOCK_SIZE", 4096)
        settings.BIOFM_PARSE_MAX_BYTES = 10_000
        content = make_fastq(tmp_path / "r.fastq", 300).read_bytes()
        parsed = services.parse_file(make_file(project, "r.fastq", content).id)
        assert parsed.parse_status == "done"
        assert parsed.stats["truncated"] is True
        assert 10_000 <= parsed.stats["bytes_covered"] < len(content)
        assert 0 < parsed.stats["reads"] < 300

    def test_time_budget_truncates(self, project, settings, tmp_path, monkeypatch):
        from file_upload.parsers import fasta

        monkeypatch.setattr(fasta, "BLOCK_SIZE", 1024)
        settings.BIOFM_PARSE_MAX_SECONDS = 1e-9
        content = (b">s\n" + b"ACGT" * 2000 + b"\n") * 10
        parsed = services.parse_file(make_file(project, "g.fa", content).id)
        assert parsed.stats["truncated"] is True and parsed.stats["bytes_covered"] < len(content)


@pytest.mark.django_db
class TestAutofill:
    def test_fastq_fills_empty_fields_only(self, project, tmp_path):
        content = make_fastq(tmp_path / "r.fastq", 20, lengths=(151, 151)).read_bytes()
        file = make_file(project, "S1_L001_R1_001.fastq", content, instrument_model="my sequencer")
        parsed = services.parse_file(file.id)
        assert parsed.file_format == "fastq"
        assert parsed.data_type == "raw reads"
        assert parsed.platform == "Illumina"
        assert parsed.instrument_model == "my sequencer"  # the user's value stays
        assert parsed.read_length == 151
        assert parsed.library_layout == ""  # a lone _R1 proves nothing
        assert parsed.autofilled_fields == ["data_type", "file_format", "platform", "read_length"]
        mate = services.parse_file(make_file(project, "S1_L001_R2_001.fastq", content).id)
        assert mate.library_layout == "paired"
        parsed.refresh_from_db()
        assert parsed.library_layout == "paired" and "library_layout" in parsed.autofilled_fields

    def test_mate_names(self):
        from file_upload.parsers.autofill import mate_names

        assert mate_names("S1_L001_R1_001.fastq.gz") == ["S1_L001_R2_001.fastq.gz"]
        assert mate_names("x_2.fq") == ["x_1.fq"]
        assert mate_names("reads.fastq") == []

    def test_interleaved_mates_and_other_platforms(self, project):
        reads = b"".join(b"@V300012345L1C001R001000000%d/%d\nACGT\n+\nIIII\n" % (i // 2, i % 2 + 1) for i in range(6))
        parsed = services.parse_file(make_file(project, "mgi.fq", reads).id)
        assert (parsed.platform, parsed.library_layout) == ("MGI", "paired")
        ont = b"@3f0e runid=abc123 read=5 ch=12 start_time=2024-01-01T00:00:00Z\nACGT\n+\nIIII\n"
        parsed = services.parse_file(make_file(project, "ont.fastq", ont).id)
        assert (parsed.platform, parsed.library_layout) == ("ONT", "")

    def test_bam_reference_genome(self, project, tmp_path):
        parsed = services.parse_file(make_file(project, "a.bam", make_bam(tmp_path / "a.bam").read_bytes()).id)
        assert (parsed.reference_genome, parsed.data_type) == ("GRCh38", "alignment")
        assert (parsed.stats["indexed"], parsed.stats["index_status"]) == (False, "pending")
        assert not bai_of(parsed).exists()  # built by the follow-up task (TestIndexFollowUp)

    def test_h5ad_organism(self, project, tmp_path):
        parsed = services.parse_file(make_file(project, "a.h5ad", make_h5ad(tmp_path / "a.h5ad").read_bytes()).id)
        assert parsed.parse_status == "done"
        assert (parsed.organism, parsed.taxon_id, parsed.data_type) == ("Homo sapiens", 9606, "expression matrix")
        assert parsed.stats["n_obs"] == 30

    def test_a_value_edited_by_a_person_is_never_replaced(self, project, alice):
        file = make_file(project, "r.fastq", b"@r1\nACGT\n+\nIIII\n")
        parsed = services.parse_file(file.id)
        assert "read_length" in parsed.autofilled_fields
        services.update_file(parsed, actor=alice, read_length=99)
        parsed.refresh_from_db()
        assert "read_length" not in parsed.autofilled_fields
        reparsed = services.parse_file(file.id)
        assert reparsed.read_length == 99


@requires_tools
@pytest.mark.django_db
class TestIndexFollowUp:
    """The BAM index is built by ``index_file`` (task ``file_upload.index_file``), queued by a
    successful parse, so the parse costs no more than ``samtools flagstat``."""

    @pytest.fixture
    def queued(self, monkeypatch):
        calls: list[int] = []
        monkeypatch.setattr(services.queueing, "enqueue_index", calls.append)
        return calls

    def parse_bam(self, project, tmp_path, django_capture_on_commit_callbacks, name="a.bam", bam=None):
        content = (bam or make_bam(tmp_path / name)).read_bytes()
        file = make_file(project, name, content)
        with django_capture_on_commit_callbacks(execute=True):
            return services.parse_file(file.id)

    def test_parse_queues_the_index_which_matches_idxstats(
        self, project, tmp_path, queued, django_capture_on_commit_callbacks
    ):
        from file_upload.tasks import index_file_task

        parsed = self.parse_bam(project, tmp_path, django_capture_on_commit_callbacks)
        assert queued == [parsed.id]
        assert parsed.stats["index_status"] == "pending" and not bai_of(parsed).exists()

        assert index_file_task.apply(args=[parsed.id]).get() == "done"
        indexed = File.objects.get(id=parsed.id)
        assert bai_of(indexed).exists()
        assert (indexed.parse_status, indexed.stats["indexed"], indexed.stats["index_status"]) == ("done", True, "done")
        with bam_with_index(indexed) as path:
            per_ref = idxstats(path)
        for ref in indexed.stats["references"]:
            assert (ref["length"], ref["mapped"], ref["unmapped"]) == per_ref[ref["name"]]
        assert indexed.stats["unplaced_unmapped"] == per_ref["*"][2]
        # the flag counts of the parse are untouched
        changed = ("indexed", "index_status", "references", "unplaced_unmapped")
        assert {k: v for k, v in indexed.stats.items() if k not in changed} == {
            k: v for k, v in parsed.stats.items() if k not in changed
        }
        # a second run (the sweep raced a worker) leaves the finished result alone
        assert services.index_file(parsed.id).stats == indexed.stats

    def test_nothing_is_queued_for_unsorted_bam_or_other_formats(
        self, project, tmp_path, queued, django_capture_on_commit_callbacks
    ):
        bam = make_bam(tmp_path / "u.bam", sort=False)
        parsed = self.parse_bam(project, tmp_path, django_capture_on_commit_callbacks, "u.bam", bam)
        assert parsed.parse_status == "done" and "index_status" not in parsed.stats
        with django_capture_on_commit_callbacks(execute=True):
            services.parse_file(make_file(project, "r.fastq", b"@r1\nACGT\n+\nIIII\n").id)
        assert queued == []
        assert services.index_file(parsed.id).stats == parsed.stats  # nothing pending: no-op

    def test_a_failed_build_is_recorded_and_the_parse_stays_done(
        self, project, tmp_path, queued, django_capture_on_commit_callbacks
    ):
        bam = make_missorted_bam(tmp_path / "m.bam")
        parsed = self.parse_bam(project, tmp_path, django_capture_on_commit_callbacks, "m.bam", bam)
        assert queued == [parsed.id]
        result = services.index_file(parsed.id)
        assert (result.parse_status, result.parse_error) == ("done", "")
        assert (result.stats["indexed"], result.stats["index_status"]) == (False, "failed")
        assert "no index could be built" in result.stats["index_error"]
        assert "\n" not in result.stats["index_error"]
        assert result.stats["reads"] == 3
        assert not bai_of(result).exists()
        assert not leftover_temporaries(result)

    def test_an_unexpected_error_is_recorded_too(
        self, project, tmp_path, queued, monkeypatch, django_capture_on_commit_callbacks
    ):
        from file_upload.parsers.bam import AlignmentParser

        def broken(self, path, stats):
            raise OSError("disk full\nmore")

        monkeypatch.setattr(AlignmentParser, "index", broken)
        parsed = self.parse_bam(project, tmp_path, django_capture_on_commit_callbacks)
        result = services.index_file(parsed.id)
        assert result.parse_status == "done"
        assert result.stats["index_status"] == "failed"
        assert result.stats["index_error"] == "no index could be built: disk full more"

    def test_status_is_running_during_the_build_and_a_newer_parse_wins(
        self, project, tmp_path, queued, monkeypatch, django_capture_on_commit_callbacks
    ):
        from file_upload.parsers.bam import AlignmentParser

        parsed = self.parse_bam(project, tmp_path, django_capture_on_commit_callbacks)
        seen = {}

        def superseded(self, path, stats):
            seen["status"] = File.objects.get(id=parsed.id).stats["index_status"]
            # meanwhile someone asked for a reparse
            File.objects.filter(id=parsed.id).update(parse_status="pending", parse_started_at=None)
            return {"indexed": True, "index_status": "done"}

        monkeypatch.setattr(AlignmentParser, "index", superseded)
        result = services.index_file(parsed.id)
        assert seen["status"] == "running"
        assert result.parse_status == "pending"
        assert result.stats["index_status"] == "running"  # the new parse rewrites the stats

    def test_reparse_queues_the_index_again(self, api, project, tmp_path, queued, django_capture_on_commit_callbacks):
        parsed = self.parse_bam(project, tmp_path, django_capture_on_commit_callbacks)
        services.index_file(parsed.id)
        assert bai_of(parsed).exists()
        bai_of(parsed).unlink()  # e.g. removed by hand on the server
        with django_capture_on_commit_callbacks(execute=True):
            assert api.post(f"/api/files/{parsed.id}/reparse/").status_code == 202
        with django_capture_on_commit_callbacks(execute=True):
            reparsed = services.parse_file(parsed.id)
        assert reparsed.stats["index_status"] == "pending"
        assert queued == [parsed.id, parsed.id]
        assert services.index_file(parsed.id).stats["indexed"] is True
        assert bai_of(parsed).exists()

    def test_stale_index_builds_are_requeued_by_the_sweep(
        self, project, tmp_path, queued, django_capture_on_commit_callbacks
    ):
        from file_upload.tasks import sweep_stale_parses_task

        now = timezone.now()
        waiting = self.parse_bam(project, tmp_path, django_capture_on_commit_callbacks, "w.bam")
        stuck = self.parse_bam(project, tmp_path, django_capture_on_commit_callbacks, "s.bam")
        fresh = self.parse_bam(project, tmp_path, django_capture_on_commit_callbacks, "f.bam")
        queued.clear()
        File.objects.filter(id=waiting.id).update(updated_at=now - timedelta(hours=1))
        File.objects.filter(id=stuck.id).update(
            stats={**stuck.stats, "index_status": "running"}, updated_at=now - timedelta(hours=3)
        )
        File.objects.filter(id=fresh.id).update(stats={**fresh.stats, "index_status": "running"})
        assert sorted(sweep_stale_parses_task.apply().get()) == sorted([waiting.id, stuck.id]) == sorted(queued)
        assert services.requeue_stale_indexes() == []  # claimed: not queued twice in a row
        assert services.index_file(stuck.id).stats["index_status"] == "done"


@pytest.mark.django_db
class TestReparseApi:
    def test_reparse_queues_and_audits(self, api, project, monkeypatch, django_capture_on_commit_callbacks):
        queued = []
        monkeypatch.setattr(services.queueing, "enqueue_parse", queued.append)
        file = make_file(project, "r.fastq", b"@r1\nACGT\n+\nIIII\n")
        services.parse_file(file.id)
        with django_capture_on_commit_callbacks(execute=True):
            response = api.post(f"/api/files/{file.id}/reparse/")
        assert response.status_code == 202
        assert response.json()["id"] == file.id
        assert File.objects.get(id=file.id).parse_status == "pending"
        assert queued == [file.id]
        assert AuditEvent.objects.filter(action="file.reparse", object_id=str(file.id)).exists()

    def test_viewers_may_not_reparse(self, client_for, bob, project):
        services.set_project_member(project, actor=project.owner, role="viewer", user=bob)
        file = make_file(project, "r.fastq", b"@r1\nACGT\n+\nIIII\n")
        assert client_for(bob).post(f"/api/files/{file.id}/reparse/").status_code == 403


@pytest.mark.django_db
class TestStaleSweep:
    def test_running_and_pending_stale_files_are_requeued(self, project, monkeypatch):
        queued = []
        monkeypatch.setattr(services.queueing, "enqueue_parse", queued.append)
        now = timezone.now()
        stale = make_file(project, "a.fastq")
        fresh = make_file(project, "b.fastq")
        waiting = make_file(project, "c.fastq")
        done = make_file(project, "d.fastq")
        File.objects.filter(id=stale.id).update(parse_status="running", parse_started_at=now - timedelta(hours=3))
        File.objects.filter(id=fresh.id).update(parse_status="running", parse_started_at=now)
        File.objects.filter(id=waiting.id).update(updated_at=now - timedelta(hours=1))
        File.objects.filter(id=done.id).update(parse_status="done", updated_at=now - timedelta(hours=1))
        ids = services.requeue_stale_parses(older_than=timedelta(hours=2))
        assert sorted(ids) == sorted([stale.id, waiting.id]) == sorted(queued)
        assert File.objects.get(id=stale.id).parse_status == "pending"
        assert File.objects.get(id=fresh.id).parse_status == "running"

    def test_a_superseded_run_does_not_write(self, project, monkeypatch):
        file = make_file(project, "g.fa", b">a\nAC\n")

        class Slow:
            formats = ("fasta",)

            def parse(self, path):
                # meanwhile the sweep re-queued it and another run started
                File.objects.filter(id=file.id).update(parse_started_at=timezone.now() + timedelta(seconds=5))
                return {"sequences": 1}

        monkeypatch.setattr(registry, "_PARSERS", {})
        registry.register(Slow())
        assert services.parse_file(file.id).parse_status == "running"

    def test_beat_schedules_the_sweep(self, settings):
        import file_upload.tasks  # noqa: F401  (registers the tasks)
        from file_project.celery import app

        entry = settings.CELERY_BEAT_SCHEDULE["sweep-stale-parses"]
        assert entry["task"] == "file_upload.sweep_stale_parses"
        assert "file_upload.sweep_stale_parses" in app.tasks
        assert settings.CELERY_TASK_REJECT_ON_WORKER_LOST is True
