"""The event stage's Beam ``ModelHandler``: sentences and their mentions in, events out.

Two steps per batch, both batched:

1. *types*: one pass over ``[CLS] sentence [SEP]``; each of the 16 PLOVER types
   with probability >= the model's threshold is kept;
2. *roles*: one pass per (sentence, kept type) over
   ``[CLS] type prompt [SEP] sentence [SEP]``, tagging trigger, source and target.

Actors are spans of the sentence, named entities or not ("French prosecutors",
"the authorities"); a span that overlaps an NER mention takes its label.

The event model shares its word-embedding table with the NER model it was
trained from (the largest single tensor, half of MiniLM-L6); the artifact names
that model in ``config.shared_embeddings`` and loading fills the table from it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from apache_beam.ml.inference.base import PredictionResult
from newsevents.models.base import Precision, TransformerHandler
from newsevents.models.batching import row_probabilities
from newsevents.models.decoding import WordSpan, aggregate_words, best_spans_batch, select_mode, select_types
from newsevents.models.event_data import type_prompt
from newsevents.models.registry import resolve
from newsevents.schemas.errors import ModelLoadError
from newsevents.schemas.ontology import MODES, TYPE_NAMES
from newsevents.schemas.records import Chunk, EntityMention, SentenceEvent

__all__ = ["EMBEDDINGS_KEY", "EventModelHandler", "LoadedEvents", "RawEvent", "embedding_digest", "is_stated_place", "predict_events",
           "stated_location"]

EMBEDDINGS_KEY = "bert.embeddings.word_embeddings.weight"


@dataclass
class LoadedEvents:
    """A loaded event model and its decoding settings."""

    tokenizer: Any
    model: Any
    device: str
    types: list[str]
    roles: list[str]
    threshold: float
    precision: Precision = Precision.FP32
    #: Per-type overrides of ``threshold`` (chosen on the real-news dev split).
    type_thresholds: dict[str, float] = field(default_factory=dict)
    #: The mode head's labels (``"none"`` first), empty for a model without one.
    modes: list[str] = field(default_factory=list)
    #: Types whose mode is reported (dev mode accuracy >= 0.6).
    mode_types: frozenset[str] = frozenset()


@dataclass(frozen=True)
class RawEvent:
    """A decoded event of one word sequence: type, confidence and role spans (word indices)."""

    type: str
    confidence: float
    roles: dict[str, WordSpan]
    mode: str | None = None


def embedding_digest(tensor) -> str:
    """A short fingerprint of the shared embedding table (to catch a mismatched NER model)."""
    return hashlib.sha256(tensor.detach().to("cpu").half().numpy().tobytes()).hexdigest()[:16]


def _type_probs(outputs):
    import torch

    return torch.sigmoid(outputs["type_logits"].float()).cpu().numpy()


def _role_probs(outputs):
    import torch

    roles = torch.softmax(outputs["role_logits"].float(), dim=-1).cpu().numpy()
    if "mode_logits" not in outputs:
        return [(r, None) for r in roles]
    modes = torch.softmax(outputs["mode_logits"].float(), dim=-1).cpu().numpy()
    return list(zip(roles, modes))


def predict_events(
    loaded: LoadedEvents, batch: Sequence[Sequence[str]], max_length: int = 256, threshold: float | None = None,
    max_rows: int = 16, max_tokens: int = 4096,
) -> list[list[RawEvent]]:
    """Events of each word sequence in ``batch`` (pre-process, forward, decode).

    Both passes run in length-sorted groups of at most ``max_rows`` rows and
    ``max_tokens`` padded tokens.
    """
    # The model's own thresholds (global and per type) unless the caller asks for one threshold.
    per_type = loaded.type_thresholds if threshold is None else {}
    threshold = loaded.threshold if threshold is None else threshold
    out: list[list[RawEvent]] = [[] for _ in batch]
    rows = [i for i, words in enumerate(batch) if words]
    if not rows:
        return out
    type_probs, _ = row_probabilities(loaded, [batch[i] for i in rows], max_length, max_rows, max_tokens, True,
                                      _type_probs)
    asks = [(i, t, p) for i, probs in zip(rows, type_probs)
            for t, p in select_types(probs, loaded.types, threshold, per_type)]
    if not asks:
        return out
    role_probs, word_ids = row_probabilities(loaded, [batch[i] for i, _, _ in asks], max_length, max_rows, max_tokens,
                                             True, _role_probs, prompts=[type_prompt(t) for _, t, _ in asks])
    words = [aggregate_words(probs, wids, len(batch[i])) for (i, _, _), (probs, _), wids in
             zip(asks, role_probs, word_ids)]
    for (i, t, p), (_, mode_probs), roles in zip(asks, role_probs, best_spans_batch(words, loaded.roles)):
        mode = select_mode(mode_probs, loaded.modes, MODES[t]) if mode_probs is not None else None
        out[i].append(RawEvent(t, round(p, 4), roles, mode))
    return out


_NOT_A_SPAN = {"the", "a", "an", "this", "that", "these", "those", "its", "their", "his", "her"}


# Words a noun phrase does not end on ("23 homes, offices and") or start with ("by police"):
# an actor span cut there is trimmed back to the phrase (issue #13).
_NOT_AN_END = {"and", "or", "but", "of", "the", "a", "an", "to", "in", "on", "at", "for", "with", "by", "from",
               "as", "that", "which", "who", "whose", ",", ";", ":", "-", "–", "—", "(", "'s", "’s"}
_NOT_A_START = {"and", "or", "but", "of", "by", "to", "from", "with", "for", "as", ",", ";", ":", "-", "–", "—", ")"}


def trim_phrase(words: Sequence[str], start: int, end: int) -> tuple[int, int]:
    """Word range ``[start, end)`` of an actor span trimmed to noun-phrase edges.

    >>> w = "Fire destroyed 23 homes , offices and".split()
    >>> trim_phrase(w, 2, 7)
    (2, 6)
    >>> trim_phrase("arrested by police".split(), 1, 3)
    (2, 3)
    """
    while end > start + 1 and words[end - 1].lower() in _NOT_AN_END:
        end -= 1
    while start < end - 1 and words[start].lower() in _NOT_A_START:
        start += 1
    return start, end


def _span_text(chunk: Chunk, span: WordSpan | None, actor: bool = False) -> tuple[str | None, int | None, int | None]:
    if span is None:
        return None, None, None
    start, end = trim_phrase(chunk.words, span.start, span.end) if actor else (span.start, span.end)
    words = chunk.words[start:end]
    # A lone quote mark or article is a decoding slip, not an actor or trigger.
    if not any(c.isalnum() for w in words for c in w) or (len(words) == 1 and words[0].lower() in _NOT_A_SPAN):
        return None, None, None
    return chunk.word_range(start, end)


def _label(start: int | None, end: int | None, mentions: Sequence[EntityMention]) -> str | None:
    if start is None:
        return None
    best, overlap = None, 0
    for m in mentions:
        o = min(end, m.char_end) - max(start, m.char_start)
        if o > overlap:
            best, overlap = m.label, o
    return best


# A place is where the event happened when the sentence introduces it as one ("in Kabul",
# "at the border near Rafah"); a place that modifies a noun ("UK immigration", "the Iraq war",
# "Sri Lanka's request") or is an actor is not. Measured on the real-news train split (issue #12):
# the old rule (first place named) made four of five sentence locations wrong.
_LOCATIVE = re.compile(
    r"(?:^|\W)(?:in|at|near|outside|inside|within|across|throughout|around|off)\s+"
    r"(?:the\s+)?(?:(?:north|south|east|west|central|northern|southern|eastern|western|north-eastern|"
    r"north-western|south-eastern|south-western|neighbouring|neighboring|nearby|capital|city|town|village|"
    r"province|state|region|port|island)\s+){0,2}(?:of\s+)?$",
    re.IGNORECASE,
)
_MODIFIES = re.compile(r"^(?:['’]s?|\s+(?:war|government|officials?|authorities|forces|police|army|military|"
                       r"minister|president|immigration|embassy|border)\b)", re.IGNORECASE)


def is_stated_place(before: str, after: str) -> bool:
    """Whether a place mention, between ``before`` and ``after`` in its sentence, is where something happened.

    >>> is_stated_place("Police arrested him in ", " on Monday."), is_stated_place("", "'s request")
    (True, False)
    >>> is_stated_place("monitor ", " immigration"), is_stated_place("protests in the capital of ", ".")
    (False, True)
    """
    return bool(_LOCATIVE.search(before[-60:])) and not _MODIFIES.match(after)


# Between the trigger and its place there is no other clause: a reporting verb, a relative
# clause, a subordinate event ("arrested ... after the shooting in Y") or a quote boundary
# means the place belongs to something else. Measured on the real-news train split.
_CLAUSE_BREAK = re.compile(
    r"[;:\"“”—–]|\b(?:said|says|saying|told|tells|which|who|whose|where|after|before|while|when|because|but|"
    r"following|amid|than)\b",
    re.IGNORECASE,
)
PLACE_REACH = 10  # words between the trigger and its place, at most (chosen on the train split)
# Organisations that are also buildings or chambers where things happen ("in the House of Lords",
# "at Baghdad International Airport", "filed in the U.S. District Court").
_VENUE = re.compile(r"\b(?:court|house|parliament|senate|commons|lords|assembly|airport|cent(?:re|er)|hospital|"
                    r"prison|jail|station|embassy|consulate|square|park|street|palace|stadium|hall|university|"
                    r"mosque|church|cathedral|temple|hotel|school|base)\b", re.IGNORECASE)


def stated_location(chunk: Chunk, mentions: Sequence[EntityMention], taken: list[tuple[int | None, int | None]],
                    trigger: tuple[int | None, int | None] = (None, None)):
    """The place the sentence states as where the event happened, or ``None``.

    A place (or a venue organisation: "the High Court") introduced as where things
    happen (:func:`is_stated_place`), nearest the trigger at ``trigger`` (char
    offsets) and in its clause, and never one of the ``taken`` actor spans.
    """
    t0, t1 = trigger
    best = None
    for m in mentions:
        is_place = m.label == "LOC" or (m.label == "ORG" and _VENUE.search(m.text))
        if not is_place or any(s is not None and s < m.char_end and m.char_start < e for s, e in taken):
            continue
        a, b = m.char_start - chunk.char_start, m.char_end - chunk.char_start
        if not is_stated_place(chunk.surface[max(0, a - 60) : max(0, a)], chunk.surface[b:]):
            continue
        if t0 is None or t1 is None:
            return m.text
        lo, hi = (t1, m.char_start) if m.char_start >= t1 else (m.char_end, t0)
        between = chunk.surface[max(0, lo - chunk.char_start) : max(0, hi - chunk.char_start)]
        gap = len(between.split())
        if gap > PLACE_REACH or _CLAUSE_BREAK.search(between):
            continue
        if best is None or gap < best[0]:
            best = (gap, m.text)
    return best[1] if best else None


def to_sentence_events(chunk: Chunk, mentions: Sequence[EntityMention], raw: Sequence[RawEvent],
                       model_name: str, mode_types: frozenset[str] = frozenset()) -> list[SentenceEvent]:
    """Decoded events of one chunk -> typed records with original offsets.

    A mode is kept only for ``mode_types`` (where the model's modes measured well).
    """
    records = []
    for ev in raw:
        trig = _span_text(chunk, ev.roles.get("TRG"))
        src = _span_text(chunk, ev.roles.get("SRC"), actor=True)
        tgt = _span_text(chunk, ev.roles.get("TGT"), actor=True)
        records.append(
            SentenceEvent(
                doc_id=chunk.doc_id,
                sentence_index=chunk.sentence_index,
                char_start=chunk.char_start,
                char_end=chunk.char_end,
                event_type=ev.type,
                trigger=trig[0],
                source_text=src[0],
                source_start=src[1],
                source_end=src[2],
                source_label=_label(src[1], src[2], mentions),
                target_text=tgt[0],
                target_start=tgt[1],
                target_end=tgt[2],
                target_label=_label(tgt[1], tgt[2], mentions),
                location=stated_location(chunk, mentions, [src[1:], tgt[1:]], trig[1:]),
                confidence=ev.confidence,
                event_model=model_name,
                event_mode=ev.mode if ev.type in mode_types else None,
            )
        )
    return records


class EventModelHandler(TransformerHandler[tuple, PredictionResult, LoadedEvents]):
    """Runs the event model over ``(Chunk, [EntityMention])`` batches.

    Each ``PredictionResult`` holds the input pair and its ``SentenceEvent`` list.
    """

    def load_model(self) -> LoadedEvents:
        preloaded = self._take_preloaded()
        if preloaded is not None:
            return preloaded
        from newsevents.models.cased_bert import CasedBertForEvents

        tokenizer, model, device = self._load(CasedBertForEvents)
        shared = getattr(model.config, "shared_embeddings", None)
        if shared:
            _fill_shared_embeddings(model, shared, self._model_arg)
        cfg = model.config
        unknown = set(getattr(cfg, "event_types", ())) - set(TYPE_NAMES)
        if unknown or not getattr(cfg, "event_types", None) or not getattr(cfg, "role_labels", None):
            raise ModelLoadError(
                f"Model {self.model_name!r} is not a newsevents event model: its config needs 'event_types' "
                f"(PLOVER names; unknown: {sorted(unknown)}) and 'role_labels'. Train one with models.train_events."
            )
        return LoadedEvents(tokenizer, self._finish(model), device, list(cfg.event_types), list(cfg.role_labels),
                            float(getattr(cfg, "type_threshold", 0.5)), self._precision,
                            dict(getattr(cfg, "type_thresholds", None) or {}),
                            list(getattr(cfg, "mode_labels", None) or []),
                            frozenset(getattr(cfg, "mode_types", None) or ()))

    def get_metrics_namespace(self) -> str:
        return "newsevents_events"

    def run_inference(
        self, batch: Sequence[tuple], model: LoadedEvents, inference_args: dict[str, Any] | None = None
    ) -> Iterable[PredictionResult]:
        raw = predict_events(model, [chunk.words for chunk, _ in batch], self._max_length,
                             max_rows=self._batch_size, max_tokens=self._max_batch_tokens)
        for (chunk, mentions), events in zip(batch, raw):
            yield PredictionResult((chunk, mentions),
                                   to_sentence_events(chunk, mentions, events, self.model_name, model.mode_types),
                                   self.model_name)


def _fill_shared_embeddings(model, shared: dict, model_dir: str) -> None:
    from safetensors import safe_open

    name = shared["model"]
    path = Path(resolve(name)[0])
    if not path.is_dir():  # a relative directory stored beside the event model
        path = Path(model_dir) / name
    weights = path / "model.safetensors"
    if not weights.exists():
        raise ModelLoadError(
            f"The event model shares its embeddings with {name!r}, whose weights are not at {weights}; "
            "install the matching NER model or give an event model with its own embeddings."
        )
    with safe_open(str(weights), framework="pt") as fh:
        table = fh.get_tensor(EMBEDDINGS_KEY)
    if embedding_digest(table) != shared["digest"]:
        raise ModelLoadError(
            f"The embeddings of {name!r} are not the ones the event model was trained with "
            "(the NER model was retrained?); retrain the event model with models.train_events."
        )
    emb = model.bert.embeddings.word_embeddings
    emb.weight.data.copy_(table.to(emb.weight.dtype).to(emb.weight.device))
