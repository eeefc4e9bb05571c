"""Damaged model files given with --ner-model/--event-model stop the run before the pipeline starts (issue 14, part 7).

Each test copies a shipped artifact, damages one file as a failed download or a
hand edit would, and runs the CLI: exit 2, one line naming the file and what is
wrong, nothing written.
"""

from __future__ import annotations

import json
import math
import shutil
import struct
from pathlib import Path

import pytest
from newsevents.models.base import check_safetensors
from newsevents.models.events import EventModelHandler
from newsevents.models.ner import NerModelHandler
from newsevents.models.registry import DEFAULT_EVENTS, DEFAULT_NER, REGISTRY
from newsevents.pipeline.run import main
from newsevents.schemas.errors import ModelLoadError

from tests.subproc import run_python

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def article(tmp_path) -> Path:
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps({"id": "x", "text": "Police in Lagos arrested the opposition leader."}) + "\n")
    return path


def _copy(name: str, tmp_path: Path) -> Path:
    return Path(shutil.copytree(REGISTRY[name], tmp_path / name))


def _truncate(path: Path, keep: int) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: keep if keep >= 0 else len(data) + keep])


def _edit_config(d: Path, **changes) -> None:
    cfg = json.loads((d / "config.json").read_text())
    cfg.update(changes)
    cfg = {k: v for k, v in cfg.items() if v is not None}
    (d / "config.json").write_text(json.dumps(cfg))


def _tensor_span(path: Path, name: str) -> tuple[int, int]:
    """Absolute byte range of one tensor's data in a safetensors file."""
    with open(path, "rb") as fh:
        (n,) = struct.unpack("<Q", fh.read(8))
        header = json.loads(fh.read(n))
    begin, end = header[name]["data_offsets"]
    return 8 + n + begin, 8 + n + end


def _flip_header(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[8:16] = bytes(b ^ 0xFF for b in data[8:16])  # the start of the JSON header
    path.write_bytes(bytes(data))


def _nan_weights(path: Path) -> None:
    start, _ = _tensor_span(path, "classifier.bias")
    with open(path, "r+b") as fh:
        fh.seek(start)
        fh.write(struct.pack("<e", math.nan))  # the NER artifact stores float16


NER_DAMAGE = {
    # name: (damage, file it must name, what the line says)
    "truncated_half": (lambda d: _truncate(d / "model.safetensors", 22_000_000), "model.safetensors", "is truncated"),
    "truncated_one_byte": (lambda d: _truncate(d / "model.safetensors", -1), "model.safetensors", "is truncated"),
    "flipped_header": (lambda d: _flip_header(d / "model.safetensors"), "model.safetensors", "corrupt header"),
    "nan_weights": (lambda d: _nan_weights(d / "model.safetensors"), "", "non-finite values in 'classifier.bias'"),
    "hidden_size": (lambda d: _edit_config(d, hidden_size=768), "config.json", "does not match the weights"),
    "num_labels": (lambda d: _edit_config(d, id2label={str(i): f"L{i}" for i in range(5)}, label2id=None),
                   "config.json", "is [9] in the weights but [5] by the config"),
    "extra_layer": (lambda d: _edit_config(d, num_hidden_layers=7), "config.json", "tensors the weights lack"),
    "config_not_json": (lambda d: (d / "config.json").write_text("{not json"), "config.json", "/config.json does not load: "),
    "tokenizer_corrupt": (lambda d: _truncate(d / "tokenizer.json", 1000), "tokenizer.json", "tokenizer"),
}


def _error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("newsevents: error: ")
    return lines[0]


@pytest.mark.parametrize("case", sorted(NER_DAMAGE))
def test_damaged_ner_model_exits_2_before_the_pipeline(case, tmp_path, article, capsys, caplog):
    damage, filename, says = NER_DAMAGE[case]
    model = _copy(DEFAULT_NER, tmp_path)
    damage(model)
    out = tmp_path / "out"
    rc = main(["run", "--input", str(article), "--output", str(out), "--ner-model", str(model), "--device", "cpu",
               "--quiet"])
    line = _error_line(capsys)
    assert rc == 2, line
    assert str(model / filename) in line and says in line, line
    assert "Traceback" not in line and not any("LOAD REPORT" in r.getMessage() for r in caplog.records)
    assert sorted(p.name for p in out.iterdir()) == [], "the pipeline started or left its lock behind"


def test_damaged_event_model_exits_2(tmp_path, article, capsys):
    model = _copy(DEFAULT_EVENTS, tmp_path)
    _edit_config(model, role_labels=["O", "B-TRG", "I-TRG", "B-SRC", "I-SRC"])
    rc = main(["run", "--input", str(article), "--output", str(tmp_path / "out"), "--event-model", str(model),
               "--device", "cpu", "--quiet"])
    line = _error_line(capsys)
    assert rc == 2 and str(model / "config.json") in line and "'role_head.bias' is [7] in the weights but [5]" in line, line


def test_truncated_weights_end_in_one_line_not_a_safetensor_error_traceback(tmp_path, article):
    # Regression: a truncated file died inside the Beam stage with a SafetensorError traceback.
    model = _copy(DEFAULT_EVENTS, tmp_path)
    _truncate(model / "model.safetensors", 10_000_000)
    proc = run_python(["-m", "newsevents.pipeline.run", "run", "--input", str(article), "--output",
                       str(tmp_path / "out"), "--event-model", str(model), "--device", "cpu", "--quiet"],
                      cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"newsevents: error: {model / 'model.safetensors'} is truncated: its header describes 21,923,918 bytes, "
        "the file has 10,000,000; copy or download the model again."
    ]


@pytest.mark.parametrize("cls, name", [(NerModelHandler, DEFAULT_NER), (EventModelHandler, DEFAULT_EVENTS)])
def test_undamaged_copies_pass_the_check(cls, name, tmp_path):
    cls(str(_copy(name, tmp_path)), device="cpu").preflight()
    cls(name, device="cpu").preflight()


def test_the_stage_refuses_what_the_check_refuses(tmp_path):
    # Before, a config with fewer labels than the weights loaded with a random head, or raised RuntimeError.
    model = _copy(DEFAULT_NER, tmp_path)
    _edit_config(model, num_hidden_layers=5)
    with pytest.raises(ModelLoadError, match="the weights hold tensors the config has no place for"):
        NerModelHandler(str(model), device="cpu").load_model()


@pytest.mark.parametrize("name", [DEFAULT_NER, DEFAULT_EVENTS])
def test_check_safetensors_accepts_the_shipped_files(name):
    check_safetensors(str(REGISTRY[name] / "model.safetensors"))


def test_check_safetensors_finds_bytes_after_the_last_tensor(tmp_path):
    path = tmp_path / "model.safetensors"
    path.write_bytes((REGISTRY[DEFAULT_EVENTS] / "model.safetensors").read_bytes() + b"\0" * 10)
    with pytest.raises(ModelLoadError, match="has 10 bytes after its last tensor"):
        check_safetensors(str(path))


def test_check_safetensors_finds_a_shape_that_contradicts_its_offsets(tmp_path):
    src = REGISTRY[DEFAULT_EVENTS] / "model.safetensors"
    data = src.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = data[8 : 8 + n].replace(b'"shape":[7,384]', b'"shape":[8,384]')
    assert header != data[8 : 8 + n]
    path = tmp_path / "model.safetensors"
    path.write_bytes(data[:8] + header + data[8 + n :])
    with pytest.raises(ModelLoadError, match=r"shape \[8, 384\] of F16 needs 6,144 bytes, its offsets give 5,376"):
        check_safetensors(str(path))
