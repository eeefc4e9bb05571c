"""Prepare: article -> cleaned text -> sentences -> model-sized chunks.

Emits the chunks for the models and one ``DocumentRecord`` per article (its
``n_mentions``/``status`` are filled in by ``assemble``); an article that cannot
be prepared becomes a dead letter instead (reason ``empty_text``, or
``internal_error`` when preparing it raised), so it is still accounted for. The
work is ``models.document.prepare_guarded``, the same function the Python API calls.
"""

from __future__ import annotations

from typing import Iterator

import apache_beam as beam
from newsevents.models.document import CHUNK_OVERLAP, MAX_WORDS_PER_CHUNK, prepare_guarded
from newsevents.pipeline.split import SplitByType
from newsevents.schemas.records import Article, Chunk, DeadLetter, DocumentRecord

__all__ = ["PrepareArticles"]


class _Prepare(beam.DoFn):
    def __init__(self, max_words: int, overlap: int) -> None:
        self._max_words = max_words
        self._overlap = overlap

    def process(self, article: Article) -> Iterator:
        result = prepare_guarded(article, self._max_words, self._overlap)
        if isinstance(result, DeadLetter):
            yield result
            return
        doc, chunks = result
        yield doc
        yield from chunks


class PrepareArticles(beam.PTransform):
    """Articles -> ``(chunks, documents, dead_letters)``.

    Example::

        chunks, documents, dead = articles | PrepareArticles(max_words=120, overlap=24)
    """

    def __init__(self, max_words: int = MAX_WORDS_PER_CHUNK, overlap: int = CHUNK_OVERLAP) -> None:
        super().__init__()
        self._max_words = max_words
        self._overlap = overlap

    def expand(self, articles):
        return (
            articles
            | "CleanAndSplit" >> beam.ParDo(_Prepare(self._max_words, self._overlap))
            | "ByType" >> SplitByType(Chunk, DocumentRecord, DeadLetter)
        )
