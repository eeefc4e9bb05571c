"""One model load per run: the pre-flight check's model is what the in-process worker gets, once."""

from __future__ import annotations

import os
import shutil

from newsevents.models import base
from newsevents.models.events import EventModelHandler
from newsevents.models.ner import NerModelHandler
from newsevents.models.registry import DEFAULT_EVENTS, DEFAULT_NER, resolve


def test_the_checked_model_is_handed_to_the_first_load_only():
    ner = NerModelHandler(DEFAULT_NER, device="cpu")
    ner.preflight()
    checked = base._PRELOADED["NerModelHandler"][1]
    assert ner.load_model() is checked and "NerModelHandler" not in base._PRELOADED
    assert ner.load_model() is not checked  # taken once; the next load is its own
    events = EventModelHandler(DEFAULT_EVENTS, device="cpu")
    events.preflight()
    assert EventModelHandler(DEFAULT_EVENTS, device="cpu").load_model().types == events.load_model().types


def test_other_settings_or_changed_files_load_anew(tmp_path):
    model = tmp_path / "ner"
    shutil.copytree(resolve(DEFAULT_NER)[0], model)
    handler = NerModelHandler(str(model), device="cpu")
    handler.preflight()
    checked = base._PRELOADED["NerModelHandler"][1]
    # bf16 loads the same files but runs otherwise: the check's fp32 model is not handed over.
    assert NerModelHandler(str(model), device="cpu", precision="bf16").load_model() is not checked
    os.utime(model / "config.json", ns=(1, 1))  # the files changed since the check
    assert handler.load_model() is not checked
    handler.preflight()
    again = base._PRELOADED["NerModelHandler"][1]
    assert again is not checked and handler.load_model() is again
