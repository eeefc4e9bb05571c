"""The team's stand-off annotations of real news articles (issue #12).

The article text stays in the shared corpus (``../shared/data/events/news``);
the project stores, one JSON line per article, the sentence boundaries and the
events as character offsets into the article's ``text``::

    {"corpus": "wikinews", "doc_id": "wikinews/2019-01-04/...", "annotator_pass": 2,
     "sentences": [{"start": 0, "end": 24, "events": []},
                   {"start": 27, "end": 120, "events": [
                       {"type": "ASSAULT", "mode": "firearms", "trigger": [40, 44],
                        "source": [27, 39], "target": null, "location": null, "time": null}]}]}

This module loads the corpus, proposes sentence boundaries with the pipeline's
own splitter, assigns articles to splits by a fixed hash rule and validates
annotation lines. It needs no model.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from typing import Iterable, Iterator, Sequence

from newsevents.models.event_data import GoldEvent
from newsevents.schemas.ontology import MODES, TYPE_NAMES

__all__ = [
    "CORPUS_FILES",
    "ROLES",
    "NewsSentence",
    "corpus_of",
    "gold_sentences",
    "load_articles",
    "propose_sentences",
    "read_annotations",
    "sentence_at",
    "split_of",
    "validate",
]

#: Corpus name -> file under the shared ``news/`` directory.
CORPUS_FILES = {"wikinews": "wikinews_2019_2021.jsonl", "bbc": "bbc_2004_2005.jsonl"}

#: Span fields of an event; the trigger is required, the others may be null.
ROLES = ("trigger", "source", "target", "location", "time")


def corpus_of(doc_id: str) -> str:
    """The corpus an article id belongs to (its first path segment)."""
    return doc_id.split("/", 1)[0]


def split_of(doc_id: str) -> str:
    """``dev`` or ``train``, fixed by the article id: dev when ``sha1(id) % 4 == 0``.

    >>> split_of("bbc/politics/001"), split_of("bbc/politics/003")
    ('train', 'dev')
    """
    return "dev" if int(hashlib.sha1(doc_id.encode("utf-8")).hexdigest(), 16) % 4 == 0 else "train"


def load_articles(corpus_dir: str, ids: Iterable[str] | None = None) -> dict[str, dict]:
    """Articles of the shared news corpus by id (all of them, or only ``ids``)."""
    wanted = set(ids) if ids is not None else None
    out: dict[str, dict] = {}
    for name, file in CORPUS_FILES.items():
        path = os.path.join(corpus_dir, file)
        if wanted is not None and not any(corpus_of(i) == name for i in wanted):
            continue
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                article = json.loads(line)
                if wanted is None or article["id"] in wanted:
                    out[article["id"]] = article
    if wanted is not None and wanted - out.keys():
        missing = sorted(wanted - out.keys())
        raise ValueError(f"{len(missing)} article ids are not in {corpus_dir}, e.g. {missing[0]!r}.")
    return out


def propose_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans in the original ``text``, as the pipeline splits it."""
    from newsevents.models.clean_text import clean_text, looks_like_html
    from newsevents.models.sentences import split_sentences

    clean = clean_text(text, looks_like_html(text))
    return [clean.to_original(s, e) for s, e in split_sentences(clean.text) if e > s]


def sentence_at(bounds: Sequence[tuple[int, int]], at: int) -> int | None:
    """The index of the ``[start, end)`` span holding offset ``at``, or ``None``.

    >>> sentence_at([(0, 10), (12, 20)], 12), sentence_at([(0, 10), (12, 20)], 11) is None
    (1, True)
    """
    return next((k for k, (s, e) in enumerate(bounds) if s <= at < e), None)


def read_annotations(path: str) -> list[dict]:
    """The annotation lines of one file."""
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _span_errors(where: str, span, sent: tuple[int, int], required: bool) -> list[str]:
    if span is None:
        return [f"{where}: required span is null"] if required else []
    if not (isinstance(span, list) and len(span) == 2 and all(isinstance(x, int) for x in span)):
        return [f"{where}: span must be [start, end], got {span!r}"]
    s, e = span
    if not (sent[0] <= s < e <= sent[1]):
        return [f"{where}: span {span} is not a non-empty span inside its sentence {list(sent)}"]
    return []


def validate(records: Iterable[dict], articles: dict[str, dict], split: str | None = None) -> list[str]:
    """Every problem of the annotation lines, as full sentences (empty when valid).

    Checks: known article, corpus name, ``annotator_pass``, sentences that tile the
    article without overlap (only whitespace between or around them), types, modes
    of that type, spans inside their sentence, an article annotated once, and
    (given ``split``) that the article belongs to that split.
    """
    errors: list[str] = []
    seen: set[str] = set()
    for n, rec in enumerate(records, 1):
        doc_id = rec.get("doc_id")
        where = f"line {n} ({doc_id})"
        article = articles.get(doc_id)
        if article is None:
            errors.append(f"{where}: unknown article id")
            continue
        if doc_id in seen:
            errors.append(f"{where}: article annotated twice")
        seen.add(doc_id)
        if rec.get("corpus") != corpus_of(doc_id):
            errors.append(f"{where}: corpus should be {corpus_of(doc_id)!r}, got {rec.get('corpus')!r}")
        if rec.get("annotator_pass") not in (1, 2):
            errors.append(f"{where}: annotator_pass must be 1 or 2")
        if split is not None and split_of(doc_id) != split:
            errors.append(f"{where}: the hash rule puts this article in {split_of(doc_id)}, not {split}")
        text = article["text"]
        cursor = 0
        for i, sent in enumerate(rec.get("sentences", [])):
            s, e = sent.get("start"), sent.get("end")
            swhere = f"{where} sentence {i}"
            if not (isinstance(s, int) and isinstance(e, int) and cursor <= s < e <= len(text)):
                errors.append(f"{swhere}: bounds {s}, {e} overlap the previous sentence or leave the text")
                continue
            if text[cursor:s].strip():
                errors.append(f"{swhere}: text {text[cursor:s].strip()[:40]!r} before it is in no sentence")
            if text[s:e] != text[s:e].strip():
                errors.append(f"{swhere}: bounds include surrounding whitespace")
            cursor = e
            for j, ev in enumerate(sent.get("events", [])):
                ewhere = f"{swhere} event {j}"
                if ev.get("type") not in TYPE_NAMES:
                    errors.append(f"{ewhere}: unknown type {ev.get('type')!r}")
                    continue
                mode = ev.get("mode")
                if mode is not None and mode not in MODES[ev["type"]]:
                    errors.append(f"{ewhere}: mode {mode!r} is not a {ev['type']} mode {MODES[ev['type']]}")
                for role in ROLES:
                    errors += _span_errors(f"{ewhere} {role}", ev.get(role), (s, e), role == "trigger")
        if text[cursor:].strip():
            errors.append(f"{where}: text {text[cursor:].strip()[:40]!r} after the last sentence is in no sentence")
    return errors


@dataclass(frozen=True)
class NewsSentence:
    """One annotated sentence; its events' spans resolved to strings (for training and scoring)."""

    doc_id: str
    index: int
    start: int
    end: int
    text: str
    events: tuple[GoldEvent, ...]
    triggers: tuple[tuple[int, int], ...]


def _text(text: str, span) -> str | None:
    return None if span is None else text[span[0] : span[1]]


def gold_sentences(record: dict, article: dict) -> Iterator[NewsSentence]:
    """The sentences of one annotation line, spans resolved to strings."""
    text = article["text"]
    for i, sent in enumerate(record["sentences"]):
        evs = sent["events"]
        yield NewsSentence(
            doc_id=record["doc_id"],
            index=i,
            start=sent["start"],
            end=sent["end"],
            text=text[sent["start"] : sent["end"]],
            events=tuple(GoldEvent(e["type"], _text(text, e["trigger"]), _text(text, e["source"]),
                                   _text(text, e["target"]), _text(text, e.get("location")),
                                   _text(text, e.get("time")), e.get("mode")) for e in evs),
            triggers=tuple(tuple(e["trigger"]) for e in evs),
        )
