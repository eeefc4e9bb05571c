"""Assemble: join each document with what the model stages found for it.

Outputs the finished ``DocumentRecord`` (counts, status) and the article's merged
``EventRecord`` rows, or the document's dead letter. Of the mentions, the join
receives counts, the lead's places and the PER, ORG and LOC mentions (for
canonical names, pronouns and the country context of shared place names); MISC
mentions stay out. Finishing a document is ``models.assembly.finish_article``, the
same function the Python API calls; its docstring says what a failure keeps
(issue 14: no document's failure fails the job).
"""

from __future__ import annotations

from typing import Iterator

import apache_beam as beam
from newsevents.models.assembly import NAMED_LABELS, Dropped, finish_article, is_lead_place, unwritable
from newsevents.pipeline import progress
from newsevents.pipeline.split import SplitByType
from newsevents.schemas.records import DeadLetter, DocumentRecord, EventRecord

__all__ = ["Assemble", "KeepWritable"]


class KeepWritable(beam.PTransform):
    """Records -> ``(records whose rows fit table, Dropped notes on the others)``.

    Applied where a record type forks (mentions go to their writer and to the
    join), so a row that cannot be written is dropped from both and its document
    says so, instead of failing the writer (``models.assembly.unwritable``).

    Example::

        mentions, unwritable = found | KeepWritable("entities", EntityMention)
    """

    def __init__(self, table: str, record_type: type) -> None:
        super().__init__()
        self._table = table
        self._type = record_type

    def expand(self, records):
        table = self._table

        def check(record) -> Iterator:
            dropped = unwritable(record, table)
            yield record if dropped is None else dropped

        return records | "Check" >> beam.FlatMap(check) | "ByType" >> SplitByType(self._type, Dropped)


class _Finish(beam.DoFn):
    def __init__(self, ner_model: str, pipeline_version: str) -> None:
        self._ner_model = ner_model
        self._version = pipeline_version

    def process(self, item):
        _, g = item
        for doc in g["doc"]:
            finished = finish_article(doc, sum(g["mentions"]), g["lead"], g["named"], g["events"], sum(g["failed"]),
                                      g["dropped"], self._ner_model, self._version)
            out = [finished] if isinstance(finished, DeadLetter) else [finished[0], *finished[1]]
            yield from out
            progress.bump("documents")
            progress.bump("events", len(out) - 1)


class Assemble(beam.PTransform):
    """``(documents, mentions, sentence_events, failed_chunks, dropped)`` -> ``(documents, events, dead_letters)``.

    ``dropped`` holds :class:`Dropped` notes on parts left out upstream (see :class:`KeepWritable`).
    """

    def __init__(self, ner_model: str, pipeline_version: str) -> None:
        super().__init__()
        self._ner_model = ner_model
        self._version = pipeline_version

    def expand(self, inputs):
        documents, mentions, sentence_events, failed_chunks, dropped = inputs
        by_doc = {
            "doc": documents | "KeyDocs" >> beam.Map(lambda d: (d.doc_id, d)),
            "mentions": (
                mentions
                | "KeyMentions" >> beam.Map(lambda m: (m.doc_id, 1))
                | "CountMentions" >> beam.CombinePerKey(sum)
            ),
            "lead": (
                mentions
                | "LeadPlaces" >> beam.Filter(is_lead_place)
                | "KeyLead" >> beam.Map(lambda m: (m.doc_id, m))
            ),
            "named": (
                mentions
                | "Named" >> beam.Filter(lambda m: m.label in NAMED_LABELS)
                | "KeyNamed" >> beam.Map(lambda m: (m.doc_id, m))
            ),
            "events": sentence_events | "KeyEvents" >> beam.Map(lambda e: (e.doc_id, e)),
            "failed": (
                failed_chunks
                | "KeyFailed" >> beam.Map(lambda c: (c.doc_id, 1))
                | "CountFailed" >> beam.CombinePerKey(sum)
            ),
            "dropped": dropped | "KeyDropped" >> beam.Map(lambda d: (d.doc_id, d.note)),
        }
        out = (
            by_doc
            | "JoinByDoc" >> beam.CoGroupByKey()
            | "Finish" >> beam.ParDo(_Finish(self._ner_model, self._version))
        )
        return out | "ByType" >> SplitByType(DocumentRecord, EventRecord, DeadLetter)
