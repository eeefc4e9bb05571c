"""``newsevents report OUT``: one HTML page with plots of a run, for looking before reading.

Writes ``OUT/report.html`` and its PNG plots under ``OUT/_report/`` (the ``_``
keeps table readers away from it), or, with ``--single-file``, one page with
the plots embedded as ``data:`` URIs that can be mailed on its own.

The page opens with what it describes: the run id (and every run whose files the
tables hold, after ``--mode append``), the input files, the published and event
date ranges, and each table's rows, files and schema version as read from the
Parquet metadata. A Delta table (``--table-format delta``: a folder with a
``_delta_log``) is read at its current version; its runs are those of its commits
and its schema version is its ``newsevents.schema_version`` property. Then: events
per type on a date axis, top source and target actors, top actor pairs and their
event types, events per country, dead letters by reason, and sample evidence
sentences per event type with the trigger marked.
"""

from __future__ import annotations

import base64
import html
import io
import os
import re
from collections import Counter

__all__ = ["load_tables", "write_report"]

_TOP = 12
_LABEL_CHARS = 28  # fits a 13-inch, two-column figure's tick labels at the default font
_LIST_ITEMS = 20  # input files or run ids shown in the header before "and N more"
# Roles of an event that name a country: where it happened, and its two actors.
_COUNTRY_COLUMNS = ("country_code", "source_country", "target_country")
# Batch files are ``part-<run id>-NNNNN.parquet`` (pipeline.io.commit); streaming
# window files carry a window start instead and match nothing here.
_RUN_FILE = re.compile(r"^part-([0-9a-f]{16})-\d{5}\.parquet$")
# Time bins by the span of the dates: (pandas period, longest span in days, name).
_BINS = (("D", 62, "day"), ("W", 730, "week"), ("M", 20 * 366, "month"), ("Y", None, "year"))


def _datasets(output: str) -> dict:
    import pyarrow.dataset as ds
    from newsevents.pipeline.io.delta import is_delta_table, open_dataset
    from newsevents.pipeline.io.write_tables import has_table_files, table_dir
    from newsevents.schemas.arrow import TABLES

    def dataset(path: str):
        if is_delta_table(path):  # its current files only: an overwrite leaves the replaced ones on disk
            return open_dataset(path)
        return ds.dataset(path, partitioning="hive") if has_table_files(path) else None

    return {name: dataset(table_dir(output, name)) for name in TABLES}


def _delta_facts(output: str) -> dict:
    """``{table: (run ids of its commits, schema version property)}`` of the Delta tables of ``output``."""
    from newsevents.pipeline.io.delta import is_delta_table, table_runs, table_schema_version
    from newsevents.pipeline.io.write_tables import table_dir
    from newsevents.schemas.arrow import TABLES

    return {name: (table_runs(path), table_schema_version(path)) for name in TABLES
            if is_delta_table(path := table_dir(output, name))}


def load_tables(output: str) -> dict:
    """The run's tables as pandas DataFrames (Hive partitions read as columns; Delta tables at their current version)."""
    from newsevents.schemas.arrow import TABLES

    return {name: (data.to_table() if data is not None else TABLES[name].empty_table()).to_pandas()
            for name, data in _datasets(output).items()}


def _ellipsis(label: str, width: int = _LABEL_CHARS) -> str:
    """``label`` cut to at most ``width`` characters, ending in "…" when it was cut."""
    return label if len(label) <= width else label[: width - 1].rstrip() + "…"


def _country_events(events) -> Counter:
    """Events per country: an event counts once for each country it names, in any role.

    An event in France between two French actors is one French event, not three
    (issue 15: the chart said "events" but counted roles).
    """
    columns = [events[c] for c in _COUNTRY_COLUMNS if c in events]
    counts: Counter = Counter()
    for codes in zip(*columns):
        counts.update({c for c in codes if isinstance(c, str) and c})
    return counts


def _figure(height: float = 4.0, columns: int = 1):
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt

    return plt.subplots(1, columns, figsize=(9 if columns == 1 else 13, height), dpi=100)


def _png(fig) -> bytes:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def _empty(ax, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=13, color="#555")
    ax.set_axis_off()


def _values(frame, column: str) -> Counter:
    # pandas shows a missing string as None or NaN: count real strings only.
    return Counter(v for v in frame[column] if isinstance(v, str) and v) if column in frame else Counter()


def _integer_ticks(axis) -> None:
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def _barh(ax, counts: Counter, title: str, color: str, unit: str = "events") -> None:
    items = counts.most_common(_TOP)[::-1]
    if not items:
        _empty(ax, f"{title}: none")
        return
    # Numeric positions, not the labels: two long names cut to the same text stay two bars.
    ax.barh(range(len(items)), [v for _, v in items], color=color)
    ax.set_yticks(range(len(items)), [_ellipsis(k) for k, _ in items])
    ax.set_title(title)
    ax.set_xlabel(unit)
    _integer_ticks(ax.xaxis)


def _when(events):
    """Each event's date: its own when known, else its article's publication day."""
    import pandas as pd

    when = pd.to_datetime(events["event_date"], errors="coerce")
    published = pd.to_datetime(events["published"], errors="coerce", utc=True).dt.tz_localize(None)
    return when.fillna(published.dt.normalize())


def _draw_over_time(ax, events) -> None:
    """Stacked bars of events per type on a real date axis (gaps between dates stay gaps)."""
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd

    frame = events.assign(when=_when(events)).dropna(subset=["when"])
    if frame.empty:
        counts = events["event_type"].value_counts().sort_index()
        ax.bar(counts.index, counts.values, color="#4c72b0")
        ax.set_title("Events per type (no dates known)")
        ax.tick_params(axis="x", rotation=60)
        ax.set_ylabel("events")
        return
    span = (frame["when"].max() - frame["when"].min()).days
    freq, name = next((f, n) for f, limit, n in _BINS if limit is None or span <= limit)
    table = (frame.assign(period=frame["when"].dt.to_period(freq))
             .groupby(["period", "event_type"]).size().unstack(fill_value=0).sort_index())
    periods = pd.PeriodIndex(table.index)
    starts = mdates.date2num(periods.to_timestamp(how="start").to_pydatetime())
    widths = (mdates.date2num((periods + 1).to_timestamp(how="start").to_pydatetime()) - starts) * 0.9
    bottom = np.zeros(len(table))
    colors = plt.get_cmap("tab20")
    for i, event_type in enumerate(table.columns):
        values = table[event_type].to_numpy()
        ax.bar(starts, values, width=widths, bottom=bottom, align="edge", color=colors(i % 20), label=event_type)
        bottom += values
    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    _integer_ticks(ax.yaxis)
    ax.set_title(f"Events per type over time (per {name}; event date, else published)")
    ax.legend(fontsize=7, ncol=2, bbox_to_anchor=(1.01, 1), loc="upper left")
    ax.set_ylabel("events")


def _plot_over_time(events):
    fig, ax = _figure(4.5)
    if events.empty:
        _empty(ax, "No events")
    else:
        _draw_over_time(ax, events)
    return fig


def _plot_actors(events):
    fig, (left, right) = _figure(5.0, columns=2)
    _barh(left, _values(events, "source_actor"), "Top source actors", "#4c72b0")
    _barh(right, _values(events, "target_actor"), "Top target actors", "#dd8452")
    return fig


def _plot_pairs(events):
    fig, ax = _figure(5.0)
    both = events.dropna(subset=["source_actor", "target_actor"]) if not events.empty else events
    if both.empty:
        _empty(ax, "No events with both a source and a target")
        return fig
    # Counted on the full names; only the tick labels are cut.
    table = both.groupby(["source_actor", "target_actor", "event_type"]).size().unstack(fill_value=0)
    table = table.loc[table.sum(axis=1).sort_values(kind="stable").index[-_TOP:]]
    table.plot(kind="barh", stacked=True, ax=ax, colormap="tab20")
    half = _LABEL_CHARS * 3 // 4
    ax.set_yticks(range(len(table)), [f"{_ellipsis(s, half)} → {_ellipsis(t, half)}" for s, t in table.index])
    ax.set_title("Top actor pairs (source → target) and their event types")
    ax.set_xlabel("events")
    ax.set_ylabel("")
    _integer_ticks(ax.xaxis)
    ax.legend(fontsize=7, bbox_to_anchor=(1.01, 1), loc="upper left")
    return fig


def _plot_countries(events):
    fig, ax = _figure(4.0)
    _barh(ax, _country_events(events), "Countries (events with the country as place, source or target)", "#55a868")
    return fig


def _plot_dead(dead):
    fig, ax = _figure(3.0)
    _barh(ax, _values(dead, "reason"), "Dead letters by reason", "#c44e52", unit="dead letters")
    return fig


def _text(value) -> str:
    return value if isinstance(value, str) else ""  # None or NaN from pandas


def _highlight(sentence, trigger) -> str:
    sentence, trigger = _text(sentence), _text(trigger)
    if trigger and trigger in sentence:
        i = sentence.index(trigger)
        return (html.escape(sentence[:i]) + "<mark>" + html.escape(trigger) + "</mark>"
                + html.escape(sentence[i + len(trigger):]))
    return html.escape(sentence)


def _samples(events, per_type: int = 3) -> str:
    if events.empty:
        return "<p>No events.</p>"
    rows = []
    ranked = events.sort_values(["event_type", "confidence"], ascending=[True, False])
    for event_type, group in ranked.groupby("event_type", sort=True):
        for _, e in group.head(per_type).iterrows():
            rows.append(
                f"<tr><td>{html.escape(event_type)}</td><td>{html.escape(_text(e.get('source_actor')))}</td>"
                f"<td>{html.escape(_text(e.get('target_actor')))}</td>"
                f"<td>{_highlight(e.get('sentence_text'), e.get('trigger'))}</td>"
                f"<td>{html.escape(str(e['doc_id']))}</td><td>{float(e['confidence']):.2f}</td></tr>")
    return ("<table><tr><th>type</th><th>source</th><th>target</th><th>evidence (trigger marked)</th>"
            "<th>document</th><th>confidence</th></tr>" + "".join(rows) + "</table>")


def _listed(items: list[str], code: bool = False) -> str:
    shown = [f"<code>{html.escape(i)}</code>" if code else html.escape(i) for i in items[:_LIST_ITEMS]]
    more = f" and {len(items) - _LIST_ITEMS} more" if len(items) > _LIST_ITEMS else ""
    return ", ".join(shown) + more if shown else "none"


def _distinct(frame, column: str) -> list[str]:
    return sorted(_values(frame, column))


def _range(values) -> str:
    import pandas as pd

    days = pd.to_datetime(values, errors="coerce", utc=True).dropna()
    if days.empty:
        return "unknown"
    first, last = days.min().strftime("%Y-%m-%d"), days.max().strftime("%Y-%m-%d")
    return first if first == last else f"{first} – {last}"


def _schema_versions(files: list[str]) -> list[str]:
    import pyarrow.parquet as pq

    versions = set()
    for path in files:
        metadata = pq.read_schema(path).metadata or {}
        versions.add(metadata.get(b"newsevents.schema_version", b"").decode() or "none recorded")
    return sorted(versions)


def _header(tables: dict, datasets: dict, summary: dict, delta: dict | None = None) -> str:
    """What the page describes: runs, inputs, dates, tables and their versions, models."""
    from newsevents.pipeline.io.read_articles import split_location

    docs, events, dead = tables["documents"], tables["events"], tables["dead_letters"]
    if summary.get("streaming"):
        last = "a streaming run (no run id)"
    elif summary.get("run_id"):
        last = f"<code>{html.escape(str(summary['run_id']))}</code>"
    else:
        last = "unknown (no _SUMMARY.json)"
    if summary.get("mode"):
        last += f", mode {html.escape(str(summary['mode']))}"
    delta = delta or {}
    runs = sorted({m.group(1) for name, data in datasets.items() if data is not None and name not in delta
                   for m in (_RUN_FILE.match(os.path.basename(f)) for f in data.files) if m}
                  | {run for runs_of, _ in delta.values() for run in runs_of})
    # From the tables, not only the last summary: after --mode append they hold every run's inputs.
    per_input: Counter = Counter(split_location(loc)[0] for loc in _values(docs, "input_location").elements())
    dead_inputs = {split_location(loc)[0] for loc in _values(dead, "input_location")}
    inputs = sorted(set(per_input) | dead_inputs | set(summary.get("by_file", {})))
    rows = []
    for name, data in datasets.items():
        files = data.files if data is not None else []
        if name in delta:
            versions = delta[name][1] or "none recorded"
        else:
            versions = ", ".join(_schema_versions(files)) or "no files"
        rows.append(f"<tr><td>{name}</td><td>{len(tables[name])}</td><td>{len(files)}</td>"
                    f"<td>{html.escape(versions)}</td></tr>")
    items = [
        ("Run", last),
        ("Runs in the tables", _listed(runs, code=True)),
        ("Inputs", _listed([f"{p} ({per_input[p]} document{'' if per_input[p] == 1 else 's'})" for p in inputs])),
        ("Published", _range(docs["published"])),
        ("Event dates", _range(events["event_date"])),
        ("Pipeline", _listed(_distinct(events, "pipeline_version"))),
        ("Models", _listed(_distinct(events, "ner_model") + _distinct(events, "event_model"))),
    ]
    facts = {
        "documents": len(docs), "entity mentions": len(tables["entities"]), "events": len(events),
        "dead letters": len(dead), "records read by the last run": summary.get("records_read", "?"),
    }
    spans = "".join(f"<span><b>{v}</b> {k}</span>" for k, v in facts.items())
    return ("<header id='run'><h1>newsevents run report</h1><dl>"
            + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in items) + "</dl>"
            + "<table class='versions'><tr><th>table</th><th>rows</th><th>files</th>"
            f"<th>schema version ({'Delta table property' if delta else 'Parquet metadata'})</th></tr>"
            + "".join(rows) + "</table>"
            + f"<p class='facts'>{spans}</p></header>")


_STYLE = """body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;color:#222}
img{max-width:100%;border:1px solid #ddd;margin:.5em 0}table{border-collapse:collapse;font-size:.9em}
td,th{border:1px solid #ddd;padding:.3em .5em;vertical-align:top}mark{background:#ffe066}
dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{font-weight:600}dd{margin:0}
.facts span{display:inline-block;margin-right:1.5em}"""


def write_report(output: str, single_file: bool = False) -> str:
    """Render ``OUTPUT/report.html``; returns the page's path.

    Args:
        output: a run's ``--output`` directory.
        single_file: embed the plots in the page (``data:`` URIs) instead of
            writing them to ``OUTPUT/_report/``, so the page stands alone.
    """
    if not os.path.isdir(output):
        from newsevents.schemas.errors import ConfigError

        raise ConfigError(f"{output!r} is not a newsevents output directory.")
    from newsevents.pipeline.metrics import read_summary

    datasets = _datasets(output)
    tables = load_tables(output)
    events, dead = tables["events"], tables["dead_letters"]
    plots = [
        ("Events over time", "events_over_time.png", _plot_over_time(events)),
        ("Actors", "top_actors.png", _plot_actors(events)),
        ("Actor pairs", "top_pairs.png", _plot_pairs(events)),
        ("Countries", "countries.png", _plot_countries(events)),
        ("Dead letters", "dead_letters.png", _plot_dead(dead)),
    ]
    directory = os.path.join(output, "_report")
    if not single_file:
        os.makedirs(directory, exist_ok=True)
    body = [_header(tables, datasets, read_summary(output), _delta_facts(output))]
    for title, name, fig in plots:
        png = _png(fig)
        if single_file:
            src = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        else:
            with open(os.path.join(directory, name), "wb") as fh:
                fh.write(png)
            src = f"_report/{name}"
        body.append(f"<h2>{title}</h2><img src='{src}' alt='{html.escape(title)}'>")
    body.append("<h2>Evidence sentences per event type</h2>" + _samples(events))
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>newsevents report</title>"
            f"<style>{_STYLE}</style></head><body>{''.join(body)}</body></html>")
    path = os.path.join(output, "report.html")
    with open(path + ".tmp", "w", encoding="utf-8") as fh:
        fh.write(page)
    os.replace(path + ".tmp", path)
    return path
