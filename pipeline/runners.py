"""Runner choice: the DirectRunner by default, Beam's DaskRunner by name.

``--runner dask`` is short for Beam's ``DaskRunner``. With ``--dask-address`` it
uses that scheduler; otherwise ``--dask-workers N`` starts a local cluster of N
worker processes (one thread each: torch already uses the cores) for the run.
Any other Beam runner (``FlinkRunner``, ``SparkRunner``, ``DataflowRunner``) passes
through untouched.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Iterator

from newsevents.schemas.errors import ConfigError

__all__ = ["DASK_RUNNER", "is_dask", "runner_argv"]

DASK_RUNNER = "apache_beam.runners.dask.dask_runner.DaskRunner"
_LOG = logging.getLogger(__name__)


def _runner_of(argv: list[str]) -> str | None:
    for i, arg in enumerate(argv):
        if arg == "--runner" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--runner="):
            return arg.split("=", 1)[1]
    return None


def is_dask(argv: list[str]) -> bool:
    return (_runner_of(argv) or "").lower() in ("dask", "daskrunner", DASK_RUNNER.lower())


def _replace_runner(argv: list[str], runner: str) -> list[str]:
    out, skip = [], False
    for i, arg in enumerate(argv):
        if skip:
            skip = False
            continue
        if arg == "--runner":
            skip = True
            continue
        if not arg.startswith("--runner="):
            out.append(arg)
    return out + ["--runner", runner]


@contextlib.contextmanager
def runner_argv(argv: list[str], dask_address: str | None, dask_workers: int) -> Iterator[list[str]]:
    """The Beam arguments for the chosen runner; a local Dask cluster lives as long as the block."""
    if not is_dask(argv):
        if dask_address or dask_workers:
            raise ConfigError("--dask-address and --dask-workers need --runner dask.")
        yield argv
        return
    try:
        from distributed import LocalCluster
    except ImportError as exc:
        raise ConfigError("--runner dask needs the dask extra: pip install 'newsevents[dask]'.") from exc
    argv = _replace_runner(argv, DASK_RUNNER)
    if dask_address:
        yield argv + ["--dask_client_address", dask_address]
        return
    workers = dask_workers or 2
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        _LOG.info("local Dask cluster: %d workers at %s", workers, cluster.scheduler_address)
        yield argv + ["--dask_client_address", cluster.scheduler_address]
