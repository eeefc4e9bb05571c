"""Checks before work: mode and layout, models, a writable output (issue 15, part 3).

Each failure is one line and exit 2, and leaves no staging directory.
"""

from __future__ import annotations

import datetime as dt
import http.server
import os
import threading
import time
from pathlib import Path

import newsevents.pipeline.graph
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from newsevents.models.base import TransformerHandler
from newsevents.pipeline.io.commit import JOURNAL, STAGING, commit, discard_attempts, staging_dir
from newsevents.pipeline.options import check_hub_model as _check_hub_model
from newsevents.pipeline.run import main, run
from newsevents.schemas.arrow import TABLES
from newsevents.schemas.errors import ModelLoadError
from newsevents.schemas.records import DocumentRecord, as_row

from tests.subproc import run_python

ROOT = Path(__file__).resolve().parents[2]


def _output(out: Path, partition_by: str | None) -> None:
    """An output as an earlier run left it, made without models."""
    stage = staging_dir(str(out), "earlier")
    for table, schema in TABLES.items():
        os.makedirs(os.path.join(stage, table))
        doc = DocumentRecord("d", None, None, None, dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc), None, 1, 1, 0, 0,
                             "ok", [], "in.jsonl:1", "h")
        pq.write_table(pa.Table.from_pylist([as_row(doc)] if table == "documents" else [], schema=schema),
                       os.path.join(stage, table, "part-0.parquet"))
    (Path(stage) / "_SUMMARY.json").write_text("{}")
    commit(str(out), stage, "earlier", "overwrite", partition_by)
    os.rmdir(out / STAGING)  # left empty by the commit


@pytest.fixture
def no_model_loads(monkeypatch):
    """Fail the test if a check comes after the models are loaded."""
    def preflight(self):
        raise AssertionError("the models were loaded before the check")

    monkeypatch.setattr(TransformerHandler, "preflight", preflight)


def _error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


@pytest.mark.parametrize("existing, asked", [(None, ["--partition-by", "published_date"]), ("published_date", [])],
                         ids=["plain output, partitioned run", "partitioned output, plain run"])
def test_append_in_another_layout_stops_before_the_models_load(samples_dir, tmp_path, capsys, no_model_loads,
                                                               existing, asked):
    _output(tmp_path, existing)
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    code = main(["run", "--input", str(samples_dir), "--output", str(tmp_path), "--mode", "append", *asked])
    line = _error_line(capsys)
    assert code == 2 and "--mode append" in line and "partitioned" in line and "--partition-by" in line
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == before  # no _staging, no _LOCK


def test_an_unreachable_hub_is_one_line_and_exit_2(samples_dir, tmp_path):
    env = dict(os.environ, HF_ENDPOINT="http://127.0.0.1:9", HF_HUB_CACHE=str(tmp_path / "cache"))
    env.pop("HF_HUB_OFFLINE", None)
    env.pop("TRANSFORMERS_OFFLINE", None)
    started = time.monotonic()
    proc = run_python(["-m", "newsevents.pipeline.run", "run", "--input", str(samples_dir), "--output",
                       str(tmp_path / "out"), "--ner-model", "someorg/no-such-model"],
                      capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("newsevents: error: Model 'someorg/no-such-model' is not a registry name")
    assert "cannot be reached" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert time.monotonic() - started < 120  # huggingface_hub's own retries take 25 s per file on top of start-up
    assert not (tmp_path / "out").exists()


@pytest.fixture
def hub(monkeypatch, tmp_path):
    """An empty hub cache, online, and an endpoint nothing listens on."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    return constants


def test_offline_without_the_model_in_the_cache_says_so(hub):
    hub.HF_HUB_OFFLINE = True
    with pytest.raises(ModelLoadError, match="HF_HUB_OFFLINE is set but the hub model is not in the local cache"):
        _check_hub_model("someorg/model")


def test_a_cached_model_on_an_unreachable_hub_is_used_offline(hub, caplog):
    snapshot = Path(hub.HF_HUB_CACHE) / "models--someorg--model" / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")
    (snapshot.parents[1] / "refs").mkdir()
    (snapshot.parents[1] / "refs" / "main").write_text("0" * 40)
    _check_hub_model("someorg/model")
    assert hub.HF_HUB_OFFLINE is True and os.environ["HF_HUB_OFFLINE"] == "1"
    assert "using the cached copy of someorg/model" in caplog.text


def test_a_model_the_hub_does_not_have_is_named(hub):
    class NotFound(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(404)
            self.send_header("X-Error-Code", "RepoNotFound")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), NotFound)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        hub.ENDPOINT = f"http://127.0.0.1:{server.server_port}"
        with pytest.raises(ModelLoadError, match="has no such model"):
            _check_hub_model("someorg/typo")
    finally:
        server.shutdown()


def test_a_registry_model_without_its_files_says_reinstall(samples_dir, tmp_path, monkeypatch, capsys):
    from newsevents.models import registry

    monkeypatch.setitem(registry.REGISTRY, registry.DEFAULT_NER, tmp_path / "gone")
    assert main(["run", "--input", str(samples_dir), "--output", str(tmp_path / "out")]) == 2
    assert "reinstall newsevents" in _error_line(capsys)


@pytest.mark.parametrize("where", ["under a file", "a file"])
def test_an_output_that_cannot_be_written_is_one_line(samples_dir, tmp_path, capsys, no_model_loads, where):
    (tmp_path / "f").write_text("x")
    out = tmp_path / "f" / "out" if where == "under a file" else tmp_path / "f"
    assert main(["run", "--input", str(samples_dir), "--output", str(out)]) == 2
    assert f"--output {out} cannot be written" in _error_line(capsys)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_a_read_only_output_is_one_line(samples_dir, tmp_path, capsys, no_model_loads):
    (tmp_path / "ro").mkdir(mode=0o555)
    assert main(["run", "--input", str(samples_dir), "--output", str(tmp_path / "ro")]) == 2
    assert "cannot be written" in _error_line(capsys)


@pytest.mark.parametrize("failure", [RuntimeError("the runner failed"), KeyboardInterrupt()], ids=["error", "ctrl-c"])
def test_a_run_that_fails_after_staging_leaves_no_staging(samples_dir, tmp_path, monkeypatch, failure):

    def build_graph(p, cfg, files, stage, in_output=()):
        os.makedirs(os.path.join(stage, "documents"))  # as the writers leave it, half-way
        raise failure

    monkeypatch.setattr(TransformerHandler, "preflight", lambda self: None)
    monkeypatch.setattr(newsevents.pipeline.graph, "build_graph", build_graph)
    with pytest.raises(type(failure)):
        run(["--input", str(samples_dir), "--output", str(tmp_path), "--quiet"])
    assert sorted(os.listdir(tmp_path)) == []


def test_a_journaled_attempt_is_kept_for_recovery(tmp_path):
    for name in ("dead", "journaled"):
        os.makedirs(tmp_path / STAGING / name / "documents")
    (tmp_path / STAGING / "journaled" / JOURNAL).write_text("[]")
    discard_attempts(str(tmp_path))
    assert os.listdir(tmp_path / STAGING) == ["journaled"]
    os.remove(tmp_path / STAGING / "journaled" / JOURNAL)
    discard_attempts(str(tmp_path))
    assert not (tmp_path / STAGING).exists()
