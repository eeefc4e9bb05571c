"""Small pieces shared by the trainers: seeding and atomic artifact replacement."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import numpy as np
import torch

__all__ = ["replace_dir", "seed_everything", "staging_dir", "train_step"]


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch so a run repeats exactly on the same machine."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def staging_dir(out: Path) -> Path:
    """An empty sibling directory to write a new artifact into."""
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    return tmp


def replace_dir(tmp: Path, out: Path, keep: tuple[str, ...] = ("README.md",)) -> None:
    """Swap a finished artifact into place, carrying over files (the model card) from the old one."""
    for name in keep:
        if (out / name).exists() and not (tmp / name).exists():
            shutil.copy(out / name, tmp / name)
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)


def train_step(model, loss: torch.Tensor, optimizer, scheduler, max_norm: float = 1.0) -> float:
    """Backward, clip, step and reset; returns the loss value."""
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    return loss.item()
