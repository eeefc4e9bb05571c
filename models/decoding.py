"""Pure decoding: sub-word scores -> word tags -> labelled spans.

No model and no torch here (transformers' ``pipelines/token_classification.py``
keeps the same separation), so every rule is tested on hand-made arrays.
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass
from typing import Sequence

import numpy as np

__all__ = [
    "Aggregation",
    "WordSpan",
    "aggregate_words",
    "best_spans_batch",
    "best_spans_per_type",
    "bio_labels",
    "decode_batch",
    "decode_spans",
    "normalise_labels",
    "select_mode",
    "select_types",
    "viterbi_batch",
    "viterbi_bio",
]


class Aggregation(enum.Enum):
    """How the sub-word scores of one word become the word's score."""

    FIRST = "first"
    MEAN = "mean"


@dataclass(frozen=True)
class WordSpan:
    """A labelled run of words ``[start, end)`` with its mean tag probability."""

    start: int
    end: int
    label: str
    score: float


def bio_labels(types: Sequence[str]) -> list[str]:
    """The IOB2 label list for entity ``types``: ``O`` then ``B-``/``I-`` per type."""
    labels = ["O"]
    for t in types:
        labels += [f"B-{t}", f"I-{t}"]
    return labels


_TYPE_ALIASES = {"PERSON": "PER", "ORGANIZATION": "ORG", "ORGANISATION": "ORG", "LOCATION": "LOC", "GPE": "LOC"}


def normalise_labels(labels: Sequence[str]) -> list[str]:
    """Model labels in canonical IOB2 form: ``O``, ``B-TYPE``, ``I-TYPE``.

    IO labels (``PER``) become ``I-PER`` (``decode_spans`` then lets an ``I-``
    open a span); ``E-``/``S-`` (BIOES) map to ``I-``/``B-``; types are upper-cased
    and common long names shortened.

    >>> normalise_labels(["O", "B-person", "I-person", "LOC", "S-ORG"])
    ['O', 'B-PER', 'I-PER', 'I-LOC', 'B-ORG']
    """
    out = []
    for lab in labels:
        if lab.upper() in ("O", "OUTSIDE"):
            out.append("O")
            continue
        prefix, sep, typ = lab.partition("-")
        if sep and len(prefix) == 1:
            # BIOES/BILOU: S- and U- open a one-word span; E- and L- continue one.
            opens = prefix.upper() in ("B", "S", "U")
        else:  # IO label: the whole label is the type
            opens, typ = False, lab
        typ = typ.upper()
        typ = _TYPE_ALIASES.get(typ, typ)
        out.append(f"{'B' if opens else 'I'}-{typ}")
    return out


def aggregate_words(
    probs: np.ndarray, word_ids: Sequence[int | None], n_words: int, how: Aggregation = Aggregation.FIRST
) -> np.ndarray:
    """Collapse sub-word probabilities ``[T, L]`` into word probabilities ``[n_words, L]``.

    Args:
        probs: per-token probabilities (rows sum to 1).
        word_ids: the word index of each token, ``None`` for special tokens.
        n_words: number of words; words with no token (cut by truncation) get ``O``.
        how: which sub-words speak for the word.
    """
    out = np.zeros((n_words, probs.shape[1]), dtype=np.float64)
    counts = np.zeros(n_words, dtype=np.int64)
    for t, w in enumerate(word_ids):
        if w is None or w >= n_words:
            continue
        if how is Aggregation.FIRST:
            if counts[w] == 0:
                out[w] = probs[t]
        else:
            out[w] += probs[t]
        counts[w] += 1
    seen = counts > 0
    if how is Aggregation.MEAN:
        out[seen] /= counts[seen, None]
    out[~seen, 0] = 1.0  # label 0 is "O"
    return out


def _opens_only_with_b(labels: Sequence[str], typ: str) -> bool:
    # IO-tagged models have no B-X: there an I-X may open a span.
    return f"B-{typ}" in labels


def _allowed(labels: Sequence[str]) -> np.ndarray:
    # allowed[i, j]: may label j follow label i? An I-X only continues B-X or I-X.
    n = len(labels)
    allowed = np.ones((n, n), dtype=bool)
    for j, lj in enumerate(labels):
        if lj.startswith("I-") and _opens_only_with_b(labels, lj[2:]):
            for i, li in enumerate(labels):
                allowed[i, j] = li[2:] == lj[2:] and li[:2] in ("B-", "I-")
    return allowed


@functools.lru_cache(maxsize=64)
def _constraints(labels: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    # Built once per label list, not once per row.
    may_start = np.array([not (l.startswith("I-") and _opens_only_with_b(labels, l[2:])) for l in labels])
    return _allowed(labels), may_start


def viterbi_batch(rows: Sequence[np.ndarray], labels: Sequence[str]) -> list[list[int]]:
    """:func:`viterbi_bio` of every row of a batch at once: one numpy step per position, across the rows.

    Rows may differ in length; a row's path is the one ``viterbi_bio`` finds for it alone.

    >>> L = ["O", "B-PER", "I-PER"]
    >>> viterbi_batch([np.array([[.1, .2, .7], [.1, .1, .8]]), np.array([[.9, .05, .05]])], L)
    [[1, 2], [0]]
    """
    allowed, may_start = _constraints(tuple(labels))
    lengths = np.array([r.shape[0] for r in rows], dtype=np.int64)
    n_rows, n_labels = len(rows), len(labels)
    steps = int(lengths.max()) if n_rows else 0
    if steps == 0:
        return [[] for _ in rows]
    logp = np.zeros((n_rows, steps, n_labels))
    for b, r in enumerate(rows):
        logp[b, : len(r)] = np.log(np.maximum(r, 1e-12))
    score = np.where(may_start, logp[:, 0], -np.inf)  # [row, label]
    back = np.zeros((n_rows, steps, n_labels), dtype=np.int64)
    for t in range(1, steps):
        cand = np.where(allowed, score[:, :, None], -np.inf)  # [row, from, to]
        back[:, t] = np.argmax(cand, axis=1)
        step = np.take_along_axis(cand, back[:, t, None, :], axis=1)[:, 0, :] + logp[:, t]
        score = np.where((lengths > t)[:, None], step, score)  # a finished row keeps its last scores
    ends = np.argmax(score, axis=1)
    path = np.zeros((n_rows, steps), dtype=np.int64)
    every = np.arange(n_rows)
    for t in range(steps - 1, -1, -1):
        follow = back[every, t + 1, path[:, t + 1]] if t + 1 < steps else ends
        path[:, t] = np.where(lengths - 1 == t, ends, follow)
    return [path[b, : lengths[b]].tolist() for b in range(n_rows)]


def viterbi_bio(probs: np.ndarray, labels: Sequence[str]) -> list[int]:
    """Most probable tag sequence that is valid IOB2 (no ``I-X`` without ``B-X``).

    A softmax classifier alone can emit ``O I-PER`` or ``B-ORG I-LOC``; constrained
    decoding repairs those at no training cost (the gain of a CRF's transition
    constraints without the CRF).
    """
    return viterbi_batch([probs], labels)[0]


def _spans(probs: np.ndarray, path: Sequence[int], labels: Sequence[str]) -> list[WordSpan]:
    spans: list[WordSpan] = []
    i = 0
    while i < len(path):
        lab = labels[path[i]]
        if lab == "O":
            i += 1
            continue
        typ = lab[2:]
        j = i + 1
        # In IO schemes a new span starts only at a type change, so I-X I-X is one span.
        while j < len(path) and labels[path[j]] == f"I-{typ}":
            j += 1
        score = float(probs[np.arange(i, j), path[i:j]].mean())
        spans.append(WordSpan(i, j, typ, score))
        i = j
    return spans


#: Rows per :func:`viterbi_batch` call in :func:`decode_batch`, taken in length order so padding stays small.
DECODE_ROWS = 64


def decode_batch(rows: Sequence[np.ndarray], labels: Sequence[str]) -> list[list[WordSpan]]:
    """Word probabilities ``[n_words, L]`` of each row to labelled spans, in input order.

    The rows are decoded in length-sorted groups of :data:`DECODE_ROWS`, one
    :func:`viterbi_batch` per group.
    """
    order = sorted(range(len(rows)), key=lambda i: rows[i].shape[0])
    out: list[list[WordSpan]] = [[] for _ in rows]
    for at in range(0, len(order), DECODE_ROWS):
        group = order[at : at + DECODE_ROWS]
        for i, path in zip(group, viterbi_batch([rows[i] for i in group], labels)):
            out[i] = _spans(rows[i], path, labels)
    return out


def decode_spans(probs: np.ndarray, labels: Sequence[str]) -> list[WordSpan]:
    """Word probabilities ``[n_words, L]`` to labelled spans via :func:`viterbi_bio`."""
    return decode_batch([probs], labels)[0]


def _best(spans: Sequence[WordSpan]) -> dict[str, WordSpan]:
    best: dict[str, WordSpan] = {}
    for span in spans:
        if span.label not in best or span.score > best[span.label].score:
            best[span.label] = span
    return best


def best_spans_per_type(probs: np.ndarray, labels: Sequence[str]) -> dict[str, WordSpan]:
    """The highest-scoring span of each type (e.g. one trigger, source, target per event).

    On a tie the earlier span is kept.

    >>> L = ["O", "B-SRC", "I-SRC", "B-TGT", "I-TGT"]
    >>> p = np.array([[0, .9, 0, .1, 0], [.1, 0, .9, 0, 0], [1, 0, 0, 0, 0], [0, 0, 0, .6, .4]])
    >>> {k: (v.start, v.end) for k, v in best_spans_per_type(p, L).items()}
    {'SRC': (0, 2), 'TGT': (3, 4)}
    """
    return _best(decode_spans(probs, labels))


def best_spans_batch(rows: Sequence[np.ndarray], labels: Sequence[str]) -> list[dict[str, WordSpan]]:
    """:func:`best_spans_per_type` of every row, decoded in one batch."""
    return [_best(spans) for spans in decode_batch(rows, labels)]


def select_types(probs: np.ndarray, names: Sequence[str], threshold: float,
                 per_type: dict[str, float] | None = None) -> list[tuple[str, float]]:
    """Event types whose independent (sigmoid) probability reaches their threshold.

    ``per_type`` overrides ``threshold`` for the types it names.

    >>> select_types(np.array([0.5, 0.35]), ["AID", "AGREE"], 0.4, {"AGREE": 0.3})
    [('AID', 0.5), ('AGREE', 0.35)]
    """
    per_type = per_type or {}
    return [(names[i], float(p)) for i, p in enumerate(probs) if p >= per_type.get(names[i], threshold)]


def select_mode(probs: np.ndarray, labels: Sequence[str], allowed: Sequence[str]) -> str | None:
    """The most probable of ``allowed`` modes, or ``None`` when "no mode" (``labels[0]``) wins.

    "No mode" wins a tie, and of tied modes the first in ``labels`` is chosen.

    >>> select_mode(np.array([0.2, 0.5, 0.3]), ["none", "arrest", "firearms"], ["firearms"])
    'firearms'
    >>> select_mode(np.array([0.6, 0.1, 0.3]), ["none", "arrest", "firearms"], ["firearms"]) is None
    True
    """
    best, best_p = None, float(probs[0])
    for i, name in enumerate(labels):
        if i and name in allowed and float(probs[i]) > best_p:
            best, best_p = name, float(probs[i])
    return best
