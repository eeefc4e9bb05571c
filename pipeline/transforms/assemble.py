"""Assemble: join each document with what the model stages found for it."""

from __future__ import annotations

import apache_beam as beam

from pipeline.transforms.prepare import finish_document

__all__ = ["AssembleDocuments"]


def _finish(item):
    _, grouped = item
    docs = list(grouped["doc"])
    n_mentions = sum(grouped["mentions"])
    n_failed = sum(grouped["failed"])
    for doc in docs:
        yield finish_document(doc, n_mentions, n_failed)


class AssembleDocuments(beam.PTransform):
    """``documents``, ``mentions`` and failed chunks -> finished ``DocumentRecord``s.

    Mentions and failures are reduced to counts per document before the join,
    so the shuffle stays small whatever the article length.
    """

    def expand(self, inputs):
        documents, mentions, failed_chunks = inputs
        keyed_docs = documents | "KeyDocs" >> beam.Map(lambda d: (d.doc_id, d))
        counts = (
            mentions
            | "KeyMentions" >> beam.Map(lambda m: (m.doc_id, 1))
            | "CountMentions" >> beam.CombinePerKey(sum)
        )
        failed = (
            failed_chunks
            | "KeyFailed" >> beam.Map(lambda c: (c.doc_id, 1))
            | "CountFailed" >> beam.CombinePerKey(sum)
        )
        return (
            {"doc": keyed_docs, "mentions": counts, "failed": failed}
            | "JoinByDoc" >> beam.CoGroupByKey()
            | "Finish" >> beam.FlatMap(_finish)
        )
