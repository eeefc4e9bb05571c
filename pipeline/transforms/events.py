"""Article-level event assembly: place, time, merging and ids (pure functions + a DoFn helper).

The event model finds events sentence by sentence; here each article's events
get a location (the sentence's, else the article lead's), a country code, a date
resolved from the sentence's temporal expression and the article's ``published``
date, and identical events (same type, source and target) are merged into one
row whose ``num_mentions`` counts them, as GDELT does.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Iterable, Sequence

from pipeline.transforms.actors import actor_country, canonical_actor
from pipeline.transforms.place_time import country_code, find_time, resolve_time
from schemas.records import Chunk, DocumentRecord, EntityMention, EventRecord, SentenceEvent

__all__ = ["assemble_events", "event_id", "is_lead_place", "lead_location", "with_time"]


def _norm(actor: str | None) -> str:
    return " ".join(actor.lower().split()) if actor else ""


def event_id(doc_id: str, event_type: str, source: str | None, target: str | None) -> str:
    """Deterministic id: the same article, type and actors give the same id on every run."""
    key = "\x1f".join((doc_id, event_type, _norm(source), _norm(target))).encode()
    return hashlib.sha1(key).hexdigest()[:16]


def with_time(chunk: Chunk, events: Sequence[SentenceEvent]) -> list[SentenceEvent]:
    """Attach the sentence's text and, to each event, the temporal expression nearest its trigger.

    (Nearest rather than first: "On Monday, police said they arrested him last week"
    dates the arrest last week; measured on the real-news train split, issue #12.)
    """
    out = []
    for e in events:
        at = chunk.surface.find(e.trigger) if e.trigger else -1
        time_text = find_time(chunk.surface, at if at >= 0 else None)
        out.append(dataclasses.replace(e, time_text=time_text, sentence_text=chunk.surface))
    return out


def is_lead_place(mention: EntityMention) -> bool:
    """Whether a mention is a place named in the article's first sentence."""
    return mention.sentence_index == 0 and mention.label == "LOC"


def lead_location(mentions: Iterable[EntityMention]) -> str | None:
    """The first place named in the article's first sentence (a dateline, usually)."""
    lead = [m for m in mentions if is_lead_place(m)]
    return min(lead, key=lambda m: m.char_start).text if lead else None


def assemble_events(
    doc: DocumentRecord,
    events: Sequence[SentenceEvent],
    lead: str | None,
    ner_model: str,
    pipeline_version: str,
    people: Sequence[str] = (),
    merge: bool = True,
) -> list[EventRecord]:
    """One article's sentence events -> merged, dated, placed ``EventRecord`` rows.

    ``people`` are the article's PER mention texts, for canonical actor names;
    events with the same type and canonical actors are one event (unless
    ``merge`` is false: the evaluation scores every sentence's own events).
    """
    published = doc.published.date() if doc.published else None
    merged: dict[str, EventRecord] = {}
    anchor = None
    for ev in sorted(events, key=lambda e: (e.sentence_index, e.char_start, e.event_type)):
        date = resolve_time(ev.time_text, published, anchor)
        anchor = date or anchor
        location = ev.location or lead
        location_source = "sentence" if ev.location else ("article" if lead else None)
        code = (
            country_code(location)
            or country_code(ev.target_text, countries_only=True)
            or country_code(ev.source_text, countries_only=True)
        )
        source, target = canonical_actor(ev.source_text, people), canonical_actor(ev.target_text, people)
        eid = event_id(doc.doc_id, ev.event_type, source, target)
        if not merge:
            eid = f"{eid}:{len(merged)}"
        if eid in merged:
            first = merged[eid]
            merged[eid] = dataclasses.replace(
                first, num_mentions=first.num_mentions + 1, confidence=max(first.confidence, ev.confidence),
                event_date=first.event_date or date, time_text=first.time_text or (ev.time_text if date else None),
            )
            continue
        merged[eid] = EventRecord(
            event_id=eid,
            doc_id=doc.doc_id,
            sentence_index=ev.sentence_index,
            char_start=ev.char_start,
            char_end=ev.char_end,
            trigger=ev.trigger,
            event_type=ev.event_type,
            source_text=ev.source_text,
            source_label=ev.source_label,
            target_text=ev.target_text,
            target_label=ev.target_label,
            source_actor=source,
            source_country=actor_country(ev.source_text),
            target_actor=target,
            target_country=actor_country(ev.target_text),
            location=location,
            country_code=code,
            event_date=date,
            time_text=ev.time_text,
            confidence=ev.confidence,
            num_mentions=1,
            published=doc.published,
            ner_model=ner_model,
            event_model=ev.event_model,
            pipeline_version=pipeline_version,
            sentence_text=ev.sentence_text,
            location_source=location_source,
            event_mode=ev.event_mode,
        )
    return list(merged.values())
