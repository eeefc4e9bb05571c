"""Prepare: article -> cleaned text -> sentences -> model-sized chunks.

Emits the chunks for the models and one ``DocumentRecord`` per article (its
``n_mentions``/``status`` are filled in by ``assemble``); an article that cannot
be prepared becomes a dead letter instead (reason ``empty_text``, or
``internal_error`` when preparing it raised), so it is still accounted for.
"""

from __future__ import annotations

from typing import Iterator

import apache_beam as beam
from newsevents.models.document import PAYLOAD_CHARS, finish_document, prepare_article
from newsevents.pipeline.split import SplitByType
from newsevents.schemas.errors import Reason, Stage, describe_exception
from newsevents.schemas.records import Article, Chunk, DeadLetter, DocumentRecord

__all__ = ["PrepareArticles", "finish_document", "prepare_article"]



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


