"""Decoding rules on hand-made score arrays, no model.

Viterbi is checked against an exhaustive search over every valid IOB2 path on many seeded random
inputs; the transition mask, label normalisation, sub-word aggregation, span scores and the
per-type best span (ties included) are pinned with exact values on small hand-made arrays.
"""

import itertools

import numpy as np
import pytest
from newsevents.models.decoding import (
    Aggregation,
    WordSpan,
    _allowed,
    aggregate_words,
    best_spans_batch,
    best_spans_per_type,
    bio_labels,
    decode_batch,
    decode_spans,
    normalise_labels,
    viterbi_batch,
    viterbi_bio,
)

LABELS = bio_labels(["PER", "LOC"])  # O B-PER I-PER B-LOC I-LOC


def _probs(rows):
    return np.array(rows, dtype=float)


# -- labels ----------------------------------------------------------------------------------------


def test_bio_labels_lists_outside_then_begin_inside_per_type():
    assert bio_labels(["PER", "LOC"]) == ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    assert bio_labels([]) == ["O"]


def test_normalise_labels_bioes_and_aliases():
    assert normalise_labels(["O", "S-ORGANIZATION", "E-GPE", "B-misc"]) == ["O", "B-ORG", "I-LOC", "B-MISC"]


def test_normalise_labels_bilou_prefixes_and_lowercase_prefixes():
    assert normalise_labels(["U-PER", "L-PER", "u-per", "l-loc", "b-org", "s-org", "i-org", "e-org"]) == [
        "B-PER", "I-PER", "B-PER", "I-LOC", "B-ORG", "B-ORG", "I-ORG", "I-ORG"]


def test_normalise_labels_outside_spellings():
    assert normalise_labels(["O", "o", "OUTSIDE", "outside"]) == ["O"] * 4


def test_normalise_labels_keep_hyphens_inside_the_type():
    # Only the first hyphen after a one-letter prefix separates it; an IO label is all type.
    assert normalise_labels(["B-WORK-OF-ART", "I-WORK-OF-ART", "WORK-OF-ART", "PERSON", "X"]) == [
        "B-WORK-OF-ART", "I-WORK-OF-ART", "I-WORK-OF-ART", "I-PER", "I-X"]


def test_io_labels_merge_consecutive_words_of_one_type():
    labels = normalise_labels(["O", "PERSON", "LOCATION"])
    assert labels == ["O", "I-PER", "I-LOC"]
    probs = _probs([[0.1, 0.9, 0], [0.1, 0.8, 0.1], [0.9, 0, 0.1], [0, 0, 1]])
    assert [(s.start, s.end, s.label) for s in decode_spans(probs, labels)] == [(0, 2, "PER"), (3, 4, "LOC")]


# -- aggregation -----------------------------------------------------------------------------------


def test_aggregate_first_subword_speaks_for_the_word():
    probs = _probs([[1, 0, 0, 0, 0], [0, 1, 0, 0, 0], [0, 0, 0, 1, 0], [1, 0, 0, 0, 0]])
    words = aggregate_words(probs, [None, 0, 0, None], 1)
    assert words.shape == (1, 5) and words[0, 1] == 1


def test_aggregate_first_exact_rows_and_words_without_tokens():
    probs = _probs([[0.9, 0.1, 0], [0.2, 0.7, 0.1], [0.1, 0.1, 0.8], [0.3, 0.3, 0.4], [0.5, 0.5, 0]])
    words = aggregate_words(probs, [None, 0, 0, 2, None], 4, Aggregation.FIRST)
    # word 1 has no token and word 3 was cut: both are "O" (label 0) with certainty.
    np.testing.assert_array_equal(words, [[0.2, 0.7, 0.1], [1, 0, 0], [0.3, 0.3, 0.4], [1, 0, 0]])


def test_aggregate_mean_and_words_lost_to_truncation_are_outside():
    probs = _probs([[0.5, 0.5, 0, 0, 0], [0.1, 0.9, 0, 0, 0]])
    words = aggregate_words(probs, [0, 0], 2, Aggregation.MEAN)
    assert words[0, 1] == pytest.approx(0.7)
    assert list(words[1]) == [1, 0, 0, 0, 0]


def test_aggregate_mean_exact_rows_single_token_words_unchanged():
    probs = _probs([[0.6, 0.4, 0], [0.2, 0.2, 0.6], [0.1, 0.6, 0.3], [0.0, 0.5, 0.5], [0.3, 0.3, 0.4]])
    words = aggregate_words(probs, [0, 1, 1, 1, 2], 3, Aggregation.MEAN)
    np.testing.assert_allclose(words, [[0.6, 0.4, 0], [0.1, 1.3 / 3, 1.4 / 3], [0.3, 0.3, 0.4]], atol=1e-12)


def test_aggregate_ignores_token_word_ids_beyond_n_words():
    # The tokenizer saw more words than the caller keeps (truncated sentence): drop them, do not fail.
    probs = _probs([[0.2, 0.8], [0.7, 0.3], [0.4, 0.6]])
    for how in Aggregation:
        words = aggregate_words(probs, [0, 1, 2], 1, how)
        np.testing.assert_array_equal(words, [[0.2, 0.8]])


# -- transition mask and Viterbi -------------------------------------------------------------------


def test_allowed_matrix_iob2_inside_only_after_its_own_type():
    allowed = _allowed(bio_labels(["PER", "LOC"]))
    assert allowed.dtype == bool
    t, f = True, False
    # rows: from, columns: to; order O B-PER I-PER B-LOC I-LOC
    assert allowed.tolist() == [
        [t, t, f, t, f],
        [t, t, t, t, f],
        [t, t, t, t, f],
        [t, t, f, t, t],
        [t, t, f, t, t],
    ]


def test_allowed_matrix_io_types_may_follow_anything():
    assert _allowed(["O", "I-PER", "I-LOC"]).all()
    # mixed: PER has a B- (IOB2 rule), MISC is IO-only (free)
    t, f = True, False
    assert _allowed(["O", "B-PER", "I-PER", "I-MISC"]).tolist() == [
        [t, t, f, t],
        [t, t, t, t],
        [t, t, t, t],
        [t, t, f, t],
    ]


def _reference_mask(labels):
    # Written from the IOB2 rule, independently of models.decoding._allowed.
    def constrained(lab):
        return lab.startswith("I-") and f"B-{lab[2:]}" in labels

    may_start = np.array([not constrained(lab) for lab in labels])
    mask = np.array([[not constrained(b) or a in (f"B-{b[2:]}", b) for b in labels] for a in labels])
    return may_start, mask


def _brute_force(probs, labels):
    """Best score over every valid label path, and the paths that reach it."""
    n, n_labels = probs.shape
    paths = np.array(list(itertools.product(range(n_labels), repeat=n)))
    may_start, mask = _reference_mask(labels)
    valid = may_start[paths[:, 0]] & mask[paths[:, :-1], paths[:, 1:]].all(axis=1)
    scores = np.log(np.maximum(probs, 1e-12))[np.arange(n), paths].sum(axis=1)
    scores[~valid] = -np.inf
    return scores.max(), paths[scores == scores.max()]


LABEL_SETS = [
    bio_labels(["PER", "LOC"]),
    ["O", "B-TRG", "I-TRG", "B-SRC", "I-SRC", "B-TGT", "I-TGT"],
    ["O", "I-PER", "I-LOC"],
    ["O", "B-PER", "I-PER", "I-MISC"],
    ["I-LOC", "B-PER", "O", "B-LOC", "I-PER"],  # the rule does not depend on the label order
]


@pytest.mark.parametrize("labels", LABEL_SETS, ids=lambda labels: "/".join(labels))
def test_viterbi_matches_exhaustive_search_over_valid_paths(labels):
    rng = np.random.default_rng(20240616)
    may_start, mask = _reference_mask(labels)
    for case in range(150):
        n = int(rng.integers(1, 6 if len(labels) <= 5 else 5))
        # Peaked rows make the unconstrained argmax invalid often; some exact zeros test the floor.
        probs = rng.dirichlet(np.full(len(labels), 0.3), size=n)
        has_zeros = case % 4 == 0
        if has_zeros:
            probs[rng.random(probs.shape) < 0.3] = 0.0
        path = viterbi_bio(probs, labels)
        best, best_paths = _brute_force(probs, labels)
        assert len(path) == n
        assert may_start[path[0]] and all(mask[a, b] for a, b in zip(path, path[1:])), (case, path)
        got = np.log(np.maximum(probs, 1e-12))[np.arange(n), path].sum()
        assert got == pytest.approx(best, abs=1e-9), (case, probs, path, best_paths)
        if not has_zeros:  # continuous scores: the optimum is unique
            assert [path] == best_paths.tolist(), (case, probs)


@pytest.mark.parametrize("labels", LABEL_SETS, ids=lambda labels: "/".join(labels))
def test_a_batch_of_rows_decodes_as_each_row_alone(labels, monkeypatch):
    # Rows of different lengths (empty ones too) in one batch: each row's path is the optimum the
    # exhaustive search finds for it alone, so a finished row's scores never take later steps.
    rng = np.random.default_rng(7)
    for case in range(40):
        rows = [rng.dirichlet(np.full(len(labels), 0.3), size=int(rng.integers(0, 5))) for _ in range(5)]
        paths = viterbi_batch(rows, labels)
        for probs, path in zip(rows, paths):
            assert len(path) == len(probs)
            if len(probs):
                best, best_paths = _brute_force(probs, labels)
                assert [path] == best_paths.tolist(), (case, probs, path)
    # decode_batch groups rows by length, several groups per call, and answers in input order.
    monkeypatch.setattr("newsevents.models.decoding.DECODE_ROWS", 2)
    rows = [rng.dirichlet(np.full(len(labels), 0.3), size=int(n)) for n in (4, 0, 2, 3, 1, 4, 2)]
    assert decode_batch(rows, labels) == [decode_spans(r, labels) for r in rows]
    assert best_spans_batch(rows, labels) == [best_spans_per_type(r, labels) for r in rows]


def test_viterbi_of_an_empty_batch_and_of_empty_rows():
    assert viterbi_batch([], LABELS) == [] and decode_batch([], LABELS) == []
    assert viterbi_batch([np.zeros((0, len(LABELS)))] * 2, LABELS) == [[], []]


def test_viterbi_repairs_an_orphan_inside_tag():
    # argmax would say O I-PER: invalid IOB2. The best valid path is B-PER I-PER or O O.
    probs = _probs([[0.6, 0.3, 0.1, 0, 0], [0.1, 0.0, 0.9, 0, 0]])
    path = [LABELS[i] for i in viterbi_bio(probs, LABELS)]
    assert path == ["B-PER", "I-PER"]


def test_viterbi_never_starts_a_sentence_inside_a_span():
    probs = _probs([[0.3, 0.0, 0.7, 0, 0], [0.6, 0.4, 0, 0, 0]])
    assert [LABELS[i] for i in viterbi_bio(probs, LABELS)] == ["O", "O"]


def test_viterbi_never_continues_a_span_with_another_type():
    probs = _probs([[0, 0.9, 0, 0.1, 0], [0, 0, 0.1, 0, 0.9]])
    path = [LABELS[i] for i in viterbi_bio(probs, LABELS)]
    assert path != ["B-PER", "I-LOC"]
    assert all(not (a.startswith("B-PER") and b == "I-LOC") for a, b in zip(path, path[1:]))


def test_viterbi_keeps_a_long_span_going():
    probs = _probs([[0.1, 0.8, 0.1, 0, 0], [0.1, 0, 0.9, 0, 0], [0.2, 0, 0.8, 0, 0], [0.3, 0, 0.7, 0, 0]])
    assert [LABELS[i] for i in viterbi_bio(probs, LABELS)] == ["B-PER", "I-PER", "I-PER", "I-PER"]


def test_viterbi_io_labels_may_open_with_inside():
    labels = ["O", "I-PER", "I-LOC"]
    probs = _probs([[0.2, 0.8, 0], [0.1, 0.1, 0.8]])
    assert viterbi_bio(probs, labels) == [1, 2]


# -- spans -----------------------------------------------------------------------------------------


def test_decode_spans_scores_are_mean_tag_probability():
    probs = _probs([[0, 0.8, 0.2, 0, 0], [0, 0, 0.6, 0, 0.4], [1, 0, 0, 0, 0], [0, 0, 0, 0.9, 0.1]])
    spans = decode_spans(probs, LABELS)
    assert [(s.start, s.end, s.label) for s in spans] == [(0, 2, "PER"), (3, 4, "LOC")]
    assert spans[0].score == pytest.approx(0.7)
    assert spans[1].score == pytest.approx(0.9)


def test_decode_spans_split_at_begin_tags_and_type_changes():
    rows = [
        [0, 0.9, 0.1, 0, 0],  # B-PER
        [0, 0.8, 0.2, 0, 0],  # B-PER again: a second span
        [0, 0.1, 0.5, 0, 0.4],  # I-PER
        [0, 0, 0, 0.7, 0.3],  # B-LOC
        [0.4, 0, 0, 0, 0.6],  # I-LOC
        [0.9, 0.1, 0, 0, 0],  # O
        [0.2, 0.6, 0.2, 0, 0],  # B-PER at the end
    ]
    spans = decode_spans(_probs(rows), LABELS)
    assert [(s.start, s.end, s.label) for s in spans] == [(0, 1, "PER"), (1, 3, "PER"), (3, 5, "LOC"),
                                                          (6, 7, "PER")]
    assert [s.score for s in spans] == pytest.approx([0.9, 0.65, 0.65, 0.6])


def test_decode_spans_cover_exactly_the_tagged_words_of_the_viterbi_path():
    rng = np.random.default_rng(7)
    labels = LABEL_SETS[1]
    for _ in range(100):
        probs = rng.dirichlet(np.full(len(labels), 0.3), size=int(rng.integers(1, 9)))
        path = viterbi_bio(probs, labels)
        spans = decode_spans(probs, labels)
        tagged = [k for k, j in enumerate(path) if labels[j] != "O"]
        assert [k for s in spans for k in range(s.start, s.end)] == tagged
        for s in spans:
            assert labels[path[s.start]][2:] == s.label
            assert s.score == pytest.approx(np.mean([probs[k, path[k]] for k in range(s.start, s.end)]))


def test_decode_empty_sentence():
    assert decode_spans(np.zeros((0, 5)), LABELS) == []
    assert viterbi_bio(np.zeros((0, 5)), LABELS) == []


# -- best span per type ----------------------------------------------------------------------------


def test_best_span_per_type_prefers_the_higher_scoring_later_span():
    # Two PER candidates: the first scores 0.6, the second 0.9; the best, not the first, is kept.
    probs = _probs([[0.4, 0.6, 0, 0, 0], [1, 0, 0, 0, 0], [0.1, 0.9, 0, 0, 0], [0, 0, 0, 0.8, 0.2]])
    best = best_spans_per_type(probs, LABELS)
    assert best == {"PER": WordSpan(2, 3, "PER", pytest.approx(0.9)), "LOC": WordSpan(3, 4, "LOC", pytest.approx(0.8))}


def test_best_span_per_type_keeps_an_earlier_span_that_scores_higher():
    probs = _probs([[0.1, 0.9, 0, 0, 0], [0.9, 0.1, 0, 0, 0], [0.3, 0.7, 0, 0, 0], [0.2, 0, 0.8, 0, 0]])
    best = best_spans_per_type(probs, LABELS)
    assert (best["PER"].start, best["PER"].end) == (0, 1)
    assert best["PER"].score == pytest.approx(0.9)


def test_best_span_per_type_tie_keeps_the_earlier_span():
    probs = _probs([[0.25, 0.75, 0, 0, 0], [1, 0, 0, 0, 0], [0.25, 0.75, 0, 0, 0]])
    best = best_spans_per_type(probs, LABELS)
    assert (best["PER"].start, best["PER"].end) == (0, 1)


def test_best_span_per_type_is_empty_when_nothing_is_tagged():
    assert best_spans_per_type(_probs([[1, 0, 0, 0, 0], [0.9, 0, 0.1, 0, 0]]), LABELS) == {}
