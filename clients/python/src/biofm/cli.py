"""``biofm``: the command line. Every command takes ``--json`` (machine-readable output on
stdout) and ``--quiet`` (no progress, only errors); exit codes are ``client.Exit``."""

from __future__ import annotations

import functools
import getpass
import json
import os
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn
from rich.table import Table

from . import meta as meta_module
from .client import ApiError, ChecksumMismatch, Client, Exit, forget_settings, load_settings, save_settings
from .transfer import (
    CHUNK,
    CONFLICT_CHOICES,
    PART,
    DownloadResult,
    HashCache,
    LocalFile,
    RemoteTree,
    Uploader,
    UploadResult,
    download,
    local_files,
    tree_files,
)

F = TypeVar("F", bound=Callable[..., Any])
err = Console(stderr=True)


class Output:
    def __init__(self, as_json: bool, quiet: bool) -> None:
        self.json = as_json
        self.quiet = quiet or as_json
        self.console = Console()

    def say(self, message: str) -> None:
        if not self.quiet:
            self.console.print(message, highlight=False)

    def emit(self, data: Any) -> None:
        click.echo(json.dumps(data, indent=2, default=str))

    def table(self, title: str, columns: list[str], rows: Iterable[Iterable[Any]]) -> None:
        table = Table(title=title or None, show_lines=False)
        for column in columns:
            table.add_column(column)
        for row in rows:
            table.add_row(*("" if v is None else str(v) for v in row))
        self.console.print(table)

    def listing(self, data: Any, title: str, columns: list[str], rows: Iterable[Iterable[Any]]) -> None:
        """``data`` as JSON with ``--json``, else ``rows`` as a table."""
        if self.json:
            self.emit(data)
        else:
            self.table(title, columns, rows)

    def progress(self, enabled: bool = True) -> Progress:
        return Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            disable=self.quiet or not enabled,
            transient=False,
        )


def output_options(func: F) -> F:
    @click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON on stdout.")
    @click.option("-q", "--quiet", is_flag=True, help="No progress bars or messages, only errors.")
    @functools.wraps(func)
    def wrapper(*args: Any, as_json: bool, quiet: bool, **kwargs: Any) -> Any:
        return func(*args, out=Output(as_json, quiet), **kwargs)

    return wrapper  # type: ignore[return-value]


def client() -> Client:
    settings = load_settings()
    if not settings.token:
        raise ApiError(401, "Not signed in: run `biofm login` or set BIOFM_TOKEN.", "not_signed_in")
    return Client(settings.url, settings.token)


def human(size: int | None) -> str:
    value = float(size or 0)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return str(size)


class BiofmGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ApiError as exc:
            err.print(f"[red]error:[/red] {exc}", highlight=False)
            sys.exit(int(exc.exit_code))
        except ChecksumMismatch as exc:
            err.print(f"[red]checksum mismatch:[/red] {exc}", highlight=False)
            sys.exit(int(Exit.CHECKSUM))
        except (FileNotFoundError, NotADirectoryError) as exc:
            err.print(f"[red]error:[/red] {exc}", highlight=False)
            sys.exit(int(Exit.NOT_FOUND))


@click.group(cls=BiofmGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option("0.1.0", prog_name="biofm")
def cli() -> None:
    """BioFileManager from the terminal. Sign in once with `biofm login`; BIOFM_URL and
    BIOFM_TOKEN in the environment take precedence over the saved login."""


# --- login ------------------------------------------------------------------------------------


@cli.command()
@click.option("--url", envvar="BIOFM_URL", help="The server, e.g. https://files.example.org")
@click.option("-u", "--username", help="Your user name (asked for when missing).")
@click.option("--token", help="Save this API token instead of signing in with a password.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@output_options
def login(url: str | None, username: str | None, token: str | None, password_stdin: bool, out: Output) -> None:
    """Sign in and keep the token in the user's config directory."""
    url = (url or load_settings().url or click.prompt("Server URL")).rstrip("/")
    if not token:
        username = username or click.prompt("Username")
        password = sys.stdin.readline().rstrip("\n") if password_stdin else getpass.getpass("Password: ")
        token = Client(url).login(username, password)
    me = Client(url, token).me()
    path = save_settings(url, token)
    if out.json:
        out.emit({"url": url, "username": me["username"], "config": str(path)})
    else:
        out.say(f"Signed in to {url} as {me['username']} (token saved in {path}).")


@cli.command()
@output_options
def logout(out: Output) -> None:
    """Forget the saved token."""
    removed = forget_settings()
    if out.json:
        out.emit({"removed": removed})
    else:
        out.say("Signed out." if removed else "No saved login.")


@cli.command()
@output_options
def whoami(out: Output) -> None:
    """Who the token belongs to."""
    me = client().me()
    if out.json:
        out.emit(me)
    else:
        click.echo(f"{me['username']} on {load_settings().url}")


# --- ls -----------------------------------------------------------------------------------------


@cli.command("ls")
@click.option("--project", "-p", type=int, help="List this project's folder (its root without --folder).")
@click.option("--folder", "-f", type=int, help="List this folder.")
@output_options
def ls(project: int | None, folder: int | None, out: Output) -> None:
    """Projects, or the folders and files of one folder."""
    api = client()
    if folder is not None and project is None:
        project = api.folder(folder)["project"]
    if project is None:
        projects = list(api.pages("/api/projects/"))
        out.listing(
            projects,
            "Projects",
            ["id", "name", "access", "role", "files", "size"],
            (
                [
                    p["id"],
                    p["name"],
                    p["access_level"],
                    p.get("my_role"),
                    p.get("file_count"),
                    human(p.get("total_size")),
                ]
                for p in projects
            ),
        )
        return
    folders = api.folders(project, folder)
    files = api.files_in(project, folder)
    if out.json:
        out.emit({"folders": folders, "files": files})
        return
    rows: list[list[Any]] = [[f["id"], "folder", f["name"] + "/", "", "", ""] for f in folders]
    rows += [
        [f["id"], "file", f["name"], human(f["size"]), (f.get("sha256") or "")[:12], f.get("effective_access_level")]
        for f in files
    ]
    out.table("", ["id", "kind", "name", "size", "sha256", "access"], rows)


# --- upload -------------------------------------------------------------------------------------


def _run_parallel(
    items: list[Any],
    work: Callable[[Any, Callable[[int], None]], Any],
    jobs: int,
    out: Output,
    label: str,
    total: int,
    fail: Callable[[Any, BaseException], Any],
) -> list[Any]:
    results: list[Any] = []
    with out.progress() as bar:
        task = bar.add_task(f"{label} 0/{len(items)}", total=total)
        done = 0

        def run(item: Any) -> Any:
            return work(item, lambda n: bar.advance(task, n))

        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = {pool.submit(run, item): item for item in items}
            for future in as_completed(futures):
                try:
                    result = future.result()
                except (ApiError, ChecksumMismatch, OSError) as exc:
                    result = fail(futures[future], exc)
                    bar.console.print(
                        f"[red]failed[/red] {result.path if hasattr(result, 'path') else ''}: {exc}", highlight=False
                    )
                results.append(result)
                done += 1
                bar.update(task, description=f"{label} {done}/{len(items)}")
    return results


def _exit_for(results: list[Any]) -> int:
    codes = [r.exit_code for r in results if r.exit_code]
    return codes[0] if codes else 0


def _code(exc: BaseException) -> int:
    if isinstance(exc, ApiError):
        return int(exc.exit_code)
    if isinstance(exc, ChecksumMismatch):
        return int(Exit.CHECKSUM)
    return int(Exit.ERROR)


def upload_files(
    api: Client,
    items: list[LocalFile],
    project: int,
    folder: int | None,
    *,
    on_conflict: str,
    jobs: int,
    chunk_size: int,
    out: Output,
    metadata: dict[str, str] | None = None,
) -> list[UploadResult]:
    tree = RemoteTree(api, project, folder)
    tree.load()
    hashes = HashCache()
    uploader = Uploader(api, tree, hashes, on_conflict=on_conflict, chunk_size=chunk_size, metadata=metadata)
    total = sum(item.size for item in items)

    def fail(item: LocalFile, exc: BaseException) -> UploadResult:
        return UploadResult(str(item.path), str(item.rel), "failed", error=str(exc), exit_code=_code(exc))

    try:
        return _run_parallel(items, uploader.upload, jobs, out, "upload", total, fail)
    finally:
        hashes.save()


def _report(out: Output, results: list[Any], verb: str) -> None:
    if out.json:
        out.emit([asdict(r) for r in results])
        return
    counts: dict[str, int] = {}
    for result in results:
        counts[result.status] = counts.get(result.status, 0) + 1
    out.say(", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or f"nothing to {verb}")


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--project", "-p", type=int, required=True, help="Target project id.")
@click.option("--folder", "-f", type=int, help="Target folder id (default: the project's root).")
@click.option(
    "--on-conflict",
    type=click.Choice(CONFLICT_CHOICES),
    default="refuse",
    show_default=True,
    help="When a different file already has the name: refuse (exit 6), skip, "
    "replace (the old one goes to the trash) or keep_both.",
)
@click.option("-j", "--jobs", type=int, default=4, show_default=True, help="Files sent at the same time.")
@click.option("--chunk-size", type=int, default=CHUNK, show_default=True, help="Bytes per PATCH request.")
@click.option("--meta", "meta_pairs", multiple=True, metavar="FIELD=VALUE", help="Metadata for every uploaded file.")
@output_options
def upload(
    paths: tuple[str, ...],
    project: int,
    folder: int | None,
    on_conflict: str,
    jobs: int,
    chunk_size: int,
    meta_pairs: tuple[str, ...],
    out: Output,
) -> None:
    """Upload files and directory trees (directories become folders; `dir/` uploads only its
    contents). Interrupted uploads resume where they stopped when run again; files already there
    with the same SHA-256 are skipped."""
    items = local_files(paths)
    metadata = dict(pair.split("=", 1) for pair in meta_pairs)
    results = upload_files(
        client(),
        items,
        project,
        folder,
        on_conflict=on_conflict,
        jobs=jobs,
        chunk_size=chunk_size,
        out=out,
        metadata=metadata,
    )
    _report(out, results, "upload")
    sys.exit(_exit_for(results))


# --- download -----------------------------------------------------------------------------------


def _download_all(api: Client, plan: list[tuple[dict[str, Any], Path]], jobs: int, out: Output) -> list[DownloadResult]:
    hashes = HashCache()

    def work(entry: tuple[dict[str, Any], Path], progress: Callable[[int], None]) -> DownloadResult:
        return download(api, entry[0], entry[1], progress, hashes)

    def fail(entry: tuple[dict[str, Any], Path], exc: BaseException) -> DownloadResult:
        return DownloadResult(entry[0]["id"], str(entry[1]), "failed", error=str(exc), exit_code=_code(exc))

    try:
        return _run_parallel(plan, work, jobs, out, "download", sum(int(f["size"]) for f, _ in plan), fail)
    finally:
        hashes.save()


def _plan_status(remote: dict[str, Any], dest: Path) -> str:
    if dest.is_file():
        return "overwrite" if dest.stat().st_size != remote["size"] else "check"
    if dest.with_name(dest.name + PART).is_file():
        return "resume"
    return "download"


@cli.command("download")
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@click.option("--project", "-p", type=int, help="Download this project (its whole tree, or --folder's).")
@click.option("--folder", "-f", type=int, help="Download this folder's tree.")
@click.option("--file", "file_ids", type=int, multiple=True, help="Download these files (repeat).")
@click.option(
    "--search",
    "search_query",
    help="Download a search result: a query string such as 'organism=Homo sapiens&assay_type=RNA-seq'.",
)
@click.option("-j", "--jobs", type=int, default=4, show_default=True)
@click.option("--dry-run", is_flag=True, help="Print what would be downloaded, download nothing.")
@output_options
def download_cmd(
    dest: Path,
    project: int | None,
    folder: int | None,
    file_ids: tuple[int, ...],
    search_query: str | None,
    jobs: int,
    dry_run: bool,
    out: Output,
) -> None:
    """Download files into DEST, keeping the folder structure; cut downloads resume, every
    file's SHA-256 is checked."""
    api = client()
    plan: list[tuple[dict[str, Any], Path]] = []
    if folder is not None and project is None:
        project = api.folder(folder)["project"]
    if project is not None:
        for rel, remote in sorted(RemoteTree(api, project, folder).files().items()):
            plan.append((remote, dest / Path(*rel.parts)))
    for file_id in file_ids:
        remote = api.get(f"/api/files/{file_id}/")
        plan.append((remote, dest / remote["name"]))
    if search_query:
        from urllib.parse import parse_qsl

        for remote in api.files(**dict(parse_qsl(search_query))):
            plan.append((remote, dest / remote["name"]))
    if not plan and project is None and not file_ids and not search_query:
        raise click.UsageError("Name what to download: --project, --folder, --file or --search.")
    if dry_run:
        rows = [
            {
                "file": r["id"],
                "path": str(p),
                "size": r["size"],
                "sha256": r.get("sha256"),
                "action": _plan_status(r, p),
            }
            for r, p in plan
        ]
        out.listing(
            rows,
            "Would download",
            ["file", "path", "size", "action"],
            ([r["file"], r["path"], human(r["size"]), r["action"]] for r in rows),
        )
        return
    results = _download_all(api, plan, jobs, out)
    _report(out, results, "download")
    sys.exit(_exit_for(results))


# --- sync ---------------------------------------------------------------------------------------


@cli.command()
@click.argument("local", type=click.Path(file_okay=False, path_type=Path))
@click.option("--project", "-p", type=int, required=True)
@click.option("--folder", "-f", type=int, help="The remote folder (default: the project's root).")
@click.option("--down", is_flag=True, help="Make LOCAL like the folder (default: the folder like LOCAL).")
@click.option(
    "--delete", is_flag=True, help="Also delete what the other side does not have (remote files go to the trash)."
)
@click.option("-j", "--jobs", type=int, default=4, show_default=True)
@click.option("--chunk-size", type=int, default=CHUNK, show_default=True)
@click.option("--dry-run", is_flag=True, help="Print the plan, change nothing.")
@output_options
def sync(
    local: Path,
    project: int,
    folder: int | None,
    down: bool,
    delete: bool,
    jobs: int,
    chunk_size: int,
    dry_run: bool,
    out: Output,
) -> None:
    """Make one side like the other, comparing files by path and SHA-256. Nothing is deleted
    without --delete."""
    api = client()
    if not down and not local.is_dir():
        raise FileNotFoundError(f"{local}: no such directory")
    local.mkdir(parents=True, exist_ok=True)
    tree = RemoteTree(api, project, folder)
    remote = tree.files()
    mine = tree_files(local)
    hashes = HashCache()
    send, fetch, remove, same = [], [], [], 0
    for rel in sorted(set(mine) | set(remote)):
        here, there = mine.get(rel), remote.get(rel)
        if here is not None and there is not None:
            if here.stat().st_size == there["size"] and hashes.sha256(here) == there.get("sha256"):
                same += 1
            elif down:
                fetch.append((there, here))
            else:
                send.append(LocalFile(here, rel))
        elif here is not None:
            if down:
                remove.append(("local", str(rel), here))
            else:
                send.append(LocalFile(here, rel))
        elif there is not None:
            if down:
                fetch.append((there, local / Path(*rel.parts)))
            else:
                remove.append(("remote", str(rel), there))
    hashes.save()
    plan = {
        "direction": "down" if down else "up",
        "upload": [str(i.rel) for i in send],
        "download": [str(PurePosixPath(*p.relative_to(local).parts)) for _, p in fetch],
        "delete": [name for _, name, _ in remove] if delete else [],
        "kept": [name for _, name, _ in remove] if not delete else [],
        "unchanged": same,
    }
    if dry_run:
        if out.json:
            out.emit(plan)
        else:
            for key in ("upload", "download", "delete"):
                for name in plan[key]:  # type: ignore[union-attr]
                    out.console.print(f"would {key} {name}", highlight=False)
            out.say(f"{plan['unchanged']} unchanged")
        return
    results: list[Any] = []
    if send:
        on_conflict = "replace"  # a path whose content differs is replaced (the old one to the trash)
        results += upload_files(
            api, send, project, folder, on_conflict=on_conflict, jobs=jobs, chunk_size=chunk_size, out=out
        )
    if fetch:
        results += _download_all(api, fetch, jobs, out)
    deleted = []
    if delete:
        for side, name, obj in remove:
            if side == "remote":
                api.delete(f"/api/files/{obj['id']}/")
            else:
                obj.unlink()
            deleted.append(name)
    summary = {
        **plan,
        "uploaded": sum(1 for r in results if isinstance(r, UploadResult) and r.status in ("uploaded", "resumed")),
        "downloaded": sum(
            1 for r in results if isinstance(r, DownloadResult) and r.status in ("downloaded", "resumed")
        ),
        "deleted": deleted,
        "failed": [asdict(r) for r in results if r.status == "failed"],
    }
    if out.json:
        out.emit(summary)
    else:
        out.say(
            f"{summary['uploaded']} uploaded, {summary['downloaded']} downloaded, {len(deleted)} deleted, "
            f"{same} unchanged"
            + (f", {len(plan['kept'])} kept (only on one side; --delete removes them)" if plan["kept"] else "")
        )
    sys.exit(_exit_for(results))


# --- search ---------------------------------------------------------------------------------------


@cli.command()
@click.argument("text", required=False)
@click.option(
    "--filter",
    "filters",
    multiple=True,
    metavar="FIELD=VALUE",
    help="A filter (repeat; same field twice = either value).",
)
@click.option("--facets", help="Fields to count, e.g. organism,assay_type.")
@click.option("--project", "-p", type=int)
@click.option("--limit", type=int, default=50, show_default=True)
@output_options
def search(
    text: str | None, filters: tuple[str, ...], facets: str | None, project: int | None, limit: int, out: Output
) -> None:
    """Faceted search over every file you may see."""
    params: list[tuple[str, Any]] = [("page_size", min(limit, 500))]
    if text:
        params.append(("q", text))
    if project is not None:
        params.append(("project", project))
    if facets:
        params.append(("facets", facets))
    for pair in filters:
        if "=" not in pair:
            raise click.UsageError(f"--filter {pair}: write FIELD=VALUE")
        params.append(tuple(pair.split("=", 1)))  # type: ignore[arg-type]
    data = client().request("GET", "/api/files/", params=params).json()
    if out.json:
        out.emit(data)
        return
    out.table(
        f"{data.get('count', len(data['results']))} files",
        ["id", "project", "name", "size", "organism", "assay_type"],
        (
            [f["id"], f["project"], f["name"], human(f["size"]), f.get("organism"), f.get("assay_type")]
            for f in data["results"][:limit]
        ),
    )
    for field, values in (data.get("facets") or {}).items():
        out.table(field, ["value", "count"], ([v.get("label") or v["value"], v["count"]] for v in values))


# --- meta -------------------------------------------------------------------------------------------


@cli.group()
def meta() -> None:
    """Describe files: one at a time, or a whole sample sheet."""


@meta.command("set")
@click.argument("file_id", type=int)
@click.argument("pairs", nargs=-1, required=True, metavar="FIELD=VALUE...")
@output_options
def meta_set(file_id: int, pairs: tuple[str, ...], out: Output) -> None:
    """Set metadata fields of one file (an empty value clears a field)."""
    api = client()
    changes = meta_module.parse_pairs(pairs, api.metadata_fields())
    updated = api.patch(f"/api/files/{file_id}/", changes)
    if out.json:
        out.emit(updated)
    else:
        out.say(f"{updated['name']}: " + ", ".join(f"{k}={updated.get(k)!r}" for k in changes))


@meta.command("import")
@click.argument("sheet", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--project", "-p", type=int, required=True)
@click.option("--folder", "-f", type=int, help="Match paths below this folder (default: the project's root).")
@click.option(
    "--apply", "apply_", is_flag=True, help="Apply the changes after showing the diff (without it: a dry run)."
)
@output_options
def meta_import(sheet: Path, project: int, folder: int | None, apply_: bool, out: Output) -> None:
    """Apply a TSV sample sheet: the first column names each file (a path below the folder, or a
    file name unique in the tree), the others are metadata fields. Every value is checked
    against the vocabularies; the diff is shown first and nothing changes without --apply."""
    api = client()
    plan = meta_module.plan_import(api, sheet, project, folder)
    if out.json and not apply_:
        out.emit(plan.as_dict())
    elif not out.json:
        meta_module.print_plan(out.console, plan)
    if plan.errors:
        sys.exit(int(Exit.INVALID))
    if not apply_:
        out.say("Dry run: nothing changed. Run again with --apply to write these values.")
        return
    applied = meta_module.apply(api, plan)
    if out.json:
        out.emit({**plan.as_dict(), "applied": applied})
    else:
        out.say(f"Updated {applied} files.")


# --- share, publish, ncbi -------------------------------------------------------------------------


@cli.command()
@click.option("--project", "-p", type=int)
@click.option("--folder", "-f", type=int)
@click.option("--file", "file_id", type=int)
@click.option("--user", help="Share with this user.")
@click.option("--group", help="Share with this group.")
@click.option("--permission", type=click.Choice(["view", "edit", "manage"]), default="view", show_default=True)
@output_options
def share(
    project: int | None,
    folder: int | None,
    file_id: int | None,
    user: str | None,
    group: str | None,
    permission: str,
    out: Output,
) -> None:
    """Grant a user or group a permission on a project, folder or file (and all below it)."""
    targets = [(k, v) for k, v in (("project", project), ("folder", folder), ("file", file_id)) if v is not None]
    if len(targets) != 1 or bool(user) == bool(group):
        raise click.UsageError("Give one of --project/--folder/--file and one of --user/--group.")
    object_type, object_id = targets[0]
    grant = client().post(
        "/api/grants/",
        {
            "subject_type": "user" if user else "group",
            "subject": user or group,
            "object_type": object_type,
            "object": object_id,
            "permission": permission,
        },
    )
    if out.json:
        out.emit(grant)
    else:
        out.say(f"{'user' if user else 'group'} {user or group} can now {permission} {object_type} {object_id}.")


@cli.command()
@click.argument("file_id", type=int)
@click.option("--wait/--no-wait", default=True, show_default=True, help="Wait until the viewer is ready.")
@click.option("--timeout", type=float, default=600, show_default=True)
@output_options
def publish(file_id: int, wait: bool, timeout: float, out: Output) -> None:
    """Publish an .h5ad file to the cellxgene viewer."""
    api = client()
    answer = api.post("/api/cellxgene/publish/", {"file": file_id})
    status = answer
    deadline = time.monotonic() + timeout
    while wait:
        status = api.get("/api/cellxgene/status/", file=file_id)
        state = (status.get("publication") or {}).get("status")
        if state in ("ready", "failed", "stopped"):
            break
        if time.monotonic() > deadline:
            raise ApiError(0, f"still {state} after {timeout:.0f} s", "timeout")
        time.sleep(1)
    if out.json:
        out.emit(status)
        return
    publication = status.get("publication") or {}
    if publication.get("status") == "failed":
        err.print(f"[red]failed:[/red] {publication.get('error')}")
        sys.exit(int(Exit.ERROR))
    out.say(f"{answer['dataset']}: {publication.get('status', answer.get('status'))} — {api.url}{answer['url']}")


@cli.group()
def ncbi() -> None:
    """NCBI records and SRA reads."""


@ncbi.command("import")
@click.argument("link")
@click.option("--project", "-p", type=int)
@click.option("--folder", "-f", type=int)
@click.option("--wait/--no-wait", default=True, show_default=True, help="Wait for background (SRA) downloads.")
@click.option("--timeout", type=float, default=3600, show_default=True)
@output_options
def ncbi_import(link: str, project: int | None, folder: int | None, wait: bool, timeout: float, out: Output) -> None:
    """Import an NCBI/ENA link or accession into a folder or a project's root."""
    if (project is None) == (folder is None):
        raise click.UsageError("Give --project or --folder.")
    api = client()
    body: dict[str, Any] = {"url": link, **({"parent_folder": folder} if folder is not None else {"project": project})}
    result = api.post("/api/files/ncbi/import/", body)
    deadline = time.monotonic() + timeout
    while wait and result.get("status") in ("pending", "downloading"):
        if time.monotonic() > deadline:
            raise ApiError(0, f"still {result['status']} after {timeout:.0f} s", "timeout")
        time.sleep(2)
        result = api.request("GET", result["status_url"]).json()
    if out.json:
        out.emit(result)
    else:
        out.say(f"{result['accession']} ({result['kind']}): {result['status']}; files {result.get('files') or []}")
    if result.get("status") == "failed":
        sys.exit(int(Exit.ERROR))


@cli.group("app-password")
def app_password() -> None:
    """App passwords for WebDAV clients (Finder, Explorer, rclone, davfs2)."""


@app_password.command("create")
@click.argument("name")
@output_options
def app_password_create(name: str, out: Output) -> None:
    """Create one; the password is printed once."""
    created = client().post("/api/auth/app-passwords/", {"name": name})
    if out.json:
        out.emit(created)
    else:
        click.echo(created["password"])
        out.say(
            f"App password “{created['name']}” (id {created['id']}): "
            f"use it with your user name at {load_settings().url}/dav/"
        )


@app_password.command("list")
@output_options
def app_password_list(out: Output) -> None:
    items = client().get("/api/auth/app-passwords/")
    out.listing(
        items,
        "App passwords",
        ["id", "name", "created", "last used"],
        ([i["id"], i["name"], i["created_at"], i["last_used_at"]] for i in items),
    )


@app_password.command("revoke")
@click.argument("password_id", type=int)
@output_options
def app_password_revoke(password_id: int, out: Output) -> None:
    client().delete(f"/api/auth/app-passwords/{password_id}/")
    out.say(f"Revoked app password {password_id}.")


def main() -> None:
    os.environ.setdefault("PYTHONIOENCODING", "utf-8")
    cli(prog_name="biofm")


if __name__ == "__main__":
    main()
