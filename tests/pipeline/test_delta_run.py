"""``--table-format delta`` runs with the real models: the Delta twins of the reliability tests.

Determinism (a Delta run's tables are a Parquet run's, row for row, and a rerun's are
the same), a run killed in its models and rerun, the modes, and partitions. The input is
tiny (two sentences and a broken line) to keep the suite fast; the commit's own cases
are in ``test_delta_commit.py`` and ``test_delta_concurrency.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from newsevents.pipeline.io.delta import RUN_ID_KEY, VERSION_KEY
from newsevents.schemas.arrow import SCHEMA_VERSION, TABLES

from tests.pipeline.test_chaos import HOOK
from tests.pipeline.test_delta_commit import D1, TINY, commit, doc, stage_run
from tests.pipeline.test_reliability import ROOT, _run, _tables
from tests.subproc import child_env

deltalake = pytest.importorskip("deltalake")

DELTA = ("--table-format", "delta")
# The summary's clock, and the key only a Delta run's summary has.
RUN_SPECIFIC = ("seconds", "documents_per_s", "table_format")


def delta_tables(out) -> dict[str, list[str]]:
    """Every Delta table's current rows as sorted JSON strings (its partition column left out)."""
    result = {}
    for name in TABLES:
        data = deltalake.DeltaTable(os.path.join(out, name)).to_pyarrow_table()
        if "published_date" in data.column_names:
            data = data.drop_columns(["published_date"])
        result[name] = sorted(json.dumps(r, sort_keys=True, default=str) for r in data.to_pylist())
    return result


def versions(out) -> dict[str, int]:
    return {name: deltalake.DeltaTable(os.path.join(out, name)).version() for name in TABLES}


def _same(summary: dict, other: dict) -> bool:
    drop = lambda s: {k: v for k, v in s.items() if k not in RUN_SPECIFIC}  # noqa: E731
    return drop(summary) == drop(other)


@pytest.fixture(scope="module")
def small_input(tmp_path_factory) -> Path:
    inp = tmp_path_factory.mktemp("delta_in") / "articles.jsonl"
    inp.write_text(TINY, encoding="utf-8")
    return inp


@pytest.fixture(scope="module")
def parquet_run(small_input, tmp_path_factory):
    out = tmp_path_factory.mktemp("parquet_run")
    return out, _run(small_input, out)


@pytest.fixture(scope="module")
def delta_run(small_input, tmp_path_factory):
    out = tmp_path_factory.mktemp("delta_run")
    return out, _run(small_input, out, *DELTA)


def test_a_delta_run_holds_the_parquet_runs_rows_and_records_itself(parquet_run, delta_run):
    (pout, psummary), (dout, dsummary) = parquet_run, delta_run
    assert delta_tables(dout) == _tables(pout)
    assert dsummary["run_id"] == psummary["run_id"] and _same(dsummary, psummary)
    assert dsummary["table_format"] == "delta" and dsummary["dead_letters"] == 1 and dsummary["events"] > 0
    assert json.loads((dout / "_SUMMARY.json").read_text())["run_id"] == dsummary["run_id"]
    for name in TABLES:
        table = deltalake.DeltaTable(str(dout / name))
        assert table.metadata().configuration[VERSION_KEY] == SCHEMA_VERSION
        assert [(h["operation"], h[RUN_ID_KEY]) for h in table.history()] == [
            ("WRITE", dsummary["run_id"]), ("CREATE TABLE", dsummary["run_id"])]
    assert not (dout / "_staging").exists() and not (dout / "_LOCK").exists()


def test_a_delta_run_killed_in_its_models_leaves_the_tables_and_the_rerun_completes(delta_run, small_input, tmp_path):
    out = tmp_path / "out"
    commit(out, stage_run(tmp_path, "older", [doc("older-job", D1)], dead=1), "0000000000000000")
    before, old_versions = delta_tables(out), versions(out)
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(HOOK, encoding="utf-8")  # test_chaos's: SIGKILL at the first model batch
    env = child_env({**os.environ, "PYTHONPATH": str(ROOT), "NEWSEVENTS_CHAOS_KILL": "model:1"})
    env["PYTHONPATH"] = os.pathsep.join([str(hook), env["PYTHONPATH"]])
    proc = subprocess.run([sys.executable, "-m", "newsevents.pipeline.run", "run", "--input", str(small_input),
                           "--output", str(out), "--device", "cpu", "--quiet", *DELTA], cwd=ROOT, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=600)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    assert delta_tables(out) == before and versions(out) == old_versions, "a killed run committed"
    assert [n for n in os.listdir(out / "_staging") if not n.endswith(".lock")], "the killed run staged nothing"
    summary = _run(small_input, out, *DELTA)
    assert delta_tables(out) == delta_tables(delta_run[0]), "the rerun is not a clean run"
    assert _same(summary, delta_run[1])
    assert not (out / "_staging").exists(), "the killed run's staging was not deleted"


def test_appending_the_same_job_again_adds_nothing(delta_run, small_input, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(delta_run[0], out)
    old_versions = versions(out)
    summary = _run(small_input, out, *DELTA, "--mode", "append")
    assert versions(out) == old_versions, "the same job committed again"
    assert delta_tables(out) == delta_tables(delta_run[0])
    assert _same({**summary, "mode": "overwrite"}, delta_run[1]), "the rerun took its own rows for duplicates"


def test_fail_if_exists_exits_2_and_touches_nothing(delta_run, small_input, tmp_path, capsys):
    from newsevents.pipeline.run import main

    out = tmp_path / "out"
    shutil.copytree(delta_run[0], out)
    argv = ["run", "--input", str(small_input), "--output", str(out), *DELTA, "--mode", "fail-if-exists"]
    assert main(argv) == 2
    assert "fail-if-exists" in capsys.readouterr().err
    assert versions(out) == versions(delta_run[0])
    # A Parquet run into a Delta output, and the other way round, stop before any work too.
    assert main(["run", "--input", str(small_input), "--output", str(out)]) == 2
    assert "holds the Delta tables" in capsys.readouterr().err


def test_a_partitioned_delta_run_replaces_only_its_partitions(parquet_run, small_input, tmp_path):
    out = tmp_path / "out"
    commit(out, stage_run(tmp_path, "older", [doc("older-job", D1)]), "0000000000000000", partition_by="published_date")
    summary = _run(small_input, out, *DELTA, "--partition-by", "published_date")
    events = deltalake.DeltaTable(str(out / "events"))
    assert events.metadata().partition_columns == ["published_date"]
    assert sorted(p.name for p in (out / "events").iterdir() if p.name.startswith("published_date="))
    rows = events.to_pyarrow_table().select(["published", "published_date"]).to_pylist()
    assert len(rows) == summary["events"] == parquet_run[1]["events"]
    assert all(r["published"] is None or r["published_date"] == r["published"].date() for r in rows)
    # The older job's document is in another partition (2026-03-01): kept.
    docs = sorted(deltalake.DeltaTable(str(out / "documents")).to_pyarrow_table().column("doc_id").to_pylist())
    assert "older-job" in docs and len(docs) == 2
    tables = delta_tables(out)
    tables = {name: [r for r in found if "older-job" not in r] for name, found in tables.items()}
    assert tables == _tables(parquet_run[0])


def _cli(inp: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "newsevents.pipeline.run", "run", "--input", str(inp), "--output",
                             str(out), "--device", "cpu", "--quiet", *DELTA, "--partition-by", "published_date", *extra],
                            cwd=ROOT, env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _two_days(samples_dir: Path, tmp_path: Path) -> tuple[Path, Path]:
    """Two inputs of one article each, published on different days (so in different partitions)."""
    lines = (samples_dir / "articles.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_text(lines[0], encoding="utf-8")
    second.write_text(lines[1], encoding="utf-8")
    return first, second


@pytest.mark.slow
def test_two_cli_runs_appending_different_days_at_once_both_commit(samples_dir, tmp_path):
    first, second = _two_days(samples_dir, tmp_path)
    out = tmp_path / "out"
    runs = [_cli(first, out, "--mode", "append"), _cli(second, out, "--mode", "append")]
    results = [(proc.wait(timeout=600), proc.stderr.read()) for proc in runs]
    assert [rc for rc, _ in results] == [0, 0], results
    docs = deltalake.DeltaTable(str(out / "documents")).to_pyarrow_table()
    assert sorted(docs.column("doc_id").to_pylist()) == ["business-002", "politics-001"]
    for name in TABLES:
        commits = [h for h in deltalake.DeltaTable(str(out / name)).history() if h["operation"] == "WRITE"]
        assert len({h[RUN_ID_KEY] for h in commits}) == 2, name


@pytest.mark.slow
def test_two_cli_runs_overwriting_the_same_day_at_once_fail_one(samples_dir, tmp_path):
    first, _ = _two_days(samples_dir, tmp_path)
    other = tmp_path / "a-again.jsonl"  # the same day, another job (its own run id)
    other.write_text(first.read_text(encoding="utf-8").replace('"politics-001"', '"politics-001-copy"'),
                     encoding="utf-8")
    out = tmp_path / "out"
    runs = [_cli(first, out), _cli(other, out)]
    results = [(proc.wait(timeout=600), proc.stderr.read()) for proc in runs]
    assert sorted(rc for rc, _ in results) == [0, 2], results
    err = next(err for rc, err in results if rc == 2)
    assert err.count("\n") == 1 and "another run committed to this table while this one ran" in err, err
    docs = deltalake.DeltaTable(str(out / "documents")).to_pyarrow_table().column("doc_id").to_pylist()
    winner = ["politics-001"] if results[0][0] == 0 else ["politics-001-copy"]
    assert docs == winner
