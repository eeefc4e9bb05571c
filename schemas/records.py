"""Typed records: the single source of truth for what flows through the pipeline.

Each record that reaches a table has a matching Arrow schema in ``schemas.arrow``
with the same field names in the same order; ``tests/schemas`` checks the pairs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "Article",
    "Chunk",
    "DeadLetter",
    "DocumentRecord",
    "EntityMention",
    "EventRecord",
    "SentenceEvent",
    "as_row",
]


@dataclass(frozen=True)
class Article:
    """One input record that passed validation.

    ``text`` is the article exactly as given; every offset the pipeline writes
    points into it.
    """

    doc_id: str
    text: str
    title: str | None = None
    url: str | None = None
    source: str | None = None
    published: dt.datetime | None = None
    language: str | None = None
    input_location: str = ""
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Chunk:
    """A sentence, or a window of a long sentence, ready for the models.

    ``words`` are the cleaned word strings the models see; ``word_spans`` their
    offsets in the original article text. A long sentence is cut into
    overlapping chunks; each chunk *owns* ``[own_start, own_end)`` of the
    original text, so a mention found in an overlap is kept by exactly one chunk.
    """

    doc_id: str
    sentence_index: int
    chunk_index: int
    char_start: int
    char_end: int
    words: tuple[str, ...]
    word_spans: tuple[tuple[int, int], ...]
    own_start: int
    own_end: int
    surface: str  # the original text[char_start:char_end]

    def word_range(self, first: int, end: int) -> tuple[str, int, int]:
        """Words ``[first, end)`` as ``(original text, char_start, char_end)``."""
        start, stop = self.word_spans[first][0], self.word_spans[end - 1][1]
        return self.surface[start - self.char_start : stop - self.char_start], start, stop


@dataclass(frozen=True)
class EntityMention:
    """A named-entity mention; ``text == article.text[char_start:char_end]``."""

    doc_id: str
    sentence_index: int
    mention_id: str
    text: str
    label: str
    char_start: int
    char_end: int
    score: float
    model: str


@dataclass(frozen=True)
class SentenceEvent:
    """An event as the event model found it in one sentence, before article-level merging.

    Actor offsets point into the original article text, like every offset.
    """

    doc_id: str
    sentence_index: int
    char_start: int
    char_end: int
    event_type: str
    trigger: str | None
    source_text: str | None
    source_start: int | None
    source_end: int | None
    source_label: str | None
    target_text: str | None
    target_start: int | None
    target_end: int | None
    target_label: str | None
    location: str | None
    confidence: float
    event_model: str
    time_text: str | None = None
    sentence_text: str | None = None
    event_mode: str | None = None


@dataclass(frozen=True)
class EventRecord:
    """A row of the ``events`` table: one event of an article (identical ones merged)."""

    event_id: str
    doc_id: str
    sentence_index: int
    char_start: int
    char_end: int
    trigger: str | None
    event_type: str
    source_text: str | None
    source_label: str | None
    target_text: str | None
    target_label: str | None
    source_actor: str | None
    source_country: str | None
    target_actor: str | None
    target_country: str | None
    location: str | None
    country_code: str | None
    event_date: dt.date | None
    time_text: str | None
    confidence: float
    num_mentions: int
    published: dt.datetime | None
    ner_model: str
    event_model: str
    pipeline_version: str
    sentence_text: str | None = None
    #: "sentence" when the event's own sentence names the place, "article" when it
    #: falls back to the article lead's first place, None when there is no place.
    location_source: str | None = None
    #: The PLOVER mode (e.g. ASSAULT "firearms"), for the types where the model's
    #: mode accuracy on the real-news dev split is at least 0.6; else None.
    event_mode: str | None = None
    #: How precise ``event_date`` is: "day", "week", "month", "year" (a period's first
    #: day), or "published" when the sentence gives no date and the article's is used.
    event_date_precision: str | None = None
    #: The actor span is a pronoun ("he", "it"), kept as it is.
    source_is_pronoun: bool = False
    target_is_pronoun: bool = False


@dataclass(frozen=True)
class DocumentRecord:
    """One processed article (a row of the ``documents`` table)."""

    doc_id: str
    title: str | None
    url: str | None
    source: str | None
    published: dt.datetime | None
    language: str | None
    n_chars: int
    n_sentences: int
    n_mentions: int
    n_events: int
    status: str
    notes: list[str] = field(default_factory=list)
    input_location: str = ""
    #: ``pipeline.transforms.dedup.text_key`` of the article's text: what ``--mode append``
    #: compares new articles with (issue 15).
    text_hash: str | None = None


@dataclass(frozen=True)
class DeadLetter:
    """An input record or model batch that could not be processed, and why."""

    stage: str
    reason: str
    error: str
    doc_id: str | None = None
    payload: str | None = None
    input_location: str | None = None


def as_row(record: Any) -> dict[str, Any]:
    """A record as a plain dict for the Parquet writer (lists, not tuples)."""
    return asdict(record)
