"""Which CPU variant runs: offered per model within issue 18's F1 budgets, else fp32 with one log line."""

from __future__ import annotations

import logging

import pytest
from newsevents.models import base, variants
from newsevents.models.events import EventModelHandler
from newsevents.models.ner import NerModelHandler
from newsevents.models.registry import DEFAULT_EVENTS, DEFAULT_NER, REGISTRY
from newsevents.models.variants import BUDGET_POINTS, MEASURED, Measured, settle_variant

CPU_VARIANTS = [("torch", "int8"), ("onnx", "fp32"), ("onnx", "int8")]


def test_every_cpu_variant_of_every_shipped_model_is_measured():
    assert set(MEASURED) == set(REGISTRY) == set(BUDGET_POINTS)
    for model, table in MEASURED.items():
        assert table[("torch", "fp32")].loss_points == 0
        assert set(CPU_VARIANTS) <= set(table), model
        for variant, m in table.items():
            assert 0 < m.f1 <= 1, (model, variant)


@pytest.fixture
def table(monkeypatch):
    fake = {"ner.minilm_cased.v1": {("torch", "fp32"): Measured(0.939, 0.0), ("torch", "int8"): Measured(0.935, 0.4),
                                    ("onnx", "fp32"): Measured(0.939, 0.0), ("onnx", "int8"): Measured(0.930, 0.9)},
            "events.minilm_roles.v1": {("torch", "fp32"): Measured(0.63, 0.0), ("torch", "int8"): Measured(0.61, 1.5),
                                       ("onnx", "fp32"): Measured(0.63, 1.2), ("onnx", "int8"): Measured(0.62, 0.5)}}
    monkeypatch.setattr(variants, "MEASURED", fake)
    return fake


def test_a_variant_within_budget_runs_as_asked(table):
    assert settle_variant(DEFAULT_NER, "torch", "int8") == ("torch", "int8", None)  # 0.4 <= 0.5
    assert settle_variant(DEFAULT_EVENTS, "onnx", "int8") == ("onnx", "int8", None)  # 0.5 <= 1.0
    assert settle_variant(DEFAULT_NER, "torch", "fp32") == ("torch", "fp32", None)


def test_a_variant_over_budget_runs_its_backends_fp32_and_says_why(table):
    backend, precision, note = settle_variant(DEFAULT_NER, "onnx", "int8")  # 0.9 > 0.5
    assert (backend, precision) == ("onnx", "fp32")
    assert note.startswith("ner.minilm_cased.v1 runs onnx fp32 instead of onnx int8: it loses 0.90 CoNLL-2003 dev "
                           "F1 points, over the 0.5-point budget")
    # torch int8 over budget for the event model: torch fp32; onnx fp32 over budget too: torch fp32 as well.
    assert settle_variant(DEFAULT_EVENTS, "torch", "int8")[:2] == ("torch", "fp32")
    assert settle_variant(DEFAULT_EVENTS, "onnx", "fp32")[:2] == ("torch", "fp32")


def test_a_model_that_is_not_shipped_runs_as_asked_with_a_note(table):
    backend, precision, note = settle_variant("/data/my-ner", "onnx", "int8")
    assert (backend, precision) == ("onnx", "int8")
    assert "has not been measured" in note and "--backend onnx --precision int8" in note


def test_validate_settles_each_model_on_its_own(table, caplog, monkeypatch):
    monkeypatch.setattr(base, "_WARNED", set())
    ner = NerModelHandler(DEFAULT_NER, device="cpu", backend="onnx", precision="int8")
    events = EventModelHandler(DEFAULT_EVENTS, device="cpu", backend="onnx", precision="int8")
    with caplog.at_level(logging.WARNING, logger="newsevents.models.base"):
        for handler in (ner, events):
            handler.validate()
    assert (ner.variant, events.variant) == ("onnx fp32", "onnx int8")
    assert [r.getMessage() for r in caplog.records if "instead of" in r.getMessage()] == [
        settle_variant(DEFAULT_NER, "onnx", "int8")[2]]


def test_newsevents_run_offers_int8_and_onnx_to_both_models():
    from newsevents.pipeline.graph import event_handler, ner_handler
    from newsevents.pipeline.options import RunConfig, help_parser

    args = help_parser().parse_args(["--input", "x", "--output", "y", "--backend", "onnx", "--precision", "int8"])
    assert (args.backend, args.precision) == ("onnx", "int8")
    cfg = RunConfig(input="x", output="y", device="cpu", backend="onnx", precision="int8")
    assert ner_handler(cfg).variant == event_handler(cfg).variant == "onnx int8"  # as asked, before validate()
