"""``newsevents report OUT``: one HTML page with plots of a run, for looking before reading.

Writes ``OUT/report.html`` and its PNG plots under ``OUT/_report/`` (the ``_``
keeps table readers away from it): events per type over time, top source and
target actors, top actor pairs and their event types, countries, dead letters by
reason, and sample evidence sentences per event type with the trigger marked.
"""

from __future__ import annotations

import html
import os
from collections import Counter

__all__ = ["load_tables", "write_report"]

_TOP = 12


def load_tables(output: str) -> dict:
    """The run's tables as pandas DataFrames (Hive partitions read as columns)."""
    import pyarrow.dataset as ds

    from pipeline.io.write_tables import has_table_files, table_dir
    from schemas.arrow import TABLES

    tables = {}
    for name, schema in TABLES.items():
        path = table_dir(output, name)
        table = ds.dataset(path, partitioning="hive").to_table() if has_table_files(path) else schema.empty_table()
        tables[name] = table.to_pandas()
    return tables


def _figure(height: float = 4.0, columns: int = 1):
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt

    return plt.subplots(1, columns, figsize=(9 if columns == 1 else 13, height), dpi=100)


def _save(fig, directory: str, name: str) -> str:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    path = os.path.join(directory, name)
    fig.savefig(path, format="png")
    plt.close(fig)
    return name


def _empty(ax, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=13, color="#555")
    ax.set_axis_off()


def _values(frame, column: str) -> Counter:
    # pandas shows a missing string as None or NaN: count real strings only.
    return Counter(v for v in frame[column] if isinstance(v, str) and v) if column in frame else Counter()


def _barh(ax, counts: Counter, title: str, color: str) -> None:
    items = counts.most_common(_TOP)[::-1]
    if not items:
        _empty(ax, f"{title}: none")
        return
    ax.barh([k for k, _ in items], [v for _, v in items], color=color)
    ax.set_title(title)
    ax.set_xlabel("events")


def _plot_over_time(events, directory: str) -> str:
    import pandas as pd

    fig, ax = _figure(4.5)
    if events.empty:
        _empty(ax, "No events")
        return _save(fig, directory, "events_over_time.png")
    when = pd.to_datetime(events["event_date"], errors="coerce")
    published = pd.to_datetime(events["published"], errors="coerce", utc=True).dt.tz_localize(None)
    when = when.fillna(published)
    frame = events.assign(when=when).dropna(subset=["when"])
    if frame.empty:
        counts = events["event_type"].value_counts().sort_index()
        ax.bar(counts.index, counts.values, color="#4c72b0")
        ax.set_title("Events per type (no dates known)")
        ax.tick_params(axis="x", rotation=60)
    else:
        span = (frame["when"].max() - frame["when"].min()).days
        freq = "D" if span <= 62 else ("W" if span <= 730 else "MS")
        table = frame.groupby([pd.Grouper(key="when", freq=freq), "event_type"]).size().unstack(fill_value=0)
        table.plot(kind="bar", stacked=True, ax=ax, width=0.9, colormap="tab20")
        ax.set_xticklabels([d.strftime("%Y-%m-%d") for d in table.index], rotation=60, fontsize=7)
        ax.set_title(f"Events per type over time (per {dict(D='day', W='week', MS='month')[freq]}; "
                     "event date, else published)")
        ax.legend(fontsize=7, ncol=2, bbox_to_anchor=(1.01, 1), loc="upper left")
        ax.set_xlabel("")
    ax.set_ylabel("events")
    return _save(fig, directory, "events_over_time.png")


def _plot_actors(events, directory: str) -> str:
    fig, (left, right) = _figure(5.0, columns=2)
    _barh(left, _values(events, "source_actor"), "Top source actors", "#4c72b0")
    _barh(right, _values(events, "target_actor"), "Top target actors", "#dd8452")
    return _save(fig, directory, "top_actors.png")


def _plot_pairs(events, directory: str) -> str:
    fig, ax = _figure(5.0)
    both = events.dropna(subset=["source_actor", "target_actor"]) if not events.empty else events
    if both.empty:
        _empty(ax, "No events with both a source and a target")
        return _save(fig, directory, "top_pairs.png")
    pair = both["source_actor"].str.slice(0, 30) + " → " + both["target_actor"].str.slice(0, 30)
    top = pair.value_counts().head(_TOP).index
    table = both.assign(pair=pair)[pair.isin(top)].groupby(["pair", "event_type"]).size().unstack(fill_value=0)
    table = table.loc[table.sum(axis=1).sort_values().index]
    table.plot(kind="barh", stacked=True, ax=ax, colormap="tab20")
    ax.set_title("Top actor pairs (source → target) and their event types")
    ax.set_xlabel("events")
    ax.set_ylabel("")
    ax.legend(fontsize=7, bbox_to_anchor=(1.01, 1), loc="upper left")
    return _save(fig, directory, "top_pairs.png")


def _plot_countries(events, directory: str) -> str:
    fig, ax = _figure(4.0)
    codes = Counter()
    for column in ("country_code", "source_country", "target_country"):
        codes.update(_values(events, column))
    _barh(ax, codes, "Countries (event place, source and target actors)", "#55a868")
    return _save(fig, directory, "countries.png")


def _plot_dead(dead, directory: str) -> str:
    fig, ax = _figure(3.0)
    _barh(ax, Counter(dead["reason"]) if not dead.empty else Counter(), "Dead letters by reason", "#c44e52")
    if not dead.empty:
        ax.set_xlabel("records")
    return _save(fig, directory, "dead_letters.png")


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


_STYLE = """body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;color:#222}
img{max-width:100%;border:1px solid #ddd;margin:.5em 0}table{border-collapse:collapse;font-size:.9em}
td,th{border:1px solid #ddd;padding:.3em .5em;vertical-align:top}mark{background:#ffe066}
.facts span{display:inline-block;margin-right:1.5em}"""


def write_report(output: str) -> str:
    """Render ``OUTPUT/report.html`` (and its PNGs); returns the page's path."""
    if not os.path.isdir(output):
        from pipeline.errors import ConfigError

        raise ConfigError(f"{output!r} is not a newsevents output directory.")
    from pipeline.metrics import read_summary

    tables = load_tables(output)
    events, dead = tables["events"], tables["dead_letters"]
    directory = os.path.join(output, "_report")
    os.makedirs(directory, exist_ok=True)
    images = [
        ("Events over time", _plot_over_time(events, directory)),
        ("Actors", _plot_actors(events, directory)),
        ("Actor pairs", _plot_pairs(events, directory)),
        ("Countries", _plot_countries(events, directory)),
        ("Dead letters", _plot_dead(dead, directory)),
    ]
    summary = read_summary(output)
    facts = {
        "documents": len(tables["documents"]), "entity mentions": len(tables["entities"]), "events": len(events),
        "dead letters": len(dead), "records read": summary.get("records_read", "?"),
    }
    spans = "".join(f"<span><b>{v}</b> {k}</span>" for k, v in facts.items())
    body = [f"<h1>newsevents run report</h1><p class='facts'>{spans}</p>"]
    for title, name in images:
        body.append(f"<h2>{title}</h2><img src='_report/{name}' alt='{html.escape(title)}'>")
    body.append("<h2>Evidence sentences per event type</h2>" + _samples(events))
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>newsevents report</title>"
            f"<style>{_STYLE}</style></head><body>{''.join(body)}</body></html>")
    path = os.path.join(output, "report.html")
    with open(path + ".tmp", "w", encoding="utf-8") as fh:
        fh.write(page)
    os.replace(path + ".tmp", path)
    return path
