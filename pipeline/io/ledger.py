"""The ledger of a streaming output: which input files its committed windows already hold.

A local streaming run (micro-batches, ``pipeline/stream_driver.py``) commits each batch as
one journal of :mod:`pipeline.io.commit`: the batch's window files and one ledger
file ``OUTPUT/_ledger/batch-00000007.json`` are moves of the same journal. Before
the journal is written nothing of the batch is visible and the ledger does not
name its files, so a restart reads them again; once it is written, the next run's
``recover()`` finishes every move, ledger file included. A kill between a window
file and the ledger therefore never loses a file nor reads one twice.

Each ledger file names the batch's input files by their path relative to the
watched directory (so the same directory spelled another way, or moved, still
matches), with size, modification time (ns) and SHA-256 of the bytes read, the
records read from each and the window files written. A restarted job skips an
input whose size, time and hash match its entry; a file whose size or time
differ is hashed, and read again only if its bytes differ (a ``touch`` alone is
not a change). Hashing happens once per file per run: afterwards a file is only
stat-ed each poll.

Example::

    ledger = Ledger.load("live/")  # after recover(): a journaled batch is then in it
    verdict, state = ledger.check("a.jsonl", "incoming/a.jsonl")  # NEW, COMMITTED or CHANGED
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
import os
import re
from dataclasses import dataclass
from typing import Iterable, Mapping

from newsevents.pipeline.io.commit import JOURNAL, journal_steps, recover
from newsevents.pipeline.io.commit import write_synced as _write_synced

__all__ = ["LEDGER_DIR", "FileState", "Ledger", "Verdict", "file_state"]

LEDGER_DIR = "_ledger"  # readers skip names starting with "_"
_VERSION = 1
_NAME = re.compile(r"batch-(\d+)\.json")


class Verdict(str, enum.Enum):
    """What a restarted (or running) streaming job does with a settled input file."""

    NEW = "new"  # not in the ledger: read it
    COMMITTED = "committed"  # its bytes are in committed windows: skip it
    CHANGED = "changed"  # committed once, different bytes now: read it again, and say so


@dataclass(frozen=True)
class FileState:
    """An input file's size, modification time and content hash."""

    size: int
    mtime_ns: int
    sha256: str


def file_state(path: str) -> FileState:
    """Stat, then hash: a write during the hash leaves a newer time than the one recorded, seen next poll.

    An unreadable file gets the hash ``""``: the reader turns it into an
    ``unreadable_file`` dead letter, committed like any batch, and a restart
    after it became readable sees other bytes and reads it again.
    """
    st = os.stat(path)
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    except FileNotFoundError:
        raise
    except OSError:
        return FileState(st.st_size, st.st_mtime_ns, "")
    return FileState(st.st_size, st.st_mtime_ns, h.hexdigest())


@dataclass
class _Entry:
    state: FileState
    batch: int


class Ledger:
    """The committed micro-batches of one streaming output, read from ``OUTPUT/_ledger/``."""

    def __init__(self, output: str, batches: list[dict], found: bool = True) -> None:
        self.output = output
        self.batches = batches
        self.found = found  # the output held a ledger directory: it is a streaming job's, to resume
        self._files: dict[str, _Entry] = {}
        for b in batches:  # in batch order: a file read again later has the later entry
            for rel, e in b["inputs"].items():
                self._files[rel] = _Entry(FileState(e["size"], e["mtime_ns"], e["sha256"]), b["batch"])
        # (size, mtime_ns) of files whose bytes were checked against their entry in this run.
        self._checked: dict[str, tuple[int, int]] = {}

    @classmethod
    def load(cls, output: str) -> "Ledger":
        """The output's ledger (empty, ``found`` False, if no streaming batch was ever committed there)."""
        root = os.path.join(output, LEDGER_DIR)
        if not os.path.isdir(root):
            return cls(output, [], found=False)
        batches = []
        for name in os.listdir(root):
            if _NAME.fullmatch(name):
                with open(os.path.join(root, name), encoding="utf-8") as fh:
                    batches.append(json.load(fh))
        return cls(output, sorted(batches, key=lambda b: b["batch"]))

    @property
    def next_batch(self) -> int:
        """The next batch number: numbers, and so window file names, are never reused in one output."""
        return max((b["batch"] for b in self.batches), default=0) + 1

    @property
    def input_files(self) -> int:
        return len(self._files)

    def window_files(self) -> list[str]:
        """Every window file the ledger's batches wrote, relative to the output."""
        return [f for b in self.batches for f in b["outputs"]]

    def gone(self) -> tuple[list[int], list[int]]:
        """Batches ``(all of whose window files are gone, some of whose are)``, e.g. after a batch overwrite."""
        whole, partly = [], []
        for b in self.batches:
            missing = [f for f in b["outputs"] if not os.path.exists(os.path.join(self.output, f))]
            if missing and len(missing) == len(b["outputs"]):
                whole.append(b["batch"])
            elif missing:
                partly.append(b["batch"])
        return whole, partly

    def forget(self, batches: Iterable[int]) -> list[str]:
        """Drop the entries these batches hold (their files are then read again); returns those files."""
        drop = set(batches)
        files = sorted(rel for rel, e in self._files.items() if e.batch in drop)
        for rel in files:
            del self._files[rel]
        return files

    def check(self, rel: str, path: str) -> tuple[Verdict, FileState | None]:
        """Whether to read ``path`` (``rel`` to the watched directory), and its state if it is to be read.

        Returns ``(COMMITTED, None)`` without reading the file when its size and
        time are those already checked in this run.
        """
        st = os.stat(path)
        if self._checked.get(rel) == (st.st_size, st.st_mtime_ns):
            return Verdict.COMMITTED, None
        state = file_state(path)
        entry = self._files.get(rel)
        if entry is None:
            return Verdict.NEW, state
        if (entry.state.size, entry.state.sha256) == (state.size, state.sha256):
            self._checked[rel] = (state.size, state.mtime_ns)
            return Verdict.COMMITTED, None
        return Verdict.CHANGED, state

    def commit(self, stage: str, batch: int, inputs: Mapping[str, tuple[str, FileState, dict]],
               window_files: list[str], root: str) -> None:
        """Commit one micro-batch: move its window files into place and record its inputs, in one journal.

        Args:
            stage: the batch's staging directory, ``OUTPUT/_staging/<name>``.
            batch: its number (:attr:`next_batch`).
            inputs: ``rel -> (path, state before reading, counts read/documents/dead_letters)``.
            window_files: the staged files, relative to ``stage`` (``<table>/<name>``).
            root: the watched directory, recorded for the messages.
        """
        record = {
            "version": _VERSION, "batch": batch, "pid": os.getpid(), "input": os.path.realpath(root),
            "committed": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "inputs": {rel: {"path": path, "size": s.size, "mtime_ns": s.mtime_ns, "sha256": s.sha256, **counts}
                       for rel, (path, s, counts) in sorted(inputs.items())},
            "outputs": sorted(window_files),
        }
        name = f"batch-{batch:08d}.json"
        _write_synced(os.path.join(stage, name), json.dumps(record, indent=1))
        # The ledger file last, so that while the moves run it never names a window file not yet in place.
        steps = journal_steps(self.output, stage, {**{f: f for f in record["outputs"]},
                                                   name: os.path.join(LEDGER_DIR, name)})
        _write_synced(os.path.join(stage, JOURNAL), json.dumps(steps))  # the commit point
        # Under the output lock this batch's is the only staging directory, so finishing every
        # journal is finishing this one: the single implementation of replay.
        recover(self.output)
        self.batches.append(record)
        for rel, (_, s, _) in inputs.items():
            self._files[rel] = _Entry(s, batch)
            self._checked[rel] = (s.size, s.mtime_ns)

