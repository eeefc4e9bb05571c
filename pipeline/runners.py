"""What the chosen Beam runner can do, decided in one place; and the runner's arguments.

The graph is written against the Beam model, and one runner departs from it: Beam's
DaskRunner (2.77, ``apache_beam/runners/dask/``). :func:`capabilities_of` says, for
the run's runner, what the graph may rely on (:class:`RunnerCapabilities`); the model
stages (``pipeline/graph.py``) and the writers (``pipeline/io/write_tables.py``)
choose their implementation from it, and the drivers ask it how to stream and
whether to trust the runner's metrics. Nothing else looks at the runner's name.

What each runner is assumed to do (``_KNOWN``; columns are the fields of
:class:`RunnerCapabilities`), and why:

=========================  =======  ======  ======  =========  ==========  ======
runner                     metrics  finish  tagged  last step  stage by    client
                                    bundle  outputs only       stage
=========================  =======  ======  ======  =========  ==========  ======
DirectRunner (default)     yes      yes     yes     no         yes         no
BundleBasedDirectRunner    yes      yes     yes     no         no          no
PrismRunner, FnApiRunner   yes      yes     yes     no         no          no
DaskRunner                 no       no      no      yes        no          yes
Flink, Spark, Dataflow     yes      yes     yes     no         no          no
=========================  =======  ======  ======  =========  ==========  ======

- DaskRunner, read from its source: ``DaskRunnerResult.metrics()`` raises
  ``NotImplementedError``; ``transform_evaluator.apply_dofn_to_bundle`` collects a
  partition's outputs *before* it calls ``finish_bundle``, so what a DoFn emits
  there is lost (``BatchElements``' last batch, hence ``RunInference``'s; the file
  ``WriteToParquet`` closes there); its ``OneReceiver`` puts every tagged output of
  a ``ParDo`` in one list that every consumer reads; ``run_pipeline`` computes only
  the last bag it translated ("connected to the full Bag Task Graph", which a graph
  with several sinks is not), and returns a result holding the ``distributed.Client``
  it opened and never closes.
- DirectRunner (``SwitchingDirectRunner``): batch runs on the FnApiRunner or Prism,
  both Fn API runners that keep the Beam model. Offline it runs a *streaming*
  pipeline stage by stage (Prism would need a download; it falls back to the
  BundleBasedDirectRunner), so windows would appear only at the end: the streaming
  driver then runs micro-batches instead. The BundleBasedDirectRunner named on its
  own keeps the Beam streaming graph, as it always has here.
- Flink, Spark, Dataflow, the PortableRunner (not tested here: no cluster): Fn API
  runners, so the SDK harness runs each DoFn's bundles as the Beam model says;
  their results report user metrics (the job service's, Dataflow's). A runner not in
  the table is assumed to keep the Beam model too (:data:`BEAM_MODEL`); the drivers
  still fall back to counting the input when its metrics fail.

``--runner dask`` is short for Beam's ``DaskRunner`` (:func:`runner_argv`). With
``--dask-address`` it uses that scheduler; otherwise ``--dask-workers N`` starts a
local cluster of N worker processes (one thread each: torch already uses the cores)
for the run. Any other Beam runner passes through untouched.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from dataclasses import dataclass
from typing import Any, Iterator

from newsevents.schemas.errors import ConfigError

__all__ = ["BEAM_MODEL", "DASK_RUNNER", "RunnerCapabilities", "capabilities_of", "is_dask", "runner_argv"]

DASK_RUNNER = "apache_beam.runners.dask.dask_runner.DaskRunner"
_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunnerCapabilities:
    """What a runner does that the graph and the drivers depend on (see the module's table).

    Attributes:
        name: the runner's class name, e.g. ``"DaskRunner"``.
        metrics: the result's ``metrics()`` reports the user counters (the reader's
            records per file); without them the drivers count the input files.
        finish_bundle_output: what a DoFn emits in ``finish_bundle`` reaches the next
            step. ``RunInference`` (its ``BatchElements``) and ``WriteToParquet`` depend on it.
        tagged_outputs: ``ParDo.with_outputs`` sends each tag only to its consumers.
            ``RunInference(...).with_exception_handling()`` depends on it.
        computes_only_last_step: only the lineage of the last step applied is run,
            so the graph joins every writer into one last step.
        streams_stage_by_stage: a streaming pipeline runs one stage after another,
            so windows would be written only when the job ends; the streaming driver
            runs local micro-batches instead.
        client_in_result: the result holds a ``distributed.Client`` (``result.client``)
            that the driver closes once the run is done, before its cluster goes.
    """

    name: str
    metrics: bool = True
    finish_bundle_output: bool = True
    tagged_outputs: bool = True
    computes_only_last_step: bool = False
    streams_stage_by_stage: bool = False
    client_in_result: bool = False

    @property
    def bundle_free(self) -> bool:
        """Whether steps must emit everything from ``process()``, untagged: the graph's grouped steps."""
        return not (self.finish_bundle_output and self.tagged_outputs)


BEAM_MODEL = RunnerCapabilities("Beam model")
"""What the Beam model promises; any runner not in the table is assumed to keep it."""

_DIRECT = RunnerCapabilities("DirectRunner", streams_stage_by_stage=True)
_DASK = RunnerCapabilities("DaskRunner", metrics=False, finish_bundle_output=False, tagged_outputs=False,
                           computes_only_last_step=True, client_in_result=True)

# Keyed as Beam's create_runner matches names: lower case, without the "runner" suffix.
_KNOWN: dict[str, RunnerCapabilities] = {
    "direct": _DIRECT,
    "switchingdirect": _DIRECT,  # the class DirectRunner names
    "testdirect": _DIRECT,  # TestPipeline's, under --test-pipeline-options
    "dask": _DASK,
    **{key: dataclasses.replace(BEAM_MODEL, name=name) for key, name in (
        ("bundlebaseddirect", "BundleBasedDirectRunner"), ("prism", "PrismRunner"), ("fnapi", "FnApiRunner"),
        ("flink", "FlinkRunner"), ("spark", "SparkRunner"), ("dataflow", "DataflowRunner"),
        ("testdataflow", "TestDataflowRunner"), ("portable", "PortableRunner"))},
}


def _key(name: str) -> str:
    # "--runner dask", "DaskRunner" and "apache_beam.runners.dask.dask_runner.DaskRunner" are one runner.
    key = name.rsplit(".", 1)[-1].lower()
    return key[: -len("runner")] if key.endswith("runner") and key != "runner" else key


def _by_name(name: str) -> RunnerCapabilities:
    known = _KNOWN.get(_key(name))
    return known if known is not None else dataclasses.replace(BEAM_MODEL, name=name.rsplit(".", 1)[-1])


def _runner_of(argv: list[str]) -> str | None:
    for i, arg in enumerate(argv):
        if arg == "--runner" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--runner="):
            return arg.split("=", 1)[1]
    return None


def capabilities_of(runner: Any = None) -> RunnerCapabilities:
    """What the run's runner can do.

    Args:
        runner: a ``beam.Pipeline`` (its runner), ``PipelineOptions`` (their
            ``--runner``), the Beam arguments (``["--runner", "dask", ...]``), a
            runner instance, a runner name in any form Beam or ``--runner dask``
            accepts, or None (Beam's default, the DirectRunner).

    Returns:
        The runner's :class:`RunnerCapabilities`; :data:`BEAM_MODEL` (named after
        it) for a runner the table does not know.

    Example::

        >>> capabilities_of(["--runner", "dask"]).finish_bundle_output
        False
        >>> capabilities_of(None).name
        'DirectRunner'
    """
    from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
    from apache_beam.pipeline import Pipeline

    if isinstance(runner, Pipeline):
        runner = runner.runner
    elif isinstance(runner, PipelineOptions):
        runner = runner.view_as(StandardOptions).runner
    elif isinstance(runner, list):
        runner = _runner_of(runner)
    if runner is None:
        return _DIRECT
    if isinstance(runner, str):
        return _by_name(runner)
    # A runner instance: its class or the nearest known base (TestDirectRunner is a DirectRunner).
    for cls in type(runner).__mro__:
        if _key(cls.__name__) in _KNOWN:
            return _KNOWN[_key(cls.__name__)]
    return dataclasses.replace(BEAM_MODEL, name=type(runner).__name__)


def is_dask(argv: list[str]) -> bool:
    """Whether the Beam arguments choose Beam's DaskRunner (``--runner dask`` or any of its names)."""
    return capabilities_of(argv).name == _DASK.name


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
