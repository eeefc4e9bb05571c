"""The commands people look for, and options nobody defines (issue 17, part 5).

``newsevents evaluate|train ner|events`` run the models' own mains (the ``python -m``
forms keep working); an option neither newsevents nor Beam knows exits 2 naming the
closest one, where Beam would only log "Discarding unparseable args" and run on.
Every case stops before a model loads or a pipeline starts.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from newsevents.pipeline.options import reject_unknown
from newsevents.pipeline.run import main

from tests.subproc import run_python

ROOT = Path(__file__).resolve().parents[2]


def _error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


@pytest.mark.parametrize("typo, meant", [
    (["--partiton-by", "published_date"], "--partition-by"),
    (["--partition_by=published_date"], "--partition-by"),
    (["--direct_num_worker", "2"], "--direct_num_workers"),
    (["--max-second", "5"], "--max-seconds"),
])
def test_an_option_nobody_defines_exits_2_with_did_you_mean(samples_dir, tmp_path, capsys, typo, meant):
    out = tmp_path / "out"
    assert main(["run", "--input", str(samples_dir), "--output", str(out), *typo]) == 2
    line = _error(capsys)
    assert line.startswith(f"newsevents: error: unrecognized option {typo[0].split('=')[0]} (did you mean {meant}?)")
    assert not out.exists()  # refused before anything ran


def test_several_unknown_options_and_stray_values_are_all_named(samples_dir, tmp_path, capsys):
    out = str(tmp_path / "out")
    assert main(["run", "--input", str(samples_dir), "--output", out, "--partiton-by", "x", "--zzqx"]) == 2
    assert "unrecognized options --partiton-by (did you mean --partition-by?), --zzqx;" in _error(capsys)
    assert main(["run", "--input", str(samples_dir), "--output", out, "stray.jsonl"]) == 2
    assert _error(capsys) == ("newsevents: error: unrecognized arguments: stray.jsonl; "
                              "see 'newsevents run --help'.")


def test_every_option_of_newsevents_and_of_beam_is_accepted():
    reject_unknown(["--input", "in/", "--output=out/", "--partition-by", "published_date", "--streaming",
                    "--runner", "DirectRunner", "--direct_num_workers=2", "--direct_running_mode", "multi_processing",
                    "--job_name", "x", "--setup_file", "./setup.py", "--experiments", "a", "--quiet",
                    "--dask-workers", "2", "--flink_master", "localhost:8081", "--environment_type", "LOOPBACK"])


def test_beam_itself_only_warns_about_an_unknown_option(caplog):
    # Why reject_unknown exists: should Beam start refusing them itself, it could go.
    with caplog.at_level(logging.WARNING):
        PipelineOptions(["--partiton-by", "published_date"]).get_all_options()
    assert "Discarding unparseable args: ['--partiton-by', 'published_date']" in caplog.text


@pytest.mark.parametrize("argv, message", [
    ("--output {out}", "--input is required; see 'newsevents run --help'."),
    ("--input {in}", "--output is required; see 'newsevents run --help'."),
    ("--input {in} --output {out} --max-words-per-chunk 0", "--max-words-per-chunk must be positive, got 0."),
    ("--input {in} --output {out} --max-article-chars -1", "--max-article-chars must be positive, got -1."),
    ("--input {in} --output {out} --chunk-overlap 120", "--chunk-overlap must be smaller than --max-words-per-chunk."),
    ("--input {in} --output gs://b/out --mode append",
     "--mode append|fail-if-exists and --partition-by need a local --output directory, or --table-format delta."),
    ("--streaming --input {in} --output gs://b/out", "--streaming watches a local directory and writes a local --output."),
    ("--streaming --input {in} --output {out} --partition-by published_date",
     "--partition-by is for batch runs; streaming files are already split by window."),
    ("--streaming --input {in}/a.jsonl --output {out}",
     "--streaming needs --input to be a directory or a glob to watch, got '{in}/a.jsonl'."),
    ("--streaming --input {in} --output {out} --window-seconds 0", "--window-seconds must be at least 1, got 0."),
])
def test_bad_options_are_refused_in_one_place_with_exit_2(tmp_path, capsys, argv, message):
    places = {"in": str(tmp_path / "in"), "out": str(tmp_path / "out")}
    os.mkdir(places["in"])
    # A stop for the streaming job that a missing check would let start.
    assert main(["run", *argv.format(**places).split(), "--max-seconds", "1", "--quiet"]) == 2
    assert _error(capsys) == "newsevents: error: " + message.format(**places)
    assert not os.path.exists(places["out"])


def test_the_command_list_names_every_command(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    for command in ("run", "report", "evaluate", "train"):
        assert f"\n    {command}" in out, out


@pytest.mark.parametrize("argv, shows", [
    (["evaluate", "--help"], ["ner", "events", "python -m newsevents.models.evaluate"]),
    (["evaluate", "ner", "--help"], ["--conll", "--model"]),
    (["evaluate", "events", "--help"], ["--gold", "--news", "--event-model"]),
    (["train", "--help"], ["ner", "events", "python -m newsevents.models.train_ner", "newsevents[train]"]),
    (["train", "ner", "--help"], ["usage: newsevents train ner", "--train", "--dev", "--out"]),
    (["train", "events", "--help"], ["usage: newsevents train events", "--news-train", "--init"]),
])
def test_each_model_command_has_its_help(capsys, argv, shows):
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 0
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps where it likes
    for text in shows:
        assert text in out, (text, out)


def test_evaluate_ner_runs_the_evaluate_main_with_the_arguments_given(monkeypatch, capsys, tmp_path):
    import newsevents.models.evaluate as evaluate

    calls = []

    def evaluate_ner(*args):
        calls.append(args)
        if not os.path.exists(args[0]):
            raise FileNotFoundError(2, "No such file or directory", args[0])
        return {"f1": 0.5}

    monkeypatch.setattr(evaluate, "evaluate_ner", evaluate_ner)
    conll = tmp_path / "dev.txt"
    conll.write_text("EU B-ORG\n")
    conll = str(conll)
    assert main(["evaluate", "ner", "--conll", conll, "--batch-size", "4", "--device", "cpu"]) == 0
    assert calls == [(conll, evaluate.DEFAULT_NER, "cpu", 4, "fp32", "torch")]
    assert json.loads(capsys.readouterr().out.splitlines()[-1]) == {"f1": 0.5}
    assert main(["evaluate", "ner", "--conll", str(tmp_path / "missing.txt")]) == 2  # its errors, its exit code
    assert capsys.readouterr().err.startswith("evaluate: error: [Errno 2] No such file or directory")


@pytest.mark.parametrize("task, module", [("ner", "train_ner"), ("events", "train_events")])
def test_train_runs_the_task_main_with_the_arguments_given(monkeypatch, task, module):
    import importlib

    calls = []
    monkeypatch.setattr(importlib.import_module(f"newsevents.models.{module}"), "main",
                        lambda argv: calls.append(argv) or {"f1": 0.5})
    assert main(["train", task, "--epochs", "1", "--out", "x"]) == 0
    assert calls == [["--epochs", "1", "--out", "x"]]


def test_the_console_and_the_python_m_forms_both_answer():
    for args, shows in ((["newsevents.pipeline.run", "train", "ner"], "usage: newsevents train ner [-h] --train"),
                        (["newsevents.models.train_ner"], "--train TRAIN"),
                        (["newsevents.models.evaluate", "ner"], "--conll CONLL")):
        proc = run_python(["-m", *args, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0 and shows in proc.stdout, (args, proc.stdout[:300], proc.stderr[-2000:])
