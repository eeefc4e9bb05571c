"""models.conll scores exactly what seqeval scores, on hand-made and generated tag sequences.

seqeval's default mode (``mode=None``; ``sequence_labeling.precision_recall_fscore_support``) is its port of conlleval.pl's chunk rules
(``get_entities`` with ``start_of_chunk``/``end_of_chunk``), so it reads IOB1 as
CoNLL-2003 ships it (an I- after O opens a chunk) as well as IOB2. Its strict mode
(``mode="strict"``, i.e. ``metrics.v1``) is not conlleval: with ``scheme=IOB2`` it drops chunks that open with I-, and with
``scheme=IOB1`` those that open with B- after O; it agrees only on valid IOB2, which
is what ``to_iob2`` produces. Both facts are checked here.

``score_spans`` rounds to four places, so its numbers are compared with seqeval's
rounded the same way; ``_prf`` is compared unrounded, bit for bit, on sequences
built to have given counts. Per-type precision differs from recall in the hand-made
case and in most generated ones, so F1 = 2PR/(P+R) is told apart from other means.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from newsevents.models.conll import _prf, score_spans, tags_to_spans, to_iob2
from seqeval.metrics.sequence_labeling import get_entities, precision_recall_fscore_support
from seqeval.metrics.v1 import precision_recall_fscore_support as strict_prfs
from seqeval.scheme import IOB1, IOB2

from tests.models.test_conll import HAND_GOLD, HAND_PRED

TYPES = ("PER", "LOC", "GPE-ORG")  # a hyphen inside a type, as conlleval allows
BIO_TAGS = ("O", *(f"{p}-{t}" for t in TYPES for p in "BI"))
BIOES_TAGS = ("O", *(f"{p}-{t}" for t in TYPES for p in "BIES"))

MANY = settings(max_examples=200, derandomize=True, deadline=None)


def reference(gold: list[list[str]], pred: list[list[str]]) -> dict:
    """seqeval's default-mode micro P/R/F1 and per-type P/R/F1 (0 where undefined, as conlleval)."""
    micro = precision_recall_fscore_support(gold, pred, average="micro", zero_division=0)
    p, r, f, _ = precision_recall_fscore_support(gold, pred, average=None, zero_division=0)
    # seqeval reports types in sorted order, those of any gold or predicted chunk.
    types = sorted({t for seqs in (gold, pred) for t, _, _ in get_entities(seqs)})
    return {"micro": tuple(float(x) for x in micro[:3]), "per_type": (types, p, r, f)}


def project(gold: list[list[str]], pred: list[list[str]]):
    return score_spans([tags_to_spans(t) for t in gold], [tags_to_spans(t) for t in pred])


def assert_same_scores(gold: list[list[str]], pred: list[list[str]]) -> None:
    ours = project(gold, pred)
    ref = reference(gold, pred)
    assert (ours.precision, ours.recall, ours.f1) == tuple(round(x, 4) for x in ref["micro"])
    types, _, _, f = ref["per_type"]
    assert ours.per_type == {t: round(float(x), 4) for t, x in zip(types, f, strict=True)}


def spans_of(tags: list[str]) -> list[tuple[int, int, str]]:
    """seqeval's chunks as (start, end exclusive, type)."""
    return [(start, end + 1, typ) for typ, start, end in get_entities(list(tags))]


# --- hand-made --------------------------------------------------------------

# CoNLL-2003-like IOB1 (worked out by hand in test_conll.py): MISC has P 1/1, R 1/2 and LOC P 1/2, R 1/1.


def test_hand_made_iob1_matches_seqeval_default_mode():
    assert_same_scores(HAND_GOLD, HAND_PRED)
    types, p, r, f = reference(HAND_GOLD, HAND_PRED)["per_type"]
    assert types == ["LOC", "MISC", "ORG", "PER"]
    assert p.tolist() == [0.5, 1.0, 1.0, 0.0] and r.tolist() == [1.0, 0.5, 1.0, 0.0]
    assert reference(HAND_GOLD, HAND_PRED)["micro"] == _prf(3, 6, 7)


def test_hand_made_iob2_scores_as_its_iob1_original():
    gold2 = [to_iob2(t) for t in HAND_GOLD]
    pred2 = [to_iob2(t) for t in HAND_PRED]
    assert gold2[2] == ["B-LOC", "O", "B-PER", "B-PER"]
    assert_same_scores(gold2, pred2)
    assert project(gold2, pred2) == project(HAND_GOLD, HAND_PRED)


@pytest.mark.parametrize(
    "tags",
    [
        ["I-PER", "I-PER", "B-PER", "O", "I-LOC"],
        ["B-PER", "I-LOC", "I-LOC", "O"],
        ["B-PER", "O", "I-PER", "I-PER", "B-PER"],
        ["I-GPE-ORG", "B-GPE-ORG", "I-LOC", "B-LOC"],
        ["O", "O"],
        [],
    ],
)
def test_hand_made_chunks_match_seqeval(tags):
    assert tags_to_spans(tags) == spans_of(tags)


def test_seqeval_strict_mode_is_not_conlleval_on_raw_iob1():
    gold, pred = [["I-PER", "I-PER", "O", "B-LOC"]], [["I-PER", "I-PER", "O", "B-LOC"]]
    assert project(gold, pred).f1 == 1.0
    strict2 = strict_prfs(gold, pred, average=None, zero_division=0, scheme=IOB2)
    strict1 = strict_prfs(gold, pred, average=None, zero_division=0, scheme=IOB1)
    assert strict2[3].sum() == 1 and strict1[3].sum() == 1  # each keeps one of the two gold chunks


# --- generated --------------------------------------------------------------


@st.composite
def tagged_pair(draw, alphabet=BIO_TAGS):
    """One sentence: gold tags and a prediction that copies most of them."""
    gold = draw(st.lists(st.sampled_from(alphabet), max_size=12))
    pred = [draw(st.sampled_from(alphabet)) if draw(st.integers(0, 3)) == 0 else tag for tag in gold]
    return gold, pred


def corpus(alphabet=BIO_TAGS):
    return st.lists(tagged_pair(alphabet), min_size=1, max_size=6).map(lambda pairs: tuple(map(list, zip(*pairs))))


@MANY
@given(corpus())
def test_any_bio_tag_mix_scores_as_seqeval_default_mode(data):
    # Arbitrary B/I/O mixes: IOB1, IOB2 and the invalid sequences a tagger emits.
    gold, pred = data
    assert_same_scores(gold, pred)
    for tags in gold + pred:
        assert tags_to_spans(tags) == spans_of(tags)


@MANY
@given(corpus(BIOES_TAGS))
def test_any_bioes_tag_mix_chunks_as_seqeval(data):
    gold, pred = data
    assert_same_scores(gold, pred)
    for tags in gold + pred:
        assert tags_to_spans(tags) == spans_of(tags)


@st.composite
def chunked(draw):
    """Contiguous segments (type or outside, length) over one sentence."""
    return draw(st.lists(st.tuples(st.sampled_from((None, *TYPES)), st.integers(1, 3)), max_size=6))


@st.composite
def segment_pair(draw):
    """Gold segments and a prediction with type, boundary, missed and spurious errors."""
    gold = draw(chunked())
    pred = []
    for typ, length in gold:
        action = draw(st.sampled_from(("keep", "keep", "retype", "split")))
        if action == "retype":
            pred.append((draw(st.sampled_from((None, *TYPES))), length))
        elif action == "split" and length > 1:
            cut = draw(st.integers(1, length - 1))
            pred += [(typ, cut), (draw(st.sampled_from((None, *TYPES))), length - cut)]
        else:
            pred.append((typ, length))
    return gold, pred


def segments_to_spans(segments):
    spans, i = [], 0
    for typ, length in segments:
        if typ is not None:
            spans.append((i, i + length, typ))
        i += length
    return spans


def render(spans, n: int, scheme: str) -> list[str]:
    """IOB2: B- opens every chunk. IOB1 (CoNLL-2003): B- only right after a chunk of its type."""
    tags = ["O"] * n
    ends = {(end, typ) for _, end, typ in spans}
    for start, end, typ in spans:
        first = "B" if scheme == "iob2" or (start, typ) in ends else "I"
        tags[start:end] = [f"{first}-{typ}"] + [f"I-{typ}"] * (end - start - 1)
    return tags


@MANY
@given(st.lists(segment_pair(), min_size=1, max_size=6))
def test_iob1_and_iob2_renderings_score_alike_and_as_seqeval(pairs):
    gold_spans = [segments_to_spans(g) for g, _ in pairs]
    pred_spans = [segments_to_spans(p) for _, p in pairs]
    lengths = [sum(n for _, n in g) for g, _ in pairs]
    expected = score_spans(gold_spans, pred_spans)
    for scheme in ("iob1", "iob2"):
        gold = [render(s, n, scheme) for s, n in zip(gold_spans, lengths)]
        pred = [render(s, n, scheme) for s, n in zip(pred_spans, lengths)]
        assert [tags_to_spans(t) for t in gold] == gold_spans
        assert project(gold, pred) == expected
        assert_same_scores(gold, pred)
        assert [to_iob2(t) for t in gold] == [render(s, n, "iob2") for s, n in zip(gold_spans, lengths)]
    # seqeval's strict IOB2 mode agrees once the tags are valid IOB2.
    gold2 = [render(s, n, "iob2") for s, n in zip(gold_spans, lengths)]
    pred2 = [render(s, n, "iob2") for s, n in zip(pred_spans, lengths)]
    strict = strict_prfs(gold2, pred2, average="micro", zero_division=0, scheme=IOB2)
    assert (expected.precision, expected.recall, expected.f1) == tuple(round(float(x), 4) for x in strict[:3])


@st.composite
def counts(draw):
    """Per type (correct, predicted, gold) with correct <= both."""
    out = {}
    for typ in draw(st.lists(st.sampled_from(TYPES), min_size=1, max_size=3, unique=True)):
        tp = draw(st.integers(0, 6))
        out[typ] = (tp, tp + draw(st.integers(0, 6)), tp + draw(st.integers(0, 6)))
    return out


def sentences_with(type_counts) -> tuple[list[list[str]], list[list[str]]]:
    """One-word chunks, one per sentence: correct, predicted only, gold only."""
    gold, pred = [["O"]], [["O"]]  # seqeval refuses an empty corpus
    for typ, (tp, n_pred, n_gold) in type_counts.items():
        tag = [f"B-{typ}"]
        gold += [tag] * tp + [["O"]] * (n_pred - tp) + [tag] * (n_gold - tp)
        pred += [tag] * tp + [tag] * (n_pred - tp) + [["O"]] * (n_gold - tp)
    return gold, pred


@MANY
@given(counts())
def test_prf_equals_seqeval_bit_for_bit(type_counts):
    gold, pred = sentences_with(type_counts)
    micro = precision_recall_fscore_support(gold, pred, average="micro", zero_division=0)
    totals = [sum(c[i] for c in type_counts.values()) for i in range(3)]
    assert _prf(*totals) == tuple(float(x) for x in micro[:3])
    p, r, f, _ = precision_recall_fscore_support(gold, pred, average=None, zero_division=0)
    seen = sorted(t for t, (_, n_pred, n_gold) in type_counts.items() if n_pred or n_gold)
    ours = np.array([_prf(*type_counts[t]) for t in seen]).reshape(-1, 3)
    assert np.array_equal(ours, np.column_stack([p, r, f]).reshape(-1, 3))
