"""newsevents: news articles in, typed PLOVER event records out.

The repository keeps the required top-level folders (``models/``, ``pipeline/``,
``schemas/``, ``benchmarks/``); installed, they are the sub-packages
``newsevents.models``, ``newsevents.pipeline``, ``newsevents.schemas`` and
``newsevents.benchmarks`` (``package_dir`` in setup.py), so the project adds one name
to a user's environment.

The Python API (:func:`load`, :class:`Extractor`, :class:`Document`, :func:`to_arrow`)
runs the pipeline's per-document work on texts in a notebook::

    ex = newsevents.load()
    doc = ex("Police arrested 14 protesters in Lagos on Friday.", published="2026-03-01")
    doc.events, doc.entities
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

_HERE = Path(__file__).resolve().parent
# Run from a source checkout (pytest in the repository, mutmut's copy of it), the
# sub-packages are this folder's siblings rather than its children: look for them there.
# Installed (wheel or editable), package_dir already maps them and this does nothing.
if not (_HERE / "models").is_dir() and (_HERE.parent / "models" / "__init__.py").is_file():
    __path__.append(str(_HERE.parent))  # noqa: F821 - a package's __path__ is set before its __init__ runs

from newsevents._version import __version__  # noqa: E402 - after __path__ is complete

__all__ = ["Document", "Extractor", "__version__", "load", "to_arrow"]

# The Python API (newsevents/api.py), imported on first use (PEP 562): `import newsevents.schemas`
# or the pipeline's workers then do not pay for torch and the model handlers.
_API = ("Document", "Extractor", "load", "to_arrow")

if TYPE_CHECKING:
    from newsevents.api import Document, Extractor, load, to_arrow


def __getattr__(name: str) -> Any:
    if name in _API:
        from newsevents import api

        return getattr(api, name)
    raise AttributeError(f"module 'newsevents' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))


class _NoApitoolsWarning(logging.Filter):
    # Importing apache_beam logs "apitools not found, and bigquery client libraries
    # are not available ..." on the root logger when the GCP extras are absent: it
    # concerns BigQuery on Dataflow, which newsevents does not use, yet every run and
    # evaluate call printed it (issue 15). This drops that one message, and only
    # where Beam logs it (a root-logger filter sees records logged on the root logger).
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name == "root" and str(record.msg).startswith("apitools not found"))


# Installed here because every sub-package imports this package first, before any of
# them imports apache_beam.
if not any(isinstance(f, _NoApitoolsWarning) for f in logging.getLogger().filters):
    logging.getLogger().addFilter(_NoApitoolsWarning())
