"""A small torch MLP and a deterministic, early-stopped training loop shared by the models."""

from __future__ import annotations

import copy
import os
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

TORCH_THREADS = int(os.environ.get("PASSING_SCORE_TORCH_THREADS", "2"))


def mlp(n_in: int, hidden: tuple[int, ...], n_out: int, dropout: float = 0.0) -> nn.Sequential:
    """Feed-forward net: [Linear -> SiLU (-> Dropout)] * len(hidden) -> Linear(n_out)."""
    layers: list[nn.Module] = []
    width = n_in
    for h in hidden:
        layers += [nn.Linear(width, h), nn.SiLU()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        width = h
    last = nn.Linear(width, n_out)
    nn.init.zeros_(last.weight)  # start from the family's neutral parameters
    nn.init.zeros_(last.bias)
    layers.append(last)
    return nn.Sequential(*layers)


def train(net: nn.Module, loss_fn: Callable[..., torch.Tensor],
          X: np.ndarray, y: np.ndarray, X_val: np.ndarray | None, y_val: np.ndarray | None, *,
          epochs: int = 40, batch_size: int = 1024, lr: float = 2e-3, weight_decay: float = 1e-5,
          patience: int = 4, seed: int = 0, weight: np.ndarray | None = None
          ) -> tuple[nn.Module, list[float]]:
    """Adam with early stopping on the validation loss; returns the best net and val history.

    With `X_val=None` (a refit with settings chosen earlier) it runs exactly `epochs` epochs and
    returns the last net (history empty). `weight` (per training row, mean 1) makes the loss a
    weighted mean: `loss_fn(out, y, w)` is then called with the batch weights.
    Deterministic for a seed on CPU (fixed shuffles, single-process batches).
    """
    torch.set_num_threads(TORCH_THREADS)
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    Xt, yt = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y, dtype=torch.float32)
    wt = None if weight is None else torch.as_tensor(weight, dtype=torch.float32)
    fixed = X_val is None
    if not fixed:
        Xv, yv = torch.as_tensor(X_val, dtype=torch.float32), torch.as_tensor(
            y_val, dtype=torch.float32)
    opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=weight_decay)
    best, best_state, bad, history = float("inf"), copy.deepcopy(net.state_dict()), 0, []
    n = len(Xt)
    for _ in range(epochs):
        net.train()
        order = torch.randperm(n, generator=gen)
        for s in range(0, n, batch_size):
            idx = order[s:s + batch_size]
            opt.zero_grad()
            loss = (loss_fn(net(Xt[idx]), yt[idx]) if wt is None
                    else loss_fn(net(Xt[idx]), yt[idx], wt[idx]))
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), 5.0)
            opt.step()
        net.eval()
        if fixed:
            continue
        with torch.no_grad():
            v = float(loss_fn(net(Xv), yv))
        history.append(v)
        if v < best - 1e-5:
            best, best_state, bad = v, copy.deepcopy(net.state_dict()), 0
        else:
            bad += 1
            if bad >= patience:
                break
    if not fixed:
        net.load_state_dict(best_state)
    net.eval()
    return net, history


def best_epochs(history: list[float]) -> int:
    """Epochs of the early-stopped net (the best validation loss), for a refit on more data."""
    return int(np.argmin(history)) + 1 if history else 1


def split_validation(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random train/validation index split (used when no validation season is given)."""
    rng = np.random.default_rng(seed)
    idx = rng.permutation(n)
    k = max(1, round(n * fraction)) if n > 1 else 0
    return np.sort(idx[k:]), np.sort(idx[:k])
