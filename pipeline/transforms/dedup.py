"""Drop duplicate articles: the same id, or the same text once normalised.

Each duplicate becomes a dead letter with reason ``duplicate`` that names the
copy kept, so it is counted (records read = documents + dead letters still
holds) and nothing is silently lost. The copy kept is the first by input
location (file, then line), so the choice does not depend on the runner.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Iterable, Iterator

import apache_beam as beam

from pipeline.errors import Reason, Stage
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


class Deduplicate(beam.PTransform):
    """Articles -> ``(unique articles, duplicate dead letters)``.

    Example::

        unique, dups = articles | Deduplicate()
    """

    def expand(self, articles):
        unique_ids, same_id = (
            articles
            | "KeyById" >> beam.Map(lambda a: (a.doc_id, a))
            | "GroupById" >> beam.GroupByKey()
            | "FirstById" >> beam.FlatMap(_keep_first("same id"))
            | "SplitById" >> SplitByType(Article, DeadLetter)
        )
        unique, same_text = (
            unique_ids
            | "KeyByText" >> beam.Map(lambda a: (text_key(a.text), a))
            | "GroupByText" >> beam.GroupByKey()
            | "FirstByText" >> beam.FlatMap(_keep_first("same text"))
            | "SplitByText" >> SplitByType(Article, DeadLetter)
        )
        return unique, (same_id, same_text) | "AllDuplicates" >> beam.Flatten()
