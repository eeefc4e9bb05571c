"""The Delta commit (``--table-format delta``): modes, partitions, idempotence, schema evolution (no models needed)."""

from __future__ import annotations

import datetime as dt
import json
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from newsevents.pipeline.io.delta import (
    COMMIT_ORDER,
    RUN_ID_KEY,
    VERSION_KEY,
    DeltaOutput,
    app_id,
    partition_predicate,
    schema_conflicts,
)
from newsevents.pipeline.io.staging import StagingAttempt, discard_dead_attempts
from newsevents.schemas.arrow import SCHEMA_VERSION, TABLES
from newsevents.schemas.errors import ConfigError
from newsevents.schemas.records import DeadLetter, DocumentRecord, EntityMention, as_row

deltalake = pytest.importorskip("deltalake")

UTC = dt.timezone.utc
#: A run's input for the tests that run the models: two sentences, two events, and a line that is no JSON.
TINY = ('{"id": "abuja-1", "text": "Police arrested the opposition leader Musa Bello in Abuja on Friday. Kenya and '
        'Uganda signed a trade accord in Nairobi on Monday.", "published": "2026-03-06T08:00:00Z"}\n{broken json\n')
D1 = dt.datetime(2026, 3, 1, 12, tzinfo=UTC)
D2 = dt.datetime(2026, 3, 2, 23, 30, tzinfo=UTC)


def doc(doc_id: str, published: dt.datetime | None) -> DocumentRecord:
    return DocumentRecord(doc_id=doc_id, title=None, url=None, source=None, published=published, language=None,
                          n_chars=1, n_sentences=1, n_mentions=1, n_events=0, status="ok", notes=[],
                          input_location=f"in.jsonl:{doc_id}")


def mention(doc_id: str) -> EntityMention:
    return EntityMention(doc_id=doc_id, sentence_index=0, mention_id=f"m-{doc_id}", text="Lagos", label="LOC",
                         char_start=0, char_end=5, score=0.9, model="m")


def stage_run(root, name: str, docs: list[DocumentRecord], dead: int = 0, schemas=TABLES) -> str:
    """A staged run as the graph leaves it: one shard per table; each document has one mention."""
    stage = os.path.join(str(root), "stages", name)
    rows = {"documents": [as_row(d) for d in docs], "entities": [as_row(mention(d.doc_id)) for d in docs],
            "events": [], "dead_letters": [as_row(DeadLetter("read", "invalid_json", f"bad {name} {i}"))
                                           for i in range(dead)]}
    for table, schema in schemas.items():
        os.makedirs(os.path.join(stage, table), exist_ok=True)
        data = [dict(r, **{n: f"{n} of {r.get('doc_id')}" for n in schema.names if n not in r}) for r in rows[table]]
        pq.write_table(pa.Table.from_pylist(data, schema=schema), os.path.join(stage, table, "part-00000-of-00001.parquet"))
    return stage


def commit(out, stage: str, run_id: str, mode: str = "overwrite", partition_by: str | None = None,
           schemas=TABLES) -> DeltaOutput:
    tables = DeltaOutput(str(out), run_id, mode, partition_by, schemas=schemas)
    tables.check()
    tables.commit(stage, {"records_read": 1})
    return tables


def table(out, name: str):
    return deltalake.DeltaTable(os.path.join(str(out), name))


def rows(out, name: str, column: str = "doc_id") -> list:
    return sorted(table(out, name).to_pyarrow_table().column(column).to_pylist(), key=str)


def test_each_table_is_a_delta_table_with_the_run_id_and_the_schema_version(tmp_path):
    out = tmp_path / "out"
    commit(out, stage_run(tmp_path, "r1", [doc("a", D1)], dead=1), "run1")
    for name, schema in TABLES.items():
        t = table(out, name)
        assert t.metadata().configuration[VERSION_KEY] == SCHEMA_VERSION
        assert [f.name for f in t.schema().fields] == schema.names
        assert t.transaction_version(app_id("run1")) == 1
        last = t.history(1)[0]
        assert (last["operation"], last[RUN_ID_KEY], last[VERSION_KEY]) == ("WRITE", "run1", SCHEMA_VERSION)
        assert [h["operation"] for h in t.history()] == ["WRITE", "CREATE TABLE"], "one commit per table per run"
    assert table(out, "documents").history(1)[0]["newsevents.summary"] == {"records_read": 1}
    # Nullability is the schema's: a required column stays required.
    assert {f.name: f.nullable for f in table(out, "documents").schema().fields}["doc_id"] is False
    assert rows(out, "documents") == ["a"] and rows(out, "entities") == ["a"] and len(rows(out, "dead_letters", "error")) == 1


def test_overwrite_replaces_the_whole_table(tmp_path):
    out = tmp_path / "out"
    commit(out, stage_run(tmp_path, "r1", [doc("a", D1), doc("b", D2)], dead=1), "run1")
    commit(out, stage_run(tmp_path, "r2", [doc("c", D1)]), "run2")
    assert rows(out, "documents") == ["c"] and rows(out, "entities") == ["c"] and rows(out, "dead_letters") == []
    # The earlier version stays readable (time travel), the files of both on disk: read through the log.
    assert sorted(deltalake.DeltaTable(str(out / "documents"), version=1).to_pyarrow_table()
                  .column("doc_id").to_pylist()) == ["a", "b"]


def test_partitioned_overwrite_replaces_only_the_partitions_produced(tmp_path):
    out = tmp_path / "out"
    commit(out, stage_run(tmp_path, "r1", [doc("a", D1), doc("b", D2), doc("n", None)], dead=1), "run1",
           partition_by="published_date")
    assert table(out, "documents").metadata().partition_columns == ["published_date"]
    assert table(out, "dead_letters").metadata().partition_columns == []
    days = dict(zip(rows(out, "documents"), [r["published_date"] for r in sorted(
        table(out, "documents").to_pyarrow_table().to_pylist(), key=lambda r: r["doc_id"])]))
    assert days == {"a": dt.date(2026, 3, 1), "b": dt.date(2026, 3, 2), "n": None}
    # The second run replaces 2026-03-01 only: b (03-02) and n (no date) stay; its dead letters are added.
    commit(out, stage_run(tmp_path, "r2", [doc("c", D1)], dead=1), "run2", partition_by="published_date")
    assert rows(out, "documents") == ["b", "c", "n"]
    assert rows(out, "entities") == ["b", "c", "n"]
    assert rows(out, "dead_letters", "error") == ["bad r1 0", "bad r2 0"]
    assert table(out, "documents").history(1)[0]["operationParameters"]["predicate"] == \
        "published_date = '2026-03-01'::date"  # as delta-rs records partition_predicate({2026-03-01})


def test_partition_predicate_names_dates_and_the_null_partition():
    assert partition_predicate({dt.date(2026, 3, 1)}) == "published_date IN ('2026-03-01')"
    assert partition_predicate({None}) == "published_date IS NULL"


def test_append_adds_and_the_same_run_adds_nothing_again(tmp_path):
    out = tmp_path / "out"
    commit(out, stage_run(tmp_path, "r1", [doc("a", D1)], dead=1), "run1", mode="append")
    commit(out, stage_run(tmp_path, "r2", [doc("b", D2)], dead=1), "run2", mode="append")
    versions = {name: table(out, name).version() for name in TABLES}
    commit(out, stage_run(tmp_path, "r2-again", [doc("b", D2)], dead=1), "run2", mode="append")
    assert {name: table(out, name).version() for name in TABLES} == versions, "a rerun committed again"
    assert rows(out, "documents") == ["a", "b"] and len(rows(out, "dead_letters", "error")) == 2


def test_output_keys_leave_out_the_runs_own_documents(tmp_path):
    out = tmp_path / "out"
    commit(out, stage_run(tmp_path, "r1", [doc("a", D1)]), "run1", mode="append")
    commit(out, stage_run(tmp_path, "r2", [doc("b", D2), doc("c", D2)]), "run2", mode="append")
    for run_id, expected in (("run2", ["a"]), ("run3", ["a", "b", "c"]), ("run1", ["b", "c"])):
        tables = DeltaOutput(str(out), run_id, "append", None)
        tables.check()
        keys = tables.output_keys(str(tmp_path))
        assert sorted(pq.read_table(keys[0]).column("doc_id").to_pylist()) == expected, run_id
        assert pq.read_table(keys[0]).column_names == ["doc_id", "text_hash"]
    assert DeltaOutput(str(tmp_path / "none"), "run1", "append", None).output_keys(str(tmp_path)) == []


def test_append_refuses_a_different_layout(tmp_path):
    out = tmp_path / "out"
    commit(out, stage_run(tmp_path, "r1", [doc("a", D1)]), "run1", partition_by="published_date")
    with pytest.raises(ConfigError, match="is partitioned but this run's documents table is not"):
        DeltaOutput(str(out), "run2", "append", None).check()
    # An overwrite switches the layout: the whole table.
    commit(out, stage_run(tmp_path, "r2", [doc("b", D1)]), "run2", mode="overwrite")
    assert table(out, "documents").metadata().partition_columns == [] and rows(out, "documents") == ["b"]


def test_fail_if_exists_refuses_another_runs_tables_but_completes_its_own(tmp_path):
    out = tmp_path / "out"
    DeltaOutput(str(out), "run1", "fail-if-exists", None).check()  # nothing there yet
    stage = stage_run(tmp_path, "r1", [doc("a", D1)])
    first = DeltaOutput(str(out), "run1", "fail-if-exists", None)
    first.check()
    first._commit_table("dead_letters", stage, {}, None)  # a run killed after its first table's commit
    commit(out, stage, "run1", mode="fail-if-exists")  # its rerun completes it
    assert rows(out, "documents") == ["a"] and table(out, "dead_letters").version() == 1
    for run_id in ("run2", "run1"):  # another run, and the same one once complete
        with pytest.raises(ConfigError, match=r"fail-if-exists: .* already holds the tables \['documents', "
                                              r"'entities', 'events', 'dead_letters'\]"):
            DeltaOutput(str(out), run_id, "fail-if-exists", None).check()


def test_a_parquet_output_is_refused(tmp_path):
    (tmp_path / "documents").mkdir()
    (tmp_path / "documents" / "part-0-00000.parquet").write_bytes(b"PAR1")
    with pytest.raises(ConfigError, match="holds Parquet files but no Delta log"):
        DeltaOutput(str(tmp_path), "run1", "append", None).check()


def _evolved(column: pa.Field, version: str = "1.5.0") -> dict[str, pa.Schema]:
    """The project's schemas with ``column`` added to (or replacing the same-named one of) the documents."""
    documents = TABLES["documents"]
    fields = [column if f.name == column.name else f for f in documents]
    if column.name not in documents.names:
        fields.append(column)
    meta = {**documents.metadata, b"newsevents.schema_version": version.encode()}
    return dict(TABLES, documents=pa.schema(fields, metadata=meta))


@pytest.mark.parametrize("partition_by", [None, "published_date"], ids=["plain", "partitioned"])
@pytest.mark.parametrize("mode", ["append", "overwrite"])
def test_a_new_column_joins_the_table_and_raises_its_schema_version(tmp_path, mode, partition_by):
    out = tmp_path / "out"
    commit(out, stage_run(tmp_path, "r1", [doc("a", D1)]), "run1", mode, partition_by)
    schemas = _evolved(pa.field("summary", pa.string()))
    commit(out, stage_run(tmp_path, "r2", [doc("b", D2)], schemas=schemas), "run2", mode, partition_by, schemas=schemas)
    t = table(out, "documents")
    assert "summary" in [f.name for f in t.schema().fields]
    assert t.metadata().configuration[VERSION_KEY] == "1.5.0"
    assert table(out, "entities").metadata().configuration[VERSION_KEY] == SCHEMA_VERSION  # unchanged tables stay
    by_id = {r["doc_id"]: r["summary"] for r in t.to_pyarrow_table().to_pylist()}
    expected = {"b": "summary of b"} if mode == "overwrite" and not partition_by else {"a": None, "b": "summary of b"}
    assert by_id == expected
    assert t.history(1)[0]["operation"] == "SET TBLPROPERTIES" and t.history(1)[0][RUN_ID_KEY] == "run2"
    # An older schema appending to the evolved table: its rows have no summary; the version stays the newer one.
    commit(out, stage_run(tmp_path, "r3", [doc("c", D2)]), "run3", "append", partition_by)
    assert {r["doc_id"]: r["summary"] for r in table(out, "documents").to_pyarrow_table().to_pylist()}["c"] is None
    assert table(out, "documents").metadata().configuration[VERSION_KEY] == "1.5.0"


@pytest.mark.parametrize("mode, partition_by", [("append", None), ("overwrite", "published_date")])
def test_a_changed_column_type_is_refused_before_any_work(tmp_path, mode, partition_by):
    out = tmp_path / "out"
    commit(out, stage_run(tmp_path, "r1", [doc("a", D1)]), "run1", partition_by=partition_by)
    versions = {name: table(out, name).version() for name in TABLES}
    schemas = _evolved(pa.field("n_chars", pa.float64(), nullable=False))
    with pytest.raises(ConfigError) as caught:
        DeltaOutput(str(out), "run2", mode, partition_by, schemas=schemas).check()
    message = str(caught.value)
    assert "\n" not in message
    assert "column 'n_chars' is long in the table but double in this run's schema" in message
    assert "(schema 1.5.0, table schema 1.4.0)" in message and "cannot change in place" in message
    assert {name: table(out, name).version() for name in TABLES} == versions


def test_schema_conflicts_name_each_incompatible_column():
    schema = deltalake.Schema.from_arrow
    table = schema(pa.schema([pa.field("a", pa.int64(), nullable=False), pa.field("b", pa.string(), nullable=False),
                              pa.field("c", pa.string())])).fields
    ours = schema(pa.schema([pa.field("a", pa.int32(), nullable=False), pa.field("c", pa.string()),
                             pa.field("d", pa.bool_())])).fields
    conflicts, new = schema_conflicts(table, ours)
    assert conflicts == ["column 'a' is long in the table but integer in this run's schema",
                         "column 'b' is required in the table but not in this run's schema"]
    assert new == ["d"]
    relaxed = schema(pa.schema([pa.field("a", pa.int64()), pa.field("b", pa.string(), nullable=False)])).fields
    assert schema_conflicts(table, relaxed)[0] == [
        "column 'a' is required in the table but may be null in this run's schema"]


def test_a_commit_interrupted_between_tables_is_completed_by_the_rerun(tmp_path, monkeypatch):
    out = tmp_path / "out"
    commit(out, stage_run(tmp_path, "r0", [doc("old", D1)]), "run0", mode="append")
    stage = stage_run(tmp_path, "r1", [doc("a", D1)], dead=1)
    real = DeltaOutput._commit_table

    def commit_two(self, name, *args):
        if name == COMMIT_ORDER[2]:
            raise KeyboardInterrupt
        return real(self, name, *args)

    monkeypatch.setattr(DeltaOutput, "_commit_table", commit_two)
    with pytest.raises(KeyboardInterrupt):
        commit(out, stage, "run1", mode="append")
    monkeypatch.undo()
    assert rows(out, "documents") == ["old"] and len(rows(out, "dead_letters", "error")) == 1
    commit(out, stage, "run1", mode="append")
    assert rows(out, "documents") == ["a", "old"] and rows(out, "entities") == ["a", "old"]
    assert len(rows(out, "dead_letters", "error")) == 1, "the rerun added the dead letters a second time"


def test_staging_attempts_are_private_and_a_dead_ones_is_deleted(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    run_id = "0123456789abcdef"
    with StagingAttempt(str(out), run_id) as first, StagingAttempt(str(out), run_id) as second:
        assert first != second and os.path.isdir(first) and os.path.isdir(second)
        assert discard_dead_attempts(str(out)) == [], "a live attempt was deleted"
        dead = out / "_staging" / f"{run_id}-deadbeef"
        dead.mkdir()
        (out / "_staging" / f"{run_id}-deadbeef.lock").write_text("")  # its run was killed: nobody holds it
        (out / "_staging" / run_id).mkdir()  # a Parquet run's: not ours to delete
        assert discard_dead_attempts(str(out)) == [f"{run_id}-deadbeef"]
        assert sorted(os.listdir(out / "_staging")) == sorted(
            [run_id, os.path.basename(first), os.path.basename(first) + ".lock",
             os.path.basename(second), os.path.basename(second) + ".lock"])
    assert os.listdir(out / "_staging") == [run_id]
    os.rmdir(out / "_staging" / run_id)
    with StagingAttempt(str(out), run_id):
        pass
    assert not (out / "_staging").exists(), "an attempt left its staging behind"
    remote = StagingAttempt("s3://bucket/out", run_id)
    with remote as path:
        assert os.path.isdir(path) and run_id in path
    assert not os.path.exists(path)
    json.dumps(path)  # a plain str


def test_a_run_conflicts_with_what_another_run_committed_while_it_ran(tmp_path):
    # Runs overlap in time, not only in their commits: each builds on the versions it read when it started.
    from newsevents.schemas.errors import CommitConflictError

    out = tmp_path / "out"
    commit(out, stage_run(tmp_path, "r0", [doc("old1", D1), doc("old2", D2)]), "run0", partition_by="published_date")
    slow = DeltaOutput(str(out), "run1", "overwrite", "published_date")
    slow.check()  # starts, then runs its models while the other run commits
    commit(out, stage_run(tmp_path, "r2", [doc("fast", D1)]), "run2", partition_by="published_date")
    appender = DeltaOutput(str(out), "run3", "append", "published_date")
    appender.check()
    commit(out, stage_run(tmp_path, "r4", [doc("late", D2)]), "run4", "append", "published_date")
    appender.commit(stage_run(tmp_path, "r3", [doc("added", D1)]))  # an append is retried on the moved table
    with pytest.raises(CommitConflictError, match="another run committed to this table while this one ran"):
        slow.commit(stage_run(tmp_path, "r1", [doc("slow", D1)]))
    assert slow.committed == []
    assert rows(out, "documents") == ["added", "fast", "late", "old2"]


def test_the_options_allow_object_store_modes_with_delta_only(monkeypatch):
    import importlib.util

    from newsevents.pipeline.options import RunConfig

    remote = dict(input="in.jsonl", output="s3://bucket/out", mode="append", partition_by="published_date")
    with pytest.raises(ConfigError, match="need a local --output directory, or --table-format delta"):
        RunConfig(**remote).validate()
    assert RunConfig(**remote, table_format="delta").validate().table_format == "delta"
    with pytest.raises(ConfigError, match="--table-format delta is for batch runs"):
        RunConfig(input="in/", output="out", table_format="delta", streaming=True).validate()
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "deltalake" else real(name, *a))
    with pytest.raises(ConfigError, match=r"needs the deltalake package: pip install 'newsevents\[delta\]'"):
        RunConfig(**remote, table_format="delta").validate()


def test_an_overwrite_of_the_whole_table_makes_its_schema_the_runs(tmp_path):
    out = tmp_path / "out"
    schemas = _evolved(pa.field("summary", pa.string()))
    commit(out, stage_run(tmp_path, "r1", [doc("a", D1)], schemas=schemas), "run1", schemas=schemas)
    assert table(out, "documents").metadata().configuration[VERSION_KEY] == "1.5.0"
    commit(out, stage_run(tmp_path, "r2", [doc("b", D1)]), "run2")  # an older newsevents, replacing the table
    t = table(out, "documents")
    assert [f.name for f in t.schema().fields] == TABLES["documents"].names
    assert t.metadata().configuration[VERSION_KEY] == SCHEMA_VERSION and rows(out, "documents") == ["b"]


@pytest.mark.parametrize("attempt", range(3))  # a race: three tries to lose it
def test_runs_that_create_the_tables_at_once_make_one_table_definition(tmp_path, attempt):
    import threading

    out, errors = tmp_path / "out", []
    stages = [stage_run(tmp_path, f"r{i}", [doc(f"d{i}", D1)], dead=1) for i in range(4)]
    runs = [DeltaOutput(str(out), f"run{i}", "append", "published_date") for i in range(4)]
    for run in runs:
        run.check()  # each finds no tables
    barrier = threading.Barrier(len(runs))

    def commit_one(run, stage):
        barrier.wait()
        try:
            run.commit(stage)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=commit_one, args=pair) for pair in zip(runs, stages)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert rows(out, "documents") == ["d0", "d1", "d2", "d3"]
    for name in TABLES:
        operations = [h["operation"] for h in table(out, name).history()]
        assert operations.count("CREATE TABLE") == 1 and operations.count("WRITE") == 4, (name, operations)


def test_an_append_is_made_again_on_a_table_another_run_evolved_meanwhile(tmp_path):
    out = tmp_path / "out"
    commit(out, stage_run(tmp_path, "r0", [doc("old", D1)]), "run0", "append")
    older = DeltaOutput(str(out), "run1", "append", None)
    older.check()  # an older newsevents starts; a newer one evolves the schema and commits first
    schemas = _evolved(pa.field("summary", pa.string()))
    commit(out, stage_run(tmp_path, "r2", [doc("new", D2)], schemas=schemas), "run2", "append", schemas=schemas)
    older.commit(stage_run(tmp_path, "r1", [doc("slow", D1)]))  # delta-rs refuses it once: metadata changed
    by_id = {r["doc_id"]: r["summary"] for r in table(out, "documents").to_pyarrow_table().to_pylist()}
    assert by_id == {"old": None, "new": "summary of new", "slow": None}
    assert table(out, "documents").metadata().configuration[VERSION_KEY] == "1.5.0"
