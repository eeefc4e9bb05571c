"""Assemble: join each document with what the model stages found for it.

Outputs the finished ``DocumentRecord`` (counts, status) and the article's merged
``EventRecord`` rows. Of the mentions, the join receives counts, the lead's places
and the PER, ORG and LOC mentions (for canonical names, pronouns and the country
context of shared place names); MISC mentions stay out.

No document's failure fails the job (issue 14). By the time a document is
assembled its mentions are written, so a lost part keeps the document, marked
``partial`` with a note saying what was dropped and why:

- an event whose assembly raises is dropped, the document's other events kept;
- an event or mention whose row does not fit its table's schema is dropped.

Anything else that raises while finishing a document makes it a dead letter
(stage ``assemble``, reason ``internal_error``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import apache_beam as beam
from newsevents.models.assembly import assemble_events, is_lead_place, lead_location
from newsevents.pipeline import progress
from newsevents.pipeline.io.write_tables import row_payload, row_problem
from newsevents.pipeline.split import SplitByType
from newsevents.pipeline.transforms.prepare import finish_document
from newsevents.schemas.errors import Reason, Stage, describe_exception
from newsevents.schemas.records import DeadLetter, DocumentRecord, EntityMention, EventRecord, SentenceEvent

__all__ = ["Assemble", "Dropped", "KeepWritable", "assemble_guarded"]


@dataclass(frozen=True)
class Dropped:
    """A part of a document left out of its table; ``note`` goes into the document's notes."""

    doc_id: str
    note: str


class KeepWritable(beam.PTransform):
    """Records -> ``(records whose rows fit table, Dropped notes on the others)``.

    Applied where a record type forks (mentions go to their writer and to the
    join), so a row that cannot be written is dropped from both and its document
    says so, instead of failing the writer.

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
            problem = row_problem(record, table)
            yield record if problem is None else Dropped(record.doc_id, f"{table}: {_describe(record)} was dropped: "
                                                                        f"its row does not fit the table ({problem}).")

        return records | "Check" >> beam.FlatMap(check) | "ByType" >> SplitByType(self._type, Dropped)


def _describe(record) -> str:
    if isinstance(record, EntityMention):
        return f"the {record.label} mention at characters {record.char_start}-{record.char_end}"
    if isinstance(record, (EventRecord, SentenceEvent)):
        return f"the {record.event_type} event of sentence {record.sentence_index}"
    return f"a {type(record).__name__}"


def _event_order(ev: SentenceEvent) -> tuple:
    # assemble_events' own order: relative dates are anchored on the events before them.
    return ev.sentence_index, ev.char_start, ev.event_type


def assemble_guarded(assemble: Callable[[Sequence[SentenceEvent]], list[EventRecord]],
                     sentence_events: Sequence[SentenceEvent]) -> tuple[list[EventRecord], list[str]]:
    """One document's events via ``assemble``, dropping the events it raises on: ``(events, notes)``.

    When assembling all of them raises, the events are added one at a time in
    assembly order and an event whose addition raises is dropped, so merging and
    relative dates still work for the rest (an event that fails only after another,
    e.g. "a year later" anchored on a leap day, is found too). Event rows that do
    not fit the events table are dropped as well. Each drop gives one note.
    """
    notes: list[str] = []
    try:
        events = assemble(sentence_events)
    except Exception:  # noqa: BLE001 - find the events it fails on, keep the rest
        kept: list[SentenceEvent] = []
        events = []
        for ev in sorted(sentence_events, key=_event_order):
            try:
                events = assemble([*kept, ev])
            except Exception as exc:  # noqa: BLE001
                notes.append(f"events: {_describe(ev)} was dropped: assembling it raised {describe_exception(exc)}.")
                continue
            kept.append(ev)
    fitting = []
    for event in events:
        problem = row_problem(event, "events")
        if problem is None:
            fitting.append(event)
        else:
            notes.append(f"events: {_describe(event)} was dropped: its row does not fit the table ({problem}).")
    return fitting, notes


class _Finish(beam.DoFn):
    def __init__(self, ner_model: str, pipeline_version: str) -> None:
        self._ner_model = ner_model
        self._version = pipeline_version

    def process(self, item):
        _, g = item
        for doc in g["doc"]:
            try:
                out = self._finish(doc, g)
            except Exception as exc:  # noqa: BLE001 - one document's failure must not fail the job
                out = [DeadLetter(Stage.ASSEMBLE.value, Reason.INTERNAL_ERROR.value,
                                  f"Assembling the document failed unexpectedly: {describe_exception(exc)}. This "
                                  "is a bug in newsevents; please report it with this row's payload.",
                                  doc.doc_id, row_payload(doc), doc.input_location)]
            yield from out
            progress.bump("documents")
            progress.bump("events", len(out) - 1)

    def _finish(self, doc: DocumentRecord, g) -> list:
        # Everything is computed before anything is emitted: a failure half-way emits nothing but its dead letter.
        lead = lead_location(g["lead"])
        named = sorted(g["named"], key=lambda m: m.char_start)
        events, dropped = assemble_guarded(
            lambda evs: assemble_events(doc, evs, lead, self._ner_model, self._version, named=named),
            list(g["events"]))
        finished = finish_document(doc, sum(g["mentions"]), len(events), sum(g["failed"]),
                                   dropped=sorted(g["dropped"]) + dropped)
        return [finished, *events]


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
                | "Named" >> beam.Filter(lambda m: m.label in ("PER", "ORG", "LOC"))
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
