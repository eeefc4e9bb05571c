"""newsevents: news articles in, typed PLOVER event records out.

The repository keeps the required top-level folders (``models/``, ``pipeline/``,
``schemas/``, ``benchmarks/``); installed, they are the sub-packages
``newsevents.models``, ``newsevents.pipeline``, ``newsevents.schemas`` and
``newsevents.benchmarks`` (``package_dir`` in setup.py), so the project adds one name
to a user's environment.
"""

from __future__ import annotations

import logging
from pathlib import Path

_HERE = Path(__file__).resolve().parent
# Run from a source checkout (pytest in the repository, mutmut's copy of it), the
# sub-packages are this folder's siblings rather than its children: look for them there.
# Installed (wheel or editable), package_dir already maps them and this does nothing.
if not (_HERE / "models").is_dir() and (_HERE.parent / "models" / "__init__.py").is_file():
    __path__.append(str(_HERE.parent))  # noqa: F821 - a package's __path__ is set before its __init__ runs

__version__ = (_HERE / "VERSION").read_text().strip()

__all__ = ["__version__"]


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
