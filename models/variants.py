"""Which CPU variants (backend x precision) each shipped model offers, and the dev F1 that decided it.

Issue 18: a variant is offered for a model when it loses at most 0.5 F1 points on
CoNLL dev (the NER model) or at most 1 point of type F1 on the real-news dev split
(the event model, measured with the NER model at fp32 so the effect is the event
model's own). ``--backend`` and ``--precision`` apply to both models; a shipped
model whose asked variant is over its budget runs that backend's fp32 instead (torch
fp32 where that is not offered either), and one log line says so. A model that is
not shipped (a directory, a hub id) has no measurements here and runs as asked.

The numbers are printed by ``python -m newsevents.models.evaluate ... --backend
B --precision P`` (the model cards' "CPU variants" section has the commands).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BUDGET_POINTS", "MEASURED", "Measured", "settle_variant"]

#: Most F1 points a variant may lose against torch fp32, per model (issue 18).
BUDGET_POINTS = {"ner.minilm_cased.v1": 0.5, "events.minilm_roles.v1": 1.0}
_SPLIT = {"ner.minilm_cased.v1": "CoNLL-2003 dev F1", "events.minilm_roles.v1": "real-news dev type F1"}


@dataclass(frozen=True)
class Measured:
    """One variant's dev F1 and its loss against torch fp32, in points."""

    f1: float
    loss_points: float


#: ``{model: {(backend, precision): Measured}}``, torch fp32 included (loss 0). Measured 2026-12-01 (issue 18):
#: the NER model on CoNLL-2003 dev (3,250 sentences), the event model on the real-news dev split (113 articles)
#: with the NER model at torch fp32. ONNX fp32 gives the same scores as torch to the fourth decimal.
MEASURED: dict[str, dict[tuple[str, str], Measured]] = {
    "ner.minilm_cased.v1": {
        ("torch", "fp32"): Measured(0.9390, 0.0),
        ("torch", "int8"): Measured(0.9351, 0.39),
        ("onnx", "fp32"): Measured(0.9390, 0.0),
        ("onnx", "int8"): Measured(0.9392, -0.02),
    },
    "events.minilm_roles.v1": {
        ("torch", "fp32"): Measured(0.6300, 0.0),
        ("torch", "int8"): Measured(0.5868, 4.32),  # source F1 -4.4, target -4.2 points
        ("onnx", "fp32"): Measured(0.6300, 0.0),
        ("onnx", "int8"): Measured(0.6027, 2.73),  # source F1 -2.2, target -1.6 points
    },
}

# The variants of issue 18; fp16/bf16 are GPU arithmetic with their own checks (models.base).
_CPU_VARIANTS = {("torch", "int8"), ("onnx", "fp32"), ("onnx", "int8")}


def _offered(model: str, variant: tuple[str, str]) -> bool:
    measured = MEASURED[model].get(variant)
    return measured is not None and measured.loss_points <= BUDGET_POINTS[model]


def settle_variant(model: str, backend: str, precision: str) -> tuple[str, str, str | None]:
    """What runs for ``model`` when ``backend`` and ``precision`` are asked: ``(backend, precision, log line)``.

    >>> settle_variant("my/own-model", "torch", "fp32")
    ('torch', 'fp32', None)
    >>> settle_variant("my/own-model", "onnx", "int8")[:2]
    ('onnx', 'int8')
    """
    asked = (backend, precision)
    if asked not in _CPU_VARIANTS:
        return backend, precision, None
    if model not in MEASURED:
        return backend, precision, (f"{model}: {backend} {precision} has not been measured against its fp32 F1 and "
                                    "runs as asked; measure it with 'newsevents evaluate ... --backend "
                                    f"{backend} --precision {precision}'.")
    if _offered(model, asked):
        return backend, precision, None
    runs = (backend, "fp32") if _offered(model, (backend, "fp32")) else ("torch", "fp32")
    measured = MEASURED[model].get(asked)
    why = (f"it loses {measured.loss_points:.2f} {_SPLIT[model]} points, over the {BUDGET_POINTS[model]:g}-point "
           "budget" if measured else "it has not been measured")
    return (*runs, f"{model} runs {' '.join(runs)} instead of {backend} {precision}: {why} "
                   "(models/variants.py; the model card's 'CPU variants').")
