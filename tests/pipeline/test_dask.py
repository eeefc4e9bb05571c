"""The pipeline on Beam's DaskRunner: a 2-worker local cluster gives the DirectRunner's tables."""

from __future__ import annotations

import json
import math
import os

import pyarrow.dataset as ds
import pytest
from newsevents.pipeline.run import run
from newsevents.schemas.arrow import TABLES

pytest.importorskip("distributed", reason="the dask extra is not installed")

FLOATS = ("confidence", "score")  # batched arithmetic differs in the last bits between batchings


def _rows(out, table):
    rows = ds.dataset(os.path.join(out, table)).to_table().to_pylist()
    return sorted(rows, key=lambda r: json.dumps({k: v for k, v in r.items() if k not in FLOATS}, default=str,
                                                  sort_keys=True))


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        math.isclose(a[k], b[k], abs_tol=2e-3) if k in FLOATS and a[k] is not None else a[k] == b[k] for k in a)


def test_dask_runner_gives_the_direct_runners_tables(samples_dir, tmp_path):
    direct = run(["--input", str(samples_dir), "--output", str(tmp_path / "direct"), "--device", "cpu", "--quiet"])
    dask = run(["--input", str(samples_dir), "--output", str(tmp_path / "dask"), "--device", "cpu", "--quiet",
                "--runner", "dask", "--dask-workers", "2"])
    assert dask["accounted"] and dask["records_read"] == direct["records_read"] == 12
    assert dask["run_id"] == direct["run_id"]
    for table in TABLES:
        a, b = _rows(tmp_path / "dask", table), _rows(tmp_path / "direct", table)
        assert len(a) == len(b), table
        assert all(_same(x, y) for x, y in zip(a, b)), table


def test_bundle_free_model_stage_loads_the_model_once_per_process():
    from newsevents.pipeline.transforms.batched_inference import _Infer

    class Handler:  # a fake handler: counts loads (unit test only; the real models run above)
        model_name = "fake"
        loads = 0

        def load_model(self):
            Handler.loads += 1
            return object()

    handler = Handler()
    first, second = _Infer(handler, 8), _Infer(handler, 8)
    first.setup()
    second.setup()
    assert Handler.loads == 1 and first._model is second._model
