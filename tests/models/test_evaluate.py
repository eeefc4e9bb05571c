"""The evaluation command prints one JSON object as its last line."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from models.evaluate import evaluate_ner

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
