"""The shared base of the project's Beam ``ModelHandler`` classes.

One constructor for every model stage (a flaw of Beam's own Hugging Face
handlers is a copy of it per class): model argument, device, batching knobs and
the safety rules for loading (safetensors only, no remote code unless asked).
"""

from __future__ import annotations

import copy
import enum
import json
import logging
import math
import os
import struct
import threading
from typing import Any, Generic, TypeVar

from apache_beam.ml.inference.base import ModelHandler
from newsevents.models.registry import resolve
from newsevents.schemas.errors import ConfigError, ModelLoadError

__all__ = ["BATCH_SIZE", "MAX_BATCH_TOKENS", "Backend", "Device", "Precision", "TransformerHandler",
           "bf16_on_cpu_warning", "check_safetensors", "model_outputs", "pick_device"]

_LOG = logging.getLogger(__name__)

#: The defaults of ``--batch-size`` (rows per forward pass) and ``--max-batch-tokens`` (padded tokens per pass).
BATCH_SIZE = 16
MAX_BATCH_TOKENS = 4096

ExampleT = TypeVar("ExampleT")
PredictionT = TypeVar("PredictionT")
ModelT = TypeVar("ModelT")


class Device(str, enum.Enum):
    """Where inference runs; ``auto`` takes a GPU when torch sees one."""

    AUTO = "auto"
    CPU = "cpu"
    CUDA = "cuda"


class Precision(str, enum.Enum):
    """Arithmetic of the forward passes.

    ``int8`` quantises the transformer layers' linear weights to int8 (dynamic, CPU only);
    ``fp16``/``bf16`` run the forward pass under autocast (``fp16`` needs a GPU).
    """

    FP32 = "fp32"
    INT8 = "int8"
    FP16 = "fp16"
    BF16 = "bf16"


class Backend(str, enum.Enum):
    """What runs the forward passes: torch, or ONNX Runtime on the CPU (``models.onnx_backend``, issue 18)."""

    TORCH = "torch"
    ONNX = "onnx"


def pick_device(device: Device | str) -> str:
    """Resolve ``auto`` to ``cuda`` or ``cpu``; refuse ``cuda`` without a GPU."""
    import torch

    device = Device(device)
    if device is Device.AUTO:
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device is Device.CUDA and not torch.cuda.is_available():
        raise ConfigError(
            "--device cuda was asked for but torch sees no GPU; install the GPU build "
            "(see README, 'GPU install') or use --device cpu."
        )
    return device.value


def _check_model_dir(path: str) -> None:
    # Safetensors only: pickled .bin weights can run code when loaded.
    if not os.path.exists(os.path.join(path, "config.json")) or not any(
        f.endswith(".safetensors") for f in os.listdir(path)
    ):
        raise ModelLoadError(
            f"Model directory {path!r} needs config.json, tokenizer files and .safetensors weights; "
            "newsevents loads safetensors only (pickled .bin files can run code). Convert the model first."
        )


# Bytes per element of each safetensors dtype (the format's own list).
_DTYPE_BYTES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "U16": 2, "I16": 2, "F16": 2, "BF16": 2,
                "U32": 4, "I32": 4, "F32": 4, "U64": 8, "I64": 8, "F64": 8}
_MAX_HEADER = 100 << 20  # the safetensors library refuses larger headers too


def _one_line(text: object, limit: int = 240) -> str:
    # Library messages span lines (transformers' load report, serde's context); the CLI prints one.
    text = " ".join(str(text).split()).rstrip(".")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_safetensors(path: str) -> None:
    """Check a safetensors file's header and that its tensors' bytes are all there, reading the header only.

    Layout: an 8-byte little-endian header size N, N bytes of JSON (name -> dtype,
    shape, data_offsets), then the tensors' bytes, exactly covered by the offsets.

    Raises:
        ModelLoadError: truncated, not safetensors, or a header that contradicts itself.
    """
    def bad(what: str) -> ModelLoadError:
        return ModelLoadError(f"{path} {what}; copy or download the model again.")

    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            raise bad(f"is truncated: {size} bytes, too short for a safetensors header")
        (n,) = struct.unpack("<Q", head)
        if n > _MAX_HEADER:
            raise bad(f"is not a safetensors file (its first 8 bytes give a header of {n:,} bytes)")
        if 8 + n > size:
            raise bad(f"is truncated: its header alone needs {8 + n:,} bytes, the file has {size:,}")
        raw = fh.read(n)
    try:
        header = json.loads(raw.decode("utf-8"))
        if not isinstance(header, dict):
            raise ValueError("not a JSON object")
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError included
        raise bad(f"has a corrupt header ({_one_line(exc, 120)})") from None
    spans = []
    for name, t in header.items():
        if name == "__metadata__":
            continue
        try:
            begin, end = (int(x) for x in t["data_offsets"])
            count = math.prod(int(d) for d in t["shape"])
            width = _DTYPE_BYTES[t["dtype"]]
        except (KeyError, TypeError, ValueError):
            raise bad(f"has a corrupt header (tensor {name!r}: {_one_line(t, 120)})") from None
        if end - begin != count * width:
            raise bad(f"has a corrupt header (tensor {name!r}: shape {t['shape']} of {t['dtype']} needs "
                      f"{count * width:,} bytes, its offsets give {end - begin:,})")
        spans.append((begin, end, name))
    covered = 0
    for begin, end, name in sorted(spans):
        if begin != covered:
            raise bad(f"has a corrupt header (tensor {name!r} starts at byte {begin:,}, expected {covered:,})")
        covered = end
    if 8 + n + covered > size:
        raise bad(f"is truncated: its header describes {8 + n + covered:,} bytes, the file has {size:,}")
    if 8 + n + covered < size:
        raise bad(f"has {size - 8 - n - covered:,} bytes after its last tensor (not one safetensors file)")


def _check_loading(info: dict, path: str, model_name: str) -> None:
    """Refuse weights that do not fit the config: transformers would fill the gaps with random values."""
    config = os.path.join(path, "config.json")
    files = sorted(f for f in os.listdir(path) if f.endswith(".safetensors")) if os.path.isdir(path) else []
    weights = ", ".join(os.path.join(path, f) for f in files) or path
    if info.get("mismatched_keys"):
        key, ckpt, model = sorted(info["mismatched_keys"])[0]
        raise ModelLoadError(
            f"{config} does not match the weights {weights}: tensor {key!r} is {list(ckpt)} in the weights but "
            f"{list(model)} by the config ({len(info['mismatched_keys'])} tensors differ); use the config.json "
            f"saved with these weights."
        )
    for kind, what in (("missing_keys", "the config needs tensors the weights lack"),
                       ("unexpected_keys", "the weights hold tensors the config has no place for")):
        if info.get(kind):
            keys = sorted(info[kind])
            raise ModelLoadError(
                f"{config} does not match the weights {weights}: {what} ({len(keys)}: {keys[0]!r}, ...); "
                "use the config.json saved with these weights."
            )
    if info.get("error_msgs"):
        raise ModelLoadError(f"Model {model_name!r}: the weights in {path} do not load: "
                             f"{_one_line(info['error_msgs'][0])}.")


def _check_finite(model, path: str) -> None:
    # A damaged byte in a tensor's exponent reads as inf/NaN; no header check can see it. One sum per
    # tensor carries any inf/NaN through (trained weights are nowhere near float32's range).
    import torch

    for name, p in model.named_parameters():
        if p.is_floating_point() and not bool(torch.isfinite(p.detach().sum())):
            raise ModelLoadError(f"The weights in {path} hold non-finite values in {name!r} (a damaged file?); "
                                 "copy or download the model again.")


def _tokenizer_error(model_name: str, path: str, exc: Exception) -> ModelLoadError:
    tok = os.path.join(path, "tokenizer.json")
    return ModelLoadError(
        f"The tokenizer of model {model_name!r} does not load from {tok if os.path.exists(tok) else path}: "
        f"{_one_line(exc)}. Copy the model's tokenizer files again."
    )


class _NoLoadReport(logging.Filter):
    # transformers logs a multi-line table of weights that do not fit; _check_loading raises one line instead.
    def filter(self, record: logging.LogRecord) -> bool:
        return "LOAD REPORT" not in str(record.msg)


def model_outputs(model, tensors: dict, device: str, precision: Precision | str = Precision.FP32):
    """One forward pass: tensors to the device, autocast when asked, no autograd."""
    import torch

    precision = Precision(precision)
    if device.startswith("cuda"):
        # Pinned host memory lets the copy to the GPU run asynchronously.
        tensors = {k: v.pin_memory().to(device, non_blocking=True) for k, v in tensors.items()}
    else:
        tensors = {k: v.to(device) for k, v in tensors.items()}
    with torch.inference_mode():
        if precision in (Precision.FP16, Precision.BF16):
            dtype = torch.float16 if precision is Precision.FP16 else torch.bfloat16
            with torch.autocast(device_type=device.split(":")[0], dtype=dtype):
                return model(**tensors)
        return model(**tensors)


def _quantise_int8(model):
    """int8 weights (per output channel) for the transformer layers' linear maps; heads stay fp32.

    Measured on dev (evaluate commands): NER F1 -0.4 points, event type F1 -0.9
    points (per-tensor scales over every linear layer cost 3 points).
    """
    import warnings

    import torch
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    spec = {name: per_channel_dynamic_qconfig for name, m in model.named_modules()
            if isinstance(m, torch.nn.Linear) and ".encoder.layer." in name}
    # torch marks its eager quantisation API deprecated (in favour of torchao) but
    # it is the one that ships with torch; its warnings say nothing to our users.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return quantize_dynamic(model, spec, dtype=torch.qint8)


# --precision bf16 against fp32 on the CPU, both shipped models over the 210 sentences of
# samples/ (2 torch threads, under load, interleaved runs, best against best), measured
# 2026-12-01 on an AMD EPYC: as fast with AVX-512 (0.89 times fp32's time; single runs
# 0.75 to 1.26) and 3.1 times slower with torch and oneDNN limited to AVX2
# (ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2; single runs 2.1 to 3.5). It runs,
# so it is not refused, but it never pays on a CPU (issue 15).
_BF16_MEASURED = "2026-12-01"
_BF16_SLOWER_WITHOUT_AVX512 = 3.1


def bf16_on_cpu_warning(capability: str | None = None) -> str:
    """What ``--precision bf16`` on the CPU costs, for this CPU's instruction set (``torch.backends.cpu``)."""
    if capability is None:
        import torch

        capability = torch.backends.cpu.get_cpu_capability()
    if capability.upper().startswith("AVX512"):
        cost = (f"this CPU has AVX-512, where bf16 ran the shipped models no faster than fp32 (0.89 times fp32's "
                f"time, measured {_BF16_MEASURED}) while rounding their arithmetic")
    else:
        cost = (f"this CPU ({capability}) has no AVX-512, and without it bf16 ran the shipped models about "
                f"{_BF16_SLOWER_WITHOUT_AVX512:g} times slower than fp32 (measured {_BF16_MEASURED})")
    return f"--precision bf16 on the CPU: {cost}. Use fp32 on a CPU; bf16 and fp16 pay on a GPU."


_WARNED: set[str] = set()

# What the pre-flight check loaded, per handler class: (settings and files, the loaded model). The
# DirectRunner runs the workers in the driver's process, so the first load_model there takes it and
# each model loads once per run (issue 18). One entry per class: a check never followed by a run
# holds one model, not one per check.
_PRELOADED: dict[str, tuple[tuple, Any]] = {}
_PRELOADED_LOCK = threading.Lock()


def _warn_once(message: str) -> None:
    # Each model stage validates: one warning per run, not one per handler.
    if message not in _WARNED:
        _WARNED.add(message)
        _LOG.warning(message)


_GIVE_A_MODEL = ("Give a local directory with config.json, tokenizer files and safetensors weights, or a hub id "
                 "reachable from this machine.")


class TransformerHandler(ModelHandler[ExampleT, PredictionT, ModelT], Generic[ExampleT, PredictionT, ModelT]):
    """Base for handlers that load a Hugging Face model.

    RunInference hands ``run_inference`` a window of up to ``window`` elements;
    the handler sorts them by sub-word length and runs forward passes of at most
    ``batch_size`` rows and ``max_batch_tokens`` padded tokens (``models.batching``).
    Sorting a large window keeps padding small (on the benchmark articles a
    window of 1,024 pads 2% of tokens, one of 256 pads 8%); small passes are
    what a CPU runs fastest (measured in ``benchmarks/``).

    Args:
        model: registry name, local directory or hub id.
        device: ``auto``, ``cpu`` or ``cuda``.
        batch_size: most rows in one forward pass.
        max_batch_tokens: most padded tokens (rows x longest row) in one forward pass.
        window: elements per ``RunInference`` batch, sorted together.
        max_length: sub-word window of one forward pass.
        precision: ``fp32``, ``int8`` (CPU), ``fp16`` (GPU) or ``bf16``.
        backend: ``torch``, or ``onnx`` (ONNX Runtime, CPU, fp32 or int8; the ``onnx`` extra).
        threads: torch (or ONNX Runtime) intra-op threads per worker process (0: the library's default).
        trust_remote_code: allow a hub model's own Python code (off by default).
        share_across_processes: load one copy per machine, shared by worker
            processes (Beam's ``share_model_across_processes``).
    """

    def __init__(
        self,
        model: str,
        *,
        device: Device | str = Device.AUTO,
        batch_size: int = BATCH_SIZE,
        max_batch_tokens: int = MAX_BATCH_TOKENS,
        window: int = 1024,
        max_length: int = 256,
        precision: Precision | str = Precision.FP32,
        backend: Backend | str = Backend.TORCH,
        threads: int = 0,
        trust_remote_code: bool = False,
        share_across_processes: bool = False,
    ) -> None:
        if batch_size < 1 or max_batch_tokens < 1 or window < 1:
            raise ConfigError(
                f"--batch-size, --max-batch-tokens and the window must be at least 1, got {batch_size}, "
                f"{max_batch_tokens} and {window}.")
        # min == max: BatchElements' adaptive sizing would otherwise start at one
        # element and grow, so the first windows would be too small to sort.
        super().__init__(min_batch_size=window, max_batch_size=window)
        self._model_arg, self.model_name = resolve(model)
        self._device = Device(device)
        self._batch_size = batch_size
        self._max_batch_tokens = max_batch_tokens
        self._max_length = max_length
        self._precision = Precision(precision)
        self._backend = Backend(backend)
        if self._backend is Backend.ONNX and self._device is Device.AUTO:
            self._device = Device.CPU  # ONNX Runtime runs here on the CPU only: auto must not pick a GPU
        self._threads = threads
        self._trust_remote_code = trust_remote_code
        self._share = share_across_processes

    def share_model_across_processes(self) -> bool:
        return self._share

    def validate(self) -> None:
        """Cheap checks in the driver, before any worker loads the model.

        Logs a warning for ``bf16`` on a CPU (:func:`bf16_on_cpu_warning`). Settles the
        CPU variant: a shipped model whose asked backend and precision lose more F1 than
        the budget runs the variant ``models.variants`` offers instead, with one log line
        (``evaluate``, which measures every variant, does not call this).

        Raises:
            ModelLoadError: a local path that does not hold a loadable model.
            ConfigError: a precision or backend the device cannot run.
        """
        device = pick_device(self._device)
        self._check_precision(device)
        self._settle_variant()
        if self._precision is Precision.BF16 and device == "cpu":
            _warn_once(bf16_on_cpu_warning())
        path = self._model_arg
        if os.path.isdir(path):
            _check_model_dir(path)
        elif path.startswith(("/", ".", "~")) or os.sep * 2 in path or os.path.exists(path) or path.count("/") > 1:
            raise ModelLoadError(
                f"Model {self.model_name!r} is neither a model directory nor a Hugging Face id "
                "('name' or 'namespace/name'); check the path."
            )

    def preflight(self) -> None:
        """Load the model once on the CPU in the driver, as a worker will, so damaged files stop the run first.

        It runs ``load_model`` itself: safetensors headers and sizes, the tokenizer,
        config against weights, and a subclass's own steps (the event model's
        shared embeddings). A hub id is left to the workers, which download it.

        Raises:
            ModelLoadError: one line naming the file and what is wrong.
        """
        if not os.path.isdir(self._model_arg):
            return
        probe = copy.copy(self)
        # Device, precision and threads decide how the model runs, not whether its files load.
        probe._device = Device.CPU
        if probe._backend is Backend.TORCH:
            probe._precision, probe._threads = Precision.FP32, 0  # an ONNX session keeps its threads: it may be reused
        # An ONNX graph is built here, once, so the workers find it cached (and a failed export stops the run).
        loaded = probe.load_checked()
        key = self._load_key()
        if probe._load_key() == key:
            with _PRELOADED_LOCK:
                _PRELOADED[type(self).__name__] = (key, loaded)

    def _load_key(self) -> tuple:
        # What decides the loaded object: settings, and the files as they are now (a changed file loads anew).
        path = self._model_arg
        files = tuple((f, st.st_size, st.st_mtime_ns) for f in sorted(os.listdir(path))
                      for st in [os.stat(os.path.join(path, f))]) if os.path.isdir(path) else ()
        return (self._model_arg, pick_device(self._device), self._precision, self._backend, files)

    def _take_preloaded(self) -> ModelT | None:
        """The model the pre-flight check loaded in this process with these settings and files, once; else None."""
        with _PRELOADED_LOCK:
            entry = _PRELOADED.get(type(self).__name__)
            if entry is None or entry[0] != self._load_key():
                return None
            del _PRELOADED[type(self).__name__]
        if self._threads > 0:
            import torch

            torch.set_num_threads(self._threads)
        _LOG.info("%s: the model the pre-flight check loaded", self.model_name)
        return entry[1]

    def load_checked(self) -> ModelT:
        """``load_model``, where whatever damaged files raise becomes one :class:`ModelLoadError` line.

        What the pre-flight probe runs, and what an in-process caller (the Python API)
        loads with, so its models load once and fail the same way.
        """
        try:
            return self.load_model()
        except ModelLoadError:
            raise
        except Exception as exc:  # noqa: BLE001 - whatever a broken file raises, the CLI prints one line
            raise ModelLoadError(
                f"Model {self.model_name!r} from {self._model_arg} does not load: {type(exc).__name__}: "
                f"{_one_line(exc)}."
            ) from exc

    @property
    def variant(self) -> str:
        """What runs the forward passes, e.g. ``"torch fp32"`` or ``"onnx int8"``."""
        return f"{self._backend.value} {self._precision.value}"

    def _settle_variant(self) -> None:
        from newsevents.models.variants import settle_variant

        backend, precision, note = settle_variant(self.model_name, self._backend.value, self._precision.value)
        self._backend, self._precision = Backend(backend), Precision(precision)
        if note:
            _warn_once(note)

    def _check_precision(self, device: str) -> None:
        if self._backend is Backend.ONNX:
            if device != "cpu":
                raise ConfigError("--backend onnx runs on the CPU only; add --device cpu, or use --backend torch "
                                  "on a GPU.")
            if self._precision not in (Precision.FP32, Precision.INT8):
                raise ConfigError(f"--backend onnx runs fp32 or int8, not {self._precision.value}.")
            from newsevents.models.onnx_backend import require_onnxruntime

            require_onnxruntime()
        if self._precision is Precision.INT8 and device != "cpu":
            raise ConfigError("--precision int8 runs on the CPU only; use fp16 or bf16 on a GPU.")
        if self._precision is Precision.FP16 and device == "cpu":
            raise ConfigError("--precision fp16 needs a GPU; use fp32 on the CPU.")

    def _finish(self, model):
        """Last step of loading, after any weights were filled in: the ONNX twin, or torch quantised when asked."""
        if self._backend is Backend.ONNX:
            from newsevents.models.onnx_backend import load_onnx

            return load_onnx(model, self._precision.value, self._threads, self.model_name)
        return _quantise_int8(model) if self._precision is Precision.INT8 else model

    def _load(self, auto_cls: Any) -> tuple[Any, Any, str]:
        """Load ``(tokenizer, model, device)`` safely, in eval mode."""
        import newsevents.models.cased_bert  # noqa: F401  (registers the project's architectures)
        import torch  # imported here so pickling the handler stays light
        from safetensors import SafetensorError
        from transformers import AutoConfig, AutoTokenizer
        from transformers.utils import logging as hf_logging

        path = self._model_arg
        local = os.path.isdir(path)
        if local:
            _check_model_dir(path)
            for name in sorted(os.listdir(path)):
                if name.endswith(".safetensors"):
                    check_safetensors(os.path.join(path, name))
        device = pick_device(self._device)
        self._check_precision(device)
        if self._threads > 0:
            torch.set_num_threads(self._threads)
        hf_logging.disable_progress_bar()  # one bar per worker per load floods pipeline logs
        report_log = logging.getLogger("transformers.modeling_utils")
        if not any(isinstance(f, _NoLoadReport) for f in report_log.filters):
            report_log.addFilter(_NoLoadReport())
        if local:  # the tokenizer reads config.json too: load it alone first, to blame the right file
            try:
                AutoConfig.from_pretrained(path, trust_remote_code=self._trust_remote_code)
            except (OSError, ValueError) as exc:
                raise ModelLoadError(f"{os.path.join(path, 'config.json')} does not load: {_one_line(exc)}; "
                                     "use the config.json saved with the model's weights.") from exc
        try:
            tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=self._trust_remote_code)
        except (OSError, ValueError) as exc:
            if not local:  # a hub id that is not reachable, or a path that does not exist
                raise ModelLoadError(f"Could not load model {self.model_name!r} from {path!r}: {_one_line(exc)}. "
                                     f"{_GIVE_A_MODEL}") from exc
            raise _tokenizer_error(self.model_name, path, exc) from exc
        except Exception as exc:  # noqa: BLE001 - tokenizers raises plain Exceptions for a broken tokenizer.json
            if not local:
                raise
            raise _tokenizer_error(self.model_name, path, exc) from exc
        try:
            model, info = auto_cls.from_pretrained(
                path, use_safetensors=True, trust_remote_code=self._trust_remote_code, dtype=torch.float32,
                output_loading_info=True, ignore_mismatched_sizes=True,  # mismatches are refused below, in one line
            )
        except (OSError, ValueError, RuntimeError, SafetensorError) as exc:
            raise ModelLoadError(
                f"Could not load model {self.model_name!r} from {path!r}: {_one_line(exc)}. {_GIVE_A_MODEL}"
            ) from exc
        _check_loading(info, path, self.model_name)
        _check_finite(model, path)
        if not getattr(tokenizer, "is_fast", False):
            raise ModelLoadError(f"Model {self.model_name!r} has no fast tokenizer; offsets need one.")
        model.to(device).eval()
        _LOG.info("loaded %s on %s", self.model_name, device)
        return tokenizer, model, device
