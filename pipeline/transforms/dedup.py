"""Drop duplicate articles: the same id, or the same text once normalised.

Each duplicate becomes a dead letter with reason ``duplicate`` that names the
copy kept, so it is counted (records read = documents + dead letters still
holds) and nothing is silently lost. The copy kept is the first by input
location (file, then line), so the choice does not depend on the runner.
An article whose text cannot be keyed (an unexpected exception) becomes a dead
letter with reason ``internal_error`` instead of failing the job, and one whose
id is not valid Unicode (a lone surrogate) one with reason ``missing_id``: every
grouping by id would fail on it.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Iterable, Iterator

import apache_beam as beam

from pipeline.errors import Reason, Stage, describe_exception
from pipeline.io.read_articles import split_location
from pipeline.transforms.split import SplitByType
from schemas.records import Article, DeadLetter

__all__ = ["Deduplicate", "text_key"]

PAYLOAD_CHARS = 2000
_SPACE = re.compile(r"\s+")


def text_key(text: str) -> str:
    """A hash of the text as a reader sees it: NFKC, case-folded, whitespace collapsed."""
    norm = _SPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()
    return hashlib.sha256(norm.encode("utf-8", errors="surrogatepass")).hexdigest()


def _keep_first(what: str):
    def split(item: tuple[str, Iterable[Article]]) -> Iterator:
        # (file, line number): line 9 sorts before line 10.
        copies = sorted(item[1], key=lambda a: (split_location(a.input_location), a.doc_id))
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

    Example::

        unique, dead = articles | Deduplicate()
    """

    def expand(self, articles):
        by_id, bad_id = (articles | "KeyById" >> beam.FlatMap(_key_by_id)
                         | "ValidIds" >> SplitByType(tuple, DeadLetter))
        unique_ids, same_id = (
            by_id
            | "GroupById" >> beam.GroupByKey()
            | "FirstById" >> beam.FlatMap(_keep_first("same id"))
            | "SplitById" >> SplitByType(Article, DeadLetter)
        )
        keyed, unkeyable = (unique_ids | "KeyByText" >> beam.FlatMap(_key_by_text)
                            | "Keyed" >> SplitByType(tuple, DeadLetter))
        unique, same_text = (
            keyed
            | "GroupByText" >> beam.GroupByKey()
            | "FirstByText" >> beam.FlatMap(_keep_first("same text"))
            | "SplitByText" >> SplitByType(Article, DeadLetter)
        )
        return unique, (bad_id, same_id, same_text, unkeyable) | "AllDuplicates" >> beam.Flatten()
