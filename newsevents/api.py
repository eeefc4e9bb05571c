"""The Python API: the pipeline's per-document work on texts and dicts, in a notebook, without Beam.

    import newsevents

    ex = newsevents.load()                                   # the embedded default models, loaded once
    doc = ex("Police arrested 14 protesters in Lagos on Friday.", published="2026-03-01")
    doc.events, doc.entities, doc.document, doc.dead_letter  # schemas.records, as in the tables
    for doc in ex.pipe(texts_or_dicts, batch_size=64): ...   # lazy, in input order
    ex.to_arrow(docs, table="events")                        # the Parquet output's Arrow schema

It calls the same core as the Beam stages (``models.extract.ArticleExtractor``:
preparation, both model handlers with their length sorting and token budgets,
assembly), so a text gives the rows a pipeline run writes for it, ids included.
Inputs are validated as the reader validates a JSON record: what would be a dead
letter there (no text, no usable id, a text over ``max_article_chars``) is a
:class:`Document` with ``dead_letter`` set here, never an exception.

Unlike a pipeline run, inputs are not deduplicated: each input gives one Document.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Iterable, Iterator

import pyarrow as pa

from newsevents.models.base import BATCH_SIZE, MAX_BATCH_TOKENS, Backend, Device, Precision
from newsevents.models.document import MAX_ARTICLE_CHARS, article_from_object, json_payload, read_dead_letter, text_key
from newsevents.models.events import EventModelHandler
from newsevents.models.extract import ArticleExtractor, Document
from newsevents.models.ner import NerModelHandler
from newsevents.models.registry import DEFAULT_EVENTS, DEFAULT_NER
from newsevents.schemas.arrow import TABLES
from newsevents.schemas.errors import ConfigError, Reason
from newsevents.schemas.records import Article, DeadLetter
from newsevents.schemas.rows import row_of

__all__ = ["Document", "Extractor", "load", "text_id", "to_arrow"]


def text_id(text: str) -> str:
    """The id of a text given without one: ``"text-"`` and the first 16 hex digits of its text key.

    The text key (``models.document.text_key``, the documents table's ``text_hash``)
    hashes the text as a reader sees it (NFKC, case-folded, whitespace collapsed), so
    the same text gets the same id in every session, and two texts that a pipeline
    run would count as duplicates get the same id.

    >>> text_id("Police arrested 14 protesters.") == text_id("police  arrested 14 protesters.")
    True
    """
    return f"text-{text_key(text)[:16]}"


def _as_record(item: Any) -> Any:
    # A date or datetime for ``published`` is taken as what its ISO string would say.
    if isinstance(item, dict) and isinstance(item.get("published"), (dt.date, dt.datetime)):
        return {**item, "published": item["published"].isoformat()}
    return item


def _article(item: Any, location: str, max_chars: int) -> Article | DeadLetter:
    """One input (a text or a dict in the input-file JSON shape) -> ``Article`` or ``DeadLetter``."""
    if isinstance(item, str):  # as a text file: its payload is the text
        return article_from_object({"id": text_id(item), "text": item}, item, location, max_chars)
    if not isinstance(item, dict):
        return read_dead_letter(Reason.NOT_AN_OBJECT, f"Each input must be a text (str) or an article (dict), got "
                                f"{type(item).__name__}.", repr(item), location)
    item = _as_record(item)
    return article_from_object(item, lambda: json_payload(item), location, max_chars, "Each input")


def to_arrow(docs: Document | Iterable[Document], table: str = "events") -> pa.Table:
    """The rows of ``docs`` for ``table`` as a ``pyarrow.Table`` with the Parquet output's schema.

    Args:
        docs: Documents from :meth:`Extractor.pipe` or :meth:`Extractor.__call__` (one or many).
        table: ``documents``, ``entities``, ``events`` or ``dead_letters``.

    Raises:
        ValueError: an unknown table, or a row that does not fit its schema.
    """
    if table not in TABLES:
        raise ValueError(f"Unknown table {table!r}; known: {sorted(TABLES)}.")
    docs = [docs] if isinstance(docs, Document) else docs
    return pa.Table.from_pylist([row_of(r, table) for d in docs for r in d.rows(table)], schema=TABLES[table])


class Extractor:
    """Both models, loaded once; call it on a text, or ``pipe`` many (see :func:`load`).

    Example::

        ex = newsevents.load(device="cpu")
        [(e.event_type, e.source_actor, e.target_actor) for e in ex("Police arrested Musa Bello.").events]
    """

    def __init__(self, core: ArticleExtractor, max_article_chars: int = MAX_ARTICLE_CHARS) -> None:
        self._core = core
        self._max_chars = max_article_chars

    @property
    def ner_model(self) -> str:
        """The NER model's name, as the tables record it."""
        return self._core.ner_handler.model_name

    @property
    def event_model(self) -> str:
        """The event model's name, as the tables record it."""
        return self._core.event_handler.model_name

    def __call__(self, text: str, *, published: str | dt.date | None = None, id: str | None = None,
                 title: str | None = None, url: str | None = None, source: str | None = None,
                 language: str | None = None) -> Document:
        """One text -> its :class:`Document`.

        Args:
            text: the article, exactly as published (every offset points into it).
            published: ISO 8601 date or time (or a ``date``/``datetime``): anchors relative dates.
            id: the document id; default :func:`text_id` of the text.
            title, url, source, language: the documents table's columns.
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}; pass dicts to pipe().")
        fields = {"published": published, "title": title, "url": url, "source": source, "language": language}
        record = {"id": text_id(text) if id is None else id, "text": text,
                  **{k: v for k, v in fields.items() if v is not None}}
        return next(self.pipe([record]))

    def pipe(self, inputs: Iterable[str | dict], batch_size: int = 64) -> Iterator[Document]:
        """One :class:`Document` per input, lazily and in input order.

        Args:
            inputs: texts (their id is :func:`text_id`) or dicts in the input-file JSON
                shape (``id``, ``text``; ``title``, ``url``, ``source``, ``language``,
                ``published`` optional), mixed freely. An input the reader would
                dead-letter gives a Document whose ``dead_letter`` says why.
            batch_size: inputs run through the models together (their sentences are
                sorted by length and cut by the token budget of :func:`load`).

        The ``input_location`` of each row is the input's index, ``[i]``.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
        batch: list[Article | DeadLetter] = []
        for i, item in enumerate(inputs):
            batch.append(_article(item, f"[{i}]", self._max_chars))
            if len(batch) == batch_size:
                yield from self._core.extract(batch)
                batch = []
        if batch:
            yield from self._core.extract(batch)

    def to_arrow(self, docs: Document | Iterable[Document], table: str = "events") -> pa.Table:
        """:func:`to_arrow`: the rows of ``docs`` for ``table`` with the Parquet output's schema."""
        return to_arrow(docs, table)


def load(ner_model: str = DEFAULT_NER, event_model: str = DEFAULT_EVENTS, *, device: Device | str = Device.AUTO,
         precision: Precision | str = Precision.FP32, backend: Backend | str = Backend.TORCH,
         batch_size: int = BATCH_SIZE,
         max_batch_tokens: int = MAX_BATCH_TOKENS, threads: int = 0, max_article_chars: int = MAX_ARTICLE_CHARS,
         trust_remote_code: bool = False) -> Extractor:
    """Load both models once and return an :class:`Extractor`; the options are ``newsevents run``'s.

    Args:
        ner_model, event_model: registry name, local model directory or Hugging Face hub id
            (the defaults are the models embedded in the package: no network).
        device: ``auto`` (a GPU when torch sees one), ``cpu`` or ``cuda``.
        precision: ``fp32``, ``int8`` (CPU), ``fp16`` (GPU) or ``bf16``; ``int8`` runs for each model
            within its F1 budget, else that model runs fp32 and a log line says so (``models.variants``).
        backend: ``torch``, or ``onnx`` (ONNX Runtime on the CPU, fp32 or int8: ``pip install
            'newsevents[onnx]'``; the graphs are built from the shipped weights at first use and cached).
        batch_size: most sentences in one forward pass.
        max_batch_tokens: most padded tokens in one forward pass.
        threads: torch intra-op threads (0: torch's default).
        max_article_chars: longer texts are dead letters (reason ``too_large``), as in a run.
        trust_remote_code: allow a hub model's own Python code.

    Raises:
        ConfigError: an option the device cannot run (``fp16`` on a CPU, ``cuda`` without a GPU).
        ModelLoadError: a model's files do not load; one line naming the file (the run's pre-flight check).
    """
    if max_article_chars < 1:
        raise ConfigError(f"max_article_chars must be positive, got {max_article_chars}.")
    options = {"device": device, "batch_size": batch_size, "max_batch_tokens": max_batch_tokens,
               "precision": precision, "backend": backend, "threads": threads,
               "trust_remote_code": trust_remote_code}
    handlers = (NerModelHandler(ner_model, **options), EventModelHandler(event_model, **options))
    for handler in handlers:
        handler.validate()
    # Loaded once, in this process: damaged files fail as `newsevents run`'s pre-flight check fails them.
    return Extractor(ArticleExtractor(*handlers), max_article_chars)
