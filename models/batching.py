"""Token-budget batching: which rows go into one forward pass.

RunInference hands a handler a large batch (a window of a bundle); the handler
sorts its rows by sub-word length and cuts them into forward passes bounded by a
row count *and* a padded-token budget. Sorting keeps padding small; the budget
keeps one pass of long rows from costing as much memory as many passes of short
ones. Pure functions, tested without a model.
"""

from __future__ import annotations

from typing import Callable, Sequence

__all__ = ["row_probabilities", "token_batches", "token_lengths"]


def token_batches(lengths: Sequence[int], max_rows: int, max_tokens: int) -> list[list[int]]:
    """Group row indices into forward passes, shortest rows first.

    Args:
        lengths: sub-word length of each row (special tokens included).
        max_rows: most rows in one pass.
        max_tokens: most *padded* tokens in one pass (rows x longest row); a row
            longer than the budget still gets a pass of its own.

    Returns:
        Lists of indices into ``lengths``; every index appears exactly once, and
        each list is sorted by length.

    >>> token_batches([5, 1, 9, 2], max_rows=2, max_tokens=100)
    [[1, 3], [0, 2]]
    >>> token_batches([10, 10, 10], max_rows=8, max_tokens=20)
    [[0, 1], [2]]
    """
    if max_rows < 1 or max_tokens < 1:
        raise ValueError(f"max_rows and max_tokens must be positive, got {max_rows} and {max_tokens}")
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        # Sorted ascending, so the newest row is the longest: the padded cost is rows x its length.
        if current and (len(current) == max_rows or (len(current) + 1) * lengths[i] > max_tokens):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


def token_lengths(tokenizer, batch: Sequence[Sequence[str]], max_length: int,
                  prompts: Sequence[Sequence[str]] | None = None) -> list[int]:
    """Sub-word length of each row as ``encode_words`` will build it (one fast-tokenizer call, no padding)."""
    from newsevents.models.encoding import tokenize_rows

    return [len(r) for r in tokenize_rows(tokenizer, batch, max_length, prompts)]


def row_probabilities(loaded, rows: Sequence[Sequence[str]], max_length: int, max_rows: int, max_tokens: int,
                      with_word_features: bool, to_probs: Callable, prompts: Sequence[Sequence[str]] | None = None,
                      ) -> tuple[list, list]:
    """Run a loaded model over ``rows`` in length-sorted, token-budgeted passes.

    ``loaded`` has ``tokenizer``, ``model``, ``device`` and ``precision`` (the NER
    and event handlers' loaded models); ``to_probs`` turns one pass's model
    outputs into a numpy array with a row per input row. Each row is tokenised
    once: the lengths that sort the rows and the tensors of the passes come from
    the same encodings, and a sentence another pass tokenised with the same
    tokenizer is not tokenised again (``models.encoding``). Returns, in input
    order, each row's probabilities and its token -> word map.
    """
    from newsevents.models.base import model_outputs
    from newsevents.models.encoding import pad_rows, tokenize_rows

    probs: list = [None] * len(rows)
    word_ids: list = [None] * len(rows)
    encoded = tokenize_rows(loaded.tokenizer, rows, max_length, prompts, share=True)
    for group in token_batches([len(r) for r in encoded], max_rows, max_tokens):
        enc = pad_rows(loaded.tokenizer, [encoded[i] for i in group], [rows[i] for i in group], with_word_features,
                       None if prompts is None else [prompts[i] for i in group])
        p = to_probs(model_outputs(loaded.model, enc.tensors, loaded.device, loaded.precision))
        for row, i in enumerate(group):
            probs[i] = p[row]
            word_ids[i] = enc.word_ids[row]
    return probs, word_ids
