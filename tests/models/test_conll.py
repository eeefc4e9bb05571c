"""CoNLL reading and conlleval span scoring on small hand-made inputs with exact numbers.

The cross-check against seqeval on generated sequences is in test_conll_reference.py.
"""

import os
from pathlib import Path

import newsevents.models.conll
import pytest
from newsevents.models.conll import _prf, read_conll, score_spans, tags_to_spans, to_iob2

from tests.subproc import run_python

IOB1 = """-DOCSTART- -X- O O

EU NNP I-ORG
rejects VBZ O
German JJ I-MISC
call NN O

Peter I-PER
Blackburn I-PER
Smith B-PER

"""


def test_read_conll_handles_docstart_iob1_and_two_columns(tmp_path):
    path = tmp_path / "x.conll"
    path.write_text(IOB1)
    sents = read_conll(path)
    assert [s.words for s in sents] == [("EU", "rejects", "German", "call"), ("Peter", "Blackburn", "Smith")]
    assert sents[0].tags == ("B-ORG", "O", "B-MISC", "O")
    assert sents[1].tags == ("B-PER", "I-PER", "B-PER")


def test_read_conll_error_names_file_line_and_content(tmp_path):
    path = tmp_path / "x.conll"
    path.write_text("EU I-ORG\n\nbroken\n")
    with pytest.raises(ValueError, match=r"x\.conll:3: expected 'token \.\.\. TAG' .*got 'broken'\."):
        read_conll(path)


def test_read_conll_decodes_utf8_whatever_the_locale(tmp_path):
    # CoNLL files are UTF-8; under an ASCII locale (LC_ALL=C without Python's UTF-8
    # mode) open() without an encoding would fail on the first non-ASCII word.
    path = tmp_path / "de.conll"
    path.write_text("Jürgen I-PER\nMöllemann I-PER\nsagt O\n", encoding="utf-8")
    words = ("Jürgen", "Möllemann", "sagt")
    assert read_conll(path)[0].words == words
    env = {"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}
    code = "import sys; from newsevents.models.conll import read_conll; print(ascii(read_conll(sys.argv[1])[0].words))"
    # the child imports the copy this process imported (mutmut's mutated one included)
    root = Path(newsevents.__file__).resolve().parents[1]
    proc = run_python(
        ["-c", code, str(path)],
        env={**os.environ, **env},
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ascii(words)


def test_conlleval_chunk_rules():
    assert tags_to_spans(["B-PER", "I-LOC", "I-LOC", "O"]) == [(0, 1, "PER"), (1, 3, "LOC")]
    assert tags_to_spans(["O", "I-PER"]) == [(1, 2, "PER")]
    assert to_iob2(["I-ORG", "I-ORG", "O", "I-LOC"]) == ["B-ORG", "I-ORG", "O", "B-LOC"]


def test_iob1_i_after_o_opens_a_chunk_of_the_type_seen_before():
    # The type of the chunk before the O must not make the I- a continuation.
    assert tags_to_spans(["B-PER", "O", "I-PER", "I-PER", "B-PER"]) == [(0, 1, "PER"), (2, 4, "PER"), (4, 5, "PER")]
    assert to_iob2(["I-PER", "O", "I-PER", "B-PER"]) == ["B-PER", "O", "B-PER", "B-PER"]


def test_type_is_everything_after_the_first_hyphen():
    # conlleval splits a tag with /^([^-]*)-(.*)$/, so "B-GPE-LOC" has type "GPE-LOC".
    assert tags_to_spans(["B-GPE-LOC", "I-GPE-LOC", "I-GPE-ORG"]) == [(0, 2, "GPE-LOC"), (2, 3, "GPE-ORG")]


def test_chunk_ends_after_e_and_s_tags_as_in_conlleval():
    # Regression: E-X then I-X or E-X was read as one chunk, although conlleval ends a
    # chunk after E- (its E/E and E/I rules); S- is a one-word chunk (seqeval's rules).
    assert tags_to_spans(["S-PER", "S-PER", "I-PER"]) == [(0, 1, "PER"), (1, 2, "PER"), (2, 3, "PER")]
    assert tags_to_spans(["B-LOC", "E-LOC", "E-LOC", "I-LOC", "E-LOC"]) == [(0, 2, "LOC"), (2, 3, "LOC"), (3, 5, "LOC")]
    assert tags_to_spans(["B-PER", "E-LOC", "S-LOC", "E-LOC"]) == [
        (0, 1, "PER"),
        (1, 2, "LOC"),
        (2, 3, "LOC"),
        (3, 4, "LOC"),
    ]
    assert tags_to_spans(["O", "E-ORG", "O", "B-ORG", "I-ORG", "E-ORG"]) == [(1, 2, "ORG"), (3, 6, "ORG")]


def test_scores_are_exact_span_micro_averages():
    gold = [[(0, 2, "PER"), (3, 4, "LOC")], [(0, 1, "ORG")]]
    pred = [[(0, 2, "PER"), (3, 5, "LOC")], [(0, 1, "ORG"), (2, 3, "MISC")]]
    s = score_spans(gold, pred)
    assert (s.precision, s.recall) == (0.5, 0.6667)
    assert s.per_type == {"LOC": 0.0, "MISC": 0.0, "ORG": 1.0, "PER": 1.0}


# A CoNLL-2003-like IOB1 sample, worked out by hand with conlleval's arithmetic:
# gold ORG 1, MISC 2, PER 3, LOC 1 (7); predicted ORG 1, MISC 1, LOC 2, PER 2 (6);
# correct ORG 1, MISC 1, LOC 1 (3).
HAND_GOLD = [
    ["I-ORG", "O", "I-MISC", "O", "O", "O", "I-MISC", "O", "O"],
    ["I-PER", "I-PER"],
    ["I-LOC", "O", "I-PER", "B-PER"],
]
HAND_PRED = [
    ["I-ORG", "O", "I-MISC", "O", "O", "O", "I-LOC", "O", "O"],
    ["I-PER", "O"],
    ["I-LOC", "O", "I-PER", "I-PER"],
]


def test_scores_by_hand_with_precision_unlike_recall_overall_and_per_type():
    s = score_spans([tags_to_spans(t) for t in HAND_GOLD], [tags_to_spans(t) for t in HAND_PRED])
    # P = 3/6, R = 3/7, F1 = 2PR/(P+R) = 6/13; (P+R)/2 would be 0.4643.
    assert (s.precision, s.recall, s.f1) == (0.5, 0.4286, 0.4615)
    # MISC: P 1/1, R 1/2; LOC: P 1/2, R 1/1; both F1 = 2/3 (not 0.75).
    assert s.per_type == {"LOC": 0.6667, "MISC": 0.6667, "ORG": 1.0, "PER": 0.0}


def test_scores_count_every_span_of_a_type():
    gold = [[(0, 1, "PER"), (2, 3, "PER"), (4, 5, "PER")], [(0, 1, "PER"), (1, 2, "LOC")]]
    pred = [[(0, 1, "PER"), (2, 3, "PER"), (4, 6, "PER")], [(0, 1, "PER"), (1, 2, "ORG"), (3, 4, "ORG")]]
    s = score_spans(gold, pred)
    # correct PER 3 of 4 gold, 3 of 4 predicted; ORG 0 of 2 predicted; LOC 0 of 1 gold.
    assert (s.precision, s.recall, s.f1) == (0.5, 0.6, 0.5455)
    assert s.per_type == {"LOC": 0.0, "ORG": 0.0, "PER": 0.75}


def test_scores_round_to_four_places():
    gold = [[(0, 1, "A"), (1, 2, "A"), (2, 3, "A")], [(0, 1, "B")]]
    pred = [[(0, 1, "A"), (1, 2, "A"), (5, 6, "A"), (6, 7, "A"), (7, 8, "A"), (8, 9, "A")], [(0, 1, "B")]]
    s = score_spans(gold, pred)
    # P = 3/7, R = 3/4, F1 = 6/11; A: P 2/6, R 2/3, F1 4/9.
    assert (s.precision, s.recall, s.f1) == (0.4286, 0.75, 0.5455)
    assert s.per_type == {"A": 0.4444, "B": 1.0}


def test_duplicate_spans_count_once():
    s = score_spans([[(0, 1, "PER"), (0, 1, "PER")]], [[(0, 1, "PER"), (2, 3, "PER")]])
    assert (s.precision, s.recall) == (0.5, 1.0)


def test_no_predictions_or_no_gold_score_zero_as_conlleval_does():
    nothing_found = score_spans([[(0, 1, "PER")]], [[]])
    assert (nothing_found.precision, nothing_found.recall, nothing_found.f1) == (0.0, 0.0, 0.0)
    assert nothing_found.per_type == {"PER": 0.0}
    nothing_to_find = score_spans([[]], [[(0, 1, "PER")]])
    assert (nothing_to_find.precision, nothing_to_find.recall, nothing_to_find.f1) == (0.0, 0.0, 0.0)
    empty = score_spans([[], []], [[], []])
    assert (empty.precision, empty.recall, empty.f1, empty.per_type) == (0.0, 0.0, 0.0, {})


def test_prf_is_the_harmonic_mean_unrounded():
    assert _prf(1, 3, 2) == (1 / 3, 1 / 2, 2 * (1 / 3) * (1 / 2) / (1 / 3 + 1 / 2))
    assert _prf(0, 0, 0) == (0.0, 0.0, 0.0)
    assert _prf(0, 2, 0) == (0.0, 0.0, 0.0)
    assert _prf(0, 0, 2) == (0.0, 0.0, 0.0)


def test_score_spans_refuses_unpaired_sentences():
    with pytest.raises(ValueError):
        score_spans([[(0, 1, "PER")], []], [[(0, 1, "PER")]])
