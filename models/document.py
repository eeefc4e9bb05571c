"""One article as the models see it: its published time, its text key, its document row and chunks.

Plain functions on typed records, shared by the Beam stages (``pipeline.transforms``),
the Python API and the evaluation, so each rule has one implementation.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
import unicodedata
from typing import Any, Sequence

from newsevents.models.clean_text import clean_text, looks_like_html
from newsevents.models.sentences import make_chunks
from newsevents.schemas.errors import Reason, Stage
from newsevents.schemas.records import Article, DeadLetter, DocumentRecord

__all__ = ["PAYLOAD_CHARS", "finish_document", "parse_published", "prepare_article", "text_key"]

#: The most characters of an input kept in a dead letter's payload.
PAYLOAD_CHARS = 2000
_SPACE = re.compile(r"\s+")


def parse_published(value: Any) -> tuple[dt.datetime | None, str | None]:
    """ISO 8601 string -> aware UTC datetime, or ``(None, note)`` when unusable.

    A date without a time is taken as midnight UTC; a time without a zone as UTC.
    """
    if value is None:
        return None, None
    if not isinstance(value, str):
        return None, f"published: expected an ISO 8601 string, got {type(value).__name__}; set to null."
    text = value.strip()
    try:
        parsed = dt.datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        return None, f"published: {value[:60]!r} is not an ISO 8601 date; set to null."
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    try:
        return parsed.astimezone(dt.timezone.utc), None
    except OverflowError:  # "0001-01-01T00:00+14:00" is before year 1 in UTC
        return None, f"published: {value[:60]!r} falls outside years 1-9999 in UTC; set to null."


def text_key(text: str) -> str:
    """A hash of the text as a reader sees it: NFKC, case-folded, whitespace collapsed."""
    norm = _SPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()
    return hashlib.sha256(norm.encode("utf-8", errors="surrogatepass")).hexdigest()


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
