"""The staged, journaled commit: modes, partitions, crash recovery (no models needed)."""

from __future__ import annotations

import datetime as dt
import json
import os

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from newsevents.pipeline.io.commit import (
    JOURNAL,
    NULL_PARTITION,
    Mode,
    _apply,
    _layout,
    _plan,
    check_mode,
    commit,
    compute_run_id,
    journal_steps,
    make_tables,
    partition_value,
    recover,
    remove_tables,
    staged_files,
    staging_dir,
    write_synced,
)
from newsevents.schemas.arrow import TABLES
from newsevents.schemas.errors import ConfigError
from newsevents.schemas.records import DocumentRecord, as_row

UTC = dt.timezone.utc


def _doc(doc_id, published):
    return DocumentRecord(doc_id=doc_id, title=None, url=None, source=None, published=published, language=None,
                          n_chars=1, n_sentences=1, n_mentions=0, n_events=0, status="ok", notes=[],
                          input_location=f"in.jsonl:{doc_id}")


def _stage(output, run_id, docs):
    """A staged run as Beam leaves it: one shard per table."""
    stage = staging_dir(output, run_id)
    for table, schema in TABLES.items():
        os.makedirs(os.path.join(stage, table), exist_ok=True)
        rows = [as_row(d) for d in docs] if table == "documents" else []
        pq.write_table(pa.Table.from_pylist(rows, schema=schema),
                       os.path.join(stage, table, "part-00000-of-00001.parquet"))
    with open(os.path.join(stage, "_SUMMARY.json"), "w") as fh:
        json.dump({"run_id": run_id}, fh)
    return stage


def _ids(output):
    return sorted(ds.dataset(os.path.join(output, "documents"), partitioning="hive").to_table()
                  .column("doc_id").to_pylist())


D1 = dt.datetime(2026, 3, 1, 12, tzinfo=UTC)
D2 = dt.datetime(2026, 3, 2, 23, 30, tzinfo=UTC)


def test_overwrite_replaces_the_whole_table(tmp_path):
    out = str(tmp_path)
    commit(out, _stage(out, "run1", [_doc("a", D1), _doc("b", D2)]), "run1", "overwrite", None)
    commit(out, _stage(out, "run2", [_doc("c", D1)]), "run2", "overwrite", None)
    assert _ids(out) == ["c"]
    assert not os.path.exists(os.path.join(out, "_staging", "run2"))
    assert json.load(open(os.path.join(out, "_SUMMARY.json"))) == {"run_id": "run2"}


def test_partitioned_overwrite_replaces_only_the_partitions_produced(tmp_path):
    out = str(tmp_path)
    commit(out, _stage(out, "run1", [_doc("a", D1), _doc("b", D2), _doc("n", None)]), "run1", "overwrite",
           "published_date")
    assert os.path.isdir(os.path.join(out, "events"))  # no rows, still a table
    assert sorted(os.listdir(os.path.join(out, "documents"))) == sorted([
        f"published_date={NULL_PARTITION}", "published_date=2026-03-01", "published_date=2026-03-02"])
    commit(out, _stage(out, "run2", [_doc("c", D1)]), "run2", "overwrite", "published_date")
    assert _ids(out) == ["b", "c", "n"]  # 2026-03-01 replaced; the other partitions kept
    table = ds.dataset(os.path.join(out, "documents"), partitioning="hive").to_table()
    by_id = dict(zip(table.column("doc_id").to_pylist(), table.column("published_date").to_pylist()))
    assert by_id["n"] is None and str(by_id["b"]) == "2026-03-02"


def test_append_adds_and_the_same_run_replaces_its_own_files(tmp_path):
    out = str(tmp_path)
    commit(out, _stage(out, "run1", [_doc("a", D1)]), "run1", "overwrite", None)
    commit(out, _stage(out, "run2", [_doc("b", D1)]), "run2", "append", None)
    commit(out, _stage(out, "run2", [_doc("b", D1)]), "run2", "append", None)  # a re-run of the same job
    assert _ids(out) == ["a", "b"]


def test_append_refuses_a_different_layout(tmp_path):
    out = str(tmp_path)
    commit(out, _stage(out, "run1", [_doc("a", D1)]), "run1", "overwrite", None)
    with pytest.raises(ConfigError, match="partitioned"):
        commit(out, _stage(out, "run2", [_doc("b", D1)]), "run2", "append", "published_date")


def test_fail_if_exists(tmp_path):
    out = str(tmp_path)
    check_mode(out, "fail-if-exists")  # empty: fine
    commit(out, _stage(out, "run1", [_doc("a", D1)]), "run1", "overwrite", None)
    with pytest.raises(ConfigError, match="fail-if-exists"):
        check_mode(out, "fail-if-exists")


def test_recover_drops_attempts_without_a_journal(tmp_path):
    out = str(tmp_path)
    commit(out, _stage(out, "run1", [_doc("a", D1)]), "run1", "overwrite", None)
    _stage(out, "dead", [_doc("x", D1)])  # killed before its commit
    assert recover(out) == []
    assert _ids(out) == ["a"] and os.listdir(os.path.join(out, "_staging")) == []


@pytest.mark.parametrize("done", [0, 1, 3])
def test_recover_finishes_a_commit_killed_half_way(tmp_path, done):
    out = str(tmp_path)
    commit(out, _stage(out, "run1", [_doc("a", D1)]), "run1", "overwrite", None)
    stage = _stage(out, "run2", [_doc("b", D1), _doc("c", D2)])
    steps = _plan(out, stage, _layout(stage, "run2", None), Mode.OVERWRITE, None)
    with open(os.path.join(stage, JOURNAL), "w") as fh:
        json.dump(steps, fh)
    _apply(steps[:done], stage)  # the crash: only some steps happened
    assert recover(out) == ["run2"]
    assert _ids(out) == ["b", "c"]
    assert recover(out) == []  # nothing left to do


def test_a_micro_batch_is_journaled_like_a_commit_and_finished_by_recover(tmp_path):
    # A streaming micro-batch: its window files keep their names; its journal is replayed by recover().
    out = str(tmp_path / "out")
    stage = staging_dir(out, "stream-00000001")
    for name in ("documents/part-a-000.parquet", "documents/.part-b-000.parquet", "events/part-a-000.parquet",
                 "events/notes.txt", "_SUMMARY.json"):
        os.makedirs(os.path.dirname(os.path.join(stage, name)) or stage, exist_ok=True)
        open(os.path.join(stage, name), "w").close()
    windows = staged_files(stage)
    assert windows == ["documents/part-a-000.parquet", "events/part-a-000.parquet"]
    steps = journal_steps(out, stage, {f: f for f in windows})
    assert steps[0] == [os.path.join("_staging", "stream-00000001", "documents", "part-a-000.parquet"),
                        "documents/part-a-000.parquet"]  # relative to the output, as commit() journals
    write_synced(os.path.join(stage, JOURNAL), json.dumps(steps))
    assert recover(out) == ["stream-00000001"]
    assert sorted(os.listdir(os.path.join(out, "documents"))) == ["part-a-000.parquet"]
    make_tables(out)
    assert all(os.path.isdir(os.path.join(out, t)) for t in TABLES)
    open(os.path.join(out, "_SUMMARY.json"), "w").close()
    remove_tables(out)
    assert os.listdir(out) == ["_staging"]


def test_run_id_depends_on_content_and_settings_only(tmp_path):
    f = tmp_path / "a.jsonl"
    f.write_text('{"id": "1", "text": "x"}\n')
    a = compute_run_id([str(f)], {"model": "m"})
    assert a == compute_run_id([str(f)], {"model": "m"})
    assert a != compute_run_id([str(f)], {"model": "other"})
    f.write_text('{"id": "1", "text": "y"}\n')
    assert a != compute_run_id([str(f)], {"model": "m"})


def test_partition_values_are_dates_never_raw_text():
    assert partition_value(None) == NULL_PARTITION
    assert partition_value(dt.datetime(2026, 1, 1, 23, 0, tzinfo=dt.timezone(dt.timedelta(hours=-3)))) == "2026-01-02"
    assert partition_value(dt.datetime(2026, 1, 1, 5)) == "2026-01-01"
