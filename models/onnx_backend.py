"""ONNX Runtime on the CPU (``--backend onnx``): a loaded model exported once, cached, and run like torch's.

Built from the model as loaded (its shipped safetensors, the event model's
shared embeddings filled in), never from a download:

1. export: torch's TorchScript exporter (``dynamo=False``) with eager attention,
   dynamic batch and sequence axes, every output the model returns (the NER
   model's ``logits``; the event model's ``type_logits``, ``role_logits`` and
   ``mode_logits``: the type pass reads the first, the role pass the others,
   and the heads cost one small matrix product each). The eager attention graph
   is the one ONNX Runtime's transformer optimiser recognises (issue 18: with
   torch's SDPA graph, or the dynamo exporter's, it fuses no ``Attention``);
2. optimise: ``onnxruntime.transformers.optimizer`` for BERT (``Attention``,
   ``SkipLayerNormalization`` and ``BiasGelu`` fusions; no GELU approximation),
   then ``ORT_ENABLE_ALL`` when a session opens;
3. ``int8`` only: ``quantize_dynamic`` with int8 weights per output channel on
   the encoder layers' matrix products (fused attention included); the
   embeddings, the word-feature block and the heads stay fp32, as torch's
   ``--precision int8`` leaves them.

Each graph lives in its own directory under :func:`cache_dir`, named by
:func:`graph_key` (weights, config, these settings, the library versions), so a
changed model never loads a stale graph. A directory is built under a temporary
name and renamed into place whole: two workers building at once each rename
their own, the second finds the first's and drops its copy. ``manifest.json``
holds the graph's SHA-256: a damaged cached graph is built again.

Example::

    handler = NerModelHandler("ner.minilm_cased.v1", device="cpu", backend="onnx")
    loaded = handler.load_model()      # first use: about 10 s to build; later: a cache hit
    loaded.model(**tensors).logits     # torch tensors in, torch tensors out
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import inspect
import json
import logging
import os
import re
import shutil
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from newsevents.schemas.errors import ConfigError, ModelLoadError

__all__ = ["EXPORT_SETTINGS", "OnnxModel", "cache_dir", "graph_key", "load_onnx", "require_onnxruntime",
           "weights_digest"]

_LOG = logging.getLogger(__name__)

#: How a graph is made; any change here changes every cache key (bump ``format`` for a change of code).
EXPORT_SETTINGS: dict[str, Any] = {
    "format": 1,
    "exporter": "torchscript",
    "opset": 17,
    "attention": "eager",
    "optimizer": {"model_type": "bert", "opt_level": 1, "gelu_approximation": False},
    "int8": {"weights": "QInt8", "per_channel": True, "ops": ["MatMul", "Attention"], "nodes": "encoder"},
}

# The inputs the project's models take, in their forward order; a model takes those its forward names.
_INPUTS = ("input_ids", "attention_mask", "token_type_ids", "char_ids", "casing_ids")
_GRAPH, _MANIFEST = "model.onnx", "manifest.json"
# fp32 graph against torch on the probe batch: float32 reordering differs by ~1e-5 (measured 5e-5 at most).
_FP32_TOLERANCE = 1e-3
INSTALL_HINT = "pip install 'newsevents[onnx]'"


def require_onnxruntime() -> None:
    """Refuse ``--backend onnx`` where its optional extra is not installed.

    Raises:
        ConfigError: naming the install command.
    """
    missing = [m for m in ("onnxruntime", "onnx") if importlib.util.find_spec(m) is None]
    if missing:
        raise ConfigError(f"--backend onnx needs {' and '.join(missing)}, which are not installed: "
                          f"{INSTALL_HINT} (or use --backend torch).")


def cache_dir() -> Path:
    """Where graphs are cached: ``$XDG_CACHE_HOME/newsevents/onnx``, else ``~/.cache/newsevents/onnx``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "newsevents" / "onnx"


def weights_digest(model) -> str:
    """SHA-256 of every tensor of a torch model's state, names, dtypes and shapes included."""
    import torch

    h = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        t = tensor.detach().to("cpu").contiguous()
        h.update(f"{name}\x1f{t.dtype}\x1f{tuple(t.shape)}\x1e".encode())
        h.update(t.view(-1).view(torch.uint8).numpy() if t.numel() else b"")
    return h.hexdigest()


def _versions() -> dict[str, str]:
    import onnx
    import onnxruntime
    import torch
    import transformers

    return {"onnxruntime": onnxruntime.__version__, "onnx": onnx.__version__, "torch": torch.__version__,
            "transformers": transformers.__version__}


def graph_key(model, precision: str, digest: str | None = None) -> str:
    """The cache key of a model's graph: weights, config, :data:`EXPORT_SETTINGS`, precision, versions."""
    config = model.config.to_dict()
    # Where the model was loaded from is no part of what it computes (a moved install keeps its graphs).
    for key in ("_name_or_path", "_attn_implementation_autoset"):
        config.pop(key, None)
    blob = json.dumps({"weights": digest or weights_digest(model), "config": config, "settings": EXPORT_SETTINGS,
                       "precision": str(precision), "versions": _versions()}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def _slug(name: str) -> str:
    """A model name as a directory-name prefix.

    >>> _slug("ner.minilm_cased.v1"), _slug("/data/my model/")
    ('ner.minilm_cased.v1', 'data_my_model')
    """
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_.")[-60:] or "model"


class OnnxModel:
    """An ONNX Runtime session called like the torch model it came from.

    ``model(**tensors)`` takes the torch tensors ``encode_words`` builds (extra keys
    such as ``labels`` are ignored) and returns what the torch model returns (a
    ``TokenClassifierOutput`` with ``.logits``, or the event model's dict), as torch
    tensors, so decoding is unchanged.

    Attributes:
        path: the cached graph.
        precision: ``fp32`` or ``int8``.
        built: whether this load built the graph (False: a cache hit).
    """

    def __init__(self, session, path: Path, precision: str, output_class: type, built: bool) -> None:
        self.session = session
        self.path = path
        self.precision = precision
        self.built = built
        self.input_names = [i.name for i in session.get_inputs()]
        self.output_names = [o.name for o in session.get_outputs()]
        self._output_class = output_class

    def __call__(self, **tensors):
        import torch

        feed = {}
        for name in self.input_names:
            t = tensors.get(name)
            if t is None and name == "token_type_ids":  # what BERT uses when none are given
                t = torch.zeros_like(tensors["input_ids"])
            if t is None:
                raise ValueError(f"The ONNX graph {self.path} needs the input {name!r}; got {sorted(tensors)}.")
            feed[name] = t.detach().to("cpu").numpy()
        outputs = self.session.run(self.output_names, feed)
        return self._output_class(**{n: torch.from_numpy(o) for n, o in zip(self.output_names, outputs)})

    def __repr__(self) -> str:
        return f"OnnxModel({str(self.path)!r}, precision={self.precision!r})"


def load_onnx(model, precision: str = "fp32", threads: int = 0, name: str = "model") -> OnnxModel:
    """The ONNX Runtime twin of a loaded torch model, from the cache or built into it.

    Args:
        model: the torch model as loaded (eval mode, on the CPU, weights filled in).
        precision: ``fp32`` or ``int8``.
        threads: ONNX Runtime intra-op threads (0: its default, the physical cores).
        name: the model's name, the cache directory's prefix.

    Raises:
        ConfigError: onnxruntime is not installed, or a precision the backend has not.
        ModelLoadError: the cache cannot be written, or a freshly built graph does not
            reproduce the torch model's outputs.
    """
    require_onnxruntime()
    precision = str(getattr(precision, "value", precision))
    if precision not in ("fp32", "int8"):
        raise ConfigError(f"--backend onnx runs fp32 or int8, not {precision}.")
    probe = _probe_inputs(model)
    reference = _torch_outputs(model, probe)
    digest = weights_digest(model)
    for attempt in (1, 2):
        path, built = _cached_graph(model, precision, name, digest)
        problem = None
        try:
            session = _session(path, threads)
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types for a bad graph
            problem = f"it does not load ({type(exc).__name__}: {' '.join(str(exc).split())[:160]})"
        else:
            onnx_model = OnnxModel(session, path, precision, type(reference), built)
            problem = _mismatch(onnx_model, probe, reference, precision)
        if problem is None:
            return onnx_model
        if built or attempt == 2:
            raise ModelLoadError(f"The ONNX graph built for model {name!r} at {path} is wrong: {problem}. "
                                 "Use --backend torch, and report it with the versions in its manifest.json.")
        _LOG.warning("the cached ONNX graph %s is damaged (%s); building it again", path, problem)
        _discard(path.parent)
    raise AssertionError("unreachable")


def _probe_inputs(model) -> dict:
    """A small batch with a padded row (so the mask is not folded away), in the model's forward order."""
    import torch

    config = model.config
    params = inspect.signature(model.forward).parameters
    names = [n for n in _INPUTS if n in params]
    gen = torch.Generator().manual_seed(18)
    shape = (2, 9)
    mask = torch.ones(shape, dtype=torch.int64)
    mask[1, 5:] = 0
    tensors = {"input_ids": torch.randint(1000, min(config.vocab_size, 2000), shape, generator=gen),
               "attention_mask": mask, "token_type_ids": torch.zeros(shape, dtype=torch.int64)}
    if "char_ids" in names:
        tensors["char_ids"] = torch.randint(1, config.char_vocab_size, (*shape, config.max_word_chars), generator=gen)
        tensors["casing_ids"] = torch.randint(0, config.casing_vocab_size, shape, generator=gen)
    return {n: tensors[n] for n in names}


def _torch_outputs(model, probe: dict):
    import torch

    with torch.inference_mode():
        out = model(**probe)
    if not isinstance(out, dict):  # ModelOutput is a dict too
        raise ConfigError(f"--backend onnx runs models whose forward returns named outputs, not {type(out).__name__}.")
    return out


def _mismatch(onnx_model: OnnxModel, probe: dict, reference, precision: str) -> str | None:
    """Why the graph's outputs on the probe batch are not the torch model's, or ``None``."""
    out = onnx_model(**probe)
    if sorted(out.keys()) != sorted(k for k, v in reference.items() if v is not None):
        return f"its outputs are {sorted(out.keys())}, the model's {sorted(reference.keys())}"
    for key, ref in reference.items():
        if out[key].shape != ref.shape:
            return f"{key} has shape {tuple(out[key].shape)}, torch's {tuple(ref.shape)}"
    if precision != "fp32":  # int8 rounds on purpose; its SHA-256 in the manifest vouches for the file
        return None
    mask = probe["attention_mask"].bool()
    for key, ref in reference.items():
        got, ref = out[key], ref.detach().float()
        diff = (got - ref).abs()
        if diff.dim() >= 2 and diff.shape[:2] == mask.shape:
            diff = diff[mask]  # padded tokens' outputs are never read
        if float(diff.max()) > _FP32_TOLERANCE:
            return f"{key} differs from torch's by {float(diff.max()):.3g} (tolerance {_FP32_TOLERANCE:g})"
    return None


def _session(path: Path, threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = max(0, threads)
    options.inter_op_num_threads = 1  # one graph at a time; parallelism is inside the operators
    options.log_severity_level = 3  # errors only: its warnings are about unused initialisers and the like
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _check_entry(entry: Path) -> str | None:
    """Why a cache directory cannot be used, or ``None``."""
    try:
        manifest = json.loads((entry / _MANIFEST).read_text())
        if _sha256(entry / _GRAPH) != manifest["sha256"]:
            return f"{_GRAPH} does not match the SHA-256 in {_MANIFEST}"
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return f"{type(exc).__name__}: {' '.join(str(exc).split())[:160]}"
    return None


def _discard(entry: Path) -> None:
    # Renamed away first, so a reader never sees a half-deleted directory under the entry's name.
    with contextlib.suppress(OSError):
        trash = Path(tempfile.mkdtemp(prefix=".trash-", dir=entry.parent))
        os.rename(entry, trash / "entry")
        shutil.rmtree(trash, ignore_errors=True)


def _cached_graph(model, precision: str, name: str, digest: str) -> tuple[Path, bool]:
    """``(path of the graph, whether this call built it)``: the cached graph, built when missing or damaged."""
    root = cache_dir()
    entry = root / f"{_slug(name)}-{precision}-{graph_key(model, precision, digest)}"
    if entry.is_dir():
        problem = _check_entry(entry)
        if problem is None:
            return entry / _GRAPH, False
        _LOG.warning("the cached ONNX graph %s is damaged (%s); building it again", entry, problem)
        _discard(entry)
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".build-{entry.name}-", dir=root))
    except OSError as exc:
        raise ModelLoadError(f"--backend onnx caches its graphs in {root}, which cannot be written ({exc}); "
                             "set XDG_CACHE_HOME to a writable directory.") from exc
    try:
        started = time.perf_counter()
        if precision == "int8":
            source, _ = _cached_graph(model, "fp32", name, digest)
            _quantise(source, tmp / _GRAPH)
        else:
            _export_optimised(model, tmp / _GRAPH)
        seconds = round(time.perf_counter() - started, 1)
        manifest = {"model": name, "precision": precision, "sha256": _sha256(tmp / _GRAPH),
                    "settings": EXPORT_SETTINGS, "versions": _versions(), "build_seconds": seconds}
        (tmp / _MANIFEST).write_text(json.dumps(manifest, indent=1))
        try:
            os.rename(tmp, entry)
        except OSError:  # another worker's directory is already there: use it, drop ours
            if _check_entry(entry) is not None:
                raise
            return entry / _GRAPH, False
        _LOG.info("built the %s ONNX graph of %s in %.1f s: %s", precision, name, seconds, entry)
        return entry / _GRAPH, True
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def _quiet():
    # The exporter's deprecation and tracer warnings and the optimiser's and quantiser's log lines
    # say nothing a user can act on (the graph is checked against torch instead).
    root = logging.getLogger()
    level = root.level
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        root.setLevel(logging.ERROR)
        try:
            yield
        finally:
            root.setLevel(level)


class _Positional:
    """The model's forward with positional inputs and a tuple of outputs: what the TorchScript exporter traces."""

    def __new__(cls, model, names: list[str], outputs: list[str]):
        import torch

        class Wrapped(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.m = model

            def forward(self, *args):
                out = self.m(**dict(zip(names, args)))
                return tuple(out[k] for k in outputs)

        return Wrapped().eval()  # eval: the exporter restores the wrapper's mode, and with it the model's


def _export_optimised(model, path: Path) -> None:
    """Export the torch model and run ONNX Runtime's BERT optimiser over it, writing ``path``."""
    import torch
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    probe = _probe_inputs(model)
    names = list(probe)
    outputs = [k for k, v in _torch_outputs(model, probe).items() if v is not None]
    axes = {n: {0: "batch", 1: "sequence"} for n in names}
    axes.update({o: {0: "batch", 1: "sequence"} if o in ("logits", "role_logits") else {0: "batch"}
                 for o in outputs})
    raw = path.with_name("exported.onnx")
    attention = model.config._attn_implementation  # noqa: SLF001 - restored below
    was_training = model.training
    with _quiet():
        try:
            model.set_attn_implementation(EXPORT_SETTINGS["attention"])
            torch.onnx.export(_Positional(model, names, outputs), tuple(probe.values()), str(raw),
                              input_names=names, output_names=outputs, dynamic_axes=axes,
                              opset_version=EXPORT_SETTINGS["opset"], do_constant_folding=True, dynamo=False)
        finally:
            model.set_attn_implementation(attention)
            model.train(was_training)
        options = FusionOptions("bert")
        options.enable_gelu_approximation = EXPORT_SETTINGS["optimizer"]["gelu_approximation"]
        optimised = optimize_model(str(raw), model_type="bert", num_heads=model.config.num_attention_heads,
                                   hidden_size=model.config.hidden_size, optimization_options=options,
                                   opt_level=EXPORT_SETTINGS["optimizer"]["opt_level"], use_gpu=False)
        optimised.save_model_to_file(str(path), use_external_data_format=False)
    raw.unlink()


def _quantise(source: Path, path: Path) -> None:
    """int8 weights per output channel for the encoder's matrix products (heads and embeddings stay fp32)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = onnx.load(str(source), load_external_data=False).graph
    ops = EXPORT_SETTINGS["int8"]["ops"]
    # Fused attention nodes are the encoder's; unfused matrix products carry their module path.
    nodes = [n.name for n in graph.node if n.op_type in ops and (n.op_type == "Attention" or "/encoder/" in n.name)]
    with _quiet():
        quantize_dynamic(str(source), str(path), per_channel=EXPORT_SETTINGS["int8"]["per_channel"],
                         weight_type=QuantType.QInt8, op_types_to_quantize=ops, nodes_to_quantize=nodes,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
