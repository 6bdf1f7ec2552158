"""Extractive summaries of text files (PubMed abstracts, experiment logs, READMEs): the text is
split into sentences, each sentence becomes a TF-IDF vector (scikit-learn, English stop words,
sublinear term frequency), and sentences are ranked by cosine similarity to the document's
centroid, with a small bonus for the opening sentence. The best ones are returned in the order
they appear. No model is downloaded."""

from __future__ import annotations

import re
from typing import Any

from file_upload.models import File

from ..models import MLTask
from ..registry import AnalysisError
from .common import TEXT_FORMATS, file_format, read_text

MAX_TEXT_BYTES = 2 * 1024 * 1024
DEFAULT_SENTENCES = 3
MAX_SENTENCES = 20
# Words after which a full stop does not end a sentence.
_ABBREVIATIONS = ("e.g.", "i.e.", "et al.", "Fig.", "fig.", "Figs.", "vs.", "approx.", "ca.", "Dr.", "no.", "No.")
_SPLIT = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
_MARKUP = re.compile(r"^\s{0,3}(?:#{1,6}\s+|[-*+]\s+|\d+\.\s+|>\s*)", re.MULTILINE)


def split_sentences(text: str) -> list[str]:
    """Sentences of running text; headings, list items and blank-line-separated blocks end one."""
    protected = text
    for index, abbreviation in enumerate(_ABBREVIATIONS):
        protected = protected.replace(abbreviation, abbreviation.replace(".", f"\x00{index}\x00"))
    sentences: list[str] = []
    for block in re.split(r"\n\s*\n|\n(?=\s{0,3}(?:#{1,6}\s|[-*+]\s|\d+\.\s|>))", protected):
        title, rest = _title_line(block)
        if title:
            sentences.append(_restore(title))
            block = rest
        block = " ".join(_MARKUP.sub("", block).split())
        for part in _SPLIT.split(block):
            part = part.strip()
            if part:
                sentences.append(_restore(part))
    return [s for s in sentences if len(re.findall(r"[A-Za-z]{2,}", s)) >= 3]


def _title_line(block: str) -> tuple[str, str]:
    """A block's first line when it is a title over the text (short, no closing punctuation, the
    next line starts a sentence), so the title is not glued to the first sentence; else ("", block)."""
    first, newline, rest = block.strip("\n").partition("\n")
    first = " ".join(_MARKUP.sub("", first).split())
    if not newline or not first or len(first) > 150 or first[-1] in ".!?:;,-":
        return "", block
    if not re.match(r"\s*[\"'(\[]?[A-Z0-9]", rest):
        return "", block
    return first, rest


def _as_sentence(text: str) -> str:
    """A title read on its own ends like a sentence, so the summary does not run it into the next."""
    return text if text[-1] in ".!?\"')]" else f"{text}."


def _restore(text: str) -> str:
    return re.sub(r"\x00\d+\x00", ".", text)


def summarise(text: str, n_sentences: int = DEFAULT_SENTENCES) -> dict[str, Any]:
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    sentences = split_sentences(text)
    if not sentences:
        raise AnalysisError("The file has no sentences to summarise.")
    n = max(1, min(n_sentences, len(sentences)))
    if len(sentences) <= n:
        scores = np.ones(len(sentences))
    else:
        try:
            matrix = TfidfVectorizer(stop_words="english", sublinear_tf=True).fit_transform(sentences)
        except ValueError:  # only stop words
            matrix = TfidfVectorizer(sublinear_tf=True).fit_transform(sentences)
        centroid = np.asarray(matrix.mean(axis=0)).ravel()
        norm = np.linalg.norm(centroid) or 1.0
        scores = (matrix @ centroid) / norm  # rows are L2-normalised already
        scores = np.asarray(scores).ravel()
        scores[0] *= 1.1  # the opening sentence of an abstract usually states the subject
    best = sorted(np.argsort(-scores, kind="stable")[:n].tolist())
    chosen = [{"index": int(i), "text": sentences[i], "score": round(float(scores[i]), 4)} for i in best]
    return {
        "summary": " ".join(_as_sentence(item["text"]) for item in chosen),
        "sentences": chosen,
        "total_sentences": len(sentences),
        "method": "TF-IDF sentence ranking (centroid similarity)",
    }


class SummaryHandler:
    task_type = "summary"
    label = "Summary"
    description = "An extractive summary of a text file (abstracts, logs, READMEs)."

    def accepts(self, file: File) -> str | None:
        if file_format(file) not in TEXT_FORMATS:
            return "Summaries are made from text files (abstracts, logs, READMEs)."
        return None

    def validate_params(self, params: dict[str, Any]) -> dict[str, Any]:
        from django.core.exceptions import ValidationError

        sentences = params.get("sentences", DEFAULT_SENTENCES)
        if not isinstance(sentences, int) or isinstance(sentences, bool) or not 1 <= sentences <= MAX_SENTENCES:
            raise ValidationError({"params": [f"params.sentences must be a whole number from 1 to {MAX_SENTENCES}."]})
        return {**params, "sentences": sentences}

    def run(self, task: MLTask) -> dict[str, Any]:
        text = read_text(task.file, MAX_TEXT_BYTES)
        result = summarise(text, int(task.params.get("sentences", DEFAULT_SENTENCES)))
        result["characters"] = len(text)
        return result
