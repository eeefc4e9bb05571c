"""The shipped models' ONNX graphs, built once per test session into a temporary cache, offline."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class OnnxCache:
    """``root`` (what ``XDG_CACHE_HOME`` points at) and the loaded models, by (task, precision)."""

    root: Path
    loaded: dict


class _NoNetwork:
    """Refuses every connection and remembers each, so that one a library swallows is still seen."""

    def __init__(self) -> None:
        self.tried: list = []

    def __call__(self, *args, **kwargs):
        self.tried.append(args or kwargs)
        raise OSError("tests/models/conftest.py: no network while building ONNX graphs")


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory) -> OnnxCache:
    """Both shipped models exported, optimised and quantised (about 25 s), with every socket refused."""
    pytest.importorskip("onnxruntime")
    from newsevents.models.events import EventModelHandler
    from newsevents.models.ner import NerModelHandler
    from newsevents.models.registry import DEFAULT_EVENTS, DEFAULT_NER

    root = tmp_path_factory.mktemp("xdg_cache")
    loaded = {}
    refuse = _NoNetwork()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(root))
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setattr(socket.socket, "connect", refuse)
        mp.setattr(socket, "create_connection", refuse)
        for task, cls, name in (("ner", NerModelHandler, DEFAULT_NER), ("events", EventModelHandler, DEFAULT_EVENTS)):
            for precision in ("fp32", "int8"):
                loaded[task, precision] = cls(name, device="cpu", backend="onnx", precision=precision).load_model()
    assert not refuse.tried, f"building the ONNX graphs tried the network: {refuse.tried}"
    return OnnxCache(root, loaded)


@pytest.fixture
def use_onnx_cache(onnx_cache, monkeypatch) -> OnnxCache:
    """The session's ONNX cache as this test's ``XDG_CACHE_HOME``."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(onnx_cache.root))
    return onnx_cache
