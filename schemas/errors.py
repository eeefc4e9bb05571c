"""Every error the project raises or records, in one place.

    NewsEventsError                 base of all project errors
    ├── ConfigError                 bad options or arguments (the CLI exits 2)
    │   └── OutputLockedError       another live run holds the --output directory
    ├── ModelLoadError              a model path/id that cannot be loaded safely
    ├── InputRecordError            one input record is unusable -> a dead letter
    └── AccountingError             records read != documents + dead letters

Inside the pipeline, failures never propagate: they become ``DeadLetter`` rows
carrying a :class:`Reason` code (stable strings, safe to group by in SQL) and a
full-sentence message that says what to do.
"""

from __future__ import annotations

import enum
import os
import traceback

__all__ = [
    "ALREADY_IN_OUTPUT",
    "AccountingError",
    "CommitConflictError",
    "ConfigError",
    "InputRecordError",
    "ModelLoadError",
    "NewsEventsError",
    "OutputLockedError",
    "Reason",
    "Stage",
    "describe_exception",
]


class Stage(str, enum.Enum):
    """Where in the pipeline a dead letter was produced."""

    READ = "read"
    PREPARE = "prepare"
    NER = "ner"
    EVENTS = "events"
    ASSEMBLE = "assemble"
    WRITE = "write"


class Reason(str, enum.Enum):
    """Why a record was dead-lettered. Values are part of the output contract."""

    NOT_UTF8 = "not_utf8"
    INVALID_JSON = "invalid_json"
    NOT_AN_OBJECT = "not_an_object"
    MISSING_ID = "missing_id"
    MISSING_TEXT = "missing_text"
    TEXT_NOT_STRING = "text_not_string"
    EMPTY_TEXT = "empty_text"
    TOO_LARGE = "too_large"
    UNREADABLE_FILE = "unreadable_file"
    CORRUPT_COMPRESSED_FILE = "corrupt_compressed_file"
    DUPLICATE = "duplicate"
    PREPARE_FAILED = "prepare_failed"
    MODEL_FAILED = "model_failed"
    #: An unexpected exception in our own code on one document (a bug to report); the
    #: message names the exception and the ``file:line`` it was raised at.
    INTERNAL_ERROR = "internal_error"


#: How the message of a ``duplicate`` dead letter begins when the copy kept is a document an
#: earlier run wrote (``--mode append``); the run summary counts these as ``already_in_output``.
ALREADY_IN_OUTPUT = "Already in the output:"


class NewsEventsError(Exception):
    """Base class of all errors raised by newsevents."""


class ConfigError(NewsEventsError):
    """Options or arguments that cannot work together; the message says which."""


class OutputLockedError(ConfigError):
    """The ``--output`` directory is held by another live run; the message names it (pid, host, start)."""


class CommitConflictError(OutputLockedError):
    """Another run committed to the same Delta table while this one ran, into what this run would replace.

    A kind of :class:`OutputLockedError` (exit 2): the output was, in effect, held by that run.
    """


class ModelLoadError(NewsEventsError):
    """A model that cannot be loaded: wrong path, no safetensors, or needs remote code."""


class InputRecordError(NewsEventsError):
    """An input record that cannot be processed; becomes a dead letter."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class AccountingError(NewsEventsError):
    """The run lost or duplicated records: read != documents + dead letters."""


_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _short_path(path: str) -> str:
    # Short enough to read in a table cell, long enough to tell models/events.py from transforms/events.py.
    _, sep, inside = path.rpartition("site-packages" + os.sep)
    if sep:
        return inside
    path = os.path.abspath(path)
    return os.path.relpath(path, _ROOT) if path.startswith(_ROOT + os.sep) else path


def describe_exception(exc: BaseException) -> str:
    """The exception's type, message and the ``file:line`` where it was raised (the traceback's last frame).

    >>> try:
    ...     int("x")
    ... except ValueError as exc:
    ...     describe_exception(exc).split(" (")[0]
    "ValueError: invalid literal for int() with base 10: 'x'"
    """
    frames = traceback.extract_tb(exc.__traceback__)
    where = f"{_short_path(frames[-1].filename)}:{frames[-1].lineno}" if frames else "unknown place"
    message = str(exc)
    return f"{type(exc).__name__}{': ' + message if message else ''} ({where})"
