from models.conll import read_conll, score_spans, tags_to_spans, to_iob2

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


def test_conlleval_chunk_rules():
    assert tags_to_spans(["B-PER", "I-LOC", "I-LOC", "O"]) == [(0, 1, "PER"), (1, 3, "LOC")]
    assert tags_to_spans(["O", "I-PER"]) == [(1, 2, "PER")]
    assert to_iob2(["I-ORG", "I-ORG", "O", "I-LOC"]) == ["B-ORG", "I-ORG", "O", "B-LOC"]


def test_scores_are_exact_span_micro_averages():
    gold = [[(0, 2, "PER"), (3, 4, "LOC")], [(0, 1, "ORG")]]
    pred = [[(0, 2, "PER"), (3, 5, "LOC")], [(0, 1, "ORG"), (2, 3, "MISC")]]
    s = score_spans(gold, pred)
    assert (s.precision, s.recall) == (0.5, 0.6667)
    assert s.per_type == {"LOC": 0.0, "MISC": 0.0, "ORG": 1.0, "PER": 1.0}
