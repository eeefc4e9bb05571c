"""Shared fixtures (the shipped model, a tiny random model, the samples) and hypothesis's profiles."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
SHARED = ROOT.parent / "shared"

# Not tests: the child Pythons' sitecustomize (tests/subproc.py). --doctest-modules would import
# it into the test process, where it would add its warning filter for the rest of the session.
collect_ignore = ["_child_site"]

# "ci" (the default): the examples are drawn from a seed derived from each test function, so a
# run is reproducible: a failure in CI comes back with the same command on any machine, and a
# green test does not turn red without a change. A database would not give that: CI starts from
# a fresh checkout, so what it saved is gone, and locally a replay from .hypothesis/ makes one
# machine's run differ from another's; it is switched off so a run reads no state.
# deadline=None: the machines are shared; a slow draw is not a failure.
# "explore" (`pytest --hypothesis-profile=explore`): fresh random examples each run, failures
# saved in .hypothesis/ and replayed first, to look for new counterexamples locally.
settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True)
settings.register_profile("explore", derandomize=False, deadline=None, print_blob=True)
settings.load_profile("ci")


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    return SAMPLES


@pytest.fixture(scope="session")
def shipped_ner():
    """The default NER handler's loaded model (loaded once per test session)."""
    from newsevents.models.ner import NerModelHandler
    from newsevents.models.registry import DEFAULT_NER

    handler = NerModelHandler(DEFAULT_NER, device="cpu", batch_size=8)
    return handler, handler.load_model()


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory) -> Path:
    """A random, plain ``BertForTokenClassification`` with IO labels, saved as safetensors.

    Stands in for "any Hugging Face model" (a fake for unit tests; the real
    shipped model is tested beside it).
    """
    import torch
    from newsevents.models.registry import DEFAULT_NER, REGISTRY
    from transformers import AutoTokenizer, BertConfig, BertForTokenClassification

    torch.manual_seed(0)
    out = tmp_path_factory.mktemp("tiny_bert")
    labels = ["O", "PERSON", "LOCATION"]
    cfg = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=64, num_labels=3, id2label=dict(enumerate(labels)),
                     label2id={l: i for i, l in enumerate(labels)})
    BertForTokenClassification(cfg).save_pretrained(out, safe_serialization=True)
    AutoTokenizer.from_pretrained(REGISTRY[DEFAULT_NER]).save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def sample_output(tmp_path_factory) -> Path:
    """The tables of one run over samples/ (run once per test session)."""
    from newsevents.pipeline.run import run

    out = tmp_path_factory.mktemp("sample_output")
    run(["--input", str(SAMPLES), "--output", str(out), "--device", "cpu", "--quiet"])
    return out
