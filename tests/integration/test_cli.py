"""The real ``biofm`` command line (clients/python) against a real gunicorn and a real Celery
worker: login and the token's precedence, a 200-file tree uploaded, killed half-way and finished
by a rerun with every SHA-256 equal, downloads resumed with Range, sync in both directions that
moves nothing the second time and deletes nothing without --delete, a sample sheet applied after
its dry-run diff, and the exit codes."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from authentication.services import issue_token
from file_upload.models import AccessLevel, File, Folder, Project
from file_upload.tests.factories import ProjectFactory
from tests.processes import ROOT

pytestmark = pytest.mark.django_db(transaction=True)

CLIENT_SRC = ROOT / "clients" / "python" / "src"


class Cli:
    def __init__(self, url: str, token: str, home: Path) -> None:
        self.env = {
            **os.environ,
            "PYTHONPATH": str(CLIENT_SRC),
            "BIOFM_URL": url,
            "BIOFM_TOKEN": token,
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_STATE_HOME": str(home / "state"),
            "COLUMNS": "200",
        }
        self.home = home

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "biofm", *args]

    def run(
        self, *args: str, input: str | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess:
        return subprocess.run(
            self.command(*args), env=env or self.env, input=input, capture_output=True, text=True, timeout=600
        )

    def json(self, *args: str, code: int = 0) -> object:
        done = self.run(*args, "--json")
        assert done.returncode == code, done.stderr + done.stdout
        return json.loads(done.stdout)


@pytest.fixture
def cli(gunicorn, upload_worker, alice, tmp_path) -> Cli:
    return Cli(gunicorn.url, issue_token(alice), tmp_path / "home")


@pytest.fixture
def project(alice):
    return ProjectFactory(name="Sequencing", owner=alice)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_tree(root: Path, count: int, seed: int = 7, big: int = 0) -> dict[str, str]:
    """``count`` files in nested folders (``big`` of them a few MiB); {relative path: sha256}."""
    rng = random.Random(seed)
    hashes = {}
    for i in range(count):
        rel = Path(f"run{i % 4}") / (f"lane{i % 3}" if i % 2 else "") / f"sample_{i:03d}.fastq"
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        size = 3 * 1024 * 1024 + rng.randrange(100_000) if i < big else rng.randrange(1, 60_000)
        path.write_bytes(rng.randbytes(size))
        hashes[rel.as_posix()] = sha(path)
    return hashes


def remote_tree(project: Project) -> dict[str, str]:
    """{path below the project: sha256} of the project's live files."""
    found = {}
    for file in File.objects.alive().filter(project=project).select_related("folder"):
        prefix = file.folder.name_path.strip("/") + "/" if file.folder else ""
        found[prefix + file.name] = file.sha256
    return found


def test_login_saves_the_token_and_the_environment_wins(cli, gunicorn, alice, bob, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]  # what the server checks
    alice.set_password("s3cret-pass!")
    alice.save()
    env = {k: v for k, v in cli.env.items() if k not in ("BIOFM_URL", "BIOFM_TOKEN")}
    done = cli.run("login", "--url", gunicorn.url, "-u", "alice", "--password-stdin", input="s3cret-pass!\n", env=env)
    assert done.returncode == 0, done.stderr
    config = cli.home / "config" / "biofm" / "config.json"
    assert oct(config.stat().st_mode & 0o777) == "0o600"
    assert json.loads(config.read_text())["token"] == issue_token(alice)
    who = subprocess.run(cli.command("whoami", "--json"), env=env, capture_output=True, text=True)
    assert json.loads(who.stdout)["username"] == "alice"
    as_bob = subprocess.run(
        cli.command("whoami", "--json"), env={**env, "BIOFM_TOKEN": issue_token(bob)}, capture_output=True, text=True
    )
    assert json.loads(as_bob.stdout)["username"] == "bob"
    wrong = cli.run("login", "--url", gunicorn.url, "-u", "alice", "--password-stdin", input="nope\n", env=env)
    assert wrong.returncode == 3, wrong.stderr
    gone = subprocess.run(cli.command("logout"), env=env, capture_output=True, text=True)
    assert gone.returncode == 0 and not config.exists()
    assert subprocess.run(cli.command("whoami"), env=env, capture_output=True, text=True).returncode == 3


@pytest.mark.timeout(900)  # 200 files twice through gunicorn and a worker: minutes on a busy 2-core machine
def test_upload_of_a_200_file_tree_killed_half_way_and_rerun(cli, project, tmp_path):
    tree = tmp_path / "reads"
    expected = make_tree(tree, 200, big=12)
    args = ("upload", str(tree) + "/", "--project", str(project.id), "--chunk-size", str(256 * 1024), "-j", "4")
    first = subprocess.Popen(cli.command(*args, "--quiet"), env=cli.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while File.objects.filter(project=project).count() < 40 and first.poll() is None:
        assert time.monotonic() < deadline, "the first run stored too few files"
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait()
    stored_before = File.objects.filter(project=project).count()
    assert 0 < stored_before < 200, "the kill should land half-way"
    pending = list((cli.home / "state" / "biofm" / "uploads").glob("*.json"))
    assert pending, "an upload in flight keeps its state on disk"

    results = cli.json(*args)
    statuses = [r["status"] for r in results]
    assert statuses.count("skipped") >= stored_before - 4  # stored before the kill (a few may still be verifying)
    assert "resumed" in statuses
    assert "failed" not in statuses
    assert remote_tree(project) == expected
    assert File.objects.filter(project=project).count() == 200  # nothing stored twice
    assert set(Folder.objects.filter(project=project).values_list("name_path", flat=True)) >= {
        "/run0",
        "/run1/lane1",
        "/run3/lane0",
    }
    assert not list((cli.home / "state" / "biofm" / "uploads").glob("*.json"))
    again = cli.json(*args)
    assert {r["status"] for r in again} == {"skipped"}


def test_upload_keeps_the_directory_name_and_refuses_a_different_file_of_the_same_name(cli, project, tmp_path):
    tree = tmp_path / "batch1"
    make_tree(tree, 3)
    assert cli.run("upload", str(tree), "--project", str(project.id)).returncode == 0
    assert set(remote_tree(project)) == {
        "batch1/run0/sample_000.fastq",
        "batch1/run1/lane1/sample_001.fastq",
        "batch1/run2/sample_002.fastq",
    }
    changed = tree / "run0" / "sample_000.fastq"
    changed.write_bytes(b"@r\nACGT\n+\nIIII\n")
    refused = cli.run("upload", str(tree), "--project", str(project.id), "--json")
    assert refused.returncode == 6, refused.stdout + refused.stderr
    statuses = {r["remote"]: r["status"] for r in json.loads(refused.stdout)}
    assert statuses["batch1/run0/sample_000.fastq"] == "failed"
    assert statuses["batch1/run2/sample_002.fastq"] == "skipped"
    skipped = cli.json("upload", str(tree), "--project", str(project.id), "--on-conflict", "skip")
    assert all(r["status"] == "skipped" for r in skipped)


def test_download_keeps_the_tree_resumes_a_part_and_checks_sha256(cli, project, tmp_path):
    tree = tmp_path / "src"
    expected = make_tree(tree, 6, big=2)
    assert cli.run("upload", str(tree) + "/", "--project", str(project.id)).returncode == 0
    dest = tmp_path / "copy"
    plan = cli.json("download", str(dest), "--project", str(project.id), "--dry-run")
    assert sorted(Path(p["path"]).relative_to(dest).as_posix() for p in plan) == sorted(expected)
    assert not dest.exists()
    big = next(rel for rel in expected if (tree / rel).stat().st_size > 1_000_000)
    part = dest / (big + ".biofm-part")
    part.parent.mkdir(parents=True)
    part.write_bytes((tree / big).read_bytes()[:1_000_000])
    results = cli.json("download", str(dest), "--project", str(project.id))
    by_path = {Path(r["path"]).relative_to(dest).as_posix(): r["status"] for r in results}
    assert by_path[big] == "resumed"
    assert {rel: sha(dest / rel) for rel in expected} == expected
    assert not list(dest.rglob("*.biofm-part"))
    again = cli.json("download", str(dest), "--project", str(project.id))
    assert {r["status"] for r in again} == {"skipped"}
    # A folder's own tree, and single files by id
    run1 = Folder.objects.get(project=project, name_path="/run1")
    sub = cli.json("download", str(tmp_path / "run1"), "--folder", str(run1.id))
    assert sorted(Path(r["path"]).relative_to(tmp_path / "run1").as_posix() for r in sub) == sorted(
        rel[len("run1/") :] for rel in expected if rel.startswith("run1/")
    )


def test_sync_twice_moves_nothing_the_second_time_and_deletes_only_when_asked(cli, project, tmp_path):
    local = tmp_path / "lab"
    expected = make_tree(local, 12)
    up = cli.json("sync", str(local), "--project", str(project.id))
    assert up["uploaded"] == 12
    second = cli.json("sync", str(local), "--project", str(project.id))
    assert (second["uploaded"], second["downloaded"], second["upload"], second["unchanged"]) == (0, 0, [], 12)
    assert remote_tree(project) == expected

    mirror = tmp_path / "mirror"
    down = cli.json("sync", str(mirror), "--project", str(project.id), "--down")
    assert down["downloaded"] == 12
    assert cli.json("sync", str(mirror), "--project", str(project.id), "--down")["downloaded"] == 0

    gone = sorted(expected)[0]
    (local / gone).unlink()
    kept = cli.json("sync", str(local), "--project", str(project.id))
    assert kept["kept"] == [gone] and kept["deleted"] == []
    assert gone in remote_tree(project)
    dry = cli.json("sync", str(local), "--project", str(project.id), "--delete", "--dry-run")
    assert dry["delete"] == [gone] and gone in remote_tree(project)
    deleted = cli.json("sync", str(local), "--project", str(project.id), "--delete")
    assert deleted["deleted"] == [gone]
    assert gone not in remote_tree(project)
    assert File.objects.filter(project=project, deleted_at__isnull=False).count() == 1  # in the trash


def test_meta_import_shows_the_diff_first_validates_and_applies(cli, project, bob, tmp_path):
    tree = tmp_path / "sheet"
    make_tree(tree, 4)
    assert cli.run("upload", str(tree) + "/", "--project", str(project.id)).returncode == 0
    sheet = tmp_path / "samples.tsv"
    sheet.write_text(
        "path\torganism\tassay_type\ttaxon_id\n"
        "run0/sample_000.fastq\tHomo sapiens\tRNA-seq\t9606\n"
        "sample_001.fastq\tMus musculus\twgs\t10090\n"
    )
    dry = cli.json("meta", "import", str(sheet), "--project", str(project.id))
    assert {(c["path"], c["field"], c["new"]) for c in dry["changes"]} == {
        ("run0/sample_000.fastq", "organism", "Homo sapiens"),
        ("run0/sample_000.fastq", "assay_type", "RNA-seq"),
        ("run0/sample_000.fastq", "taxon_id", 9606),
        ("run1/lane1/sample_001.fastq", "organism", "Mus musculus"),
        ("run1/lane1/sample_001.fastq", "assay_type", "WGS"),
        ("run1/lane1/sample_001.fastq", "taxon_id", 10090),
    }
    assert not File.objects.filter(project=project).exclude(organism="").exists()  # a dry run first

    shown = cli.run("meta", "import", str(sheet), "--project", str(project.id), "--apply")
    assert shown.returncode == 0, shown.stderr
    assert "Homo sapiens" in shown.stdout and "Updated 2 files" in shown.stdout
    mouse = File.objects.get(project=project, name="sample_001.fastq")
    assert (mouse.organism, mouse.assay_type, mouse.taxon_id) == ("Mus musculus", "WGS", 10090)

    bad = tmp_path / "bad.tsv"
    bad.write_text("path\tassay_type\nrun2/sample_002.fastq\tRNAseq\nmissing.fastq\tWGS\n")
    refused = cli.run("meta", "import", str(bad), "--project", str(project.id), "--apply")
    assert refused.returncode == 9
    assert "not one of" in refused.stdout and "no file “missing.fastq”" in refused.stdout
    assert File.objects.get(project=project, name="sample_002.fastq").assay_type == ""

    # The search sees the imported values; tables by default, the API's answer with --json
    found = cli.json("search", "--filter", "organism=Mus musculus", "--facets", "organism,assay_type")
    assert [f["name"] for f in found["results"]] == ["sample_001.fastq"]
    assert {v["value"] for v in found["facets"]["organism"]} == {"Homo sapiens", "Mus musculus"}
    table = cli.run("search", "sample", "--facets", "assay_type")
    assert table.returncode == 0 and "sample_000.fastq" in table.stdout and "RNA-seq" in table.stdout
    # Share the folder with bob
    run0 = Folder.objects.get(project=project, name_path="/run0")
    grant = cli.json("share", "--folder", str(run0.id), "--user", "bob", "--permission", "view")
    assert (grant["subject"], grant["permission"]) == ("bob", "view")
    from authentication.models import AccessGrant

    assert AccessGrant.objects.filter(subject_user=bob, folder=run0, permission="view").exists()


def test_exit_codes_mean_something(cli, project, bob, tmp_path):
    hidden = ProjectFactory(name="Hidden", owner=bob, access_level=AccessLevel.RESTRICTED)
    readable = ProjectFactory(name="Readable", owner=bob, access_level=AccessLevel.INTERNAL)
    one = tmp_path / "one.txt"
    one.write_text("hello\n")
    assert cli.run("upload", str(one), "--project", str(hidden.id)).returncode == 4
    assert cli.run("upload", str(one), "--project", str(readable.id)).returncode == 5
    assert cli.run("upload", str(tmp_path / "nothing"), "--project", str(project.id)).returncode == 4
    assert cli.run("ls", env={**cli.env, "BIOFM_TOKEN": "bad"}).returncode == 3
    assert cli.run("upload", "--project", "x").returncode == 2
    listed = cli.json("ls")
    assert {p["name"] for p in listed} == {"Sequencing", "Readable"}
    created = cli.json("app-password", "create", "laptop")
    assert len(created["password"]) > 30 and [i["name"] for i in cli.json("app-password", "list")] == ["laptop"]
