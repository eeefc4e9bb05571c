"""Reading articles: JSON Lines, JSON arrays and plain-text files, from a file, directory or glob.

Parsing is a pure function per record (``parse_json_record``, ``parse_json_element``,
``parse_text_file``) returning an ``Article`` or a ``DeadLetter``; the Beam DoFn only
reads bytes and counts. Every record read becomes exactly one of the two.

Files ending in ``.gz``, ``.bz2`` or ``.zst`` are decompressed as they are read;
their format is judged by the name without that suffix (``a.jsonl.gz`` is JSON
Lines). A ``.json`` file whose first non-blank character is ``[`` is an array of
articles, parsed element by element (issue 14). Damage part way through a file
(a truncated download, a malformed array tail) keeps the records before it and
adds one dead letter for the rest.
"""

from __future__ import annotations

import bz2
import contextlib
import glob
import gzip
import io
import json
import os
import zlib
from dataclasses import dataclass
from typing import Any, Iterator

import apache_beam as beam
import ijson
import zstandard
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics
from newsevents.models.document import PAYLOAD_CHARS, json_payload, parse_published
from newsevents.models.document import article_from_object as _from_object
from newsevents.models.document import check_text as _check_text
from newsevents.models.document import read_dead_letter as _dead
from newsevents.pipeline import progress
from newsevents.pipeline.split import SplitByType
from newsevents.schemas.errors import ConfigError, InputRecordError, Reason
from newsevents.schemas.records import Article, DeadLetter

__all__ = [
    "READ_NAMESPACE",
    "InputFile",
    "ParseFiles",
    "ReadArticles",
    "count_records",
    "expand_input",
    "glob_root",
    "has_glob",
    "is_hidden",
    "is_input_path",
    "is_remote",
    "parse_json_element",
    "parse_json_record",
    "parse_published",
    "parse_text_file",
    "read_file",
    "read_lines",
    "split_location",
]

READ_NAMESPACE = "newsevents.records_read"  # counter name: the input file's path
JSON_SUFFIXES = (".jsonl", ".ndjson", ".json")
TEXT_SUFFIXES = (".txt",)
COMPRESSION_SUFFIXES = (".gz", ".bz2", ".zst", ".zstd")


@dataclass(frozen=True, order=True)
class InputFile:
    """A file to read and the id prefix of its records (path relative to the input root)."""

    path: str
    relative: str

    @property
    def compression(self) -> str | None:
        """The compression suffix (``".gz"``, ``".bz2"``, ``".zst"``, ``".zstd"``), or None."""
        return _split_compression(self.path)[1]

    @property
    def is_text(self) -> bool:
        return _split_compression(self.path)[0].endswith(TEXT_SUFFIXES)

    @property
    def may_be_array(self) -> bool:
        """A ``.json`` file: an array of articles if it starts with ``[``, else JSON Lines."""
        return _split_compression(self.path)[0].endswith(".json")


def _split_compression(path: str) -> tuple[str, str | None]:
    """``(lower-cased name without the compression suffix, that suffix or None)``."""
    lower = path.lower()
    for suffix in COMPRESSION_SUFFIXES:
        if lower.endswith(suffix):
            return lower[: -len(suffix)], suffix
    return lower, None


def is_input_path(path: str) -> bool:
    """Whether the reader reads this file: ``.jsonl``, ``.ndjson``, ``.json`` or ``.txt``, maybe compressed.

    >>> is_input_path("in/a.jsonl.gz"), is_input_path("in/b.TXT"), is_input_path("in/c.csv.gz")
    (True, True, False)
    """
    return _split_compression(path)[0].endswith(JSON_SUFFIXES + TEXT_SUFFIXES)


def is_hidden(path: str) -> bool:
    """Whether a file has a hidden name, and so is never read: a producer is still writing it.

    Producers write under a hidden name and rename when done (README "Streaming").
    The one rule of batch runs and of both streaming paths: a leading ``.``; a
    leading ``_`` is an ordinary name.

    >>> is_hidden("in/.a.jsonl"), is_hidden("in/_a.jsonl"), is_hidden(".in/a.jsonl")
    (True, False, False)
    """
    return os.path.basename(path).startswith(".")


def glob_root(pattern: str) -> str:
    """The directory a local glob's files are named relative to: the directory part before its first wildcard.

    >>> glob_root("in/*.jsonl"), glob_root("in/2026-0?/*.jsonl"), glob_root("in/a[bc].txt")
    ('in/', 'in', 'in')
    """
    root = pattern.split("*")[0].split("?")[0].split("[")[0]
    return root if root.endswith(os.sep) else os.path.dirname(root)


def has_glob(path: str) -> bool:
    """Whether ``path`` has a wildcard (``*``, ``?``, ``[``): it names a glob, not one file or directory."""
    return any(c in path for c in "*?[")


def is_remote(path: str) -> bool:
    """Whether ``path`` is on an object store or remote filesystem (``gs://``, ``s3://``, ...), reached through Beam.

    Such an output is written in place: no lock, no staging, no commit (README "Output modes").

    >>> is_remote("gs://bucket/out"), is_remote("out/demo")
    (True, False)
    """
    return "://" in path


def expand_input(spec: str) -> list[InputFile]:
    """Files named by ``--input``: a file, a directory (read recursively) or a glob.

    Raises:
        ConfigError: nothing matches, with the path in the message.
    """
    if is_remote(spec):
        pattern = spec.rstrip("/") + "/**" if not has_glob(spec) and not is_input_path(spec) else spec
        root = pattern.split("*")[0].rsplit("/", 1)[0]
        paths = [m.path for r in FileSystems.match([pattern]) for m in r.metadata_list]
    elif os.path.isdir(spec):
        root = spec
        paths = [os.path.join(d, f) for d, _, fs in os.walk(spec) for f in fs]
    elif has_glob(spec):
        root = glob_root(spec)
        paths = [p for p in glob.glob(spec, recursive=True) if os.path.isfile(p)]
    elif os.path.isfile(spec):
        root = os.path.dirname(spec)
        paths = [spec]
    else:
        raise ConfigError(f"--input {spec!r} is not a file, directory or glob that matches anything.")
    files = sorted(
        InputFile(p, p[len(root) :].lstrip("/") if is_remote(p) else os.path.relpath(p, root))
        for p in paths
        if is_input_path(p) and not is_hidden(p)
    )
    if not files:
        raise ConfigError(
            f"--input {spec!r} matched no .jsonl, .ndjson, .json or .txt files (plain or .gz, .bz2, .zst); "
            "check the path."
        )
    return files


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
    return _from_object(obj, line, location, max_chars, "Each line")


def parse_json_element(obj: Any, location: str, max_chars: int) -> Article | DeadLetter:
    """One parsed element of a JSON array file -> ``Article`` or ``DeadLetter`` (never raises).

    >>> parse_json_element([1], "in/a.json:[3]", 100).reason
    'not_an_object'
    """
    return _from_object(obj, lambda: json_payload(obj), location, max_chars, "Each element of a JSON array")


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
    """An input location -> ``(file, position)``.

    ``"path:12"`` (line 12 of a JSON Lines file), ``"path:[3]"`` (element 3 of a
    JSON array file) or ``"path"`` (a text file, or damage before any record: 0).

    >>> split_location("in/a.jsonl:12"), split_location("in/b.json.gz:[3]"), split_location("in/memo.txt")
    (('in/a.jsonl', 12), ('in/b.json.gz', 3), ('in/memo.txt', 0))
    """
    if not location:
        return "", 0
    path, _, pos = location.rpartition(":")
    if pos.startswith("[") and pos.endswith("]"):
        pos = pos[1:-1]
    return (path, int(pos)) if path and pos.isdigit() else (location, 0)


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


# Compressed bytes per zstd step: 4 bytes of a block can expand to 128 KiB, so a
# step yields at most ~4 MiB however the file was made (measured: no slower than 1 KiB).
_ZSTD_FEED = 128
_SNIFF_BYTES = 1 << 16
_BOM = b"\xef\xbb\xbf"


class _ZstdStream(io.RawIOBase):
    """Decompresses concatenated zstd frames and, unlike ``stream_reader``, says when the data ends inside one."""

    def __init__(self, source: Any) -> None:
        super().__init__()
        self._source = source
        self._frame: Any = None  # the decompressor of the frame being read, None between frames
        self._out, self._at, self._ended = b"", 0, False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while self._at >= len(self._out) and not self._ended:
            self._step()
        n = min(len(buffer), len(self._out) - self._at)
        buffer[:n] = self._out[self._at : self._at + n]
        self._at += n
        return n

    def _step(self) -> None:
        data = self._source.read(_ZSTD_FEED)
        if not data:
            if self._frame is not None:
                raise EOFError("the data ends inside a zstd frame")
            self._ended = True
            return
        parts = []
        while data:
            if self._frame is None:
                self._frame = zstandard.ZstdDecompressor().decompressobj()
            parts.append(self._frame.decompress(data))
            data = b""
            if self._frame.eof:  # the next frame starts in what is left over
                data, self._frame = self._frame.unused_data, None
        self._out, self._at = b"".join(parts), 0


class _Source:
    """The compressed bytes; remembers its own read error, so it is not mistaken for damaged data."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw
        self.failed: OSError | None = None

    def read(self, size: int = -1) -> bytes:
        try:
            return self._raw.read(size)
        except OSError as exc:
            self.failed = exc
            raise


class _Decompressed:
    """A decompressing reader whose decoding errors become one ``CORRUPT_COMPRESSED_FILE`` error."""

    def __init__(self, path: str, suffix: str, raw: Any) -> None:
        self._path = path
        self._source = _Source(raw)
        self._error: Exception | None = None
        if suffix == ".gz":
            self._stream: Any = gzip.GzipFile(fileobj=self._source, mode="rb")
        elif suffix == ".bz2":
            self._stream = bz2.BZ2File(self._source, mode="rb")
        else:
            self._stream = io.BufferedReader(_ZstdStream(self._source), _SNIFF_BYTES)

    def read(self, size: int = -1) -> bytes:
        # Piece by piece (read1), so the bytes decoded before the damage come
        # out first and the error on the next call: the records before it are kept.
        if self._error is not None:
            raise self._error
        parts, got = [], 0
        while size is None or size < 0 or got < size:
            try:
                piece = self._stream.read1(_SNIFF_BYTES if size is None or size < 0 else size - got)
            except OSError as exc:
                self._error = exc if exc is self._source.failed else self._damaged(exc)  # else: unreadable_file
            except (EOFError, zlib.error, zstandard.ZstdError) as exc:
                self._error = self._damaged(exc)
            if self._error is not None:
                if not parts:
                    raise self._error
                break
            if not piece:
                break
            parts.append(piece)
            got += len(piece)
        return b"".join(parts)

    def _damaged(self, exc: Exception) -> InputRecordError:
        return InputRecordError(Reason.CORRUPT_COMPRESSED_FILE,
                                f"The compressed file {self._path} is truncated or corrupt "
                                f"({type(exc).__name__}: {exc}); re-create or re-download it.")


class _Prefixed:
    """A reader that first returns bytes already read from ``rest`` (the sniffed head of a file)."""

    def __init__(self, head: bytes, rest: Any) -> None:
        self._head, self._rest = head, rest

    def read(self, size: int = -1) -> bytes:
        if not self._head:
            return self._rest.read(size)
        if size is None or size < 0:
            data, self._head = self._head + self._rest.read(), b""
            return data
        data, self._head = self._head[:size], self._head[size:]
        return data


@contextlib.contextmanager
def _open(item: InputFile) -> Iterator[Any]:
    # Beam would decompress by suffix too, but its readers end a truncated
    # .gz/.bz2/.zst without an error (the lost records would go unnoticed).
    with FileSystems.open(item.path, compression_type=CompressionTypes.UNCOMPRESSED) as raw:
        yield raw if item.compression is None else _Decompressed(item.path, item.compression, raw)


def _sniff_array(fh: Any) -> tuple[bool, Any]:
    """Whether the file's first non-blank character is ``[``, and a reader from the file's start."""
    head = b""
    while len(head) < _SNIFF_BYTES:
        data = fh.read(_SNIFF_BYTES - len(head))
        if not data:
            break
        head += data
        if head.removeprefix(_BOM).strip():
            break
    body = head.removeprefix(_BOM).lstrip()
    if body.startswith(b"["):
        return True, _Prefixed(body, fh)  # the BOM is dropped: the parser would reject it
    return False, _Prefixed(head, fh)


class _HugeValue(Exception):
    """One JSON value in an array file is far over the record limit."""


class _Metered:
    """Counts the bytes the JSON parser reads; stops it when one value alone outgrows ``cap``."""

    def __init__(self, fh: Any, cap: int) -> None:
        self._fh, self._cap = fh, cap
        self.total, self._mark = 0, 0

    def read(self, size: int = -1) -> bytes:
        if self.total - self._mark > self._cap:
            raise _HugeValue()
        data = self._fh.read(size)
        self.total += len(data)
        return data

    def event(self) -> None:
        self._mark = self.total  # the parser produced something: it is not stuck inside one value


_TOO_LARGE = object()
_OPENERS, _CLOSERS = ("start_map", "start_array"), ("end_map", "end_array")


def _array_elements(fh: Any, limit: int) -> Iterator[Any]:
    """The elements of a JSON array file, one at a time; an element over ``limit`` bytes is ``_TOO_LARGE``.

    Raises:
        ijson.JSONError: the array is malformed from the next element on.
        _HugeValue: a single string or number is so large the parser would hold it whole.
    """
    meter = _Metered(fh, limit + 2 * _SNIFF_BYTES)
    depth, builder, start = 0, None, 0
    for event, value in ijson.basic_parse(meter, use_float=True, buf_size=_SNIFF_BYTES):
        meter.event()
        if depth == 0:  # the opening "[" (the sniff saw it)
            depth = 1
            continue
        if depth == 1:
            if event == "end_array":
                depth = 0  # anything after the array is "trailing garbage" to the parser
            elif event in _OPENERS:
                depth, builder, start = 2, ijson.ObjectBuilder(), meter.total
                builder.event(event, value)
            else:
                yield value  # a scalar element: the caller dead-letters it as not an object
            continue
        depth += (event in _OPENERS) - (event in _CLOSERS)
        if builder is not None and meter.total - start > limit:
            builder = None  # skip the rest of this element without holding it
        if builder is not None:
            builder.event(event, value)
        if depth == 1:
            yield builder.value if builder is not None else _TOO_LARGE
            builder = None


def _first_line(exc: Exception) -> str:
    text = exc.args[0] if exc.args else str(exc)
    text = text.decode("utf-8", errors="replace") if isinstance(text, bytes) else str(text)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def _array_records(fh: Any, path: str, max_chars: int) -> Iterator[tuple[str, Article | DeadLetter]]:
    limit = _json_limit(max_chars)
    index = 0  # of the element being read: where a malformed tail begins
    try:
        for element in _array_elements(fh, limit):
            location = f"{path}:[{index}]"
            if element is _TOO_LARGE:
                yield location, _dead(Reason.TOO_LARGE, f"The element is over {limit:,} bytes, far over the article "
                                      f"limit of {max_chars:,} characters (raise it with --max-article-chars).",
                                      b"", location)
            else:
                yield location, parse_json_element(element, location, max_chars)
            index += 1
    except ijson.JSONError as exc:
        raise InputRecordError(Reason.INVALID_JSON, f"The JSON array in {path} is malformed at element [{index}] "
                               f"({_first_line(exc)}); the elements from there on could not be read.") from exc
    except _HugeValue:
        raise InputRecordError(Reason.TOO_LARGE, f"Element [{index}] of the JSON array in {path} holds a single value "
                               f"over {limit:,} bytes; the elements from there on were not read (split the file, or "
                               "raise --max-article-chars).") from None


def _records(item: InputFile, max_chars: int) -> Iterator[tuple[str, Article | DeadLetter]]:
    """``(location, record)`` of one file, streamed; raises ``InputRecordError``/``OSError`` where it breaks."""
    with _open(item) as fh:
        if item.is_text:
            limit = 4 * max_chars + 3  # UTF-8 takes at most 4 bytes a character, plus a BOM
            raw = fh.read(limit + 1)
            if len(raw) > limit:
                yield item.path, _dead(Reason.TOO_LARGE, f"The file is over {limit:,} bytes, more than the article "
                                       f"limit of {max_chars:,} characters (raise it with --max-article-chars).",
                                       raw[:PAYLOAD_CHARS], item.path, item.relative)
                return
            yield item.path, parse_text_file(raw, item.relative, item.path, max_chars)
            return
        if item.may_be_array:
            is_array, fh = _sniff_array(fh)
            if is_array:
                yield from _array_records(fh, item.path, max_chars)
                return
        limit = _json_limit(max_chars)
        for lineno, raw in read_lines(fh, limit):
            location = f"{item.path}:{lineno}"
            if raw is None:
                yield location, _dead(Reason.TOO_LARGE, f"The record is over {limit:,} bytes, far over the "
                                      f"article limit of {max_chars:,} characters (raise it with "
                                      "--max-article-chars).", b"", location)
            elif raw.strip():
                yield location, parse_json_record(raw, location, max_chars)


def read_file(item: InputFile, max_chars: int) -> Iterator[Article | DeadLetter]:
    """Every record of one file, streamed, as ``ReadArticles`` produces them.

    Where the file breaks (damaged compression, a malformed array tail, a read
    error), one dead letter stands for the rest of it and names how many
    records came before.
    """
    location, kept = "", 0
    try:
        for location, record in _records(item, max_chars):
            kept += 1
            yield record
    except InputRecordError as exc:
        yield _dead(exc.reason, f"{exc} The {kept} records before it were kept.", "", _after(item, location))
    except OSError as exc:
        yield _dead(Reason.UNREADABLE_FILE, f"Could not read the file from here on: {exc}.", "", _after(item, location))


def _after(item: InputFile, location: str) -> str:
    """The location of whatever follows ``location`` (the file itself when nothing was read)."""
    path, pos = split_location(location)
    if not location or pos == 0 and location == path:
        return item.path
    return f"{path}:[{pos + 1}]" if location.endswith("]") else f"{path}:{pos + 1}"


def count_records(files: list[InputFile], max_chars: int) -> dict[str, int]:
    """Records per input file, counted by reading them as the reader does.

    For runners that report no Beam metrics (Dask): the run's accounting then
    compares the tables with this count made outside the pipeline.
    """
    return {item.path: sum(1 for _ in read_file(item, max_chars)) for item in files}


class _ReadFile(beam.DoFn):
    def __init__(self, max_chars: int) -> None:
        self._max_chars = max_chars

    def process(self, item: InputFile) -> Iterator[Any]:
        read = Metrics.counter(READ_NAMESPACE, item.path)  # one counter per file: accounting per file
        # Records stream out as they are parsed (a large file is never held whole).
        for record in read_file(item, self._max_chars):
            read.inc()
            progress.bump("records")
            yield record


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
