"""The pool of cellxgene viewers: one process per published dataset, on demand.

Design (an LRU cache of processes with an idle TTL, like cellxgene-gateway's, but with its state
in the database so any web or worker process can answer, and behind our login):

- Ports come from ``CELLXGENE_PORT_RANGE``; one ``Viewer`` row per port records the process
  there (publication, pid, host, node, status, last use, measured RSS, its own log file).
- ``launch(publication)`` takes the pool's lease (a short one, on the range's first row) only to
  decide: it marks the least recently used ready viewers ``stopping`` while the pool holds
  ``CELLXGENE_MAX_VIEWERS`` already, and claims the first port of the range that no viewer
  holds and no other program is bound to (a port in use is skipped). Outside the lease it
  signals the evicted processes, starts cellxgene and waits until ``/api/v0.2/config`` names the
  dataset; a slow start never blocks other launches. Once ready its RSS is measured: over
  ``CELLXGENE_MAX_RSS_MB`` it is stopped and the publication fails; over
  ``CELLXGENE_MAX_TOTAL_RSS_MB`` for the whole pool, the least recently used others stop.
- ``sweep()`` (the watchdog beat task) works on the viewers of its own node: it signals those
  marked ``stopping``, marks dead ones failed (their publication is then ``stopped``: the next
  request starts it again), measures RSS and stops viewers over the limit or unused for
  ``CELLXGENE_IDLE_SECONDS``.
- A process is only ever signalled when its command line shows it is ``cellxgene launch`` on the
  recorded port: a recycled PID belongs to someone else.

Evicted and idle viewers keep their copy of the dataset, so reopening one starts at once; a
viewer stopped by hand (``stop(..., remove_copy=True)``) gives its copy up.

Public surface: ``port_range``, ``lease``, ``launch``, ``stop``, ``stop_all``, ``sweep``,
``viewer_for``, ``touch``, ``mark_crashed``, ``viewer_base``, ``process_rss_mb``,
``is_our_process``, ``pid_alive``, ``port_free``, ``terminate``, ``log_path_for``, ``log_tail``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from authentication import audit
from file_project import leases

from .h5ad import PublishError
from .models import Publication, PublicationStatus, Viewer, ViewerStatus

log = logging.getLogger(__name__)

LOG_TAIL_LINES = 25
STOP_GRACE_SECONDS = 10
LEASE_SECONDS = 120
# A proxied request records the viewer's use at most this often (one UPDATE, not one per asset).
TOUCH_EVERY = timedelta(seconds=15)
HOLDING = (ViewerStatus.STARTING, ViewerStatus.READY, ViewerStatus.STOPPING)  # a port taken


# A viewer that cannot start (one error for "this publication cannot go on", h5ad.PublishError).
PoolError = PublishError


class NoFreePort(PoolError):
    """Every port of the range is held by a viewer or cannot be bound now."""


def node_name() -> str:
    return socket.gethostname()


def port_range() -> list[int]:
    """The ports of ``CELLXGENE_PORT_RANGE`` ("5005-5024", or one port), in order."""
    text = str(settings.CELLXGENE_PORT_RANGE).strip()
    first, _, last = text.partition("-")
    try:
        low, high = int(first), int(last or first)
    except ValueError as exc:
        raise ImproperlyConfigured(f"CELLXGENE_PORT_RANGE must look like 5005-5024, not {text!r}") from exc
    if not 0 < low <= high < 65536:
        raise ImproperlyConfigured(f"CELLXGENE_PORT_RANGE {text!r} is not a range of ports")
    return list(range(low, high + 1))


# --- the lease --------------------------------------------------------------------------------


@contextlib.contextmanager
def lease(wait_seconds: float = 30.0) -> Iterator[str]:
    """The pool's lease (on the range's first row): one process at a time chooses ports and
    evictions, across workers and nodes, without a transaction held open. Held for moments."""
    first = port_range()[0]
    Viewer.objects.get_or_create(port=first, defaults={"host": settings.CELLXGENE_HOST})
    with leases.hold(
        Viewer.objects.filter(port=first),
        seconds=LEASE_SECONDS,
        wait_seconds=wait_seconds,
        busy=lambda: PoolError("The viewer pool is busy; try again in a minute."),
        empty="",
    ) as token:
        yield token


# --- processes --------------------------------------------------------------------------------


def _read_cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode("utf-8", "replace") for part in raw.split(b"\0") if part]


def _process_state(pid: int) -> str:
    """The state letter from /proc/<pid>/stat ('' when there is no such process)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[-1].split()[0] if ")" in stat else ""


def pid_alive(pid: int | None) -> bool:
    return bool(pid) and _process_state(pid) not in ("", "Z", "X")


def is_our_process(pid: int | None, port: int | None = None, data_path: str | None = None) -> bool:
    """True if ``pid`` is a live ``cellxgene ... launch`` (on ``port``, serving ``data_path``)."""
    if not pid_alive(pid):
        return False
    args = _read_cmdline(pid)
    if "launch" not in args or not any(Path(arg).name == "cellxgene" for arg in args):
        return False
    if port is not None:
        try:
            if args[args.index("--port") + 1] != str(port):
                return False
        except (ValueError, IndexError):
            return False
    return not data_path or data_path in args


def port_free(port: int, host: str | None = None) -> bool:
    """Whether cellxgene could bind ``port`` now. It binds without SO_REUSEADDR, so a port whose
    last server closed moments ago (connections in TIME_WAIT) counts as taken, as it would there."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host or settings.CELLXGENE_HOST, port))
        except OSError:
            return False
    return True


def _kill_group(pid: int, sig: int) -> None:
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


def terminate(pid: int, grace: float = STOP_GRACE_SECONDS) -> None:
    """SIGTERM, wait up to ``grace`` seconds, then SIGKILL; returns once the process is gone."""
    _kill_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if pid_alive(pid):
        log.warning("cellxgene pid %s ignored SIGTERM; sending SIGKILL", pid)
        _kill_group(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            found += [int(child) for child in task.read_text().split()]
    return found


def process_rss_mb(pid: int | None) -> int | None:
    """Resident memory (VmRSS) of ``pid`` and its descendants, in MiB; None when it is gone."""
    if not pid_alive(pid):
        return None
    total_kb, todo, seen = 0, [pid], set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        with contextlib.suppress(OSError, StopIteration, ValueError, IndexError):
            status = Path(f"/proc/{current}/status").read_text()
            total_kb += int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1])
        todo += _children(current)
    return round(total_kb / 1024)


# --- logs -------------------------------------------------------------------------------------


def log_path_for(publication: Publication) -> Path:
    return Path(settings.CELLXGENE_LOG_DIR) / f"publication-{publication.pk}.log"


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def log_tail(path: str | Path, offset: int = 0, lines: int = LOG_TAIL_LINES) -> str:
    """The last ``lines`` lines written to a viewer's log since ``offset``."""
    try:
        with Path(path).open("rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(offset, size - 64 * 1024))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


# --- starting ---------------------------------------------------------------------------------


def _child_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "CELERY_"))}
    for key in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"):
        env.pop(key, None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def annotation_args(publication: Publication) -> list[str]:
    """User data off unless ``CELLXGENE_ANNOTATIONS``: ``--disable-annotations`` alone is not
    enough — cellxgene 1.3 still saves gene sets, and its page then asks every visitor to name a
    "User Generated Data Directory". With annotations on, the dataset's labels and gene sets go
    to CSV files of its own (named files: nobody is asked for a name)."""
    if not settings.CELLXGENE_ANNOTATIONS:
        return ["--disable-annotations", "--disable-gene-sets-save"]
    folder = Path(settings.CELLXGENE_DATA_DIR) / "annotations"
    folder.mkdir(parents=True, exist_ok=True)
    return [
        "--annotations-file",
        str(folder / f"publication-{publication.pk}-cell-labels.csv"),
        "--gene-sets-file",
        str(folder / f"publication-{publication.pk}-gene-sets.csv"),
    ]


def start_process(publication: Publication, port: int, log_path: Path) -> subprocess.Popen:
    """Start cellxgene detached (its own session), its output appended to its own log file."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command = [
        str(settings.CELLXGENE_CMD),
        "--no-upgrade-check",
        "launch",
        publication.data_path,
        "--host",
        settings.CELLXGENE_HOST,
        "--port",
        str(port),
        "--title",
        publication.dataset,
        *annotation_args(publication),
        *settings.CELLXGENE_EXTRA_ARGS,
    ]
    with log_path.open("ab") as handle:
        stamp = timezone.now().isoformat()
        handle.write(f"\n=== {stamp} starting cellxgene on :{port} for {publication.dataset!r}\n".encode())
        handle.flush()
        try:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=handle,
                stderr=subprocess.STDOUT,
                cwd=str(Path(publication.data_path).parent),
                env=_child_env(),
                start_new_session=True,
                close_fds=True,
            )
        except OSError as exc:
            raise PoolError(
                f"cellxgene could not be started ({settings.CELLXGENE_CMD}: {exc.strerror}); "
                "run scripts/install_cellxgene.sh."
            ) from exc
    # Reap it when it exits, so a stopped viewer does not linger as a zombie of this worker.
    threading.Thread(target=process.wait, name=f"cellxgene-reaper-{process.pid}", daemon=True).start()
    return process


def viewer_base(viewer: Viewer) -> str:
    return f"http://{viewer.host}:{viewer.port}"


def fetch_config(host: str, port: int, timeout: float = 2.0) -> dict | None:
    try:
        response = requests.get(f"http://{host}:{port}/api/v0.2/config", timeout=timeout)
        if response.status_code != 200:
            return None
        return response.json()
    except (requests.RequestException, ValueError):
        return None


def configured_dataset(config: dict | None) -> str | None:
    try:
        return config["config"]["displayNames"]["dataset"]  # type: ignore[index]
    except (KeyError, TypeError):
        return None


def wait_ready(process: subprocess.Popen, port: int, title: str, log_path: Path, offset: int) -> None:
    deadline = time.monotonic() + float(settings.CELLXGENE_READY_TIMEOUT)
    while True:
        if process.poll() is not None or not pid_alive(process.pid):
            time.sleep(0.2)  # let the last lines reach the log
            raise PoolError(
                f"cellxgene exited (code {process.returncode}) before serving the dataset.",
                log_tail(log_path, offset),
            )
        if configured_dataset(fetch_config(settings.CELLXGENE_HOST, port)) == title:
            return
        if time.monotonic() > deadline:
            raise PoolError(
                f"cellxgene did not answer within {settings.CELLXGENE_READY_TIMEOUT} s.", log_tail(log_path, offset)
            )
        time.sleep(0.1)


def _used_at(viewer: Viewer) -> Any:
    return viewer.last_used_at or viewer.ready_at or viewer.started_at or timezone.now()


def _mark_stopping(viewers: Iterable[Viewer], reason: str) -> list[Viewer]:
    """Under the lease: these viewers are on their way out; their publications are stopped."""
    marked = []
    now = timezone.now()
    for viewer in viewers:
        Viewer.objects.filter(pk=viewer.pk).update(status=ViewerStatus.STOPPING, ready_at=None)
        if viewer.publication_id:
            Publication.objects.filter(pk=viewer.publication_id, status=PublicationStatus.READY).update(
                status=PublicationStatus.STOPPED, finished_at=now
            )
        viewer.stop_reason = reason  # type: ignore[attr-defined]
        marked.append(viewer)
    return marked


def _evict_for_room(keep: Viewer | None = None) -> list[Viewer]:
    """Under the lease: mark the least recently used ready viewers stopping while the pool holds
    ``CELLXGENE_MAX_VIEWERS`` (starting and ready ones count)."""
    limit = max(1, int(settings.CELLXGENE_MAX_VIEWERS))
    held = list(Viewer.objects.filter(status__in=(ViewerStatus.STARTING, ViewerStatus.READY)))
    ready = sorted((v for v in held if v.status == ViewerStatus.READY and v != keep), key=_used_at)
    victims = []
    while len(held) - len(victims) >= limit:
        if not ready:
            raise PoolError("Every viewer of the pool is still starting; try again in a minute.")
        victims.append(ready.pop(0))
    return _mark_stopping(victims, "evicted")


def _claim_port(publication: Publication, log_path: Path) -> Viewer:
    """Under the lease: the first port of the range no viewer holds and nobody is bound to."""
    held = set(Viewer.objects.filter(status__in=HOLDING).values_list("port", flat=True))
    skipped = []
    for port in port_range():
        if port in held:
            continue
        slot, _ = Viewer.objects.get_or_create(port=port, defaults={"host": settings.CELLXGENE_HOST})
        if slot.pid and slot.node == node_name() and is_our_process(slot.pid, port):
            terminate(slot.pid)  # a leftover of ours (a start cut short)
        if not port_free(port):
            skipped.append(port)
            continue
        Viewer.objects.filter(pk=slot.pk).update(
            host=settings.CELLXGENE_HOST,
            node=node_name(),
            status=ViewerStatus.STARTING,
            publication=publication,
            file_id=publication.file_id,
            dataset=publication.dataset,
            data_path=publication.data_path,
            pid=None,
            started_at=timezone.now(),
            ready_at=None,
            last_used_at=None,
            rss_mb=None,
            restarts=publication.restarts,
            last_error="",
            log_tail="",
            log_file=str(log_path),
        )
        if skipped:
            log.info("cellxgene ports %s are in use by other programs; skipped", skipped)
        slot.refresh_from_db()
        return slot
    raise NoFreePort(
        f"No free port in CELLXGENE_PORT_RANGE ({settings.CELLXGENE_PORT_RANGE}): "
        f"{len(held)} held by viewers, {len(skipped)} by other programs."
    )


PORT_TAKEN = "is in use, please configure an open port"  # cellxgene's words when it lost a race
LAUNCH_ATTEMPTS = 3
NO_PORT_WAIT_SECONDS = 75


def launch(publication: Publication) -> Viewer:
    """Start a viewer for ``publication`` (its copy is in place); returns it ready, or raises
    PoolError (the viewer's row then says failed). A viewer already serving it is returned. A
    port taken between our check and cellxgene's bind is skipped: the next one is tried."""
    attempt = 0
    no_port_until = time.monotonic() + NO_PORT_WAIT_SECONDS
    while True:
        try:
            return _launch_once(publication)
        except NoFreePort:
            # Ports a server closed moments ago come back once their TIME_WAIT ends (60 s).
            if time.monotonic() > no_port_until:
                raise
            time.sleep(2)
        except PoolError as exc:
            attempt += 1
            if PORT_TAKEN not in exc.log_tail or attempt == LAUNCH_ATTEMPTS:
                raise
            log.info("a port was taken before cellxgene bound it; trying another (%s)", exc.message)


def _launch_once(publication: Publication) -> Viewer:
    log_path = log_path_for(publication)
    with lease():
        running = viewer_for(publication.pk)
        if running is not None and answering(running):
            return running
        stale = Viewer.objects.filter(publication=publication, status__in=HOLDING)
        victims = _mark_stopping(stale, "restarted") + _evict_for_room()
        slot = _claim_port(publication, log_path)
    finish_stopping(victims)
    offset = _size(log_path)
    try:
        process = start_process(publication, slot.port, log_path)
    except PoolError as exc:
        Viewer.objects.filter(pk=slot.pk).update(status=ViewerStatus.FAILED, last_error=exc.message)
        raise
    Viewer.objects.filter(pk=slot.pk).update(pid=process.pid)
    Publication.objects.filter(pk=publication.pk).update(pid=process.pid, port=slot.port, started_at=slot.started_at)
    try:
        wait_ready(process, slot.port, publication.dataset, log_path, offset)
        rss = process_rss_mb(process.pid) or 0
        if rss > int(settings.CELLXGENE_MAX_RSS_MB):
            raise PoolError(
                f"The viewer needs {rss} MB of memory, more than a viewer may use "
                f"(CELLXGENE_MAX_RSS_MB = {settings.CELLXGENE_MAX_RSS_MB})."
            )
        now = timezone.now()
        readied = Viewer.objects.filter(pk=slot.pk, status=ViewerStatus.STARTING, publication=publication).update(
            status=ViewerStatus.READY, ready_at=now, last_used_at=now, rss_mb=rss
        )
        if not readied:
            raise PoolError("The viewer was stopped while it started.")
    except PoolError as exc:
        if pid_alive(process.pid):
            terminate(process.pid)
        Viewer.objects.filter(pk=slot.pk, publication=publication).update(
            status=ViewerStatus.FAILED, pid=None, last_error=exc.message, log_tail=exc.log_tail
        )
        raise
    slot.refresh_from_db()
    try:
        enforce_total_rss(keep=slot)
    except PoolError:  # a busy lease: the watchdog enforces the total on its next round
        log.warning("could not check the pool's total memory after starting %s", publication.dataset)
    return slot


# --- stopping ---------------------------------------------------------------------------------


def finish_stopping(viewers: Iterable[Viewer], actor: Any = None) -> int:
    """Signal the ``stopping`` viewers that run on this node and mark them stopped; those on
    other nodes are left to their node's ``sweep``. Returns how many processes were signalled."""
    signalled = 0
    for viewer in viewers:
        reason = getattr(viewer, "stop_reason", "stopped")
        if viewer.node not in ("", node_name()):
            continue
        was_ours = bool(viewer.pid) and is_our_process(viewer.pid, viewer.port)
        if was_ours:
            terminate(viewer.pid)
            signalled += 1
        elif viewer.pid:
            log.warning("not signalling pid %s on :%s: not a cellxgene of ours (any more)", viewer.pid, viewer.port)
        Viewer.objects.filter(pk=viewer.pk, status=ViewerStatus.STOPPING).update(
            status=ViewerStatus.STOPPED, pid=None, rss_mb=None
        )
        audit.record(
            actor,
            "cellxgene.stop",
            viewer.file,
            username="" if actor else "system",
            reason=reason,
            signalled=was_ours,
            dataset=viewer.dataset,
            publication=viewer.publication_id,
            port=viewer.port,
            pid=viewer.pid,
        )
    return signalled


def stop(viewer: Viewer, actor: Any = None, reason: str = "stopped", remove_copy: bool = False) -> bool:
    """Stop one viewer (any status but stopped). Returns True when a process was signalled."""
    with lease():
        viewer.refresh_from_db()
        if viewer.status == ViewerStatus.STOPPED:
            return False
        marked = _mark_stopping([viewer], reason)
    signalled = finish_stopping(marked, actor=actor) > 0
    if remove_copy:
        remove_unused_copy(viewer.data_path)
    return signalled


def stop_all(actor: Any = None, reason: str = "stopped", remove_copies: bool = False) -> int:
    """Stop every viewer of this node (shutdown, tests). Returns how many were signalled."""
    with lease():
        mine = Viewer.objects.filter(node__in=("", node_name())).exclude(status=ViewerStatus.STOPPED)
        marked = _mark_stopping(list(mine), reason)
    count = finish_stopping(marked, actor=actor)
    if remove_copies:
        for viewer in marked:
            remove_unused_copy(viewer.data_path)
    return count


def remove_unused_copy(path: str) -> None:
    """Delete a dataset copy no viewer and no publication in progress or ready uses any more."""
    if not path:
        return
    in_use = Viewer.objects.filter(data_path=path, status__in=HOLDING).exists()
    live = (*ACTIVE_OR_READY,)
    in_use = in_use or Publication.objects.filter(data_path=path, status__in=live).exists()
    target = Path(path)
    if not in_use and target.parent == Path(settings.CELLXGENE_DATA_DIR).resolve():
        target.unlink(missing_ok=True)


ACTIVE_OR_READY = (
    PublicationStatus.QUEUED,
    PublicationStatus.COPYING,
    PublicationStatus.EMBEDDING,
    PublicationStatus.STARTING,
    PublicationStatus.READY,
)


def enforce_total_rss(keep: Viewer | None = None) -> int:
    """Stop the least recently used ready viewers while the measured total is over
    ``CELLXGENE_MAX_TOTAL_RSS_MB`` (never ``keep``, never the last one). Returns how many."""
    budget = int(settings.CELLXGENE_MAX_TOTAL_RSS_MB)
    with lease():
        ready = sorted(Viewer.objects.filter(status=ViewerStatus.READY), key=_used_at)
        total = sum(v.rss_mb or 0 for v in ready)
        victims = []
        for viewer in ready:
            if total <= budget or len(ready) - len(victims) <= 1:
                break
            if keep is not None and viewer.pk == keep.pk:
                continue
            victims.append(viewer)
            total -= viewer.rss_mb or 0
        marked = _mark_stopping(victims, "memory")
    finish_stopping(marked)
    return len(marked)


# --- use, crashes and the watchdog ------------------------------------------------------------


def viewer_for(publication_id: int) -> Viewer | None:
    """The ready viewer serving this publication, if any."""
    return Viewer.objects.filter(publication_id=publication_id, status=ViewerStatus.READY).first()


def touch(viewer: Viewer) -> None:
    """Record a use (for LRU and idle stops), at most every ``TOUCH_EVERY``."""
    now = timezone.now()
    if viewer.last_used_at is None or now - viewer.last_used_at > TOUCH_EVERY:
        Viewer.objects.filter(pk=viewer.pk).update(last_used_at=now)


def answering(viewer: Viewer) -> bool:
    """Whether the viewer's process still lives (on this node) or answers (elsewhere)."""
    if viewer.node in ("", node_name()):
        return is_our_process(viewer.pid, viewer.port)
    return fetch_config(viewer.host, viewer.port) is not None


def mark_crashed(viewer: Viewer, error: str = "The viewer process exited.") -> bool:
    """A ready viewer whose process is gone: failed, audited with its log's tail; its
    publication is stopped (so the next request starts it again). False if someone was first."""
    tail = log_tail(viewer.log_file) if viewer.log_file else ""
    changed = Viewer.objects.filter(pk=viewer.pk, status=ViewerStatus.READY, pid=viewer.pid).update(
        status=ViewerStatus.FAILED, pid=None, rss_mb=None, last_error=error, log_tail=tail
    )
    if not changed:
        return False
    if viewer.publication_id:
        Publication.objects.filter(pk=viewer.publication_id, status=PublicationStatus.READY).update(
            status=PublicationStatus.STOPPED, finished_at=timezone.now()
        )
    audit.record(
        None,
        "cellxgene.failure",
        viewer.file,
        username="system",
        dataset=viewer.dataset,
        publication=viewer.publication_id,
        port=viewer.port,
        pid=viewer.pid,
        error=error,
        log_tail=tail[-2000:],
    )
    return True


def sweep(now: Any = None) -> dict[str, Any]:
    """The watchdog, for this node's viewers: finish stops, free ports of abandoned launches,
    mark crashed ones failed, measure RSS, stop those over ``CELLXGENE_MAX_RSS_MB`` or idle for
    ``CELLXGENE_IDLE_SECONDS``."""
    now = now or timezone.now()
    idle_before = now - timedelta(seconds=int(settings.CELLXGENE_IDLE_SECONDS))
    result = {"stopped": 0, "crashed": 0, "idle": 0, "memory": 0}
    mine = Viewer.objects.filter(node__in=("", node_name()))
    result["stopped"] = len(list(mine.filter(status=ViewerStatus.STOPPING)))
    finish_stopping(mine.filter(status=ViewerStatus.STOPPING))
    # A launch whose worker died holds its port (and a place in the pool) until this.
    started_before = now - timedelta(seconds=int(settings.CELLXGENE_READY_TIMEOUT) + 60)
    for viewer in mine.filter(status=ViewerStatus.STARTING, started_at__lt=started_before):
        if is_our_process(viewer.pid, viewer.port):
            terminate(viewer.pid)
        Viewer.objects.filter(pk=viewer.pk, status=ViewerStatus.STARTING).update(
            status=ViewerStatus.FAILED, pid=None, last_error="The launch was abandoned."
        )
        result["abandoned"] = result.get("abandoned", 0) + 1
    for viewer in mine.filter(status=ViewerStatus.READY):
        if not is_our_process(viewer.pid, viewer.port):
            result["crashed"] += mark_crashed(viewer)
            continue
        rss = process_rss_mb(viewer.pid)
        Viewer.objects.filter(pk=viewer.pk).update(rss_mb=rss)
        if rss is not None and rss > int(settings.CELLXGENE_MAX_RSS_MB):
            stop(viewer, reason="memory")
            result["memory"] += 1
        elif _used_at(viewer) < idle_before:
            stop(viewer, reason="idle")
            result["idle"] += 1
    result["memory"] += enforce_total_rss()
    return result
