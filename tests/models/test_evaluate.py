"""The evaluation command's numbers, and the quality gates the shipped models must pass.

The CLI prints one JSON object as its last line: it must be the function's result. The
gates run in the default suite, each gold file evaluated once per session for all its
gates, at levels a few points below the shipped models' scores (``TEAM_DEV_GATES``,
``SHARED_EXAMPLE_GATES``) and far above what a broken role tagger reaches.
"""

import json
from pathlib import Path

import pytest
from newsevents.models.evaluate import evaluate_events, evaluate_ner

from tests.subproc import run_python

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
SHARED_EXAMPLE = Path(__file__).resolve().parents[3] / "shared" / "examples" / "telegram_events.jsonl"
TEAM_DEV = Path(__file__).resolve().parents[2] / "models" / "data" / "events" / "dev.jsonl"
# Measured by throughput, so never equal between two runs.
TIMING_KEYS = {"sentences_per_s"}


def _without_timing(result: dict) -> dict:
    return {k: v for k, v in result.items() if k not in TIMING_KEYS}


def _cli_result(args: list[str]) -> dict:
    proc = run_python(["-m", "newsevents.models.evaluate", *args], capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def ner_mini_scores():
    return evaluate_ner(str(GOLDEN / "ner_mini.conll"), device="cpu")


@pytest.fixture(scope="module")
def events_mini_scores():
    return evaluate_events(str(GOLDEN / "events_mini.jsonl"), device="cpu")


@pytest.fixture(scope="module")
def team_dev_scores():
    # About 75 s on a CI core: the one event-quality measure on a thousand sentences, so it is
    # paid once here for the type, source and target gates together.
    return evaluate_events(str(TEAM_DEV), device="cpu")


@pytest.fixture(scope="module")
def shared_example_scores():
    if not SHARED_EXAMPLE.exists():
        pytest.skip("../shared/examples is not here")
    return evaluate_events(str(SHARED_EXAMPLE), device="cpu")


def test_evaluate_ner_on_team_written_sentences(ner_mini_scores):
    assert set(ner_mini_scores) >= {"precision", "recall", "f1", "per_type", "sentences_per_s"}
    assert ner_mini_scores["sentences"] == 6
    assert ner_mini_scores["f1"] >= 0.8  # easy, unambiguous sentences written for this test


def test_evaluate_ner_cli_last_line_is_the_functions_result(ner_mini_scores):
    last = _cli_result(["ner", "--conll", str(GOLDEN / "ner_mini.conll")])
    assert _without_timing(last) == _without_timing(ner_mini_scores)


@pytest.mark.slow
def test_shipped_model_meets_the_dev_target():
    dev = Path(__file__).resolve().parents[3] / "shared" / "data" / "ner" / "conll2003_dev.txt"
    if not dev.exists():
        pytest.skip("../shared/data/ner is not here")
    assert evaluate_ner(str(dev), device="cpu")["f1"] >= 0.92


def test_evaluate_events_on_team_written_sentences(events_mini_scores):
    result = events_mini_scores
    assert set(result) >= {"type_precision", "type_recall", "type_f1", "source_f1", "target_f1", "per_type_f1"}
    assert result["sentences"] == 6 and result["gold_events"] == 5
    assert result["type_f1"] >= 0.8  # plain, unambiguous sentences written for this test


def test_evaluate_events_cli_last_line_is_the_functions_result(events_mini_scores):
    last = _cli_result(["events", "--gold", str(GOLDEN / "events_mini.jsonl")])
    assert _without_timing(last) == _without_timing(events_mini_scores)
    assert last["event_model"] == "events.minilm_roles.v1"


# Least values, measured on the shipped models (events.minilm_roles.v1 with ner.minilm_cased.v1,
# CPU, fp32) for issue 16:
#   team dev (952 gold events): type 0.8771, source 0.824, target 0.7158;
#   shared example (17 gold events): type 0.9375, source 0.9375, target 0.6875.
# Team dev gates sit 2-3 points below (20-odd events of slack). On the shared example one
# event moves F1 by about 6 points, so its gates allow one event fewer than today.
# A role tagger that finds no source or target, even with every type right, scores at most
# 0.09 / 0.19 on team dev and 0.41 / 0.18 on the shared example (None matches None);
# swapping source and target scores below 0.02 on both.
TEAM_DEV_GATES = {"type_f1": 0.85, "source_f1": 0.80, "target_f1": 0.69}
SHARED_EXAMPLE_GATES = {"type_f1": 0.85, "source_f1": 0.85, "target_f1": 0.62}


@pytest.mark.parametrize("metric", sorted(TEAM_DEV_GATES))
def test_shipped_event_model_meets_the_team_dev_target(team_dev_scores, metric):
    assert team_dev_scores[metric] >= TEAM_DEV_GATES[metric], team_dev_scores


@pytest.mark.parametrize("metric", sorted(SHARED_EXAMPLE_GATES))
def test_shipped_event_model_on_the_shared_example_article(shared_example_scores, metric):
    assert shared_example_scores[metric] >= SHARED_EXAMPLE_GATES[metric], shared_example_scores


def _news_fixture(tmp_path):
    """A one-article corpus in the shared layout and its stand-off annotation, written for this test."""
    from newsevents.models.news_annotate import compile_sheet

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
    from newsevents.models.evaluate import evaluate_news

    gold, corpus = _news_fixture(tmp_path)
    result = evaluate_news(str(gold), str(corpus), device="cpu")
    assert set(result) >= {"type_f1", "source_f1", "target_f1", "per_type_f1", "mode_accuracy", "location_f1",
                           "time_f1", "location_f1_with_lead"}
    assert (result["articles"], result["sentences"], result["gold_events"]) == (1, 3, 2)
    assert result["per_type_f1"].get("COERCE") == 1.0  # a plain arrest, with its place and day
    assert result["time_f1"] > 0 and result["location_f1"] > 0
    last = _cli_result(["events", "--news", str(gold), "--corpus", str(corpus)])
    assert _without_timing(last) == _without_timing(result)
