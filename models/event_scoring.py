"""Scores of predicted events against gold sentences (pure, no model).

- type scores: a predicted ``(sentence, type)`` pair is correct when gold has it;
- source/target scores: an event is correct when its type and that actor are
  both right; actors match when one string contains the other's head word
  (both null also matches: "passive, no agent" is a correct reading).
"""

from __future__ import annotations

import re
from typing import Sequence

from newsevents.models.event_data import GoldEvent

__all__ = ["actors_match", "head_word", "score_events", "score_fields"]

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


def head_word(phrase: str) -> str | None:
    """The head of an English noun phrase: its last word, possessive stripped.

    >>> head_word("CEO Pavel Durov"), head_word("French prosecutors"), head_word("Telegram’s")
    ('durov', 'prosecutors', 'telegram')
    """
    words = _WORD.findall(phrase.lower())
    if not words:
        return None
    return re.sub(r"['’]s$", "", words[-1])


def _words(phrase: str) -> set[str]:
    return {re.sub(r"['’]s$", "", w) for w in _WORD.findall(phrase.lower())}


def actors_match(predicted: str | None, gold: str | None) -> bool:
    """Whether two actor strings denote the same actor under the head-word rule."""
    if predicted is None or gold is None:
        return predicted is None and gold is None
    hp, hg = head_word(predicted), head_word(gold)
    return (hg is not None and hg in _words(predicted)) or (hp is not None and hp in _words(gold))


def _prf(tp: int, n_pred: int, n_gold: int) -> dict[str, float]:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(2 * p * r / (p + r), 4) if p + r else 0.0}


def _role_tp(gold: Sequence[GoldEvent], pred: Sequence[GoldEvent], role: str) -> int:
    tp = 0
    used: set[int] = set()
    for p in pred:
        for i, g in enumerate(gold):
            if i not in used and g.type == p.type and actors_match(getattr(p, role), getattr(g, role)):
                used.add(i)
                tp += 1
                break
    return tp


def score_events(gold: Sequence[Sequence[GoldEvent]], pred: Sequence[Sequence[GoldEvent]]) -> dict:
    """Type, source and target scores over paired sentences; also per-type F1."""
    type_tp = type_pred = type_gold = 0
    per_type: dict[str, list[int]] = {}
    role_counts = {"source": 0, "target": 0}
    n_pred = n_gold = 0
    for g, p in zip(gold, pred, strict=True):
        gt, pt = {e.type for e in g}, {e.type for e in p}
        type_tp += len(gt & pt)
        type_pred += len(pt)
        type_gold += len(gt)
        for t in gt | pt:
            c = per_type.setdefault(t, [0, 0, 0])
            c[0] += t in gt and t in pt
            c[1] += t in pt
            c[2] += t in gt
        n_pred += len(p)
        n_gold += len(g)
        for role in role_counts:
            role_counts[role] += _role_tp(g, p, role)
    types = _prf(type_tp, type_pred, type_gold)
    src = _prf(role_counts["source"], n_pred, n_gold)
    tgt = _prf(role_counts["target"], n_pred, n_gold)
    return {
        "type_precision": types["precision"],
        "type_recall": types["recall"],
        "type_f1": types["f1"],
        "source_f1": src["f1"],
        "target_f1": tgt["f1"],
        "per_type_f1": {t: _prf(*c)["f1"] for t, c in sorted(per_type.items())},
        "sentences": len(gold),
        "gold_events": n_gold,
        "predicted_events": n_pred,
    }


def _pairs(gold: Sequence[GoldEvent], pred: Sequence[GoldEvent]) -> list[tuple[GoldEvent, GoldEvent]]:
    # Each predicted event meets at most one gold event of its type, preferring one with its source.
    pairs, used = [], set()
    for p in pred:
        same = [i for i, g in enumerate(gold) if i not in used and g.type == p.type]
        if not same:
            continue
        i = next((i for i in same if actors_match(p.source, gold[i].source)), same[0])
        used.add(i)
        pairs.append((gold[i], p))
    return pairs


def score_fields(gold: Sequence[Sequence[GoldEvent]], pred: Sequence[Sequence[GoldEvent]]) -> dict:
    """Location and time F1 and mode accuracy over paired sentences.

    A location (time) is right when its event's type is right and the two
    strings match under the head-word rule; precision counts every predicted
    event that has one, recall every gold event that has one. Mode accuracy is
    over type-matched pairs whose gold event has a mode.
    """
    counts = {f: [0, 0, 0] for f in ("location", "time")}
    modes: dict[str, list[int]] = {}
    for g, p in zip(gold, pred, strict=True):
        for f, c in counts.items():
            c[1] += sum(getattr(e, f) is not None for e in p)
            c[2] += sum(getattr(e, f) is not None for e in g)
        for ge, pe in _pairs(g, p):
            for f, c in counts.items():
                a, b = getattr(pe, f), getattr(ge, f)
                c[0] += a is not None and b is not None and actors_match(a, b)
            if ge.mode is not None:
                m = modes.setdefault(ge.type, [0, 0])
                m[0] += pe.mode == ge.mode
                m[1] += 1
    right, total = sum(m[0] for m in modes.values()), sum(m[1] for m in modes.values())
    return {
        "location_f1": _prf(*counts["location"])["f1"],
        "time_f1": _prf(*counts["time"])["f1"],
        "mode_accuracy": round(right / total, 4) if total else 0.0,
        "per_type_mode_accuracy": {t: round(m[0] / m[1], 4) for t, m in sorted(modes.items())},
        "per_type_mode_count": {t: m[1] for t, m in sorted(modes.items())},
    }
