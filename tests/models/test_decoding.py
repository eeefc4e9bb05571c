"""Decoding rules on hand-made score arrays, no model."""

import numpy as np
import pytest

from models.decoding import Aggregation, aggregate_words, bio_labels, decode_spans, normalise_labels, viterbi_bio

LABELS = bio_labels(["PER", "LOC"])  # O B-PER I-PER B-LOC I-LOC


def _probs(rows):
    return np.array(rows, dtype=float)


def test_aggregate_first_subword_speaks_for_the_word():
    probs = _probs([[1, 0, 0, 0, 0], [0, 1, 0, 0, 0], [0, 0, 0, 1, 0], [1, 0, 0, 0, 0]])
    words = aggregate_words(probs, [None, 0, 0, None], 1)
    assert words.shape == (1, 5) and words[0, 1] == 1


def test_aggregate_mean_and_words_lost_to_truncation_are_outside():
    probs = _probs([[0.5, 0.5, 0, 0, 0], [0.1, 0.9, 0, 0, 0]])
    words = aggregate_words(probs, [0, 0], 2, Aggregation.MEAN)
    assert words[0, 1] == pytest.approx(0.7)
    assert list(words[1]) == [1, 0, 0, 0, 0]


def test_viterbi_repairs_an_orphan_inside_tag():
    # argmax would say O I-PER: invalid IOB2. The best valid path is B-PER I-PER or O O.
    probs = _probs([[0.6, 0.3, 0.1, 0, 0], [0.1, 0.0, 0.9, 0, 0]])
    path = [LABELS[i] for i in viterbi_bio(probs, LABELS)]
    assert path == ["B-PER", "I-PER"]


def test_viterbi_never_continues_a_span_with_another_type():
    probs = _probs([[0, 0.9, 0, 0.1, 0], [0, 0, 0.1, 0, 0.9]])
    path = [LABELS[i] for i in viterbi_bio(probs, LABELS)]
    assert path != ["B-PER", "I-LOC"]
    assert all(not (a.startswith("B-PER") and b == "I-LOC") for a, b in zip(path, path[1:]))


def test_decode_spans_scores_are_mean_tag_probability():
    probs = _probs([[0, 0.8, 0.2, 0, 0], [0, 0, 0.6, 0, 0.4], [1, 0, 0, 0, 0], [0, 0, 0, 0.9, 0.1]])
    spans = decode_spans(probs, LABELS)
    assert [(s.start, s.end, s.label) for s in spans] == [(0, 2, "PER"), (3, 4, "LOC")]
    assert spans[0].score == pytest.approx(0.7)


def test_decode_empty_sentence():
    assert decode_spans(np.zeros((0, 5)), LABELS) == []


def test_io_labels_merge_consecutive_words_of_one_type():
    labels = normalise_labels(["O", "PERSON", "LOCATION"])
    assert labels == ["O", "I-PER", "I-LOC"]
    probs = _probs([[0.1, 0.9, 0], [0.1, 0.8, 0.1], [0.9, 0, 0.1], [0, 0, 1]])
    assert [(s.start, s.end, s.label) for s in decode_spans(probs, labels)] == [(0, 2, "PER"), (3, 4, "LOC")]


def test_normalise_labels_bioes_and_aliases():
    assert normalise_labels(["O", "S-ORGANIZATION", "E-GPE", "B-misc"]) == ["O", "B-ORG", "I-LOC", "B-MISC"]
