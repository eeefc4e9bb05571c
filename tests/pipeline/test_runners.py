"""What the runner can do, decided once (``capabilities_of``), and the graph and writers choosing from it."""

from __future__ import annotations

import os

import apache_beam as beam
import pyarrow.dataset as ds
import pytest
from apache_beam.io.parquetio import WriteToParquet
from apache_beam.ml.inference.base import RunInference
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.pipeline import PipelineVisitor
from apache_beam.testing.test_pipeline import TestPipeline as BeamPipeline
from newsevents.pipeline.graph import build_graph
from newsevents.pipeline.io.read_articles import expand_input
from newsevents.pipeline.io.write_tables import WriteTable
from newsevents.pipeline.options import RunConfig
from newsevents.pipeline.runners import (
    BEAM_MODEL,
    DASK_RUNNER,
    RunnerCapabilities,
    capabilities_of,
    is_dask,
)
from newsevents.pipeline.transforms.batched_inference import BatchedInference
from newsevents.schemas.records import DeadLetter

# (name, metrics, finish_bundle_output, tagged_outputs, computes_only_last_step, streams_stage_by_stage,
#  client_in_result)
DIRECT = ("DirectRunner", True, True, True, False, True, False)
DASK = ("DaskRunner", False, False, False, True, False, True)


def _fields(caps: RunnerCapabilities) -> tuple:
    return (caps.name, caps.metrics, caps.finish_bundle_output, caps.tagged_outputs, caps.computes_only_last_step,
            caps.streams_stage_by_stage, caps.client_in_result)


@pytest.mark.parametrize(("runner", "expected"), [
    (["--input", "in/", "--runner", "dask"], DASK),
    (["--runner=DaskRunner"], DASK),
    ("dask", DASK),
    ("DaskRunner", DASK),
    (DASK_RUNNER, DASK),
    (PipelineOptions(["--runner", "dask"]), DASK),
    ("DirectRunner", DIRECT),
    ("direct", DIRECT),
    ("apache_beam.runners.direct.direct_runner.DirectRunner", DIRECT),
    ("SwitchingDirectRunner", DIRECT),
    (None, DIRECT),
    ([], DIRECT),
    (PipelineOptions([]), DIRECT),
    ("BundleBasedDirectRunner", ("BundleBasedDirectRunner", True, True, True, False, False, False)),
    ("PrismRunner", ("PrismRunner", True, True, True, False, False, False)),
    ("FlinkRunner", ("FlinkRunner", True, True, True, False, False, False)),
    ("flink", ("FlinkRunner", True, True, True, False, False, False)),
    ("SparkRunner", ("SparkRunner", True, True, True, False, False, False)),
    ("apache_beam.runners.dataflow.dataflow_runner.DataflowRunner",
     ("DataflowRunner", True, True, True, False, False, False)),
    ("my_company.runners.CustomRunner", ("CustomRunner", True, True, True, False, False, False)),
], ids=lambda v: repr(v)[:60])
def test_capabilities_for_each_runner_name_form(runner, expected):
    assert _fields(capabilities_of(runner)) == expected


def test_capabilities_of_a_pipeline_are_its_runners():
    assert _fields(capabilities_of(BeamPipeline())) == DIRECT  # a SwitchingDirectRunner instance
    assert _fields(capabilities_of(beam.Pipeline(options=PipelineOptions(["--runner", "PrismRunner"])))) == (
        "PrismRunner", True, True, True, False, False, False)
    pytest.importorskip("dask.bag", reason="the dask extra is not installed")
    from apache_beam.runners.dask.dask_runner import DaskRunner

    assert _fields(capabilities_of(DaskRunner())) == DASK
    assert _fields(capabilities_of(beam.Pipeline(runner=DaskRunner()))) == DASK

    class MyDask(DaskRunner):  # a subclass is what its nearest known base is
        pass

    assert _fields(capabilities_of(MyDask())) == DASK


def test_is_dask_and_bundle_free_follow_the_table():
    assert is_dask(["--runner", "dask"]) and is_dask(["--runner", DASK_RUNNER]) and is_dask(["--runner=daskrunner"])
    assert not is_dask([]) and not is_dask(["--runner", "DirectRunner"]) and not is_dask(["--runner", "FlinkRunner"])
    assert capabilities_of("dask").bundle_free and not capabilities_of(None).bundle_free
    assert RunnerCapabilities("x", tagged_outputs=False).bundle_free
    assert RunnerCapabilities("x", finish_bundle_output=False).bundle_free
    assert not BEAM_MODEL.bundle_free


# The graph under each capability: which implementation every stage applied.

class _Applied(PipelineVisitor):
    def __init__(self) -> None:
        self.types: list[type] = []
        self.labels: list[str] = []

    def enter_composite_transform(self, node) -> None:
        self.visit_transform(node)

    def visit_transform(self, node) -> None:
        if node.transform is not None:
            self.types.append(type(node.transform))
            self.labels.append(node.full_label)


def _applied(samples_dir, tmp_path, pipeline=None, runner=None) -> _Applied:
    p = pipeline if pipeline is not None else BeamPipeline()
    cfg = RunConfig(input=str(samples_dir), output=str(tmp_path / "out"), device="cpu")
    build_graph(p, cfg, expand_input(cfg.input), runner=runner)
    seen = _Applied()
    p.visit(seen)
    return seen


def _count(seen: _Applied, cls: type) -> int:
    return sum(issubclass(t, cls) for t in seen.types)


def test_graph_uses_run_inference_and_write_to_parquet_where_the_runner_keeps_the_beam_model(samples_dir, tmp_path):
    seen = _applied(samples_dir, tmp_path)  # TestPipeline: the DirectRunner, from capabilities_of(p)
    assert _count(seen, RunInference) == 2 and _count(seen, BatchedInference) == 0
    assert _count(seen, WriteToParquet) == 4  # documents, entities, events, dead letters
    assert not any("GroupShards" in label and label.startswith("Write") for label in seen.labels)
    assert "AllWritten" not in seen.labels


def test_graph_picks_the_grouped_steps_without_finish_bundle_output(samples_dir, tmp_path):
    no_bundle = RunnerCapabilities("NoFinishBundle", finish_bundle_output=False)
    seen = _applied(samples_dir, tmp_path, runner=no_bundle)
    assert _count(seen, RunInference) == 0 and _count(seen, BatchedInference) == 2
    assert _count(seen, WriteToParquet) == 0
    assert {f"{w}/WriteShard" for w in ("WriteDocuments", "WriteEntities", "WriteEvents", "WriteDeadLetters")} <= set(
        seen.labels)
    assert "AllWritten" not in seen.labels  # this runner computes every step


def test_each_stage_checks_what_it_depends_on(samples_dir, tmp_path):
    # Without tagged outputs only the model stages change (RunInference's failures are a tagged
    # output); WriteToParquet needs finish_bundle only.
    seen = _applied(samples_dir, tmp_path, runner=RunnerCapabilities("NoTags", tagged_outputs=False))
    assert _count(seen, RunInference) == 0 and _count(seen, BatchedInference) == 2
    assert _count(seen, WriteToParquet) == 4
    seen = _applied(samples_dir, tmp_path, runner=RunnerCapabilities("LastOnly", computes_only_last_step=True))
    assert _count(seen, RunInference) == 2 and _count(seen, WriteToParquet) == 4
    assert {"AllWritten", "Done"} <= set(seen.labels)


def test_graph_on_the_dask_runner_takes_its_capabilities_from_the_pipeline(samples_dir, tmp_path):
    pytest.importorskip("dask.bag", reason="the dask extra is not installed")
    from apache_beam.runners.dask.dask_runner import DaskRunner

    seen = _applied(samples_dir, tmp_path, pipeline=beam.Pipeline(runner=DaskRunner()))  # built, never run
    assert _count(seen, RunInference) == 0 and _count(seen, BatchedInference) == 2
    assert _count(seen, WriteToParquet) == 0
    assert {"AllWritten", "Done"} <= set(seen.labels)


def test_grouped_writer_writes_the_rows_write_to_parquet_writes(tmp_path):
    records = [DeadLetter("read", "invalid_json", f"bad {i}", f"d{i % 7}", "{", f"f.jsonl:{i}") for i in range(40)]
    for name, runner in (("beam", BEAM_MODEL), ("grouped", RunnerCapabilities("x", finish_bundle_output=False))):
        with BeamPipeline() as p:
            _ = p | beam.Create(records) | WriteTable("dead_letters", str(tmp_path / name), runner)
    files = sorted(os.listdir(tmp_path / "grouped" / "dead_letters"))
    assert files and all(f.startswith("part-") and f.endswith("-of-00008.parquet") for f in files)

    def rows(name):
        return sorted(ds.dataset(tmp_path / name / "dead_letters").to_table().to_pylist(),
                      key=lambda r: r["input_location"])

    assert rows("grouped") == rows("beam") and len(rows("beam")) == 40


# The table against the runners themselves: a small pipeline that shows each capability.

def _record(item, out: str) -> None:
    open(os.path.join(out, "%s-%s" % item), "w").close()


class _EmitInFinishBundle(beam.DoFn):
    def start_bundle(self):
        self._seen = []

    def process(self, x):
        beam.metrics.Metrics.counter("test_runners", "elements").inc()
        self._seen.append(x)

    def finish_bundle(self):
        from apache_beam.transforms.window import GlobalWindow
        from apache_beam.utils.windowed_value import WindowedValue

        for x in self._seen:
            yield WindowedValue(("bundle", x), GlobalWindow().max_timestamp(), [GlobalWindow()])


def _odd_tagged(x):
    yield beam.pvalue.TaggedOutput("odd", x) if x % 2 else x


def _observed(argv: list[str], out: str) -> RunnerCapabilities:
    from apache_beam.metrics.metric import MetricsFilter

    p = beam.Pipeline(options=PipelineOptions(argv))
    xs = p | beam.Create([1, 2, 3, 4])
    _ = xs | "Elsewhere" >> beam.Map(lambda x: ("elsewhere", x)) | "RecordElsewhere" >> beam.Map(_record, out)
    bundle = xs | "Bundle" >> beam.ParDo(_EmitInFinishBundle())
    odd = (xs | "Tag" >> beam.FlatMap(_odd_tagged).with_outputs("odd", main="even")).odd
    _ = (bundle, odd | "Odd" >> beam.Map(lambda x: ("odd", x))) | beam.Flatten() | "Record" >> beam.Map(_record, out)
    result = p.run()
    result.wait_until_finish()
    try:
        counters = result.metrics().query(MetricsFilter().with_namespace("test_runners"))["counters"]
        metrics = sum((c.committed or c.attempted or 0) for c in counters) == 4
    except NotImplementedError:
        metrics = False
    if getattr(result, "client", None) is not None:
        result.client.close()
    seen = set(os.listdir(out))
    return RunnerCapabilities(
        capabilities_of(p).name, metrics=metrics,
        finish_bundle_output={f"bundle-{x}" for x in (1, 2, 3, 4)} <= seen,
        tagged_outputs={f for f in seen if f.startswith("odd-")} == {"odd-1", "odd-3"},
        computes_only_last_step=not any(f.startswith("elsewhere-") for f in seen),
        streams_stage_by_stage=capabilities_of(p).streams_stage_by_stage,  # not observable in a batch run
        client_in_result=hasattr(result, "client"))


def test_the_direct_runner_does_what_the_table_says(tmp_path):
    assert _observed([], str(tmp_path)) == capabilities_of(None)


def test_beams_dask_runner_does_what_the_table_says(tmp_path):
    # If a Beam upgrade fixes the DaskRunner, this fails: update the table, and the grouped steps go.
    distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as c:
        observed = _observed(["--runner", DASK_RUNNER, "--dask_client_address", c.scheduler_address], str(tmp_path))
    assert observed == capabilities_of("dask")
