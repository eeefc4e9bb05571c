"""The README's queries (DuckDB SQL and pandas), run on the sample output so they stay right."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def _blocks(language: str) -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### Queries"):]
    section = section[: section.index("\n## ")]
    return re.findall(rf"```{language}\n(.*?)```", section, flags=re.S)


def test_readme_has_the_queries():
    assert len(_blocks("sql")) == 3 and len(_blocks("python")) == 1


@pytest.mark.parametrize("index", range(3))
def test_duckdb_queries_run_on_the_sample_output(sample_output, index):
    duckdb = pytest.importorskip("duckdb")
    sql = _blocks("sql")[index].replace("out/demo", str(sample_output))
    rows = duckdb.sql(sql).fetchall()
    assert rows, sql
    if index == 1:  # the actor's timeline names the actor on every row
        assert all("Daniel Mwangi Otieno" in (r[2], r[3]) for r in rows)


def test_pandas_queries_run_on_the_sample_output(sample_output):
    pytest.importorskip("pandas")
    code = _blocks("python")[0].replace("out/demo", str(sample_output))
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)  # noqa: S102 - the README's own example
    assert len(scope["per_day"]) > 0 and scope["per_day"]["events"].sum() == len(scope["events"])
    assert len(scope["timeline"]) > 0
    assert len(scope["conflict"]) > 0


def test_report_renders_real_pngs(sample_output):
    pytest.importorskip("matplotlib")
    import matplotlib.image as mpimg
    from newsevents.pipeline.run import main

    assert main(["report", str(sample_output)]) == 0
    page = (sample_output / "report.html").read_text(encoding="utf-8")
    images = re.findall(r"src='(_report/[^']+\.png)'", page)
    assert len(images) == 5
    for rel in images:
        path = sample_output / rel
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 3000
        pixels = mpimg.imread(path)
        assert pixels.std() > 0.01  # not a blank image
    assert "<mark>" in page  # evidence sentences with their triggers marked
    import pyarrow.dataset as ds

    types = set(ds.dataset(sample_output / "events").to_table().column("event_type").to_pylist())
    assert types and all(f"<td>{t}</td>" in page for t in types)  # a sample per event type
