"""One gradient-training loop for the small torch models trained live in the app (Adam, optional cosine
learning-rate decay, progress, cancel), so each model only writes its loss.

``fit(parameters, batch_loss, steps, ...)`` calls ``batch_loss(step)`` (a scalar tensor) and takes one Adam
step (Kingma & Ba 2015) per step; with ``cosine=True`` the rate follows η_k = ½η(1 + cos(πk/steps))
(Loshchilov & Hutter 2017). Every ``report_every`` steps it calls ``progress(fraction)``
and ``should_stop()``: a true answer stops training with :class:`TrainingCancelled`; a caller may also raise
its own exception from ``should_stop`` (a scene raises ``Cancelled``), which passes through unchanged.
torch is imported on first use only, and runs on one thread (:func:`torch_module`): tensors of a few
thousand numbers gain nothing from more threads and would compete with the numba kernels of other sessions.
"""
from __future__ import annotations

from contextlib import contextmanager


class TrainingCancelled(RuntimeError):
    """Training stopped because ``should_stop()`` answered true."""


_ONE_THREAD = []  # set once torch has been put on one thread in this process


def torch_module():
    """The torch module, imported on first use (only learned models need it) and put on one thread.

    One thread for the whole process, not only while training: the models are tiny, and after numba's
    parallel kernels have run, torch's own thread pool made each small op take milliseconds (MLP
    inference on 8×64 tensors: 16 s against 0.6 s on one thread, measured in the Lorenz scene)."""
    import torch

    if not _ONE_THREAD:
        torch.set_num_threads(1)
        _ONE_THREAD.append(True)
    return torch


@contextmanager
def torch_threads(n: int = 1):
    """Run the block with torch on ``n`` threads, restoring the previous count afterwards."""
    torch = torch_module()
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield torch
    finally:
        torch.set_num_threads(previous)


def fit(parameters, batch_loss, steps: int, learning_rate: float, progress=None, should_stop=None,
        report_every: int = 25, cosine: bool = True, what: str = "training") -> float:
    """Minimise ``batch_loss(step)`` over ``parameters`` by Adam for ``steps`` steps; returns the last loss.

    ``progress(fraction)`` and ``should_stop()`` are called before the first step and then every
    ``report_every`` steps; ``progress(1.0)`` after the last (see the module doc).
    """
    with torch_threads(1) as torch:
        parameters = list(parameters)
        optimiser = torch.optim.Adam(parameters, lr=learning_rate)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, steps) if cosine else None
        loss = None
        for step in range(steps):
            if step % report_every == 0:
                _checkpoint(step, steps, progress, should_stop, what)
            optimiser.zero_grad()
            loss = batch_loss(step)
            loss.backward()
            optimiser.step()
            if schedule is not None:
                schedule.step()
        if progress is not None:
            progress(1.0)
        return float(loss.detach()) if loss is not None else float("nan")


def _checkpoint(step: int, steps: int, progress, should_stop, what: str) -> None:
    if should_stop is not None and should_stop():
        raise TrainingCancelled(f"{what} cancelled at step {step} of {steps}")
    if progress is not None:
        progress(step / steps if steps else 1.0)
