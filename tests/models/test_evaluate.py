"""The evaluation command prints one JSON object as its last line."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from models.evaluate import evaluate_events, evaluate_ner

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def test_evaluate_ner_on_team_written_sentences():
    result = evaluate_ner(str(GOLDEN / "ner_mini.conll"), device="cpu")
    assert set(result) >= {"precision", "recall", "f1", "per_type", "sentences_per_s"}
    assert result["sentences"] == 6
    assert result["f1"] >= 0.8  # easy, unambiguous sentences written for this test


def test_evaluate_cli_last_line_is_json():
    proc = subprocess.run([sys.executable, "-m", "models.evaluate", "ner", "--conll", str(GOLDEN / "ner_mini.conll")],
                          capture_output=True, text=True, check=True)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert 0.0 <= result["f1"] <= 1.0 and set(result["per_type"]) <= {"PER", "ORG", "LOC", "MISC"}


@pytest.mark.slow
def test_shipped_model_meets_the_dev_target():
    dev = Path(__file__).resolve().parents[3] / "shared" / "data" / "ner" / "conll2003_dev.txt"
    if not dev.exists():
        pytest.skip("../shared/data/ner is not here")
    assert evaluate_ner(str(dev), device="cpu")["f1"] >= 0.92


SHARED_EXAMPLE = Path(__file__).resolve().parents[3] / "shared" / "examples" / "telegram_events.jsonl"
TEAM_DEV = Path(__file__).resolve().parents[2] / "models" / "data" / "events" / "dev.jsonl"


def test_evaluate_events_on_team_written_sentences():
    result = evaluate_events(str(GOLDEN / "events_mini.jsonl"), device="cpu")
    assert set(result) >= {"type_precision", "type_recall", "type_f1", "source_f1", "target_f1", "per_type_f1"}
    assert result["sentences"] == 6 and result["gold_events"] == 5
    assert result["type_f1"] >= 0.8  # plain, unambiguous sentences written for this test


def test_evaluate_events_cli_last_line_is_json():
    proc = subprocess.run([sys.executable, "-m", "models.evaluate", "events", "--gold", str(GOLDEN / "events_mini.jsonl")],
                          capture_output=True, text=True, check=True)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert 0.0 <= result["type_f1"] <= 1.0 and result["event_model"] == "events.minilm_roles.v1"


def test_shipped_event_model_on_the_shared_example_article():
    if not SHARED_EXAMPLE.exists():
        pytest.skip("../shared/examples is not here")
    assert evaluate_events(str(SHARED_EXAMPLE), device="cpu")["type_f1"] >= 0.75


@pytest.mark.slow
def test_shipped_event_model_meets_the_team_dev_target():
    assert evaluate_events(str(TEAM_DEV), device="cpu")["type_f1"] >= 0.85


def _news_fixture(tmp_path):
    """A one-article corpus in the shared layout and its stand-off annotation, written for this test."""
    from models.news_annotate import compile_sheet

    text = ("Police in Lagos arrested 14 protesters outside the governor's office on Friday. "
            "The governor praised the officers. Rain fell all day.")
    article = {"id": "wikinews/2026-03-06/Test", "title": "Test", "published": "2026-03-06", "text": text}
    corpus = tmp_path / "news"
    corpus.mkdir()
    (corpus / "wikinews_2019_2021.jsonl").write_text(json.dumps(article) + "\n")
    (corpus / "bbc_2004_2005.jsonl").write_text("")
    sheet = {"doc_id": article["id"], "pass": 2, "events": [
        {"s": 0, "type": "COERCE", "mode": "arrest", "trigger": "arrested", "source": "Police",
         "target": "14 protesters", "location": "Lagos", "time": "on Friday"},
        {"s": 1, "type": "SUPPORT", "trigger": "praised", "source": "The governor", "target": "the officers"}]}
    gold = tmp_path / "dev.jsonl"
    gold.write_text(json.dumps(compile_sheet(sheet, article)) + "\n")
    return gold, corpus


def test_evaluate_news_runs_whole_articles_through_the_pipeline_path(tmp_path):
    from models.evaluate import evaluate_news

    gold, corpus = _news_fixture(tmp_path)
    result = evaluate_news(str(gold), str(corpus), device="cpu")
    assert set(result) >= {"type_f1", "source_f1", "target_f1", "per_type_f1", "mode_accuracy", "location_f1",
                           "time_f1", "location_f1_with_lead"}
    assert (result["articles"], result["sentences"], result["gold_events"]) == (1, 3, 2)
    assert result["per_type_f1"].get("COERCE") == 1.0  # a plain arrest, with its place and day
    assert result["time_f1"] > 0 and result["location_f1"] > 0
    proc = subprocess.run([sys.executable, "-m", "models.evaluate", "events", "--news", str(gold),
                           "--corpus", str(corpus)], capture_output=True, text=True, check=True)
    last = json.loads(proc.stdout.strip().splitlines()[-1])
    assert {k: v for k, v in last.items() if k != "sentences_per_s"} == {
        k: v for k, v in result.items() if k != "sentences_per_s"}
