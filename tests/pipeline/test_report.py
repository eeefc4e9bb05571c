"""The run report (issue 15, item 6): counts that mean what their axes say, a date axis,
labels cut with an ellipsis, a header that says what the page describes, and a
``--single-file`` page that stands alone, checked in a real headless browser.

The tables are hand-made with the project's Arrow schemas, so every number the
report shows is known: two runs' files (``--mode append``), events ten years
apart, actors with long names, and a dead-letter file of an older schema version.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

pytest.importorskip("matplotlib")
pytest.importorskip("pandas")

from newsevents.pipeline import report  # noqa: E402
from newsevents.schemas.arrow import SCHEMA_VERSION, TABLES  # noqa: E402

RUN_A, RUN_B = "0123456789abcdef", "fedcba9876543210"
LONG = "The Ministry of Foreign Affairs of the Republic"
LONG_TOO = "The Ministry of Foreign Affairs of the Kingdom"  # the same first 28 characters
UTC = dt.timezone.utc
SECTIONS = ["Events over time", "Actors", "Actor pairs", "Countries", "Dead letters",
            "Evidence sentences per event type"]


def _row(schema: pa.Schema, **values) -> dict:
    defaults = {pa.types.is_string: "x", pa.types.is_integer: 0, pa.types.is_floating: 0.5,
                pa.types.is_boolean: False}
    row = {}
    for field in schema:
        if field.name in values:
            row[field.name] = values[field.name]
        elif field.nullable:
            row[field.name] = None
        else:
            row[field.name] = next(v for test, v in defaults.items() if test(field.type))
    return row


def _event(event_id, event_type, when=None, published=None, **roles) -> dict:
    return _row(TABLES["events"], event_id=event_id, doc_id=f"doc-{event_id}", event_type=event_type,
                event_date=when, published=published, confidence=0.9, trigger="protested",
                sentence_text="Crowds protested in the capital.", pipeline_version="0.9.0",
                ner_model="ner.token_classifier.v1", event_model="events.plover.v1", **roles)


EVENTS = [
    # One French event with French actors: one event for FRA, not three.
    _event("e1", "PROTEST", dt.date(2012, 5, 3), source_actor=LONG, target_actor="Police",
           country_code="FRA", source_country="FRA", target_country="FRA"),
    _event("e2", "ASSAULT", dt.date(2022, 5, 9), source_actor=LONG_TOO, target_actor="Police",
           source_country="USA", target_country="FRA"),
    # No event date: placed at its article's publication day.
    _event("e3", "PROTEST", None, dt.datetime(2022, 5, 10, 14, 0, tzinfo=UTC), source_actor="Police"),
]


def _write(out: Path, table: str, rows: list[dict], run_id: str, version: str = SCHEMA_VERSION) -> None:
    schema = TABLES[table]
    schema = schema.with_metadata({**schema.metadata, b"newsevents.schema_version": version.encode()})
    (out / table).mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), out / table / f"part-{run_id}-00000.parquet")


@pytest.fixture()
def output(tmp_path) -> Path:
    """An output after an append: run A wrote documents, run B events, and an older version's dead letters."""
    out = tmp_path / "out"
    docs = [_row(TABLES["documents"], doc_id=f"doc-e{i}", input_location=f"in/{name}.jsonl:{i}",
                 published=dt.datetime(*day, tzinfo=UTC), status="ok")
            for i, (name, day) in enumerate([("a", (2012, 5, 3)), ("a", (2022, 5, 9)), ("b", (2022, 5, 10))], 1)]
    _write(out, "documents", docs, RUN_A)
    _write(out, "events", EVENTS, RUN_B)
    _write(out, "dead_letters", [_row(TABLES["dead_letters"], stage="read", reason="invalid_json",
                                      input_location="in/c.jsonl:7")], RUN_B, version="1.2.0")
    (out / "_SUMMARY.json").write_text(json.dumps(
        {"run_id": RUN_B, "mode": "append", "records_read": 2, "by_file": {"in/c.jsonl": {}}}))
    return out


def _frame(rows):
    return pa.Table.from_pylist(rows, schema=TABLES["events"]).to_pandas()


# ---------------------------------------------------------------------------- counting and labels


def test_country_counts_are_events_not_roles():
    assert report._country_events(_frame(EVENTS)) == Counter({"FRA": 2, "USA": 1})


def test_country_counts_of_no_events_are_empty():
    assert report._country_events(_frame([])) == Counter()


@pytest.mark.parametrize(("label", "width", "expected"), [
    ("Police", 28, "Police"),
    ("x" * 28, 28, "x" * 28),
    ("x" * 29, 28, "x" * 27 + "…"),
    ("Ministry of Foreign Affairs", 12, "Ministry of…"),  # no space left before the ellipsis
])
def test_long_labels_end_in_an_ellipsis(label, width, expected):
    assert report._ellipsis(label, width) == expected


def test_cut_labels_stay_distinct_bars():
    fig, ax = report._figure()
    report._barh(ax, Counter({LONG: 2, LONG_TOO: 1}), "Top source actors", "#4c72b0")
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(ax.patches) == 2 and [p.get_width() for p in ax.patches] == [1, 2]
    assert labels == [report._ellipsis(LONG_TOO), report._ellipsis(LONG)]
    assert all(label.endswith("…") and len(label) <= report._LABEL_CHARS for label in labels)


def test_pair_labels_end_in_an_ellipsis():
    fig = report._plot_pairs(_frame(EVENTS))
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert len(labels) == 2 and all(" → Police" in label and "…" in label for label in labels)


# ---------------------------------------------------------------------------- the date axis


def test_time_axis_is_a_date_axis():
    import matplotlib.dates as mdates

    fig, ax = report._figure()
    report._draw_over_time(ax, _frame(EVENTS))
    starts = sorted({round(p.get_x(), 6) for p in ax.patches if p.get_height() > 0})
    # Ten years apart on the axis, not side by side: per-month bars at the months' first days.
    assert starts == [mdates.date2num(dt.datetime(2012, 5, 1)), mdates.date2num(dt.datetime(2022, 5, 1))]
    low, high = ax.get_xlim()
    assert high - low > 3650
    assert isinstance(ax.xaxis.get_major_formatter(), mdates.ConciseDateFormatter)
    assert "per month" in ax.get_title()


def test_short_spans_are_binned_per_day():
    import matplotlib.dates as mdates

    fig, ax = report._figure()
    report._draw_over_time(ax, _frame(EVENTS[1:]))  # 2022-05-09 and the day after
    bars = sorted((round(p.get_x(), 6), p.get_height()) for p in ax.patches if p.get_height() > 0)
    assert bars == [(mdates.date2num(dt.datetime(2022, 5, 9)), 1), (mdates.date2num(dt.datetime(2022, 5, 10)), 1)]
    assert "per day" in ax.get_title()


# ---------------------------------------------------------------------------- the page


def _header(page: str) -> str:
    return page[page.index("<header"): page.index("</header>")]


def test_header_names_runs_inputs_dates_and_table_versions(output):
    header = _header(Path(report.write_report(str(output))).read_text(encoding="utf-8"))
    assert f"<dt>Run</dt><dd><code>{RUN_B}</code>, mode append</dd>" in header
    assert f"<code>{RUN_A}</code>, <code>{RUN_B}</code>" in header  # every run whose files the tables hold
    assert "in/a.jsonl (2 documents), in/b.jsonl (1 document), in/c.jsonl (0 documents)" in header
    assert "<dt>Published</dt><dd>2012-05-03 – 2022-05-10</dd>" in header
    assert "<dt>Event dates</dt><dd>2012-05-03 – 2022-05-09</dd>" in header
    # Versions come from each file's Parquet metadata, not from the code's constant.
    assert "<tr><td>dead_letters</td><td>1</td><td>1</td><td>1.2.0</td></tr>" in header
    assert f"<tr><td>events</td><td>3</td><td>1</td><td>{SCHEMA_VERSION}</td></tr>" in header
    assert "<tr><td>entities</td><td>0</td><td>0</td><td>no files</td></tr>" in header
    assert "0.9.0" in header and "ner.token_classifier.v1" in header
    assert "<b>2</b> records read by the last run" in header


def test_single_file_report_embeds_every_image(output):
    from newsevents.pipeline.run import main

    assert main(["report", str(output), "--single-file"]) == 0
    page = (output / "report.html").read_text(encoding="utf-8")
    sources = re.findall(r"<img src='([^']+)'", page)
    assert len(sources) == 5
    for src in sources:
        prefix, _, data = src.partition(",")
        assert prefix == "data:image/png;base64"
        assert base64.b64decode(data)[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (output / "_report").exists()


# ---------------------------------------------------------------------------- a real browser

_PROBE = """<pre id="probe"></pre><script>
window.addEventListener("load", () => {
  document.getElementById("probe").textContent = JSON.stringify({
    images: [...document.images].map(i => ({alt: i.alt, width: i.naturalWidth, height: i.naturalHeight})),
    sections: [...document.querySelectorAll("h2")].map(h => h.textContent),
    header: (document.querySelector("header") || {}).textContent || "",
  });
});
</script>"""


def _browser() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"):
        if path := shutil.which(name):
            return path
    pytest.skip("no headless chromium or chrome found (.ci/run installs Debian's chromium)")


def _render(page: Path, profile: Path) -> dict:
    """What a browser saw once ``page`` loaded: each image's natural size, the sections, the header."""
    probe = page.with_name("_probe.html")  # beside the page, so its relative image paths resolve the same
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", _PROBE + "</body>"), encoding="utf-8")
    dom = subprocess.run(
        [_browser(), "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
         "--virtual-time-budget=10000", "--dump-dom", probe.as_uri()],
        capture_output=True, text=True, timeout=120, check=True).stdout
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, flags=re.S)
    assert found and found.group(1), f"the probe did not run; the browser printed:\n{dom[:2000]}"
    return json.loads(html.unescape(found.group(1)))


@pytest.mark.parametrize("single_file", [False, True], ids=["with-images-folder", "single-file"])
def test_report_renders_in_a_headless_browser(output, tmp_path, single_file):
    page = Path(report.write_report(str(output), single_file=single_file))
    if single_file:  # mailed on its own: nothing beside it
        alone = tmp_path / "mailed"
        alone.mkdir()
        page = Path(shutil.copy(page, alone / "report.html"))
    seen = _render(page, tmp_path / "profile")
    assert seen["sections"] == SECTIONS
    assert RUN_B in seen["header"] and "in/a.jsonl" in seen["header"]
    assert [i["alt"] for i in seen["images"]] == SECTIONS[:5]
    broken = [i["alt"] for i in seen["images"] if not (i["width"] > 100 and i["height"] > 100)]
    assert not broken, f"images that did not load: {broken}"


def test_browser_check_sees_broken_images(output, tmp_path):
    # The page without --single-file, moved away from its _report/ folder: the probe must notice.
    page = Path(report.write_report(str(output)))
    alone = tmp_path / "mailed"
    alone.mkdir()
    seen = _render(Path(shutil.copy(page, alone / "report.html")), tmp_path / "profile")
    assert len(seen["images"]) == 5 and all(i["width"] == 0 for i in seen["images"])
