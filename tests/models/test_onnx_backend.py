"""--backend onnx: the shipped models exported from their own weights, cached, and run like torch.

The graphs are built once per session (``onnx_cache``, tests/models/conftest.py) into a
temporary ``XDG_CACHE_HOME``, with every socket refused; each test here loads them again
the way a worker does.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os

import pytest
import torch
from newsevents.models import onnx_backend
from newsevents.models.base import Device
from newsevents.models.clean_text import clean_text
from newsevents.models.encoding import encode_words
from newsevents.models.event_data import type_prompt
from newsevents.models.events import EventModelHandler
from newsevents.models.ner import NerModelHandler
from newsevents.models.registry import DEFAULT_EVENTS, DEFAULT_NER
from newsevents.models.sentences import make_chunks
from newsevents.schemas.errors import ConfigError, ModelLoadError

pytest.importorskip("onnxruntime")

TEXT = "French prosecutors charged Pavel Durov in Paris on Wednesday, and Telegram said it would appeal."
ROWS = [c.words for c in make_chunks("d", TEXT, clean_text(TEXT))[0]] + [["Protests", "in", "Kabul", "."], ["No"]]
GOLDEN = os.path.join(os.path.dirname(__file__), "..", "golden")


@pytest.fixture(scope="module")
def torch_events():
    return EventModelHandler(DEFAULT_EVENTS, device="cpu").load_model()


def _max_diff(onnx_out, torch_out, mask) -> dict[str, float]:
    diffs = {}
    for key, ref in torch_out.items():
        d = (onnx_out[key] - ref).abs()
        diffs[key] = float((d[mask.bool()] if d.dim() >= 2 and d.shape[:2] == mask.shape else d).max())
    return diffs


def test_the_graphs_were_built_offline_into_the_cache(onnx_cache):
    # The session fixture built all four with HF_HUB_OFFLINE=1 and every socket refused.
    for (_, precision), loaded in onnx_cache.loaded.items():
        assert loaded.model.built
        assert loaded.model.path.parent.parent == onnx_cache.root / "newsevents" / "onnx"
        manifest = json.loads((loaded.model.path.parent / "manifest.json").read_text())
        assert manifest["precision"] == precision == loaded.model.precision
        assert manifest["sha256"] == onnx_backend._sha256(loaded.model.path)


def test_onnx_fp32_outputs_match_torch(onnx_cache, shipped_ner, torch_events):
    ner = onnx_cache.loaded["ner", "fp32"]
    enc = encode_words(ner.tokenizer, ROWS, 256, True)  # padded rows of different lengths
    with torch.inference_mode():
        ref = shipped_ner[1].model(**enc.tensors)
    out = ner.model(**enc.tensors)
    assert type(out) is type(ref)  # TokenClassifierOutput: decoding reads .logits
    assert max(_max_diff(out, ref, enc.tensors["attention_mask"]).values()) < 1e-4

    events = onnx_cache.loaded["events", "fp32"]
    prompts = [type_prompt(t) for t in ("ACCUSE", "PROTEST", "ASSAULT")]
    for enc in (encode_words(events.tokenizer, ROWS, 256, True),  # the type pass
                encode_words(events.tokenizer, ROWS, 256, True, prompts=prompts)):  # the role and mode pass
        with torch.inference_mode():
            ref = torch_events.model(**enc.tensors)
        out = events.model(**enc.tensors)
        assert sorted(out) == sorted(ref) == ["mode_logits", "role_logits", "type_logits"]
        assert max(_max_diff(out, ref, enc.tensors["attention_mask"]).values()) < 1e-4


def _sample_rows(samples_dir, precision: str):
    import newsevents

    records = [json.loads(line) for line in (samples_dir / "articles.jsonl").read_text(encoding="utf-8").splitlines()]
    ex = newsevents.load(device="cpu", backend="onnx", precision=precision)
    assert isinstance(ex._core.ner_loaded.model, onnx_backend.OnnxModel)
    assert isinstance(ex._core.event_loaded.model, onnx_backend.OnnxModel)
    docs = list(ex.pipe(records, batch_size=64))
    entities = {(m.doc_id, m.sentence_index, m.char_start, m.char_end, m.label, m.text)
                for d in docs for m in d.entities}
    events = {(e.doc_id, e.sentence_index, e.event_type, e.trigger, e.source_text, e.target_text)
              for d in docs for e in d.events}
    return entities, events


def _golden(name: str, keys: tuple[str, ...]) -> set:
    with open(os.path.join(GOLDEN, name)) as fh:
        return {tuple(row[k] for k in keys) for row in map(json.loads, fh)}


def test_onnx_fp32_finds_the_golden_mentions_and_events_on_the_samples(use_onnx_cache, samples_dir):
    # The golden rows are torch fp32's (the end-to-end run over samples/): fp32 ONNX gives exactly them.
    entities, events = _sample_rows(samples_dir, "fp32")
    assert entities == _golden("samples_entities.jsonl",
                               ("doc_id", "sentence_index", "char_start", "char_end", "label", "text"))
    assert events == _golden("samples_events.jsonl",
                             ("doc_id", "sentence_index", "event_type", "trigger", "source_text", "target_text"))


def test_a_second_load_reuses_the_cached_graphs(use_onnx_cache, monkeypatch):
    def no_build(*args):
        raise AssertionError("built again although the graph is cached")

    monkeypatch.setattr(onnx_backend, "_export_optimised", no_build)
    monkeypatch.setattr(onnx_backend, "_quantise", no_build)
    graphs = sorted(use_onnx_cache.root.rglob("model.onnx"))
    before = [p.stat().st_mtime_ns for p in graphs]
    for precision in ("fp32", "int8"):
        loaded = NerModelHandler(DEFAULT_NER, device="cpu", backend="onnx", precision=precision).load_model()
        assert not loaded.model.built
        assert loaded.model.path == use_onnx_cache.loaded["ner", precision].model.path
    assert [p.stat().st_mtime_ns for p in sorted(use_onnx_cache.root.rglob("model.onnx"))] == before


class _Exported(Exception):
    pass


def test_changed_weights_export_a_new_graph(use_onnx_cache, monkeypatch):
    # A retrained model (same name, same config, other weights) has another key: it is exported anew.
    # The export is stopped once asked for (the session fixture shows what one builds, and every fp32
    # build is checked against torch on load).
    asked = []

    def export(model, path):
        asked.append(path.parent.name)
        raise _Exported

    monkeypatch.setattr(onnx_backend, "_export_optimised", export)
    model = NerModelHandler(DEFAULT_NER, device="cpu").load_model().model
    cached = use_onnx_cache.loaded["ner", "fp32"].model.path
    model.config._name_or_path = "/another/install/of/the/same/model"  # a moved install keeps its graphs
    assert onnx_backend.load_onnx(model, "fp32", 0, DEFAULT_NER).path == cached  # same weights: no export
    with torch.no_grad():
        model.classifier.bias[0] += 3.0
    with pytest.raises(_Exported):
        onnx_backend.load_onnx(model, "fp32", 0, DEFAULT_NER)
    assert len(asked) == 1 and asked[0].startswith(".build-ner.minilm_cased.v1-fp32-")
    assert cached.parent.name not in asked[0]  # a new key, not the cached graph's
    assert [p.name for p in cached.parent.parent.iterdir() if p.name.startswith(".")] == []  # nothing left


def _events_int8():
    return EventModelHandler(DEFAULT_EVENTS, device="cpu", backend="onnx", precision="int8").load_model()


def test_a_damaged_cached_graph_is_built_again(use_onnx_cache, caplog):
    good = use_onnx_cache.loaded["events", "int8"]
    path = good.model.path
    data = bytearray(path.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = bytes(64)  # damaged weights: the file still parses
    path.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, logger="newsevents.models.onnx_backend"):
        loaded = _events_int8()
    assert loaded.model.built and loaded.model.path == path
    assert "is damaged" in caplog.text
    enc = encode_words(good.tokenizer, ROWS, 256, True)
    assert max(_max_diff(loaded.model(**enc.tensors), good.model(**enc.tensors),
                         enc.tensors["attention_mask"]).values()) == 0.0


def test_a_graph_that_does_not_reproduce_torch_is_refused(use_onnx_cache, monkeypatch):
    # A cached graph that disagrees is built again once; a freshly built one that disagrees is refused.
    monkeypatch.setattr(onnx_backend, "_mismatch", lambda *args: "type_logits differs from torch's by 2")
    with pytest.raises(ModelLoadError, match="graph built for model 'events.minilm_roles.v1' .* is wrong: "
                                             "type_logits differs.*--backend torch"):
        _events_int8()


def test_an_unwritable_cache_is_refused_in_one_line(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("not a directory")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))
    with pytest.raises(ModelLoadError, match="cannot be written.*set XDG_CACHE_HOME"):
        NerModelHandler(DEFAULT_NER, device="cpu", backend="onnx").load_model()


def test_two_workers_building_at_once_keep_one_graph(use_onnx_cache, monkeypatch):
    entry = use_onnx_cache.loaded["ner", "int8"].model.path.parent
    theirs = entry.with_name(".another-worker")
    os.rename(entry, theirs)
    quantise = onnx_backend._quantise

    def racing(source, path):
        os.rename(theirs, entry)  # the other worker renames its graph into place first
        quantise(source, path)

    monkeypatch.setattr(onnx_backend, "_quantise", racing)
    loaded = NerModelHandler(DEFAULT_NER, device="cpu", backend="onnx", precision="int8").load_model()
    assert not loaded.model.built and loaded.model.path == entry / "model.onnx"
    assert not [p.name for p in entry.parent.iterdir() if p.name.startswith(".")]  # our copy is gone


def test_backend_onnx_without_onnxruntime_says_how_to_install(monkeypatch):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnxruntime"
                        else find_spec(name, *a))
    with pytest.raises(ConfigError, match=r"needs onnxruntime.*pip install 'newsevents\[onnx\]'"):
        NerModelHandler(DEFAULT_NER, device="cpu", backend="onnx").validate()


def test_backend_onnx_refuses_what_it_cannot_run():
    with pytest.raises(ConfigError, match="runs fp32 or int8, not bf16"):
        NerModelHandler(DEFAULT_NER, device="cpu", backend="onnx", precision="bf16").validate()
    with pytest.raises(ConfigError, match="CPU only"):
        NerModelHandler(DEFAULT_NER, backend="onnx")._check_precision("cuda")
    # --device auto (the default) on a GPU machine must not pick the GPU for ONNX Runtime.
    assert NerModelHandler(DEFAULT_NER, backend="onnx")._device is Device.CPU


def test_evaluate_scores_the_variant_it_is_asked_for(use_onnx_cache):
    from newsevents.models.evaluate import evaluate_events, evaluate_ner

    ner = evaluate_ner(os.path.join(GOLDEN, "ner_mini.conll"), backend="onnx", precision="int8")
    assert (ner["backend"], ner["precision_mode"], ner["f1"]) == ("onnx", "int8", 1.0)
    # The event model's variant on its own: the NER model stays torch fp32.
    events = evaluate_events(os.path.join(GOLDEN, "events_mini.jsonl"), precision="int8",
                             variants={"backend": "onnx", "ner_backend": "torch", "ner_precision": "fp32"})
    assert {k: events[k] for k in ("backend", "precision_mode", "ner_backend", "ner_precision")} == {
        "backend": "onnx", "precision_mode": "int8", "ner_backend": "torch", "ner_precision": "fp32"}
    assert events["type_f1"] >= 0.8
