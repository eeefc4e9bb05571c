"""``newsevents run --help`` explains every option; Beam does not complain about ours; no apitools noise."""

import argparse
import json
import logging
import os
import re

from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions
from newsevents.pipeline.options import NewsEventsOptions, beam_args, help_parser
from newsevents.pipeline.run import main

from tests.subproc import run_python

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GROUPS = ["input", "models", "output", "streaming", "runners"]


def _entries(text: str) -> dict[str, tuple[str, str]]:
    """``{flag: (group, entry text)}`` from ``--help``: an entry starts with its flag at the start of a line."""
    entries, group = {}, None
    for title, body in re.findall(r"^(\S[^\n]*):\n((?:(?: [^\n]*)?\n)*)", text + "\n", flags=re.M):
        group = title.split(" ")[0]
        for flag, rest in re.findall(r"^  (-[-\w]+)(.*(?:\n {3,}.*)*)", body, flags=re.M):
            entries[flag] = (group, " ".join(rest.split()))  # argparse wraps lines where it likes
    return entries


def test_help_lists_every_option_grouped_with_its_default(capsys):
    assert main(["run", "--help"]) == 0
    text = capsys.readouterr().out
    assert [t.split(" ")[0] for t in re.findall(r"^(\S[^\n]*):$", text, flags=re.M)][-len(GROUPS):] == GROUPS
    ours = argparse.ArgumentParser(add_help=False)
    NewsEventsOptions._add_argparse_args(ours)
    entries = _entries(text)
    shown = {}
    for action in help_parser()._actions:
        if action.dest != "help":
            group, entry = entries[action.option_strings[0]]
            shown[action.option_strings[0]] = (group, re.search(r"\((default: [^()]*|required)\)$", entry).group(1))
    for action in ours._actions:  # each of ours, with the default it really has
        default = action.default
        expected = ("required" if action.dest in ("input", "output") else "default: off" if default is False
                    else "default: not set" if default is None else f"default: {default}")
        assert shown[action.option_strings[0]][1] == expected, action.option_strings
    beam = argparse.ArgumentParser(add_help=False)
    StandardOptions._add_argparse_args(beam)
    DirectOptions._add_argparse_args(beam)
    beam_default = {flag: a.default for a in beam._actions for flag in a.option_strings}
    assert shown["--streaming"] == ("streaming", "default: off")
    assert shown["--runner"] == ("runners", "default: DirectRunner") and beam_default["--runner"] is None
    for flag in ("--direct_running_mode", "--direct_num_workers"):
        assert shown[flag] == ("runners", f"default: {beam_default[flag]}")
    for flag in ("--window-seconds", "--max-seconds", "--poll-seconds", "--settle-seconds"):
        assert shown[flag][0] == "streaming"
    assert shown["--ner-model"][0] == shown["--precision"][0] == "models"
    assert shown["--input"][0] == "input" and shown["--mode"][0] == "output"


def test_module_help_runs_without_beam_noise():
    proc = run_python(["-m", "newsevents.pipeline.run", "run", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "--streaming" in proc.stdout and "(default: 60)" in proc.stdout
    assert proc.stderr == ""


def test_beam_gets_only_its_own_options():
    argv = ["--input", "in/", "--max-seconds", "25", "--runner", "DirectRunner", "--quiet", "--streaming",
            "--direct_num_workers=2", "--progress-seconds=5", "--job_name", "x"]
    assert beam_args(argv) == ["--runner", "DirectRunner", "--streaming", "--direct_num_workers=2", "--job_name", "x"]


def test_options_beam_writes_back_out_parse_without_warnings(caplog):
    # What a micro-batch and a worker process do with the options: write them out under their
    # dest names and parse them again (issue 15: "Unparseable argument: --max_seconds=25.0").
    argv = ["--input", "in/", "--output", "out/", "--max-seconds", "25", "--progress-seconds", "5",
            "--max-batch-tokens", "100", "--streaming"]
    options = PipelineOptions(beam_args(argv))
    again = PipelineOptions.from_dictionary(options.get_all_options(drop_default=True))
    with caplog.at_level(logging.WARNING):
        again.get_all_options(retain_unknown_options=True, display_warnings=True)
    assert not [r for r in caplog.records if "nparseable" in r.getMessage()], caplog.text
    assert again.view_as(StandardOptions).streaming


def test_a_streaming_cli_run_prints_no_beam_warnings_about_our_options(samples_dir, tmp_path):
    watch = tmp_path / "watch"
    watch.mkdir()
    line = (samples_dir / "articles.jsonl").read_text().splitlines()[0]
    (watch / "one.jsonl").write_text(json.dumps({**json.loads(line), "text": json.loads(line)["text"][:300]}) + "\n")
    proc = run_python(
        ["-m", "newsevents.pipeline.run", "run", "--streaming", "--input", str(watch), "--output",
         str(tmp_path / "out"), "--device", "cpu", "--max-seconds", "2", "--poll-seconds", "0.2",
         "--settle-seconds", "0", "--progress-seconds", "5", "--max-batch-tokens", "2048", "--quiet"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "documents_written        1" in proc.stdout
    assert "Unparseable argument" not in proc.stderr and "Discarding" not in proc.stderr, proc.stderr
    assert "apitools" not in proc.stderr, proc.stderr


def test_evaluate_prints_no_apitools_warning():
    proc = run_python(["-c", "import models.evaluate"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "apitools" not in proc.stderr, proc.stderr


def test_bf16_on_a_cpu_warns_once_with_the_measured_cost(caplog, monkeypatch):
    import newsevents.models.base as base
    from newsevents.models.events import EventModelHandler
    from newsevents.models.ner import NerModelHandler
    from newsevents.models.registry import DEFAULT_EVENTS, DEFAULT_NER

    monkeypatch.setattr(base, "_WARNED", set())
    with caplog.at_level(logging.WARNING, logger="newsevents.models.base"):
        for handler in (NerModelHandler(DEFAULT_NER, device="cpu", precision="bf16"),
                        EventModelHandler(DEFAULT_EVENTS, device="cpu", precision="bf16")):
            handler.validate()
    warned = [r.getMessage() for r in caplog.records if r.name == "newsevents.models.base"]
    assert len(warned) == 1 and warned[0].startswith("--precision bf16 on the CPU:")
    assert "measured 2026-12-01" in warned[0] and "Use fp32 on a CPU" in warned[0]
    assert "3.1 times slower than fp32" in base.bf16_on_cpu_warning("AVX2")
    assert "no faster than fp32" in base.bf16_on_cpu_warning("AVX512")


def test_fp32_on_a_cpu_warns_nothing(caplog, monkeypatch):
    import newsevents.models.base as base
    from newsevents.models.ner import NerModelHandler
    from newsevents.models.registry import DEFAULT_NER

    monkeypatch.setattr(base, "_WARNED", set())
    with caplog.at_level(logging.WARNING, logger="newsevents.models.base"):
        NerModelHandler(DEFAULT_NER, device="cpu").validate()
    assert not [r for r in caplog.records if r.name == "newsevents.models.base"]
