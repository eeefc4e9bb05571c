"""One article as the models see it: its validation, published time, text key, document row and chunks.

Plain functions on typed records, shared by the Beam stages (``pipeline.io``,
``pipeline.transforms``), the Python API and the evaluation, so each rule has one
implementation: a record (a dict in the input-file JSON shape) becomes an
``Article`` or a ``DeadLetter`` (:func:`article_from_object`), an article its
pending ``DocumentRecord`` and model-sized chunks (:func:`prepare_article`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
import unicodedata
from typing import Any, Callable, Sequence

from newsevents.models.clean_text import clean_text, looks_like_html
from newsevents.models.sentences import CHUNK_OVERLAP, MAX_WORDS_PER_CHUNK, make_chunks
from newsevents.schemas.errors import Reason, Stage, describe_exception
from newsevents.schemas.records import Article, Chunk, DeadLetter, DocumentRecord
from newsevents.schemas.rows import PAYLOAD_CHARS

__all__ = ["CHUNK_OVERLAP", "MAX_ARTICLE_CHARS", "MAX_WORDS_PER_CHUNK", "PAYLOAD_CHARS", "article_from_object",
           "check_text", "finish_document", "json_payload", "parse_published", "prepare_article", "prepare_guarded",
           "read_dead_letter", "text_key"]

#: The default of ``--max-article-chars``: a longer text is a ``too_large`` dead letter (:func:`check_text`).
MAX_ARTICLE_CHARS = 1_000_000
_SPACE = re.compile(r"\s+")
_OPTIONAL = ("title", "url", "source", "language")
_SURROGATE = re.compile("[\ud800-\udfff]")


def read_dead_letter(reason: Reason, error: str, payload: str | bytes | Callable[[], str], location: str,
                     doc_id: str | None = None) -> DeadLetter:
    """A dead letter of the ``read`` stage; ``payload`` may be bytes or, to build it only when needed, a function."""
    if callable(payload):  # an array element: serialised only when it is dead-lettered
        payload = payload()
    if isinstance(payload, bytes):
        payload = payload[:PAYLOAD_CHARS].decode("utf-8", errors="replace")
    return DeadLetter(Stage.READ.value, reason.value, error, doc_id, payload[:PAYLOAD_CHARS], location)


def json_payload(obj: Any) -> str:
    """A parsed record as a dead letter's payload: its JSON, truncated, storable as UTF-8."""
    text = json.dumps(obj, ensure_ascii=False, default=str)[:PAYLOAD_CHARS]
    return text.encode("utf-8", errors="replace").decode("utf-8")  # lone surrogates cannot go to Arrow


def check_text(text: Any, location: str, payload: str | Callable[[], str], doc_id: str | None,
               max_chars: int) -> DeadLetter | None:
    """The dead letter of an article text that is missing, not a string, blank or over ``max_chars``; else None."""
    if text is None:
        return read_dead_letter(Reason.MISSING_TEXT, "The record has no 'text' field; add the article body as 'text'.",
                                payload, location, doc_id)
    if not isinstance(text, str):
        return read_dead_letter(Reason.TEXT_NOT_STRING, f"'text' must be a string, got {type(text).__name__}.",
                                payload, location, doc_id)
    if not text.strip():
        return read_dead_letter(Reason.EMPTY_TEXT, "'text' is empty or only whitespace.", payload, location, doc_id)
    if len(text) > max_chars:
        return read_dead_letter(Reason.TOO_LARGE, f"'text' has {len(text):,} characters, over the limit of "
                                f"{max_chars:,} (raise it with --max-article-chars).", payload, location, doc_id)
    return None


def _no_surrogates(value: str | None, key: str, notes: list[str]) -> str | None:
    # JSON may escape a lone surrogate ("\ud800"), which no UTF-8 writer (Arrow) accepts; one
    # replacement character for each keeps every character offset of the text unchanged.
    if value is None or not _SURROGATE.search(value):
        return value
    notes.append(f"{key}: lone surrogate code points replaced by U+FFFD.")
    return _SURROGATE.sub("\ufffd", value)


def article_from_object(obj: Any, payload: str | Callable[[], str], location: str, max_chars: int,
                        unit: str = "Each record") -> Article | DeadLetter:
    """One parsed record (a dict in the input-file JSON shape) -> ``Article`` or ``DeadLetter`` (never raises).

    Args:
        obj: the parsed record: ``id`` and ``text`` required; ``title``, ``url``,
            ``source``, ``language`` and ``published`` (ISO 8601) optional.
        payload: the dead letter's payload (the record as read), or a function that makes it.
        location: where the record came from (``path:line``), for the row's ``input_location``.
        max_chars: the most characters of text an article may have.
        unit: what the record is, for the message when it is not an object ("Each line").

    A numeric id becomes a string; lone surrogates are replaced in place; an optional
    field of the wrong type or an unusable ``published`` becomes null; each with a note.

    >>> article_from_object({"id": 7, "text": "Rain in Oslo."}, "", "in.jsonl:1", 100).notes
    ('id: a number, converted to a string.',)
    >>> article_from_object({"text": "Rain in Oslo."}, "", "in.jsonl:2", 100).reason
    'missing_id'
    """
    if not isinstance(obj, dict):
        return read_dead_letter(Reason.NOT_AN_OBJECT, f"{unit} must be a JSON object, got {type(obj).__name__}.",
                                payload, location)
    doc_id = obj.get("id")
    notes: list[str] = []
    if isinstance(doc_id, (int, float)) and not isinstance(doc_id, bool):
        doc_id = str(doc_id)
        notes.append("id: a number, converted to a string.")
    if not isinstance(doc_id, str) or not doc_id.strip():
        return read_dead_letter(Reason.MISSING_ID, "The record has no usable 'id' (a non-empty string); give every "
                                "article a stable id.", payload, location)
    bad = check_text(obj.get("text"), location, payload, doc_id, max_chars)
    if bad is not None:
        return bad
    doc_id, text = _no_surrogates(doc_id, "id", notes), _no_surrogates(obj["text"], "text", notes)
    fields: dict[str, Any] = {}
    for key in _OPTIONAL:
        value = obj.get(key)
        if value is not None and not isinstance(value, str):
            notes.append(f"{key}: expected a string, got {type(value).__name__}; set to null.")
            value = None
        fields[key] = _no_surrogates(value, key, notes)
    published, note = parse_published(obj.get("published"))
    if note:
        notes.append(note)
    return Article(doc_id=doc_id, text=text, published=published, input_location=location,
                   notes=tuple(notes), **fields)


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


def prepare_article(article: Article, max_words: int, overlap: int) -> tuple[DocumentRecord, list[Chunk]] | DeadLetter:
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


def prepare_guarded(article: Article, max_words: int, overlap: int) -> tuple[DocumentRecord, list[Chunk]] | DeadLetter:
    """:func:`prepare_article`, where an unexpected exception makes the article a dead letter (``internal_error``).

    One article's failure must not fail a run (issue 14); the dead letter names the
    exception and the line that raised it.
    """
    try:
        return prepare_article(article, max_words, overlap)
    except Exception as exc:  # noqa: BLE001 - one article's failure must become a dead letter, not fail the job
        return DeadLetter(Stage.PREPARE.value, Reason.INTERNAL_ERROR.value,
                          f"Preparing the article failed unexpectedly: {describe_exception(exc)}. This is a "
                          "bug in newsevents; please report it with this row's payload.",
                          article.doc_id, article.text[:PAYLOAD_CHARS], article.input_location)


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
