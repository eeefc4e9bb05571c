"""``--table-format delta --output s3://...`` against a real S3-compatible server (moto's, started here).

The server runs in its own process on 127.0.0.1 (a random port); delta-rs reaches it through
the environment, as the README says: ``AWS_ENDPOINT_URL``, ``AWS_ALLOW_HTTP``, credentials and
region. Skipped when ``moto[server]`` is not installed (``pip install -e '.[dev]'`` has it).
"""

from __future__ import annotations

import glob
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import pyarrow.parquet as pq
import pytest
from newsevents.pipeline.io.delta import RUN_ID_KEY, SUMMARY_KEY, DeltaOutput

from tests.pipeline.test_delta_commit import D1, D2, TINY, doc, stage_run
from tests.pipeline.test_delta_concurrency import _together

pytest.importorskip("moto.server", reason="moto[server] is not installed: pip install 'moto[server]'")
deltalake = pytest.importorskip("deltalake")
boto3 = pytest.importorskip("boto3")

BUCKET = "news"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def s3_server():
    """A moto S3 server in a child process; yields the environment that points delta-rs and boto3 at it."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"the moto server did not start (exit {proc.poll()})")
            time.sleep(0.1)
    env = {"AWS_ENDPOINT_URL": endpoint, "AWS_ALLOW_HTTP": "true", "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"}
    yield env
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture
def s3(s3_server, monkeypatch, request):
    """A fresh bucket prefix for one test: ``s3://news/<test name>``."""
    for key, value in s3_server.items():
        monkeypatch.setenv(key, value)
    client = boto3.client("s3", endpoint_url=s3_server["AWS_ENDPOINT_URL"])
    if BUCKET not in [b["Name"] for b in client.list_buckets()["Buckets"]]:
        client.create_bucket(Bucket=BUCKET)
    return f"s3://{BUCKET}/{request.node.name.replace('[', '-').replace(']', '')}", client


def _rows(uri: str, table: str, column: str = "doc_id") -> list:
    return sorted(deltalake.DeltaTable(f"{uri}/{table}").to_pyarrow_table().column(column).to_pylist(), key=str)


def test_a_run_writes_delta_tables_to_s3(s3, tmp_path):
    from newsevents.pipeline.run import run

    uri, client = s3
    inp = tmp_path / "in.jsonl"
    inp.write_text(TINY, encoding="utf-8")
    summary = run(["--input", str(inp), "--output", uri, "--table-format", "delta", "--partition-by",
                   "published_date", "--mode", "append", "--device", "cpu", "--quiet"])
    assert summary["accounted"] and summary["documents_written"] == 1 and summary["dead_letters"] == 1
    docs = deltalake.DeltaTable(f"{uri}/documents")
    assert docs.metadata().partition_columns == ["published_date"]
    last = docs.history(1)[0]
    assert last[RUN_ID_KEY] == summary["run_id"] and last[SUMMARY_KEY]["documents_written"] == 1
    assert len(_rows(uri, "events")) == summary["events"] > 0
    assert len(_rows(uri, "dead_letters", "reason")) == 1
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=BUCKET, Prefix=uri.split("/", 3)[3])["Contents"]]
    assert any("/events/_delta_log/" in k for k in keys) and any("/events/published_date=" in k for k in keys)
    assert not any("_staging" in k for k in keys), "staging was written to the store"
    assert not glob.glob(os.path.join(tempfile.gettempdir(), f"newsevents-{summary['run_id']}-*")), "staging left"


def test_appends_to_s3_are_idempotent_and_two_processes_append_at_once(s3, tmp_path):
    uri, _ = s3
    first = stage_run(tmp_path, "r1", [doc("a", D1)], dead=1)
    second = stage_run(tmp_path, "r2", [doc("b", D2)], dead=1)
    results = _together([(uri, first, "run1", "append", "published_date"),
                         (uri, second, "run2", "append", "published_date")], tmp_path)
    assert results == [(0, ""), (0, "")], results
    assert _rows(uri, "documents") == ["a", "b"] and _rows(uri, "entities") == ["a", "b"]
    versions = {t: deltalake.DeltaTable(f"{uri}/{t}").version() for t in ("documents", "entities", "dead_letters")}
    again = DeltaOutput(uri, "run2", "append", "published_date")
    again.check()
    keys = again.output_keys(str(tmp_path))  # what an append's duplicate check compares with: not run2's own rows
    assert pq.read_table(keys[0]).column("doc_id").to_pylist() == ["a"]
    again.commit(second)
    assert {t: deltalake.DeltaTable(f"{uri}/{t}").version() for t in versions} == versions
    assert _rows(uri, "documents") == ["a", "b"] and len(_rows(uri, "dead_letters", "error")) == 2
