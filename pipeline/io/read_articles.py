"""Reading articles: JSON Lines and plain-text files, from a file, directory or glob.

Parsing is a pure function per record (``parse_json_record``, ``parse_text_file``)
returning an ``Article`` or a ``DeadLetter``; the Beam DoFn only reads bytes and
counts. Every record read becomes exactly one of the two.
"""

from __future__ import annotations

import datetime as dt
import glob
import json
import os
from dataclasses import dataclass
from typing import Any, Iterator

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from pipeline import progress
from pipeline.errors import ConfigError, Reason, Stage
from pipeline.transforms.split import SplitByType
from schemas.records import Article, DeadLetter

__all__ = [
    "READ_NAMESPACE",
    "InputFile",
    "ParseFiles",
    "ReadArticles",
    "count_records",
    "expand_input",
    "parse_json_record",
    "parse_published",
    "parse_text_file",
    "read_lines",
    "split_location",
]

READ_NAMESPACE = "newsevents.records_read"  # counter name: the input file's path
JSON_SUFFIXES = (".jsonl", ".ndjson", ".json")
TEXT_SUFFIXES = (".txt",)
PAYLOAD_CHARS = 2000
_OPTIONAL = ("title", "url", "source", "language")


@dataclass(frozen=True, order=True)
class InputFile:
    """A file to read and the id prefix of its records (path relative to the input root)."""

    path: str
    relative: str

    @property
    def is_text(self) -> bool:
        return self.path.lower().endswith(TEXT_SUFFIXES)


def _has_glob(path: str) -> bool:
    return any(c in path for c in "*?[")


def expand_input(spec: str) -> list[InputFile]:
    """Files named by ``--input``: a file, a directory (read recursively) or a glob.

    Raises:
        ConfigError: nothing matches, with the path in the message.
    """
    suffixes = JSON_SUFFIXES + TEXT_SUFFIXES
    if "://" in spec:  # remote filesystems (gs://, s3://, ...) through Beam
        pattern = spec.rstrip("/") + "/**" if not _has_glob(spec) and not spec.lower().endswith(suffixes) else spec
        root = pattern.split("*")[0].rsplit("/", 1)[0]
        paths = [m.path for r in FileSystems.match([pattern]) for m in r.metadata_list]
    elif os.path.isdir(spec):
        root = spec
        paths = [os.path.join(d, f) for d, _, fs in os.walk(spec) for f in fs]
    elif _has_glob(spec):
        root = spec.split("*")[0].split("?")[0].split("[")[0]
        root = root if root.endswith(os.sep) else os.path.dirname(root)
        paths = [p for p in glob.glob(spec, recursive=True) if os.path.isfile(p)]
    elif os.path.isfile(spec):
        root = os.path.dirname(spec)
        paths = [spec]
    else:
        raise ConfigError(f"--input {spec!r} is not a file, directory or glob that matches anything.")
    files = sorted(
        InputFile(p, os.path.relpath(p, root) if "://" not in p else p[len(root) :].lstrip("/"))
        for p in paths
        if p.lower().endswith(suffixes) and not os.path.basename(p).startswith(".")
    )
    if not files:
        raise ConfigError(
            f"--input {spec!r} matched no .jsonl, .ndjson, .json or .txt files; check the path."
        )
    return files


def parse_published(value: Any) -> tuple[dt.datetime | None, str | None]:
    """ISO 8601 string -> aware UTC datetime, or ``(None, note)`` when unusable.

    A date without a time is taken as midnight UTC; a time without a zone as UTC.
    """
    if value is None:
        return None, None
    if not isinstance(value, str):
        return None, f"published: expected an ISO 8601 string, got {type(value).__name__}; set to null."
    text = value.strip()
    try:
        parsed = dt.datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        return None, f"published: {value[:60]!r} is not an ISO 8601 date; set to null."
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.astimezone(dt.timezone.utc), None


def _dead(reason: Reason, error: str, payload: str | bytes, location: str, doc_id: str | None = None) -> DeadLetter:
    if isinstance(payload, bytes):
        payload = payload[:PAYLOAD_CHARS].decode("utf-8", errors="replace")
    return DeadLetter(Stage.READ.value, reason.value, error, doc_id, payload[:PAYLOAD_CHARS], location)


def _check_text(text: Any, location: str, payload: str, doc_id: str | None, max_chars: int) -> DeadLetter | None:
    if text is None:
        return _dead(Reason.MISSING_TEXT, "The record has no 'text' field; add the article body as 'text'.",
                     payload, location, doc_id)
    if not isinstance(text, str):
        return _dead(Reason.TEXT_NOT_STRING, f"'text' must be a string, got {type(text).__name__}.",
                     payload, location, doc_id)
    if not text.strip():
        return _dead(Reason.EMPTY_TEXT, "'text' is empty or only whitespace.", payload, location, doc_id)
    if len(text) > max_chars:
        return _dead(Reason.TOO_LARGE, f"'text' has {len(text):,} characters, over the limit of {max_chars:,} "
                     "(raise it with --max-article-chars).", payload, location, doc_id)
    return None


def parse_json_record(raw: bytes, location: str, max_chars: int) -> Article | DeadLetter:
    """One JSON Lines record -> ``Article`` or ``DeadLetter`` (never raises)."""
    if len(raw) > 8 * max_chars + 65536:  # don't even parse: JSON escapes take at most 6 bytes a char
        return _dead(Reason.TOO_LARGE, f"The record is {len(raw):,} bytes, far over the article limit of "
                     f"{max_chars:,} characters (raise it with --max-article-chars).", raw, location)
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return _dead(Reason.NOT_UTF8, f"The record is not valid UTF-8 ({exc.reason} at byte {exc.start}); "
                     "re-encode the file as UTF-8.", raw, location)
    try:
        obj = json.loads(line)
    except (ValueError, RecursionError) as exc:
        return _dead(Reason.INVALID_JSON, f"The record is not valid JSON: {exc}.", line, location)
    if not isinstance(obj, dict):
        return _dead(Reason.NOT_AN_OBJECT, f"Each line must be a JSON object, got {type(obj).__name__}.",
                     line, location)
    doc_id = obj.get("id")
    notes: list[str] = []
    if isinstance(doc_id, (int, float)) and not isinstance(doc_id, bool):
        doc_id = str(doc_id)
        notes.append("id: a number, converted to a string.")
    if not isinstance(doc_id, str) or not doc_id.strip():
        return _dead(Reason.MISSING_ID, "The record has no usable 'id' (a non-empty string); give every "
                     "article a stable id.", line, location)
    bad = _check_text(obj.get("text"), location, line, doc_id, max_chars)
    if bad is not None:
        return bad
    fields: dict[str, Any] = {}
    for key in _OPTIONAL:
        value = obj.get(key)
        if value is not None and not isinstance(value, str):
            notes.append(f"{key}: expected a string, got {type(value).__name__}; set to null.")
            value = None
        fields[key] = value
    published, note = parse_published(obj.get("published"))
    if note:
        notes.append(note)
    return Article(doc_id=doc_id, text=obj["text"], published=published, input_location=location,
                   notes=tuple(notes), **fields)


def parse_text_file(raw: bytes, doc_id: str, location: str, max_chars: int) -> Article | DeadLetter:
    """A whole ``.txt`` file -> one ``Article`` whose id is the file's relative path."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return _dead(Reason.NOT_UTF8, f"The file is not valid UTF-8 ({exc.reason} at byte {exc.start}); "
                     "re-encode it as UTF-8.", raw, location, doc_id)
    bad = _check_text(text, location, text, doc_id, max_chars)
    return bad if bad is not None else Article(doc_id=doc_id, text=text, input_location=location)


def split_location(location: str | None) -> tuple[str, int]:
    """An input location -> ``(file, line)``: ``"path:12"`` for JSON Lines records, ``"path"`` (line 0) for text files.

    >>> split_location("in/a.jsonl:12"), split_location("in/memo.txt")
    (('in/a.jsonl', 12), ('in/memo.txt', 0))
    """
    if not location:
        return "", 0
    path, _, line = location.rpartition(":")
    return (path, int(line)) if path and line.isdigit() else (location, 0)


def read_lines(fh, limit: int, block_size: int = 1 << 20) -> Iterator[tuple[int, bytes | None]]:
    """``(line number, line)`` of a binary file in bounded memory.

    A line longer than ``limit`` bytes comes out as ``None`` and its bytes are
    skipped, never held: one runaway line cannot exhaust a worker's memory.
    Trailing ``\r`` is stripped; a last line without ``\n`` (a truncated file) is kept.
    """
    parts: list[bytes] = []
    size, lineno, skipping = 0, 0, False
    while True:
        block = fh.read(block_size)
        if not block:
            break
        start = 0
        while True:
            nl = block.find(b"\n", start)
            piece = block[start:] if nl < 0 else block[start:nl]
            if not skipping:
                parts.append(piece)
                size += len(piece)
                if size > limit:
                    parts, size, skipping = [], 0, True
            if nl < 0:
                break
            lineno += 1
            yield lineno, None if skipping else b"".join(parts).rstrip(b"\r")
            parts, size, skipping = [], 0, False
            start = nl + 1
    if skipping or size:
        yield lineno + 1, None if skipping else b"".join(parts).rstrip(b"\r")


def _json_limit(max_chars: int) -> int:
    return 8 * max_chars + 65536  # JSON escapes take at most 6 bytes a character


def count_records(files: list[InputFile], max_chars: int) -> dict[str, int]:
    """Records per input file, counted the way the reader counts them.

    For runners that report no Beam metrics (Dask): the run's accounting then
    compares the tables with this independent count.
    """
    counts = {}
    for item in files:
        with FileSystems.open(item.path) as fh:
            if item.is_text:
                counts[item.path] = 1
            else:
                counts[item.path] = sum(1 for _, raw in read_lines(fh, _json_limit(max_chars))
                                        if raw is None or raw.strip())
    return counts


class _ReadFile(beam.DoFn):
    def __init__(self, max_chars: int) -> None:
        self._max_chars = max_chars

    def process(self, item: InputFile) -> Iterator[Any]:
        read = Metrics.counter(READ_NAMESPACE, item.path)  # one counter per file: accounting per file
        # Records stream out as they are parsed (a large file is never held whole).
        line = 0
        try:
            for line, rec in self._records(item):
                read.inc()
                progress.bump("records")
                yield rec
        except OSError as exc:
            read.inc()
            progress.bump("records")
            where = f"{item.path}:{line + 1}" if line else item.path
            yield _dead(Reason.UNREADABLE_FILE, f"Could not read the file from here on: {exc}.", "", where)

    def _records(self, item: InputFile) -> Iterator[tuple[int, Article | DeadLetter]]:
        with FileSystems.open(item.path) as fh:
            if item.is_text:
                limit = 4 * self._max_chars + 3  # UTF-8 takes at most 4 bytes a character, plus a BOM
                raw = fh.read(limit + 1)
                if len(raw) > limit:
                    yield 0, _dead(Reason.TOO_LARGE, f"The file is over {limit:,} bytes, more than the article "
                                   f"limit of {self._max_chars:,} characters (raise it with --max-article-chars).",
                                   raw[:PAYLOAD_CHARS], item.path, item.relative)
                    return
                yield 0, parse_text_file(raw, item.relative, item.path, self._max_chars)
                return
            limit = _json_limit(self._max_chars)
            for lineno, raw in read_lines(fh, limit):
                location = f"{item.path}:{lineno}"
                if raw is None:
                    yield lineno, _dead(Reason.TOO_LARGE, f"The record is over {limit:,} bytes, far over the "
                                        f"article limit of {self._max_chars:,} characters (raise it with "
                                        "--max-article-chars).", b"", location)
                elif raw.strip():
                    yield lineno, parse_json_record(raw, location, self._max_chars)


class ParseFiles(beam.PTransform):
    """``InputFile`` elements -> ``(articles, dead_letters)``; used by the batch and the streaming reader."""

    def __init__(self, max_chars: int) -> None:
        super().__init__()
        self._max_chars = max_chars

    def expand(self, files):
        return (
            files
            | "ParseRecords" >> beam.ParDo(_ReadFile(self._max_chars))
            | "ByType" >> SplitByType(Article, DeadLetter)
        )


class ReadArticles(beam.PTransform):
    """Read articles from files; returns a tuple ``(articles, dead_letters)``.

    Example::

        articles, dead = p | ReadArticles(expand_input("samples/"), max_chars=1_000_000)
    """

    def __init__(self, files: list[InputFile], max_chars: int) -> None:
        super().__init__()
        self._files = files
        self._max_chars = max_chars

    def expand(self, pbegin):
        return (
            pbegin
            | "ListFiles" >> beam.Create(self._files)
            | "SpreadFiles" >> beam.Reshuffle()
            | "Parse" >> ParseFiles(self._max_chars)
        )
