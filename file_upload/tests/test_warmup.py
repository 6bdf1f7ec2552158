"""A fresh web worker warms up before it accepts (``gunicorn.conf.py``'s ``post_worker_init``):
one search through the real WSGI application as nobody, asking for nothing that exists, and a
made-up file rendered by the serializers; it answers, leaves no setting changed, and fails soft."""

from __future__ import annotations

import pytest
from django.core.wsgi import get_wsgi_application

from file_project import warmup
from file_upload.tests.factories import ProjectFactory, make_file

pytestmark = pytest.mark.django_db(transaction=True)


def logged_by_warm_up(monkeypatch) -> list[str]:
    logged: list[str] = []
    for level in ("warning", "exception"):
        monkeypatch.setattr(warmup.log, level, lambda message, *args: logged.append(message % args))
    return logged


def test_warm_up_searches_through_the_app_and_renders_a_made_up_page(alice, settings, monkeypatch):
    settings.BIOFM_SEARCH_BACKEND = "tantivy"
    settings.BIOFM_SEARCH_FRESHNESS_WAIT = 0.7
    make_file(ProjectFactory(name="Open", owner=alice, access_level="public"), "public.fastq")
    answers: list[str] = []
    real = warmup._request
    monkeypatch.setattr(warmup, "_request", lambda *args: answers.append(real(*args)) or answers[-1])
    rendered = []
    real_page = warmup._serialize_a_made_up_page
    monkeypatch.setattr(warmup, "_serialize_a_made_up_page", lambda: rendered.append(real_page()))
    logged = logged_by_warm_up(monkeypatch)
    warmup.warm_up(get_wsgi_application())
    assert answers == ["200 OK"] and rendered == [None]
    assert logged == []
    assert settings.BIOFM_SEARCH_FRESHNESS_WAIT == 0.7


def test_a_failing_warm_up_is_logged_not_raised(monkeypatch):
    def broken(*args):
        raise RuntimeError("no database")

    monkeypatch.setattr(warmup, "_request", broken)
    logged = logged_by_warm_up(monkeypatch)
    assert warmup.warm_up(get_wsgi_application()) >= 0
    assert logged == ["warm-up failed"]


def test_warm_up_brings_the_index_into_the_page_cache_unless_told_not_to(alice, settings, monkeypatch):
    from django.core.management import call_command

    from file_upload.search import engine

    settings.BIOFM_SEARCH_BACKEND = "tantivy"
    make_file(ProjectFactory(name="Open", owner=alice, access_level="public"), "public.fastq")
    call_command("rebuild_search_index")
    on_disk = {".fast": 0, ".term": 0, ".fieldnorm": 0, ".idx": 0, ".pos": 0}
    for file in engine.index_dir().glob("shard-*/*"):
        if file.suffix in on_disk:
            on_disk[file.suffix] += file.stat().st_size
    through = on_disk[".fast"] + on_disk[".term"] + on_disk[".fieldnorm"]
    ahead = on_disk[".idx"] + on_disk[".pos"]
    assert through > 0 and ahead > 0
    preloaded: list[tuple[int, int]] = []
    real = engine.preload
    monkeypatch.setattr(engine, "preload", lambda *args: preloaded.append(real(*args)) or preloaded[-1])
    logged = logged_by_warm_up(monkeypatch)
    warmup.warm_up(get_wsgi_application())
    assert preloaded == [(through, ahead)] and logged == []
    settings.BIOFM_SEARCH_PRELOAD = False
    warmup.warm_up(get_wsgi_application())
    assert len(preloaded) == 1


def test_the_preload_reads_only_what_fits_in_half_the_available_memory(alice, settings, monkeypatch):
    """Columns first, postings too when both fit; nothing where even the columns do not."""
    from django.core.management import call_command

    from file_upload.search import engine

    settings.BIOFM_SEARCH_BACKEND = "tantivy"
    make_file(ProjectFactory(name="Open", owner=alice, access_level="public"), "public.fastq")
    call_command("rebuild_search_index")
    through = ahead = 0
    for file in engine.index_dir().glob("shard-*/*"):
        if file.suffix in engine.READ_THROUGH:
            through += file.stat().st_size
        elif file.suffix in engine.READ_AHEAD:
            ahead += file.stat().st_size
    for available, expected in [
        (2 * (through + ahead), (through, ahead)),
        (2 * through, (through, 0)),
        (2 * through - 2, (0, 0)),
        (None, (through, ahead)),
    ]:
        monkeypatch.setattr(engine, "_memory_available", lambda available=available: available)
        assert engine.preload() == expected, available


def test_a_failing_preload_is_logged_and_the_warm_up_goes_on(alice, settings, monkeypatch):
    from file_upload.search import engine

    settings.BIOFM_SEARCH_BACKEND = "tantivy"

    def unreadable(*args):
        raise PermissionError("index not readable")

    monkeypatch.setattr(engine, "preload", unreadable)
    answers: list[str] = []
    real = warmup._request
    monkeypatch.setattr(warmup, "_request", lambda *args: answers.append(real(*args)) or answers[-1])
    logged = logged_by_warm_up(monkeypatch)
    warmup.warm_up(get_wsgi_application())
    assert logged == ["search index preload failed"] and answers == ["200 OK"]
