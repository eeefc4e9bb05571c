"""The shared base of the project's Beam ``ModelHandler`` classes.

One constructor for every model stage (a flaw of Beam's own Hugging Face
handlers is a copy of it per class): model argument, device, batching knobs and
the safety rules for loading (safetensors only, no remote code unless asked).
"""

from __future__ import annotations

import enum
import logging
import os
from typing import Any, Generic, TypeVar

from apache_beam.ml.inference.base import ModelHandler

from models.registry import resolve
from pipeline.errors import ConfigError, ModelLoadError

__all__ = ["Device", "Precision", "TransformerHandler", "model_outputs", "pick_device"]

_LOG = logging.getLogger(__name__)

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
        threads: torch intra-op threads per worker process (0: torch's default).
        trust_remote_code: allow a hub model's own Python code (off by default).
        share_across_processes: load one copy per machine, shared by worker
            processes (Beam's ``share_model_across_processes``).
    """

    def __init__(
        self,
        model: str,
        *,
        device: Device | str = Device.AUTO,
        batch_size: int = 16,
        max_batch_tokens: int = 4096,
        window: int = 1024,
        max_length: int = 256,
        precision: Precision | str = Precision.FP32,
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
        self._threads = threads
        self._trust_remote_code = trust_remote_code
        self._share = share_across_processes

    def share_model_across_processes(self) -> bool:
        return self._share

    def validate(self) -> None:
        """Cheap checks in the driver, before any worker loads the model.

        Raises:
            ModelLoadError: a local path that does not hold a loadable model.
        """
        self._check_precision(pick_device(self._device))
        path = self._model_arg
        if os.path.isdir(path):
            _check_model_dir(path)
        elif path.startswith(("/", ".", "~")) or os.sep * 2 in path or os.path.exists(path) or path.count("/") > 1:
            raise ModelLoadError(
                f"Model {self.model_name!r} is neither a model directory nor a Hugging Face id "
                "('name' or 'namespace/name'); check the path."
            )

    def _check_precision(self, device: str) -> None:
        if self._precision is Precision.INT8 and device != "cpu":
            raise ConfigError("--precision int8 runs on the CPU only; use fp16 or bf16 on a GPU.")
        if self._precision is Precision.FP16 and device == "cpu":
            raise ConfigError("--precision fp16 needs a GPU; use bf16 or fp32 on the CPU.")

    def _finish(self, model):
        """Last step of loading: quantise when asked (after any weights were filled in)."""
        return _quantise_int8(model) if self._precision is Precision.INT8 else model

    def _load(self, auto_cls: Any) -> tuple[Any, Any, str]:
        """Load ``(tokenizer, model, device)`` safely, in eval mode."""
        import torch  # imported here so pickling the handler stays light
        from transformers import AutoTokenizer
        from transformers.utils import logging as hf_logging

        import models.cased_bert  # noqa: F401  (registers the project's architectures)

        path = self._model_arg
        if os.path.isdir(path):
            _check_model_dir(path)
        device = pick_device(self._device)
        self._check_precision(device)
        if self._threads > 0:
            torch.set_num_threads(self._threads)
        hf_logging.disable_progress_bar()  # one bar per worker per load floods pipeline logs
        try:
            tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=self._trust_remote_code)
            model = auto_cls.from_pretrained(
                path, use_safetensors=True, trust_remote_code=self._trust_remote_code, dtype=torch.float32
            )
        except (OSError, ValueError) as exc:
            raise ModelLoadError(
                f"Could not load model {self.model_name!r} from {path!r}: {str(exc).rstrip('.')}. Give a local "
                "directory with config.json, tokenizer files and safetensors weights, or a hub id "
                "reachable from this machine."
            ) from exc
        if not getattr(tokenizer, "is_fast", False):
            raise ModelLoadError(f"Model {self.model_name!r} has no fast tokenizer; offsets need one.")
        model.to(device).eval()
        _LOG.info("loaded %s on %s", self.model_name, device)
        return tokenizer, model, device
