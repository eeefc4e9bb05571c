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

__all__ = ["Device", "TransformerHandler", "pick_device"]

_LOG = logging.getLogger(__name__)

ExampleT = TypeVar("ExampleT")
PredictionT = TypeVar("PredictionT")
ModelT = TypeVar("ModelT")


class Device(str, enum.Enum):
    """Where inference runs; ``auto`` takes a GPU when torch sees one."""

    AUTO = "auto"
    CPU = "cpu"
    CUDA = "cuda"


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


class TransformerHandler(ModelHandler[ExampleT, PredictionT, ModelT], Generic[ExampleT, PredictionT, ModelT]):
    """Base for handlers that load a Hugging Face model.

    Args:
        model: registry name, local directory or hub id.
        device: ``auto``, ``cpu`` or ``cuda``.
        batch_size: most elements per ``RunInference`` batch.
        max_length: sub-word window of one forward pass.
        trust_remote_code: allow a hub model's own Python code (off by default).
        share_across_processes: load one copy per machine, shared by worker
            processes (Beam's ``share_model_across_processes``).
    """

    def __init__(
        self,
        model: str,
        *,
        device: Device | str = Device.AUTO,
        batch_size: int = 32,
        max_length: int = 256,
        trust_remote_code: bool = False,
        share_across_processes: bool = False,
    ) -> None:
        if batch_size < 1:
            raise ConfigError(f"--batch-size must be at least 1, got {batch_size}.")
        super().__init__(min_batch_size=1, max_batch_size=batch_size)
        self._model_arg, self.model_name = resolve(model)
        self._device = Device(device)
        self._max_length = max_length
        self._trust_remote_code = trust_remote_code
        self._share = share_across_processes

    def share_model_across_processes(self) -> bool:
        return self._share

    def validate(self) -> None:
        """Cheap checks in the driver, before any worker loads the model.

        Raises:
            ModelLoadError: a local path that does not hold a loadable model.
        """
        path = self._model_arg
        if os.path.isdir(path):
            _check_model_dir(path)
        elif path.startswith(("/", ".", "~")) or os.sep * 2 in path or os.path.exists(path) or path.count("/") > 1:
            raise ModelLoadError(
                f"Model {self.model_name!r} is neither a model directory nor a Hugging Face id "
                "('name' or 'namespace/name'); check the path."
            )

    def _load(self, auto_cls: Any) -> tuple[Any, Any, str]:
        """Load ``(tokenizer, model, device)`` safely, in eval mode."""
        import torch  # noqa: F401  (imported here so pickling the handler stays light)
        from transformers import AutoTokenizer
        from transformers.utils import logging as hf_logging

        import models.cased_bert  # noqa: F401  (registers the project's architectures)

        path = self._model_arg
        if os.path.isdir(path):
            _check_model_dir(path)
        device = pick_device(self._device)
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
