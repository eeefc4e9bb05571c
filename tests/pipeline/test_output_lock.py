"""One live run per output directory (issue 14, part 6), tested with real processes."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from newsevents.pipeline.io.lock import LOCK_FILE, LockHolder, OutputLock
from newsevents.pipeline.run import main
from newsevents.schemas.arrow import TABLES
from newsevents.schemas.errors import OutputLockedError

from tests.subproc import child_env

ROOT = Path(__file__).resolve().parents[2]
HOLD = "import sys, time; from pipeline.io.lock import OutputLock; OutputLock(sys.argv[1]).acquire(); " \
       "print('held', flush=True); time.sleep(600)"


@pytest.fixture
def article(tmp_path) -> Path:
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps({"id": "x", "text": "Police in Lagos arrested the opposition leader Musa Bello."}) + "\n")
    return path


def _holder(path: Path) -> LockHolder:
    holder = LockHolder.parse((path / LOCK_FILE).read_text())
    assert holder is not None
    return holder


def _wait_for(predicate, proc, seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if proc.poll() is not None:
            pytest.fail(f"the holder exited early: {proc.communicate()}")
        if time.monotonic() > deadline:
            pytest.fail("timed out")
        time.sleep(0.1)


def test_second_run_exits_2_naming_the_holder_and_a_killed_holder_is_taken_over(tmp_path, article, capsys, caplog):
    out = tmp_path / "out"
    out.mkdir()
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], cwd=ROOT, env=child_env(), stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        started = _holder(out).started
        args = ["run", "--input", str(article), "--output", str(out), "--device", "cpu", "--quiet"]
        assert main(args) == 2
        err = capsys.readouterr().err
        assert f"is in use by another newsevents run (pid {proc.pid} on {socket.gethostname()}, started {started})" \
            in err, err
        assert sorted(os.listdir(out)) == [LOCK_FILE], "the refused run touched the output"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert _holder(out).pid == proc.pid  # a killed holder cannot remove its lock file: the kernel drops the lock
    with caplog.at_level(logging.WARNING, logger="newsevents.pipeline.io.lock"):
        assert main(args) == 0, capsys.readouterr().err
    assert f"taking over the lock of pid {proc.pid} on {socket.gethostname()}, started {started}" in caplog.text
    assert not (out / LOCK_FILE).exists(), "the lock outlived the run"
    assert all((out / t).is_dir() for t in TABLES)


def test_a_live_streaming_run_holds_the_output_until_it_is_stopped(tmp_path, article, capsys):
    watched, out = tmp_path / "in", tmp_path / "out"
    watched.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "newsevents.pipeline.run", "run", "--streaming", "--input", str(watched),
                             "--output", str(out), "--device", "cpu", "--quiet", "--max-seconds", "300",
                             "--poll-seconds", "0.2"], cwd=ROOT, env=child_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        _wait_for(lambda: (out / "documents").is_dir(), proc)  # past the lock and the model check: watching
        assert _holder(out).pid == proc.pid
        assert main(["run", "--input", str(article), "--output", str(out), "--device", "cpu"]) == 2
        assert f"(pid {proc.pid} on {socket.gethostname()}, started " in capsys.readouterr().err
        proc.send_signal(signal.SIGINT)  # Ctrl-C: the watcher stops, the run ends and lets go
        assert proc.wait(timeout=120) == 0, proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
    assert not (out / LOCK_FILE).exists()


def test_a_failed_run_releases_the_lock(tmp_path, article):
    (tmp_path / "out" / "documents").mkdir(parents=True)
    (tmp_path / "out" / "documents" / "part-0.parquet").write_bytes(b"x")
    args = ["run", "--input", str(article), "--output", str(tmp_path / "out"), "--mode", "fail-if-exists"]
    assert main(args) == 2  # refused inside the lock, after the model check
    assert not (tmp_path / "out" / LOCK_FILE).exists()
    OutputLock(str(tmp_path / "out")).acquire().release()


def test_ctrl_c_releases_the_lock(tmp_path, article, monkeypatch, capsys):
    from newsevents.models.base import TransformerHandler

    def interrupt(self):
        assert (tmp_path / "out" / LOCK_FILE).exists()
        raise KeyboardInterrupt

    monkeypatch.setattr(TransformerHandler, "preflight", interrupt)
    assert main(["run", "--input", str(article), "--output", str(tmp_path / "out")]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert not (tmp_path / "out" / LOCK_FILE).exists()


def test_two_locks_exclude_each_other_and_release_for_the_next(tmp_path):
    first = OutputLock(str(tmp_path)).acquire()
    with pytest.raises(OutputLockedError, match=f"pid {os.getpid()} on "):
        OutputLock(str(tmp_path)).acquire()
    first.release()
    assert not (tmp_path / LOCK_FILE).exists()
    with OutputLock(str(tmp_path)) as again:
        assert again.stale is None  # a released lock is not mistaken for a dead run's


def test_a_lock_file_deleted_between_open_and_flock_is_not_held(tmp_path, monkeypatch):
    # B opens the lock file while A holds it; A releases (deleting the file) before B's flock.
    # B's flock then holds a deleted file, which would let a third run create a new one and run too.
    import fcntl

    a = OutputLock(str(tmp_path)).acquire()
    real_flock, calls = fcntl.flock, []

    def flock(fd, op):
        if not calls:
            a.release()
        calls.append(fd)
        return real_flock(fd, op)

    monkeypatch.setattr(fcntl, "flock", flock)
    b = OutputLock(str(tmp_path)).acquire()
    monkeypatch.setattr(fcntl, "flock", real_flock)
    assert len(calls) == 2, "B did not retry on the current lock file"
    with pytest.raises(OutputLockedError, match=f"pid {os.getpid()} on "):
        OutputLock(str(tmp_path)).acquire()
    b.release()


def test_a_lock_file_without_a_holder_is_stale(tmp_path):
    dead = {"pid": 999999, "host": "elsewhere", "started": "2026-01-01T00:00:00+00:00"}
    (tmp_path / LOCK_FILE).write_text(json.dumps(dead))
    with OutputLock(str(tmp_path)) as lock:
        assert lock.stale == LockHolder(999999, "elsewhere", "2026-01-01T00:00:00+00:00")
        assert _holder(tmp_path).pid == os.getpid()
