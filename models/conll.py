"""CoNLL files and exact-span scoring with conlleval semantics.

Reads 2- to 4-column files (token first, NER tag last), IOB1 or IOB2, with or
without ``-DOCSTART-`` lines. Chunks are found the way ``conlleval.pl`` finds
them, so IOB1 and IOB2 files score identically.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

__all__ = ["ConllSentence", "Scores", "read_conll", "score_spans", "tags_to_spans", "to_iob2"]

Span = tuple[int, int, str]  # (first word, end word exclusive, type)


@dataclass(frozen=True)
class ConllSentence:
    """One sentence: its words and their (IOB2) NER tags."""

    words: tuple[str, ...]
    tags: tuple[str, ...]


def read_conll(path: str | Path) -> list[ConllSentence]:
    """Read a CoNLL NER file into sentences with IOB2 tags.

    Raises:
        ValueError: a line with fewer than two columns, naming file and line.
    """
    sentences: list[ConllSentence] = []
    words: list[str] = []
    tags: list[str] = []

    def flush() -> None:
        if words:
            sentences.append(ConllSentence(tuple(words), tuple(to_iob2(tags))))
            words.clear()
            tags.clear()

    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            cols = line.split()
            if not cols:
                flush()
                continue
            if cols[0] == "-DOCSTART-":
                flush()
                continue
            if len(cols) < 2:
                raise ValueError(
                    f"{path}:{lineno}: expected 'token ... TAG' (2 to 4 columns), got {line.strip()!r}."
                )
            words.append(cols[0])
            tags.append(cols[-1])
    flush()
    return sentences


def _split(tag: str) -> tuple[str, str]:
    # "O" has no hyphen; a tag without a type is outside any chunk too.
    if "-" not in tag:
        return "O", ""
    prefix, _, typ = tag.partition("-")
    return prefix, typ


def tags_to_spans(tags: Sequence[str]) -> list[Span]:
    """Chunks of a tag sequence, following conlleval's start/end rules.

    >>> tags_to_spans(["I-PER", "I-PER", "B-PER", "O", "I-LOC"])
    [(0, 2, 'PER'), (2, 3, 'PER'), (4, 5, 'LOC')]
    """
    spans: list[Span] = []
    start, cur = None, ""
    prev_prefix = "O"
    for i, tag in enumerate(tags):
        prefix, typ = _split(tag)
        # conlleval opens a chunk at B-, at a change of type and, after E- (IOE), at I- or
        # E-; S- (IOBES) is handled like E- plus B-, as seqeval does. After O no chunk is
        # open, so the `start is None` test below opens one at an IOB1 I-.
        starts = prefix in ("B", "S") or (prefix in ("I", "E") and (prev_prefix in ("E", "S") or typ != cur))
        if start is not None and (prefix == "O" or starts):
            spans.append((start, i, cur))
            start = None
        if prefix != "O" and (starts or start is None):
            start, cur = i, typ
        prev_prefix = prefix
    if start is not None:
        spans.append((start, len(tags), cur))
    return spans


def to_iob2(tags: Sequence[str]) -> list[str]:
    """Rewrite IOB1 (or mixed) tags as IOB2: every chunk opens with ``B-``."""
    out = ["O"] * len(tags)
    for start, end, typ in tags_to_spans(tags):
        out[start] = f"B-{typ}"
        for i in range(start + 1, end):
            out[i] = f"I-{typ}"
    return out


@dataclass(frozen=True)
class Scores:
    """Micro precision/recall/F1 over exact spans, and F1 per type."""

    precision: float
    recall: float
    f1: float
    per_type: dict[str, float]


def _prf(tp: int, n_pred: int, n_gold: int) -> tuple[float, float, float]:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def score_spans(gold: Iterable[Sequence[Span]], pred: Iterable[Sequence[Span]]) -> Scores:
    """Exact-match micro scores over paired sentences of gold and predicted spans."""
    tp, n_pred, n_gold = Counter(), Counter(), Counter()
    for g, p in zip(gold, pred, strict=True):
        gs, ps = set(g), set(p)
        for s in gs:
            n_gold[s[2]] += 1
        for s in ps:
            n_pred[s[2]] += 1
        for s in gs & ps:
            tp[s[2]] += 1
    p, r, f = _prf(sum(tp.values()), sum(n_pred.values()), sum(n_gold.values()))
    per_type = {t: round(_prf(tp[t], n_pred[t], n_gold[t])[2], 4) for t in sorted(n_gold | n_pred)}
    return Scores(round(p, 4), round(r, 4), round(f, 4), per_type)
