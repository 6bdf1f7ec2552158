"""Extractive summaries: the sentences chosen from an abstract, in order, and the edge cases."""

from __future__ import annotations

import pytest

from ml_interface.handlers.summary import split_sentences, summarise

from . import data

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("storage_backend")]


def test_an_abstract_is_summarised_by_its_central_sentences(add_file, run_task):
    file = add_file("abstract.txt", data.ABSTRACT.encode())
    task = run_task("summary", file.id, {"sentences": 2})
    assert task["status"] == "done", task["error"]
    result = task["result"]
    sentences = split_sentences(data.ABSTRACT)
    assert result["total_sentences"] == len(sentences) == 7
    chosen = [s["text"] for s in result["sentences"]]
    assert len(chosen) == 2 and all(s in sentences for s in chosen)
    assert [s["index"] for s in result["sentences"]] == sorted(s["index"] for s in result["sentences"])
    assert any("single-cell gene expression analysis" in s for s in chosen)
    assert not any("weather" in s for s in chosen)  # the off-topic sentence ranks last
    assert result["summary"] == " ".join(chosen)


def test_sentence_splitting_keeps_abbreviations_and_markdown_blocks():
    text = (
        "# Title of the run\n\nReads were trimmed (e.g. adapters removed) by Smith et al. in 2020. "
        "The run used Fig. 2 settings.\n- first list item here"
    )
    assert split_sentences(text) == [
        "Title of the run",
        "Reads were trimmed (e.g. adapters removed) by Smith et al. in 2020.",
        "The run used Fig. 2 settings.",
        "first list item here",
    ]


def test_a_title_over_the_text_is_not_glued_to_the_first_sentence():
    from ml_interface.handlers.summary import split_sentences, summarise

    text = (
        "Single-cell atlas of the mouse liver\n"
        "We profiled 50,000 cells from the liver of female C57BL/6J mice. The libraries were\n"
        "sequenced on a NovaSeq 6000 and aligned to GRCm39.\n"
    )
    assert split_sentences(text) == [
        "Single-cell atlas of the mouse liver",
        "We profiled 50,000 cells from the liver of female C57BL/6J mice.",
        "The libraries were sequenced on a NovaSeq 6000 and aligned to GRCm39.",
    ]
    assert summarise(text, 3)["summary"].startswith("Single-cell atlas of the mouse liver. We profiled")
    # a hard-wrapped paragraph is not taken for a title
    wrapped = "We profiled many cells from the liver of\nfemale mice in this study. It went well for all of us."
    assert split_sentences(wrapped)[0] == "We profiled many cells from the liver of female mice in this study."


def test_short_texts_come_back_whole():
    result = summarise("Only one sentence in this file here.", 3)
    assert result["summary"] == "Only one sentence in this file here."


def test_a_binary_file_fails_with_a_reason(add_file, run_task):
    file = add_file("blob.txt", b"\x00\x01\x02binary")
    task = run_task("summary", file.id)
    assert task["status"] == "failed" and "binary" in task["error"]


def test_a_fastq_is_refused_at_trigger(add_file, trigger):
    file = add_file("reads.fastq", data.fastq(reads=2))
    assert trigger("summary", file.id).status_code == 400
