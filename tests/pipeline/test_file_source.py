"""Both streaming paths read the same files of a watched directory (issue 17, part 3).

The local micro-batches list ``FileSource.settled``; the Beam streaming graph matches
the same source every poll (``WatchArticles``). One directory holds what a producer
leaves around: hidden names, a ``_`` name, another kind of file, a file still being
written. README "Streaming": hidden names (``.name.jsonl``) are never read, a ``_``
name is an ordinary input, a file is read once unchanged for ``--settle-seconds``.
"""

from __future__ import annotations

import json
import os
import time

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.util import assert_that, equal_to
from newsevents.pipeline.io.file_source import FileSource, is_watchable
from newsevents.pipeline.io.read_articles import expand_input, split_location
from newsevents.pipeline.streaming import WatchArticles

SETTLE = 30.0
READ = ["_underscore.jsonl", "a.jsonl", "sub/b.ndjson", "sub/c.txt"]
NOT_READ = [".hidden.jsonl", "sub/.c.txt.part.jsonl", "notes.csv", "fresh.jsonl"]


def _doc_id(rel: str) -> str:
    # A .txt file's article is named by the file's relative path; a JSON record by its own id.
    return rel if rel.endswith(".txt") else os.path.basename(rel).split(".")[0] or "x"


def _watched(tmp_path):
    watch = tmp_path / "watch"
    (watch / "sub").mkdir(parents=True)
    old = time.time() - 2 * SETTLE
    for rel in READ + NOT_READ:
        path = watch / rel
        path.write_text("Police arrested two men.\n" if rel.endswith(".txt") else
                        json.dumps({"id": _doc_id(rel), "text": "Police arrested two men."}) + "\n")
        if rel != "fresh.jsonl":  # still being written: changed just now
            os.utime(path, (old, old))
    return watch


def test_the_local_listing_reads_the_readme_rule(tmp_path):
    watch = _watched(tmp_path)
    source = FileSource.watching(str(watch), SETTLE)
    assert [f.relative for f in source.settled(time.time())] == READ
    assert [f.path for f in source.settled(time.time())] == [str(watch / rel) for rel in READ]
    # A batch run names the same files the same way (their records' ids start with it), the fresh one too.
    assert [f.relative for f in expand_input(str(watch))] == sorted(READ + ["fresh.jsonl"])


def test_the_beam_streaming_graph_reads_the_files_the_micro_batches_read(tmp_path):
    watch = _watched(tmp_path)
    local = FileSource.watching(str(watch), SETTLE).settled(time.time())
    with beam.Pipeline(options=PipelineOptions(["--streaming"])) as p:
        articles, dead = p | WatchArticles(str(watch), 10_000, window_seconds=60, lateness_seconds=86_400,
                                           poll_seconds=0.2, settle_seconds=SETTLE, max_seconds=2)
        files = articles | beam.Map(lambda a: (split_location(a.input_location)[0], a.doc_id))
        assert_that(files, equal_to([(f.path, _doc_id(f.relative)) for f in local]), label="SameFiles")
        assert_that(dead, equal_to([]), label="NoDeadLetters")


def test_a_glob_is_watched_from_its_directory(tmp_path):
    watch = _watched(tmp_path)
    source = FileSource.watching(str(watch / "sub" / "*"), SETTLE)
    assert source.root == str(watch / "sub") + os.sep
    assert [f.relative for f in source.settled(time.time())] == ["b.ndjson", "c.txt"]
    assert is_watchable(str(watch)) and is_watchable(str(tmp_path / "not-yet" / "*.jsonl"))
    assert not is_watchable(str(watch / "a.jsonl")) and not is_watchable(str(tmp_path / "missing"))
