"""Every error the project raises or records, in one place.

    NewsEventsError                 base of all project errors
    ├── ConfigError                 bad options or arguments (the CLI exits 2)
    ├── ModelLoadError              a model path/id that cannot be loaded safely
    ├── InputRecordError            one input record is unusable -> a dead letter
    └── AccountingError             records read != documents + dead letters

Inside the pipeline, failures never propagate: they become ``DeadLetter`` rows
carrying a :class:`Reason` code (stable strings, safe to group by in SQL) and a
full-sentence message that says what to do.
"""

from __future__ import annotations

import enum

__all__ = [
    "AccountingError",
    "ConfigError",
    "InputRecordError",
    "ModelLoadError",
    "NewsEventsError",
    "Reason",
    "Stage",
]


class Stage(str, enum.Enum):
    """Where in the pipeline a dead letter was produced."""

    READ = "read"
    PREPARE = "prepare"
    NER = "ner"
    EVENTS = "events"


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
    DUPLICATE = "duplicate"
    PREPARE_FAILED = "prepare_failed"
    MODEL_FAILED = "model_failed"


class NewsEventsError(Exception):
    """Base class of all errors raised by newsevents."""


class ConfigError(NewsEventsError):
    """Options or arguments that cannot work together; the message says which."""


class ModelLoadError(NewsEventsError):
    """A model that cannot be loaded: wrong path, no safetensors, or needs remote code."""


class InputRecordError(NewsEventsError):
    """An input record that cannot be processed; becomes a dead letter."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class AccountingError(NewsEventsError):
    """The run lost or duplicated records: read != documents + dead letters."""
