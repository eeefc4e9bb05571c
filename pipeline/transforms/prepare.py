"""Prepare: article -> cleaned text -> sentences -> model-sized chunks.

Emits the chunks for the models and one ``DocumentRecord`` per article (its
``n_mentions``/``status`` are filled in by ``assemble``); an article that cannot
be prepared becomes a dead letter instead (reason ``empty_text``, or
``internal_error`` when preparing it raised), so it is still accounted for.
"""

from __future__ import annotations

import dataclasses
from typing import Iterator, Sequence

import apache_beam as beam

from pipeline.errors import Reason, Stage, describe_exception
from pipeline.transforms.clean_text import clean_text, looks_like_html
from pipeline.transforms.dedup import text_key
from pipeline.transforms.sentences import make_chunks
from pipeline.transforms.split import SplitByType
from schemas.records import Article, Chunk, DeadLetter, DocumentRecord

__all__ = ["PrepareArticles", "finish_document", "prepare_article"]

PAYLOAD_CHARS = 2000


def prepare_article(article: Article, max_words: int, overlap: int):
    """Pure preparation of one article: ``(document, chunks)`` or a ``DeadLetter``."""
    is_html = looks_like_html(article.text)
    cleaned = clean_text(article.text, is_html=is_html)
    if not cleaned.text.strip():
        return DeadLetter(Stage.PREPARE.value, Reason.EMPTY_TEXT.value,
                          "The article has no text left after removing markup and control characters.",
                          article.doc_id, article.text[:PAYLOAD_CHARS], article.input_location)
    chunks, n_sentences = make_chunks(article.doc_id, article.text, cleaned, max_words, overlap)
    notes = list(article.notes) + (["text: HTML converted to plain text."] if is_html else [])
    doc = DocumentRecord(
        doc_id=article.doc_id,
        title=article.title,
        url=article.url,
        source=article.source,
        published=article.published,
        language=article.language,
        n_chars=len(article.text),
        n_sentences=n_sentences,
        n_mentions=0,
        n_events=0,
        status="pending",
        notes=notes,
        input_location=article.input_location,
        text_hash=text_key(article.text),
    )
    return doc, chunks


class _Prepare(beam.DoFn):
    def __init__(self, max_words: int, overlap: int) -> None:
        self._max_words = max_words
        self._overlap = overlap

    def process(self, article: Article) -> Iterator:
        try:
            result = prepare_article(article, self._max_words, self._overlap)
        except Exception as exc:  # noqa: BLE001 - one article's failure must become a dead letter, not fail the job
            result = DeadLetter(Stage.PREPARE.value, Reason.INTERNAL_ERROR.value,
                                f"Preparing the article failed unexpectedly: {describe_exception(exc)}. This is a "
                                "bug in newsevents; please report it with this row's payload.",
                                article.doc_id, article.text[:PAYLOAD_CHARS], article.input_location)
        if isinstance(result, DeadLetter):
            yield result
            return
        doc, chunks = result
        yield doc
        yield from chunks


class PrepareArticles(beam.PTransform):
    """Articles -> ``(chunks, documents, dead_letters)``."""

    def __init__(self, max_words: int = 120, overlap: int = 24) -> None:
        super().__init__()
        self._max_words = max_words
        self._overlap = overlap

    def expand(self, articles):
        return (
            articles
            | "CleanAndSplit" >> beam.ParDo(_Prepare(self._max_words, self._overlap))
            | "ByType" >> SplitByType(Chunk, DocumentRecord, DeadLetter)
        )


def finish_document(doc: DocumentRecord, n_mentions: int, n_events: int, n_failed_chunks: int,
                    dropped: Sequence[str] = ()) -> DocumentRecord:
    """Fill in a document's counts and status once its chunks are back.

    Args:
        n_failed_chunks: chunks a model failed on (each also has a model-stage dead letter).
        dropped: notes on parts lost after the models (an event whose assembly raised, a row
            that does not fit its table); they are added to ``notes``.

    Returns:
        The document with status ``partial`` when anything was lost, else
        ``ok_with_notes`` or ``ok``.
    """
    notes = list(doc.notes) + list(dropped)
    if n_failed_chunks or dropped:
        status = "partial"
    elif notes:
        status = "ok_with_notes"
    else:
        status = "ok"
    return dataclasses.replace(doc, n_mentions=n_mentions, n_events=n_events, status=status, notes=notes)
