"""WebDAV at /dav/ against a real gunicorn (and a real Celery worker for the parsing that stored
files queue): the litmus suite's basic, copymove, props and locks groups, rclone copying a tree
up and down with equal checksums, and the gate: a hidden project is absent from PROPFIND, a PUT
into a read-only folder is 403, credentials are a token or an app password (never a session),
failed app-password sign-ins lock the pair out like the API's. rclone runs on both storage
backends; litmus (49 s here, 77 s against the object store) on the local disk only, since
webdav/tests/test_dav.py runs DAV's writes, COPY and MOVE on both."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import requests

from authentication.models import AccessGrant, AuditEvent
from authentication.services import issue_token
from file_upload.models import AccessLevel, File, Role
from file_upload.tests.factories import ProjectFactory, make_folder
from webdav.services import create_app_password

pytestmark = pytest.mark.django_db(transaction=True)

PROPFIND = b'<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:displayname/></d:prop></d:propfind>'


@pytest.fixture
def lab(alice):
    return ProjectFactory(name="Lab", owner=alice, access_level=AccessLevel.INTERNAL)


@pytest.fixture
def alice_password(alice):
    return create_app_password(alice, "tests")[1]


def hrefs(body: str) -> list[str]:
    return re.findall(r"<(?:\w+:)?href>([^<]+)</(?:\w+:)?href>", body)


def litmus_summary(output: str) -> dict[str, tuple[int, int]]:
    """{group: (run, failed)} from litmus's summary lines."""
    found = {}
    for group, run, failed in re.findall(r"summary for `(\w+)': of (\d+) tests run: \d+ passed, (\d+) failed", output):
        found[group] = (int(run), int(failed))
    return found


@pytest.mark.skipif(shutil.which("litmus") is None, reason="Debian package litmus is not installed")
def test_litmus_basic_copymove_props_locks(gunicorn, upload_worker, lab, alice_password, tmp_path):
    done = subprocess.run(
        ["litmus", "--keep-going", f"{gunicorn.url}/dav/Lab/", "alice", alice_password],
        env={"TESTS": "basic copymove props locks", "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,  # litmus writes debug.log and child.log into its working directory
        capture_output=True,
        text=True,
        timeout=600,
    )
    summary = litmus_summary(done.stdout)
    assert set(summary) == {"basic", "copymove", "props", "locks"}, done.stdout[-3000:]
    assert all(failed == 0 for _, failed in summary.values()), done.stdout[-6000:]
    assert done.returncode == 0, done.stdout[-3000:]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.skipif(shutil.which("rclone") is None, reason="Debian package rclone is not installed")
def test_rclone_copies_a_tree_up_and_down_with_equal_checksums(
    storage_backend, gunicorn, upload_worker, lab, alice_password, tmp_path
):
    source = tmp_path / "up"
    for i in range(12):
        path = source / f"run{i % 3}" / ("nested" if i % 2 else "") / f"reads_{i}.fq"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(hashlib.sha256(str(i).encode()).digest() * (1000 + i * 997))
    # On stdin: a password starting with "-" would be read as an option.
    obscured = subprocess.run(
        ["rclone", "obscure", "-"], input=alice_password, capture_output=True, text=True, check=True
    ).stdout.strip()
    remote = [
        "--webdav-url",
        f"{gunicorn.url}/dav/",
        "--webdav-user",
        "alice",
        "--webdav-pass",
        obscured,
        "--config",
        str(tmp_path / "rclone.conf"),
    ]
    up = subprocess.run(
        ["rclone", "copy", str(source), ":webdav:Lab/incoming", *remote], capture_output=True, text=True, timeout=300
    )
    assert up.returncode == 0, up.stderr
    expected = {p.relative_to(source).as_posix(): sha(p) for p in source.rglob("*") if p.is_file()}
    stored = {
        (f.folder.name_path.removeprefix("/incoming/") + "/" if f.folder.name_path != "/incoming" else "")
        + f.name: f.sha256
        for f in File.objects.alive().filter(project=lab).select_related("folder")
    }
    assert stored == expected
    down = tmp_path / "down"
    got = subprocess.run(
        ["rclone", "copy", ":webdav:Lab/incoming", str(down), *remote], capture_output=True, text=True, timeout=300
    )
    assert got.returncode == 0, got.stderr
    assert {p.relative_to(down).as_posix(): sha(p) for p in down.rglob("*") if p.is_file()} == expected
    check = subprocess.run(
        ["rclone", "check", str(source), ":webdav:Lab/incoming", *remote, "--download"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert check.returncode == 0, check.stderr


def test_the_gate_decides_what_webdav_shows_and_allows(gunicorn, alice, bob, lab, tmp_path):
    ProjectFactory(name="Hidden", owner=alice, access_level=AccessLevel.RESTRICTED)
    ProjectFactory(name="Shared", owner=alice, access_level=AccessLevel.RESTRICTED, members={bob: Role.VIEWER})
    readonly = make_folder(lab, "readonly")
    bob_auth = {"Authorization": f"Token {issue_token(bob)}"}
    listing = requests.request("PROPFIND", f"{gunicorn.url}/dav/", headers={**bob_auth, "Depth": "1"}, data=PROPFIND)
    assert listing.status_code == 207
    names = {h.rstrip("/").rsplit("/", 1)[-1] for h in hrefs(listing.text)}
    assert {"Lab", "Shared"} <= names and "Hidden" not in names
    assert (
        requests.request("PROPFIND", f"{gunicorn.url}/dav/Hidden/", headers={**bob_auth, "Depth": "0"}).status_code
        == 404
    )
    refused = requests.put(f"{gunicorn.url}/dav/Lab/readonly/notes.txt", headers=bob_auth, data=b"hello")
    assert refused.status_code == 403
    assert requests.put(f"{gunicorn.url}/dav/Shared/notes.txt", headers=bob_auth, data=b"hello").status_code == 403
    assert not File.objects.filter(name="notes.txt").exists()
    # With an edit grant on the folder the same PUT is stored (audited, hashed)
    AccessGrant.objects.create(subject_user=bob, object_type="folder", project=lab, folder=readonly, permission="edit")
    stored = requests.put(f"{gunicorn.url}/dav/Lab/readonly/notes.txt", headers=bob_auth, data=b"hello")
    assert stored.status_code == 201, stored.text
    file = File.objects.get(name="notes.txt")
    assert (file.sha256, file.owner_id, file.folder_id) == (hashlib.sha256(b"hello").hexdigest(), bob.id, readonly.id)
    assert AuditEvent.objects.filter(action="file.upload", object_id=str(file.id)).exists()
    ranged = requests.get(f"{gunicorn.url}/dav/Lab/readonly/notes.txt", headers={**bob_auth, "Range": "bytes=1-3"})
    assert (ranged.status_code, ranged.content) == (206, b"ell")
    # DELETE sends the file to the trash (bob owns it and may edit there)
    assert requests.delete(f"{gunicorn.url}/dav/Lab/readonly/notes.txt", headers=bob_auth).status_code == 204
    file.refresh_from_db()
    assert file.deleted_at is not None


def test_credentials_token_or_app_password_never_a_session(gunicorn, alice, lab, settings):
    url = f"{gunicorn.url}/dav/"
    answer = requests.request("PROPFIND", url, headers={"Depth": "0"})
    assert answer.status_code == 401 and answer.headers["WWW-Authenticate"].startswith("Basic")
    secret = create_app_password(alice, "laptop")[1]
    assert requests.request("PROPFIND", url, auth=("alice", secret), headers={"Depth": "0"}).status_code == 207
    # The account's own password is not an app password
    assert requests.request("PROPFIND", url, auth=("alice", "s3cret-pass!"), headers={"Depth": "0"}).status_code == 401
    session = requests.Session()
    session.get(f"{gunicorn.url}/api/auth/csrf/")
    assert session.request("PROPFIND", url, headers={"Depth": "0"}).status_code == 401
    for _ in range(5):
        requests.request("PROPFIND", url, auth=("alice", "wrong"), headers={"Depth": "0"})
    locked = requests.request("PROPFIND", url, auth=("alice", secret), headers={"Depth": "0"})
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    assert AuditEvent.objects.filter(action="auth.lockout").exists()


def test_app_password_api(api, alice, bob, client_for):
    created = api.post("/api/auth/app-passwords/", {"name": "Finder"}, format="json")
    assert created.status_code == 201 and len(created.data["password"]) > 30
    listed = api.get("/api/auth/app-passwords/")
    assert [item["name"] for item in listed.data] == ["Finder"] and "password" not in listed.data[0]
    as_bob = client_for(bob)
    others = as_bob.delete(f"/api/auth/app-passwords/{created.data['id']}/")
    missing = as_bob.delete("/api/auth/app-passwords/999999/")
    assert (others.status_code, others.json()) == (missing.status_code, missing.json()) == (404, missing.json())
    assert api.delete(f"/api/auth/app-passwords/{created.data['id']}/").status_code == 204
    assert api.get("/api/auth/app-passwords/").data == []
