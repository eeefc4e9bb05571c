"""Gold event sentences: reading the JSON Lines format and aligning spans to words.

The format is the one of the shared example (``telegram_events.jsonl``) and of
the team's data in ``models/data/events/``: one sentence per line with
``text`` and ``events: [{type, trigger, source, target, location, time}]``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from newsevents.models.features import split_words
from newsevents.schemas.ontology import event_type

__all__ = [
    "DATA_DIR",
    "ROLE_LABELS",
    "GoldEvent",
    "GoldSentence",
    "read_gold",
    "role_tags",
    "sentence_words",
    "type_prompt",
]

DATA_DIR = Path(__file__).resolve().parent / "data" / "events"

#: IOB2 tags of the role tagger, in model order.
ROLE_LABELS: tuple[str, ...] = ("O", "B-TRG", "I-TRG", "B-SRC", "I-SRC", "B-TGT", "I-TGT")
ROLE_OF = {"trigger": "TRG", "source": "SRC", "target": "TGT"}


@dataclass(frozen=True)
class GoldEvent:
    """One coded event; spans are verbatim substrings of the sentence or ``None``."""

    type: str
    trigger: str | None = None
    source: str | None = None
    target: str | None = None
    location: str | None = None
    time: str | None = None
    mode: str | None = None


@dataclass(frozen=True)
class GoldSentence:
    """A sentence and its gold events."""

    key: str
    text: str
    events: tuple[GoldEvent, ...]


def read_gold(path: str | Path) -> list[GoldSentence]:
    """Read a gold JSON Lines file.

    Raises:
        ValueError: a line that is not valid, naming the file and line.
    """
    out = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                events = tuple(
                    GoldEvent(event_type(e["type"]).name, e.get("trigger"), e.get("source"), e.get("target"),
                              e.get("location"), e.get("time"))
                    for e in obj.get("events", [])
                )
                key = obj.get("id") or f"{obj.get('doc_id')}:{obj.get('sentence_index', lineno)}"
                out.append(GoldSentence(str(key), obj["text"], events))
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{lineno}: not a gold event line ({exc}).") from exc
    return out


def type_prompt(name: str) -> list[str]:
    """The words that ask the role tagger about one event type."""
    t = event_type(name)
    return [t.name.lower(), ":"] + [w for trig in t.triggers[:4] for w in trig.split()]


def _find(text: str, span: str, near: int | None) -> tuple[int, int] | None:
    # All occurrences; prefer the one closest to the trigger (a name can repeat).
    starts = []
    at = text.find(span)
    while at >= 0:
        starts.append(at)
        at = text.find(span, at + 1)
    if not starts:
        return None
    best = min(starts, key=lambda s: abs(s - near)) if near is not None else starts[0]
    return best, best + len(span)


def role_tags(text: str, events: Sequence[GoldEvent], words: Sequence[tuple[int, int]]) -> list[str]:
    """Word-level IOB2 role tags for events of one type in ``text``.

    Words overlapping a span get its role; the first word ``B-``. Spans that do
    not occur in the text are ignored (gold files are validated elsewhere).
    """
    tags = ["O"] * len(words)
    for ev in events:
        trig = _find(text, ev.trigger, None) if ev.trigger else None
        near = trig[0] if trig else None
        for field, role in ROLE_OF.items():
            value = getattr(ev, field)
            span = trig if field == "trigger" else (_find(text, value, near) if value else None)
            if span is None:
                continue
            idx = [i for i, (s, e) in enumerate(words) if s < span[1] and e > span[0]]
            for j, i in enumerate(idx):
                if tags[i] == "O":
                    tags[i] = f"{'B' if j == 0 else 'I'}-{role}"
    return tags


def sentence_words(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    """Words of a sentence and their offsets (the pipeline's tokenisation)."""
    spans = split_words(text)
    return [text[s:e] for s, e in spans], spans


