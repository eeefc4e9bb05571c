"""The real-news corpus: sheets compiled to offsets, the validator, the split rule, agreement.

Synthetic articles written for these tests stand in for the shared corpus; the
committed annotation files are validated against the real corpus where
``../shared`` is present (skipped cleanly without it).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from newsevents.models.news_annotate import SheetError, agreement, compile_sheet
from newsevents.models.news_corpus import (
    gold_sentences,
    load_articles,
    propose_sentences,
    read_annotations,
    split_of,
    validate,
)

ROOT = Path(__file__).resolve().parents[2]
NEWS = ROOT / "models" / "data" / "events" / "news"
CORPUS = ROOT.parent / "shared" / "data" / "events" / "news"

TEXT = ("Monday, March 2, 2020 \n\n\nPolice in Lyon arrested the mayor on Sunday. He denied wrongdoing. "
        "\"We will appeal. It is unjust.\" the lawyer said. Protesters marched in the city.")
ARTICLE = {"id": "wikinews/2020-03-02/Test", "text": TEXT, "published": "2020-03-02"}
ARTICLES = {ARTICLE["id"]: ARTICLE}


def _sheet(events, fixes=()):
    return {"doc_id": ARTICLE["id"], "annotator": "t", "pass": 1, "sentence_fixes": list(fixes), "events": events}


def _span(line, span):
    return TEXT[span[0] : span[1]] if span else None


def test_proposed_sentences_are_the_pipeline_split_in_original_offsets():
    spans = propose_sentences(TEXT)
    assert [TEXT[s:e] for s, e in spans][:3] == ["Monday, March 2, 2020", "Police in Lyon arrested the mayor on Sunday.",
                                                 "He denied wrongdoing."]


def test_a_sheet_compiles_to_offsets_inside_its_sentence():
    line = compile_sheet(_sheet([{"s": 1, "type": "COERCE", "mode": "arrest", "trigger": "arrested",
                                  "source": "Police", "target": "the mayor", "location": "Lyon", "time": "on Sunday"}]),
                         ARTICLE)
    assert validate([line], ARTICLES) == []
    (ev,) = line["sentences"][1]["events"]
    assert [_span(line, ev[r]) for r in ("trigger", "source", "target", "location", "time")] == [
        "arrested", "Police", "the mayor", "Lyon", "on Sunday"]
    assert line["corpus"] == "wikinews" and line["annotator_pass"] == 1


def test_unpinned_spans_match_whole_words_and_pinned_ones_count_every_occurrence():
    # "on" is inside "Lyon" and a word of its own in "on Sunday".
    sent_start = TEXT.index("Police")
    unpinned = compile_sheet(_sheet([{"s": 1, "type": "COERCE", "trigger": "arrested", "time": "on"}]), ARTICLE)
    (ev,) = unpinned["sentences"][1]["events"]
    assert ev["time"][0] == TEXT.index(" on Sunday") + 1
    pinned = compile_sheet(_sheet([{"s": 1, "type": "COERCE", "trigger": "arrested", "time": ["on", 1]}]), ARTICLE)
    (ev,) = pinned["sentences"][1]["events"]
    assert ev["time"][0] == TEXT.index("Lyon", sent_start) + 2


def test_sentence_fixes_split_and_merge():
    # The splitter keeps the quote as one sentence; split it, then join the attribution back.
    proposed = [TEXT[s:e] for s, e in propose_sentences(TEXT)]
    q = next(i for i, t in enumerate(proposed) if t.startswith('"We will'))
    line = compile_sheet(_sheet([], [{"split": q, "before": "It is unjust"}]), ARTICLE)
    texts = [TEXT[s["start"] : s["end"]] for s in line["sentences"]]
    assert "\"We will appeal." in texts and any(t.startswith("It is unjust") for t in texts)
    assert validate([line], ARTICLES) == []
    merged = compile_sheet(_sheet([], [{"merge": 1}]), ARTICLE)
    assert len(merged["sentences"]) == len(proposed) - 1
    assert TEXT[merged["sentences"][1]["start"] : merged["sentences"][1]["end"]].endswith("denied wrongdoing.")


@pytest.mark.parametrize("bad, message", [
    ({"s": 1, "type": "ARREST", "trigger": "arrested"}, "unknown type"),
    ({"s": 1, "type": "COERCE", "mode": "firearms", "trigger": "arrested"}, "not a COERCE mode"),
    ({"s": 1, "type": "COERCE", "trigger": "detained"}, "is not in the sentence"),
    ({"s": 1, "type": "COERCE", "trigger": "arrested", "source": " Police"}, "is not in the sentence"),
    ({"s": 99, "type": "COERCE", "trigger": "arrested"}, "no sentence"),
    ({"s": 1, "type": "COERCE", "trigger": None}, "trigger is required"),
])
def test_bad_sheets_are_refused_with_the_reason(bad, message):
    with pytest.raises(SheetError, match=message):
        compile_sheet(_sheet([bad]), ARTICLE)


def _valid_line():
    return compile_sheet(_sheet([{"s": 1, "type": "COERCE", "mode": "arrest", "trigger": "arrested",
                                  "source": "Police", "target": "the mayor"}]), ARTICLE)


@pytest.mark.parametrize("plant, message", [
    (lambda l: l["sentences"][1]["events"][0].update(type="ARREST"), "unknown type"),
    (lambda l: l["sentences"][1]["events"][0].update(mode="drone"), "not a COERCE mode"),
    (lambda l: l["sentences"][1]["events"][0].update(source=[0, 5]), "inside its sentence"),
    (lambda l: l["sentences"][1]["events"][0].update(trigger=None), "required span"),
    (lambda l: l["sentences"][2].update(start=l["sentences"][1]["end"] - 3), "overlap"),
    (lambda l: l["sentences"].pop(2), "in no sentence"),
    (lambda l: l["sentences"].pop(), "after the last sentence"),
    (lambda l: l["sentences"][1].update(start=l["sentences"][1]["start"] - 1), "whitespace"),
    (lambda l: l.update(corpus="bbc"), "corpus should be"),
    (lambda l: l.update(annotator_pass=3), "annotator_pass"),
    (lambda l: l.update(doc_id="wikinews/unknown"), "unknown article"),
])
def test_the_validator_finds_each_planted_problem(plant, message):
    line = _valid_line()
    assert validate([line], ARTICLES) == []
    plant(line)
    problems = validate([line], ARTICLES)
    assert any(message in p for p in problems), problems


def test_an_article_annotated_twice_or_in_the_wrong_split_is_refused():
    line = _valid_line()
    assert any("twice" in p for p in validate([line, line], ARTICLES))
    wrong = "train" if split_of(ARTICLE["id"]) == "dev" else "dev"
    assert any("hash rule" in p for p in validate([line], ARTICLES, split=wrong))


def test_split_rule_is_fixed_by_the_article_id():
    ids = [f"bbc/politics/{i:03d}" for i in range(1, 401)]
    dev = [i for i in ids if split_of(i) == "dev"]
    assert 0.2 < len(dev) / len(ids) < 0.3  # sha1 % 4 == 0
    assert [split_of(i) for i in ids] == [split_of(i) for i in ids]


def test_gold_sentences_resolve_spans_and_modes():
    (s,) = [s for s in gold_sentences(_valid_line(), ARTICLE) if s.events]
    (ev,) = s.events
    assert (ev.type, ev.trigger, ev.source, ev.target, ev.mode) == ("COERCE", "arrested", "Police", "the mayor", "arrest")
    assert s.text == "Police in Lyon arrested the mayor on Sunday."


def test_agreement_of_two_codings():
    a = _valid_line()
    same = agreement([a], [a], ARTICLES)
    assert (same["articles"], same["type_f1"], same["source_f1"], same["target_f1"]) == (1, 1.0, 1.0, 1.0)
    b = compile_sheet(_sheet([{"s": 1, "type": "ASSAULT", "trigger": "arrested", "source": "Police"},
                              {"s": 4, "type": "PROTEST", "trigger": "marched", "source": "Protesters"}]), ARTICLE)
    other = agreement([a], [b], ARTICLES)
    assert other["type_f1"] == 0.0 and other["gold_events"] == 1 and other["predicted_events"] == 2


@pytest.mark.parametrize("split", ["train", "dev"])
def test_committed_annotations_are_valid(split):
    path = NEWS / f"{split}.jsonl"
    if not CORPUS.exists():
        pytest.skip("../shared/data/events/news is not here")
    if not path.exists():
        pytest.skip(f"{path} is not written yet")
    lines = read_annotations(str(path))
    articles = load_articles(str(CORPUS), [line["doc_id"] for line in lines])
    assert validate(lines, articles, split=split) == []
    # Stand-off only: no article text in the project's files.
    raw = path.read_text(encoding="utf-8")
    assert '"text"' not in raw and all(set(json.loads(x)) <= {"corpus", "doc_id", "annotator_pass", "annotators",
                                                                "sentences"} for x in raw.splitlines())


@pytest.mark.parametrize("name", ["first", "second"])
def test_the_double_coded_articles_are_valid_and_the_same_forty(name):
    path = NEWS / "agreement" / f"{name}.jsonl"
    if not CORPUS.exists():
        pytest.skip("../shared/data/events/news is not here")
    lines = read_annotations(str(path))
    articles = load_articles(str(CORPUS), [line["doc_id"] for line in lines])
    assert validate(lines, articles) == [] and len(lines) == 40
    other = "second" if name == "first" else "first"
    assert {x["doc_id"] for x in lines} == {x["doc_id"] for x in read_annotations(str(NEWS / "agreement" / f"{other}.jsonl"))}


def test_train_and_dev_share_no_article():
    if not (NEWS / "train.jsonl").exists() or not (NEWS / "dev.jsonl").exists():
        pytest.skip("the corpus is not written yet")
    train = {line["doc_id"] for line in read_annotations(str(NEWS / "train.jsonl"))}
    dev = {line["doc_id"] for line in read_annotations(str(NEWS / "dev.jsonl"))}
    assert not train & dev
