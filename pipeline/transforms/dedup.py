"""Drop duplicate articles: the same id, or the same text once normalised.

Each duplicate becomes a dead letter with reason ``duplicate`` that names the
copy kept, so it is counted (records read = documents + dead letters still
holds) and nothing is silently lost. The copy kept is the first by input
location (file, then line), so the choice does not depend on the runner.
An article whose text cannot be keyed (an unexpected exception) becomes a dead
letter with reason ``internal_error`` instead of failing the job, and one whose
id is not valid Unicode (a lone surrogate) one with reason ``missing_id``: every
grouping by id would fail on it.

In ``--mode append`` the documents an earlier run wrote take part too
(:class:`ReadOutputKeys`): an article with the id or the text key of one of them
is a ``duplicate`` dead letter whose message begins with ``ALREADY_IN_OUTPUT``,
and every copy of it in this run is one, since the copy kept is already written.
They are joined in the same two groupings, so the existing output is read in
parallel, two columns of it, and never held in one process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator, Sequence

import apache_beam as beam
import pyarrow.parquet as pq
from newsevents.models.document import PAYLOAD_CHARS, text_key
from newsevents.pipeline.io.read_articles import split_location
from newsevents.pipeline.split import SplitByType
from newsevents.schemas.errors import ALREADY_IN_OUTPUT, Reason, Stage, describe_exception
from newsevents.schemas.records import Article, DeadLetter

__all__ = ["Deduplicate", "InOutput", "ReadOutputKeys", "output_keys", "text_key"]



@dataclass(frozen=True)
class InOutput:
    """A document an earlier run wrote into the output: what an append compares new articles with."""

    doc_id: str
    text_hash: str | None  # None in files written before schema 1.4.0: matched by id only


def output_keys(path: str) -> Iterator[InOutput]:
    """The keys of every row of one ``documents`` Parquet file, reading only its two key columns."""
    parquet = pq.ParquetFile(path)
    has_hash = "text_hash" in parquet.schema_arrow.names
    for batch in parquet.iter_batches(batch_size=65_536, columns=["doc_id", "text_hash"] if has_hash else ["doc_id"]):
        ids = batch.column(0).to_pylist()
        hashes = batch.column(1).to_pylist() if has_hash else [None] * len(ids)
        for doc_id, text_hash in zip(ids, hashes):
            yield InOutput(doc_id, text_hash)


class ReadOutputKeys(beam.PTransform):
    """Documents files -> their :class:`InOutput` keys, one file per element so that runners spread them.

    Example::

        in_output = p | ReadOutputKeys(document_files("out/"))
    """

    def __init__(self, paths: Sequence[str]) -> None:
        super().__init__()
        self._paths = list(paths)

    def expand(self, begin):
        return begin | "Files" >> beam.Create(self._paths) | "Keys" >> beam.FlatMap(output_keys)


def _keep_first(what: str):
    def split(item: tuple[str, Iterable[Article | InOutput]]) -> Iterator:
        copies, earlier = [], []
        for x in item[1]:
            (earlier if isinstance(x, InOutput) else copies).append(x)
        # (file, line number): line 9 sorts before line 10.
        copies.sort(key=lambda a: (split_location(a.input_location), a.doc_id))
        if earlier:
            kept = min(e.doc_id for e in earlier)
            for dup in copies:
                yield DeadLetter(
                    Stage.READ.value, Reason.DUPLICATE.value,
                    f"{ALREADY_IN_OUTPUT} {what} as the document {kept!r} an earlier run wrote there, so it is not "
                    "written again (--mode append).",
                    dup.doc_id, dup.text[:PAYLOAD_CHARS], dup.input_location)
            return
        if not copies:
            return
        yield copies[0]
        for dup in copies[1:]:
            yield DeadLetter(
                Stage.READ.value, Reason.DUPLICATE.value,
                f"Duplicate article: {what} as {copies[0].doc_id!r} at {copies[0].input_location}, which was kept.",
                dup.doc_id, dup.text[:PAYLOAD_CHARS], dup.input_location)

    return split


def _key_by_id(article: Article) -> Iterator:
    try:
        article.doc_id.encode("utf-8")
    except UnicodeEncodeError as exc:
        # Beam encodes grouping keys as UTF-8, so this id would fail the job at the first GroupByKey.
        yield DeadLetter(Stage.READ.value, Reason.MISSING_ID.value,
                         f"The record's 'id' is not valid Unicode ({exc.reason} at character {exc.start}, from a "
                         "JSON \\ud800-style escape without its pair); give every article a valid id.",
                         article.doc_id, article.text[:PAYLOAD_CHARS], article.input_location)
        return
    yield article.doc_id, article


def _key_by_text(article: Article) -> Iterator:
    try:
        yield text_key(article.text), article
    except Exception as exc:  # noqa: BLE001 - one article's failure must become a dead letter, not fail the job
        yield DeadLetter(Stage.READ.value, Reason.INTERNAL_ERROR.value,
                         f"Checking the article for duplicates failed unexpectedly: {describe_exception(exc)}. "
                         "This is a bug in newsevents; please report it with this row's payload.",
                         article.doc_id, article.text[:PAYLOAD_CHARS], article.input_location)


class Deduplicate(beam.PTransform):
    """Articles -> ``(unique articles, dead letters)``: the duplicates, and the articles that cannot be keyed.

    Args:
        in_output: the :class:`InOutput` keys of documents already in the output (``--mode append``),
            or None to compare the articles with each other only.

    Example::

        unique, dead = articles | Deduplicate()
        unique, dead = articles | Deduplicate(p | ReadOutputKeys(document_files("out/")))
    """

    def __init__(self, in_output=None) -> None:
        super().__init__()
        self._in_output = in_output

    def expand(self, articles):
        by_id, bad_id = (articles | "KeyById" >> beam.FlatMap(_key_by_id)
                         | "ValidIds" >> SplitByType(tuple, DeadLetter))
        if self._in_output is not None:
            by_id = (by_id, self._in_output | "OutputById" >> beam.Map(lambda k: (k.doc_id, k))) | (
                "WithOutputIds" >> beam.Flatten())
        unique_ids, same_id = (
            by_id
            | "GroupById" >> beam.GroupByKey()
            | "FirstById" >> beam.FlatMap(_keep_first("same id"))
            | "SplitById" >> SplitByType(Article, DeadLetter)
        )
        keyed, unkeyable = (unique_ids | "KeyByText" >> beam.FlatMap(_key_by_text)
                            | "Keyed" >> SplitByType(tuple, DeadLetter))
        if self._in_output is not None:
            by_text = self._in_output | "OutputByText" >> beam.FlatMap(
                lambda k: [(k.text_hash, k)] if k.text_hash is not None else [])
            keyed = (keyed, by_text) | "WithOutputTexts" >> beam.Flatten()
        unique, same_text = (
            keyed
            | "GroupByText" >> beam.GroupByKey()
            | "FirstByText" >> beam.FlatMap(_keep_first("same text"))
            | "SplitByText" >> SplitByType(Article, DeadLetter)
        )
        return unique, (bad_id, same_id, same_text, unkeyable) | "AllDuplicates" >> beam.Flatten()
