"""newsevents models: text preparation, Beam model handlers, decoding, training and evaluation."""

from __future__ import annotations

import logging

__all__: list[str] = []


class _NoApitoolsWarning(logging.Filter):
    # Importing apache_beam logs "apitools not found, and bigquery client libraries
    # are not available ..." on the root logger when the GCP extras are absent: it
    # concerns BigQuery on Dataflow, which newsevents does not use, yet every run and
    # evaluate call printed it (issue 15). This drops that one message, and only
    # where Beam logs it (a root-logger filter sees records logged on the root logger).
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name == "root" and str(record.msg).startswith("apitools not found"))


# Installed before anything of ours imports apache_beam: `models` is imported first
# by models.* and, through pipeline/__init__.py, by pipeline.*.
if not any(isinstance(f, _NoApitoolsWarning) for f in logging.getLogger().filters):
    logging.getLogger().addFilter(_NoApitoolsWarning())
