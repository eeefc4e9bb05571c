"""Named, versioned models the project ships, and how names resolve to files.

A model argument is either a registry name (``ner.minilm_cased.v1``), a local
directory, or a Hugging Face hub id (downloaded by ``transformers`` only if the
user's machine allows it; the defaults never touch the network).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["ARTIFACTS", "DEFAULT_EVENTS", "DEFAULT_NER", "REGISTRY", "resolve"]

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"

#: Registry name -> directory of the artifact inside the installed package.
REGISTRY: dict[str, Path] = {
    "ner.minilm_cased.v1": ARTIFACTS / "ner-minilm-cased-v1",
    "events.minilm_roles.v1": ARTIFACTS / "events-minilm-v1",
}

DEFAULT_NER = "ner.minilm_cased.v1"
DEFAULT_EVENTS = "events.minilm_roles.v1"


def resolve(name_or_path: str) -> tuple[str, str]:
    """Map a model argument to ``(what from_pretrained loads, name recorded in tables)``."""
    if name_or_path in REGISTRY:
        return str(REGISTRY[name_or_path]), name_or_path
    return name_or_path, name_or_path
