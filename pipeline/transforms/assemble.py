"""Assemble: join each document with what the model stages found for it.

Outputs the finished ``DocumentRecord`` (counts, status) and the article's merged
``EventRecord`` rows. Of the mentions, the join receives counts, the lead's places
and the PER, ORG and LOC mentions (for canonical names, pronouns and the country
context of shared place names); MISC mentions stay out.
"""

from __future__ import annotations

import apache_beam as beam

from pipeline import progress
from pipeline.transforms.events import assemble_events, is_lead_place, lead_location
from pipeline.transforms.prepare import finish_document
from pipeline.transforms.split import SplitByType
from schemas.records import DocumentRecord, EventRecord

__all__ = ["Assemble"]


class _Finish(beam.DoFn):
    def __init__(self, ner_model: str, pipeline_version: str) -> None:
        self._ner_model = ner_model
        self._version = pipeline_version

    def process(self, item):
        _, g = item
        lead = lead_location(g["lead"])
        sentence_events = list(g["events"])
        for doc in g["doc"]:
            events = assemble_events(doc, sentence_events, lead, self._ner_model, self._version,
                                     named=sorted(g["named"], key=lambda m: m.char_start))
            yield finish_document(doc, sum(g["mentions"]), len(events), sum(g["failed"]))
            yield from events
            progress.bump("documents")
            progress.bump("events", len(events))


class Assemble(beam.PTransform):
    """``(documents, mentions, sentence_events, failed_chunks)`` -> ``(documents, events)``."""

    def __init__(self, ner_model: str, pipeline_version: str) -> None:
        super().__init__()
        self._ner_model = ner_model
        self._version = pipeline_version

    def expand(self, inputs):
        documents, mentions, sentence_events, failed_chunks = inputs
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
                | "Named" >> beam.Filter(lambda m: m.label in ("PER", "ORG", "LOC"))
                | "KeyNamed" >> beam.Map(lambda m: (m.doc_id, m))
            ),
            "events": sentence_events | "KeyEvents" >> beam.Map(lambda e: (e.doc_id, e)),
            "failed": (
                failed_chunks
                | "KeyFailed" >> beam.Map(lambda c: (c.doc_id, 1))
                | "CountFailed" >> beam.CombinePerKey(sum)
            ),
        }
        out = (
            by_doc
            | "JoinByDoc" >> beam.CoGroupByKey()
            | "Finish" >> beam.ParDo(_Finish(self._ner_model, self._version))
        )
        return out | "ByType" >> SplitByType(DocumentRecord, EventRecord)
