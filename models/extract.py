"""The per-document work in plain Python: articles in, each article's table rows out.

The same steps, in the same order and with the same failure rules, as the Beam
graph (``pipeline/graph.py``), without Beam: it is what the Python API
(``newsevents.load()``) and the news evaluation run. Read top to bottom:

1. prepare: clean, split into sentences, cut into chunks (``prepare_guarded``);
   an article with no text left becomes a dead letter;
2. entities: the NER handler's ``run_inference`` over windows of chunks (the
   handler sorts each window by length and cuts it by its token budget); a window
   that raises makes each of its chunks a ``model_failed`` dead letter;
3. events: the event handler over ``(chunk, mentions)`` pairs, the same way; the
   sentence's time expression attached to each event (``with_time``);
4. assemble: a mention row no table could store is dropped with a note
   (``unwritable``), and ``finish_article`` merges, places and dates the events
   and finishes the document (``partial`` when a chunk failed).

Example::

    extractor = ArticleExtractor(NerModelHandler(DEFAULT_NER), EventModelHandler(DEFAULT_EVENTS))
    [doc] = extractor.extract([Article("a1", "Police in Lagos arrested 14 protesters on Friday.")])
    doc.document.status, [e.event_type for e in doc.events]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Sequence

from newsevents.models.assembly import NAMED_LABELS, finish_article, is_lead_place, unwritable, with_time
from newsevents.models.document import CHUNK_OVERLAP, MAX_WORDS_PER_CHUNK, PAYLOAD_CHARS, prepare_guarded
from newsevents.models.events import EventModelHandler
from newsevents.models.ner import NerModelHandler
from newsevents.schemas.errors import Reason, Stage
from newsevents.schemas.records import Article, Chunk, DeadLetter, DocumentRecord, EntityMention, EventRecord

from newsevents._version import __version__

__all__ = ["ArticleExtractor", "Document", "model_dead_letters"]


@dataclass(frozen=True)
class Document:
    """What one input record became: the rows it adds to each output table.

    Attributes:
        document: its ``documents`` row, or None when the record is a dead letter.
        entities: its ``entities`` rows, in text order.
        events: its ``events`` rows (identical events merged), in sentence order.
        dead_letters: its ``dead_letters`` rows: the record's own when it has no
            document, else one per chunk a model failed on (the document is then ``partial``).
    """

    document: DocumentRecord | None
    entities: list[EntityMention] = field(default_factory=list)
    events: list[EventRecord] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)

    @property
    def dead_letter(self) -> DeadLetter | None:
        """The dead letter that stands for the whole record (it has no document), else None."""
        return self.dead_letters[0] if self.document is None and self.dead_letters else None

    def rows(self, table: str) -> list:
        """The records this input adds to ``table`` (``documents``, ``entities``, ``events``, ``dead_letters``)."""
        tables = {"documents": [self.document] if self.document is not None else [], "entities": self.entities,
                  "events": self.events, "dead_letters": self.dead_letters}
        if table not in tables:
            raise ValueError(f"Unknown table {table!r}; known: {sorted(tables)}.")
        return list(tables[table])


def model_dead_letters(stage: Stage, chunks: Sequence[Chunk], message: str) -> list[DeadLetter]:
    """The dead letters of a model batch that raised ``message``: one per chunk, naming its sentence."""
    return [DeadLetter(stage.value, Reason.MODEL_FAILED.value, f"The {stage.value} model failed on this chunk's "
                       f"batch: {message}", c.doc_id, c.surface[:PAYLOAD_CHARS], f"sentence {c.sentence_index}")
            for c in chunks]


def _windows(items: list, size: int) -> Iterator[list]:
    # The windows RunInference hands a handler (its BatchElements size); the handler sorts and sub-batches each.
    for b in range(0, len(items), size):
        yield items[b : b + size]


@dataclass
class _Article:
    """One prepared article's parts while the models run over the batch."""

    doc: DocumentRecord
    mentions: list[EntityMention] = field(default_factory=list)
    events: list = field(default_factory=list)  # SentenceEvent, with time
    failed: list[DeadLetter] = field(default_factory=list)


class ArticleExtractor:
    """Both models loaded once, run over batches of articles as the pipeline runs them.

    Args:
        ner: the NER stage's handler (its batch size, token budget and window apply).
        events: the event stage's handler.
        max_words, overlap: chunking (``--max-words-per-chunk``, ``--chunk-overlap``).
        pipeline_version: the events' ``pipeline_version`` column (default: this package's version).
        merge: merge identical events of an article (false in the evaluation, which scores each sentence).

    Attributes:
        ner_handler, event_handler: the handlers given.
        ner_loaded, event_loaded: their loaded models (``load_checked``, called here, once).

    Raises:
        ModelLoadError: a model's files do not load; one line naming the model.
    """

    def __init__(self, ner: NerModelHandler, events: EventModelHandler, *, max_words: int = MAX_WORDS_PER_CHUNK,
                 overlap: int = CHUNK_OVERLAP, pipeline_version: str | None = None, merge: bool = True) -> None:
        self.ner_handler, self.event_handler = ner, events
        self.ner_loaded, self.event_loaded = ner.load_checked(), events.load_checked()
        self._max_words, self._overlap = max_words, overlap
        self._version = pipeline_version or __version__
        self._merge = merge

    def extract(self, records: Sequence[Article | DeadLetter]) -> list[Document]:
        """One :class:`Document` per record, in order; a ``DeadLetter`` record stays one. Never raises on a record."""
        out: list[Document | _Article] = []
        chunks: list[tuple[_Article, Chunk]] = []
        for record in records:  # 1. prepare
            prepared = record if isinstance(record, DeadLetter) else prepare_guarded(record, self._max_words,
                                                                                     self._overlap)
            if isinstance(prepared, DeadLetter):
                out.append(Document(None, dead_letters=[prepared]))
                continue
            article = _Article(prepared[0])
            out.append(article)
            chunks += [(article, c) for c in prepared[1]]
        pairs = self._entities(chunks)  # 2.
        self._events(pairs)  # 3.
        return [self._finish(a) if isinstance(a, _Article) else a for a in out]  # 4.

    def _entities(self, chunks: list[tuple[_Article, Chunk]]) -> list[tuple[_Article, tuple]]:
        pairs = []
        for window in _windows(chunks, self.ner_handler.batch_elements_kwargs()["max_batch_size"]):
            try:
                results = list(self.ner_handler.run_inference([c for _, c in window], self.ner_loaded))
            except Exception as exc:  # noqa: BLE001 - a failed batch becomes dead letters, as with RunInference
                self._failed(window, Stage.NER, exc)
                continue
            for (article, _), result in zip(window, results):
                article.mentions += result.inference
                pairs.append((article, (result.example, result.inference)))
        return pairs

    def _events(self, pairs: list[tuple[_Article, tuple]]) -> None:
        for window in _windows(pairs, self.event_handler.batch_elements_kwargs()["max_batch_size"]):
            try:
                results = list(self.event_handler.run_inference([p for _, p in window], self.event_loaded))
            except Exception as exc:  # noqa: BLE001 - a failed batch becomes dead letters, as with RunInference
                self._failed([(a, pair[0]) for a, pair in window], Stage.EVENTS, exc)
                continue
            for (article, _), result in zip(window, results):
                article.events += with_time(result.example[0], result.inference)

    @staticmethod
    def _failed(window: list[tuple[_Article, Chunk]], stage: Stage, exc: Exception) -> None:
        # repr(exc): the message RunInference's exception handling gives the graph's dead letters.
        for article, chunk in window:
            article.failed += model_dead_letters(stage, [chunk], repr(exc))

    def _finish(self, article: _Article) -> Document:
        kept, dropped = [], []
        for mention in article.mentions:
            note = unwritable(mention, "entities")
            (kept if note is None else dropped).append(mention if note is None else note.note)
        finished = finish_article(article.doc, len(kept), [m for m in kept if is_lead_place(m)],
                                  [m for m in kept if m.label in NAMED_LABELS], article.events, len(article.failed),
                                  dropped, self.ner_handler.model_name, self._version, merge=self._merge)
        if isinstance(finished, DeadLetter):
            # Its mentions stay: the pipeline writes them before any document is assembled.
            return Document(None, kept, dead_letters=[finished, *article.failed])
        doc, events = finished
        return Document(doc, kept, events, article.failed)
