"""The README's queries (DuckDB SQL and pandas), run on the sample output so they stay right: in both table formats.

The Delta output is the sample output's staged Parquet committed by the Delta commit
(``pipeline/io/delta.py``), as a ``--table-format delta`` run commits its staging.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
READ_PARQUET = "read_parquet('out/demo/events/**/*.parquet', hive_partitioning = true)"
# The README's words for pandas on a Delta output: this expression in place of that one.
PANDAS_DELTA = ('pd.read_parquet("out/demo/events")', 'DeltaTable("out/demo/events").to_pandas()')


def _blocks(language: str) -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### Queries"):]
    section = section[: section.index("\n## ")]
    return re.findall(rf"```{language}\n(.*?)```", section, flags=re.S)


@pytest.fixture(scope="module")
def delta_sample_output(sample_output, tmp_path_factory):
    """The sample output's tables as Delta tables, committed the way a Delta run commits its staging."""
    pytest.importorskip("deltalake")
    from newsevents.pipeline.io.delta import DeltaOutput
    from newsevents.pipeline.metrics import read_summary

    out = tmp_path_factory.mktemp("delta_sample_output")
    # Twice: the second overwrite leaves the first one's files on disk, as every overwrite does, so a
    # reader that reads the folders instead of the log would count each row twice.
    for _ in range(2):
        tables = DeltaOutput(str(out), read_summary(sample_output)["run_id"], "overwrite", None)
        tables.check()
        tables.commit(str(sample_output))  # its table folders are laid out as a staging directory is
    return out


@pytest.fixture(params=["parquet", "delta"])
def output(request, sample_output):
    """``(format, the sample output in it)``."""
    return request.param, sample_output if request.param == "parquet" else request.getfixturevalue(
        "delta_sample_output")


def test_readme_has_the_queries():
    assert len(_blocks("sql")) == 3 and len(_blocks("python")) == 2
    assert all(READ_PARQUET in sql for sql in _blocks("sql"))
    text = README.read_text(encoding="utf-8")
    assert all(f"`{expression}`" in text for expression in PANDAS_DELTA)


def _delta_scan_available(duckdb) -> bool:
    # Installed already: DuckDB would download the extension otherwise, and nothing is downloaded here.
    return bool(duckdb.sql("SELECT installed FROM duckdb_extensions() WHERE extension_name = 'delta'").fetchall()
                [0][0])


def _check(rows, sql, index):
    assert rows, sql
    if index == 1:  # the actor's timeline names the actor on every row
        assert all("Daniel Mwangi Otieno" in (r[2], r[3]) for r in rows)


@pytest.mark.parametrize("index", range(3))
def test_duckdb_queries_run_on_the_sample_output(output, sample_output, index):
    duckdb = pytest.importorskip("duckdb")
    fmt, path = output
    sql = _blocks("sql")[index]
    if fmt == "parquet":
        sql = sql.replace("out/demo", str(path))
    else:  # the README's no-download way: the table's current files, handed over by deltalake
        from deltalake import DeltaTable

        events = DeltaTable(str(path / "events")).to_pyarrow_dataset()  # noqa: F841 - DuckDB reads it by name
        sql = sql.replace(READ_PARQUET, "events")
    rows = duckdb.sql(sql).fetchall()
    _check(rows, sql, index)
    if fmt == "delta":
        parquet = duckdb.sql(_blocks("sql")[index].replace("out/demo", str(sample_output))).fetchall()
        assert sorted(map(repr, rows)) == sorted(map(repr, parquet)), "the two formats answer differently"


@pytest.mark.parametrize("index", range(3))
def test_duckdb_delta_scan_runs_the_queries(delta_sample_output, index):
    duckdb = pytest.importorskip("duckdb")
    if not _delta_scan_available(duckdb):
        pytest.skip("DuckDB's delta extension is not installed, and DuckDB would download it (INSTALL delta); "
                    "the README's deltalake way is tested instead")
    sql = _blocks("sql")[index].replace(READ_PARQUET, f"delta_scan('{delta_sample_output / 'events'}')")
    _check(duckdb.sql(sql).fetchall(), sql, index)


def test_the_delta_duckdb_example_runs(delta_sample_output):
    pytest.importorskip("duckdb")
    code = _blocks("python")[1].replace("out/demo", str(delta_sample_output))
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)  # noqa: S102 - the README's own example
    assert scope["per_type"] and sum(n for _, n in scope["per_type"]) == scope["events"].count_rows()


def test_pandas_queries_run_on_the_sample_output(output):
    pytest.importorskip("pandas")
    fmt, path = output
    code = _blocks("python")[0]
    if fmt == "delta":
        code = "from deltalake import DeltaTable\n" + code.replace(*PANDAS_DELTA)
    code = code.replace("out/demo", str(path))
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)  # noqa: S102 - the README's own example
    assert len(scope["per_day"]) > 0 and scope["per_day"]["events"].sum() == len(scope["events"])
    assert len(scope["timeline"]) > 0
    assert len(scope["conflict"]) > 0


def test_report_renders_real_pngs(output, sample_output):
    pytest.importorskip("matplotlib")
    import matplotlib.image as mpimg
    import pyarrow.dataset as ds
    from newsevents.pipeline.run import main

    fmt, path = output
    assert main(["report", str(path)]) == 0
    page = (path / "report.html").read_text(encoding="utf-8")
    images = re.findall(r"src='(_report/[^']+\.png)'", page)
    assert len(images) == 5
    for rel in images:
        image = path / rel
        assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and image.stat().st_size > 3000
        pixels = mpimg.imread(image)
        assert pixels.std() > 0.01  # not a blank image
    assert "<mark>" in page  # evidence sentences with their triggers marked
    if fmt == "parquet":
        events = ds.dataset(path / "events").to_table()
    else:
        from deltalake import DeltaTable

        events = DeltaTable(str(path / "events")).to_pyarrow_table()
    types = set(events.column("event_type").to_pylist())
    assert types and all(f"<td>{t}</td>" in page for t in types)  # a sample per event type
    assert f"<b>{events.num_rows}</b> events" in page
    if fmt == "delta":  # the run and the schema version come from the Delta log
        from newsevents.pipeline.metrics import read_summary
        from newsevents.schemas.arrow import SCHEMA_VERSION

        assert f"<code>{read_summary(sample_output)['run_id']}</code>" in page
        assert "schema version (Delta table property)" in page and f"<td>{SCHEMA_VERSION}</td>" in page
