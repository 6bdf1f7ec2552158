"""SRA imports: run info at once, FASTQ files in the task (verified, capped, all or nothing),
and one run on a real Celery worker."""

from __future__ import annotations

import gzip
import hashlib
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from authentication.models import AuditEvent
from file_upload import storage
from file_upload.models import File
from file_upload.tests.factories import ProjectFactory, make_file, make_folder, stored_keys
from ncbi_bridge import services
from ncbi_bridge.models import NcbiImport
from ncbi_bridge.tasks import import_ncbi_record_task
from tests.fake_ncbi import RUNS_BY_ACC
from tests.processes import CeleryWorker, worker_env

ROOT = Path(__file__).resolve().parents[2]


def start_sra(api, folder, text, monkeypatch, capture) -> dict:
    queued: list[int] = []
    monkeypatch.setattr("ncbi_bridge.tasks.import_ncbi_record_task.delay", queued.append)
    with capture(execute=True):
        response = api.post("/api/files/ncbi/import/", {"url": text, "parent_folder": folder.id}, format="json")
    assert response.status_code == 202, response.json()
    assert queued == [response.json()["id"]]
    return response.json()


def stored_blobs() -> list[str]:
    return stored_keys()


def leftovers() -> list[Path]:
    return list(Path(settings.UPLOAD_TMP_DIR).glob("*.part"))


@pytest.mark.django_db
@pytest.mark.usefixtures("storage_backend")
class TestSraTask:
    def test_paired_run_is_downloaded_verified_and_stored(
        self, api, folder, fake_ncbi, monkeypatch, django_capture_on_commit_callbacks
    ):
        data = start_sra(api, folder, "SRR25056225", monkeypatch, django_capture_on_commit_callbacks)
        assert import_ncbi_record_task(data["id"]) == "done"
        row = NcbiImport.objects.get(id=data["id"])
        files = list(File.objects.filter(id__in=row.file_ids).order_by("name"))
        assert [f.name for f in files] == ["SRR25056225_1.fastq.gz", "SRR25056225_2.fastq.gz"]
        run = RUNS_BY_ACC["SRR25056225"]
        for file, mate in zip(files, (1, 2), strict=True):
            assert file.md5 == hashlib.md5(run.content(mate)).hexdigest()
            assert file.size == len(run.content(mate))
            assert file.upload_method == "ncbi import"
            assert (file.assay_type, file.platform, file.library_layout) == ("scRNA-seq", "Illumina", "paired")
            assert (file.organism, file.taxon_id, file.sra_accession) == ("Mus musculus", 10090, "SRR25056225")
            assert (file.bioproject_accession, file.biosample_accession) == ("PRJNA988806", "SAMN36028297")
            assert (file.data_type, file.instrument_model, file.read_length) == (
                "raw reads",
                "Illumina NovaSeq 6000",
                50,
            )
        status = api.get("/api/files/ncbi/import/SRR25056225/status/").json()
        assert status["status"] == "done" and status["file"] == files[0].id
        assert status["files"] == [f.id for f in files]
        assert status["progress"]["percent"] == 100 and status["progress"]["bytes"] == sum(f.size for f in files)
        statuses = [e.details["status"] for e in AuditEvent.objects.filter(action="ncbi.import").order_by("id")]
        assert statuses == ["pending", "done"]
        assert not leftovers()

    def test_single_end_nanopore_run(self, api, folder, monkeypatch, django_capture_on_commit_callbacks):
        data = start_sra(api, folder, "https://www.ncbi.nlm.nih.gov/sra/SRR1972976", monkeypatch,
                         django_capture_on_commit_callbacks)  # fmt: skip
        assert data["metadata"]["platform"] == "ONT" and data["metadata"]["library_layout"] == "single"
        assert import_ncbi_record_task(data["id"]) == "done"
        file = File.objects.get()
        assert file.name == "SRR1972976.fastq.gz" and file.assay_type == "WGS"

    def test_md5_mismatch_fails_and_keeps_nothing(
        self, api, folder, fake_ncbi, monkeypatch, django_capture_on_commit_callbacks
    ):
        data = start_sra(api, folder, "SRR9990001", monkeypatch, django_capture_on_commit_callbacks)
        assert import_ncbi_record_task(data["id"]) == "failed"
        row = NcbiImport.objects.get(id=data["id"])
        assert "does not match" in row.error and row.file is None and row.file_ids == []
        assert len(fake_ncbi.calls("SRR9990001_1.fastq.gz")) == 1  # the good mate was downloaded first
        assert not File.objects.exists() and not stored_blobs() and not leftovers()
        event = AuditEvent.objects.filter(action="ncbi.import").order_by("id").last()
        assert event.details["status"] == "failed" and event.details["code"] == "checksum_mismatch"

    def test_size_cap_fails_before_downloading(
        self, api, folder, fake_ncbi, settings, monkeypatch, django_capture_on_commit_callbacks
    ):
        settings.NCBI_SRA_MAX_BYTES = 500
        data = start_sra(api, folder, "SRR25056225", monkeypatch, django_capture_on_commit_callbacks)
        assert import_ncbi_record_task(data["id"]) == "failed"
        row = NcbiImport.objects.get(id=data["id"])
        assert "NCBI_SRA_MAX_BYTES" in row.error and "nothing was downloaded" in row.error
        assert not fake_ncbi.calls(".fastq.gz")
        assert not File.objects.exists() and not stored_blobs() and not leftovers()

    def test_cap_reached_while_streaming_keeps_nothing(
        self, api, folder, settings, monkeypatch, django_capture_on_commit_callbacks
    ):
        settings.NCBI_SRA_MAX_BYTES = 100  # the fallback endpoint announces no size
        data = start_sra(api, folder, "SRR9990002", monkeypatch, django_capture_on_commit_callbacks)
        assert import_ncbi_record_task(data["id"]) == "failed"
        assert "grew past the limit" in NcbiImport.objects.get(id=data["id"]).error
        assert not File.objects.exists() and not stored_blobs() and not leftovers()

    def test_cap_used_up_by_the_first_file_stops_before_the_second(
        self, api, folder, fake_ncbi, settings, monkeypatch, django_capture_on_commit_callbacks
    ):
        # Sizes unannounced (as from the fallback endpoint): the first mate fills the cap exactly,
        # and the second must not be fetched without a limit.
        from dataclasses import replace

        real = services._remote_files
        monkeypatch.setattr(services, "_remote_files", lambda row, ena: [replace(r, size=None) for r in real(row, ena)])
        settings.NCBI_SRA_MAX_BYTES = len(RUNS_BY_ACC["SRR25056225"].content(1))
        data = start_sra(api, folder, "SRR25056225", monkeypatch, django_capture_on_commit_callbacks)
        assert import_ncbi_record_task(data["id"]) == "failed"
        assert "NCBI_SRA_MAX_BYTES" in NcbiImport.objects.get(id=data["id"]).error
        assert not fake_ncbi.calls("SRR25056225_2.fastq.gz")
        assert not File.objects.exists() and not stored_blobs() and not leftovers()

    def test_run_missing_from_ena_comes_from_the_sra_reads_endpoint(
        self, api, folder, fake_ncbi, monkeypatch, django_capture_on_commit_callbacks
    ):
        data = start_sra(api, folder, "SRR9990002", monkeypatch, django_capture_on_commit_callbacks)
        assert import_ncbi_record_task(data["id"]) == "done"
        file = File.objects.get()
        assert file.name == "SRR9990002.fastq.gz" and file.platform == "MGI" and file.assay_type == "WES"
        with storage.open_blob(file.storage_key) as handle:
            assert gzip.decompress(handle.read()).startswith(b"@SRR9990002.1 1\n")
        assert fake_ncbi.calls("sra-reads-be/fastq")[0][2] == {"acc": "SRR9990002"}

    def test_download_error_then_success(self, api, folder, fake_ncbi, monkeypatch, django_capture_on_commit_callbacks):
        fake_ncbi.fail_next("SRR25056225_2.fastq.gz", 503)
        data = start_sra(api, folder, "SRR25056225", monkeypatch, django_capture_on_commit_callbacks)
        assert import_ncbi_record_task(data["id"]) == "done"
        assert len(fake_ncbi.calls("SRR25056225_2.fastq.gz")) == 2

    def test_name_clash_stores_nothing(self, api, folder, monkeypatch, django_capture_on_commit_callbacks):
        data = start_sra(api, folder, "SRR25056225", monkeypatch, django_capture_on_commit_callbacks)
        make_file(folder.project, "SRR25056225_2.fastq.gz", b"mine", folder=folder)
        assert import_ncbi_record_task(data["id"]) == "failed"
        assert "already exists" in NcbiImport.objects.get(id=data["id"]).error
        assert File.objects.count() == 1 and len(stored_blobs()) == 1 and not leftovers()

    def test_unknown_run_is_404_at_once(self, api, folder):
        response = api.post("/api/files/ncbi/import/", {"url": "SRR0000000", "parent_folder": folder.id})
        assert response.status_code == 404 and response.json()["status"] == "failed"

    def test_reimport_while_pending_returns_the_same_import(
        self, api, folder, monkeypatch, django_capture_on_commit_callbacks
    ):
        data = start_sra(api, folder, "SRR25056225", monkeypatch, django_capture_on_commit_callbacks)
        again = api.post("/api/files/ncbi/import/", {"url": "SRR25056225", "parent_folder": folder.id})
        assert again.status_code == 200 and again.json()["id"] == data["id"]
        import_ncbi_record_task(data["id"])
        done = api.post("/api/files/ncbi/import/", {"url": "SRR25056225", "parent_folder": folder.id})
        assert done.status_code == 200 and done.json()["files"] == NcbiImport.objects.get().file_ids
        assert File.objects.count() == 2

    def test_a_lost_download_is_swept_and_a_new_import_starts_afresh(
        self, api, folder, monkeypatch, django_capture_on_commit_callbacks
    ):
        data = start_sra(api, folder, "SRR25056225", monkeypatch, django_capture_on_commit_callbacks)
        fresh = services.sweep_stale_imports()
        assert fresh == [] and NcbiImport.objects.get().status == "pending"
        # The worker died: nothing has moved the row for longer than NCBI_IMPORT_STALE_SECONDS.
        long_ago = timezone.now() - timedelta(seconds=settings.NCBI_IMPORT_STALE_SECONDS + 5)
        NcbiImport.objects.filter(id=data["id"]).update(status="downloading", updated_at=long_ago)
        assert services.sweep_stale_imports() == [data["id"]]
        row = NcbiImport.objects.get()
        assert row.status == "failed" and "worker was lost" in row.error
        event = AuditEvent.objects.filter(action="ncbi.import").order_by("id").last()
        assert event.details["code"] == "stale" and event.actor_username == "system"
        # Importing again queues a new download instead of returning the dead one.
        again = start_sra(api, folder, "SRR25056225", monkeypatch, django_capture_on_commit_callbacks)
        assert again["id"] == data["id"] and NcbiImport.objects.get().status == "pending"
        assert import_ncbi_record_task(again["id"]) == "done"

    def test_a_stalled_row_is_not_handed_out_as_in_progress(
        self, api, folder, monkeypatch, django_capture_on_commit_callbacks
    ):
        data = start_sra(api, folder, "SRR25056225", monkeypatch, django_capture_on_commit_callbacks)
        long_ago = timezone.now() - timedelta(seconds=settings.NCBI_IMPORT_STALE_SECONDS + 5)
        NcbiImport.objects.filter(id=data["id"]).update(status="downloading", updated_at=long_ago)
        again = start_sra(api, folder, "SRR25056225", monkeypatch, django_capture_on_commit_callbacks)
        assert again["status"] == "pending"


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_sra_import_on_a_real_worker(alice, data_dirs, tmp_path, fake_ncbi, monkeypatch):
    queue = f"biofm-ncbi-{uuid.uuid4().hex[:8]}"
    project = ProjectFactory(name="Worker NCBI", owner=alice)
    folder = make_folder(project, "reads")
    monkeypatch.setattr(services, "_enqueue", lambda import_id: None)
    result = services.start_import(user=alice, text="SRR25056225", project=project, folder=folder)
    row = result.ncbi_import
    assert row.status == "pending"

    with CeleryWorker(worker_env(data_dirs, **fake_ncbi.env()), tmp_path / "worker.log", queue=queue) as worker:
        import_ncbi_record_task.apply_async(args=[row.id], queue=queue)
        worker.wait_for(row, lambda r: r.status in ("done", "failed"))
        assert row.status == "done", f"{row.error}\n{worker.log()}"
        assert "succeeded" in worker.wait_for_log("succeeded")
    files = File.objects.filter(id__in=row.file_ids).order_by("name")
    assert [f.name for f in files] == ["SRR25056225_1.fastq.gz", "SRR25056225_2.fastq.gz"]
    assert all(f.sra_accession == "SRR25056225" and f.folder_id == folder.id for f in files)
    assert len(fake_ncbi.calls(".fastq.gz")) == 2
