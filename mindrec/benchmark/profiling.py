"""Cost profile of a trained model (DESIGN §9): one training step and one decoding step, in seconds,
FLOPs and the fraction of the machine's measured matmul peak they reach.

FLOPs come from ``torch.utils.flop_counter.FlopCounterMode`` (matmuls, attention and convolutions; the
element-wise work is not counted), timings are the median of a few repeats after a warm-up.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

_REPEATS = 3


def matmul_peak_gflops(
    device: str | torch.device = "cpu",
    size: int = 512,
    min_seconds: float = 0.3,
    dtype: torch.dtype = torch.float32,
) -> float:
    """Measured matmul throughput (GFLOP/s) of ``size x size`` products in ``dtype`` on ``device``: the
    reference measured steps are compared with (a practical peak, not the datasheet one)."""
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(size, size, generator=generator).to(device=device, dtype=dtype)
    b = torch.randn(size, size, generator=generator).to(device=device, dtype=dtype)
    out = a @ b
    for _ in range(2):  # warm-up (thread pool, kernel selection, caches)
        torch.matmul(a, b, out=out)
    _synchronize(device)
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < min_seconds:
        torch.matmul(a, b, out=out)
        count += 1
    _synchronize(device)
    seconds = time.perf_counter() - started
    return 2.0 * size**3 * count / seconds / 1e9


def _synchronize(device: str | torch.device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def measure(step: Callable[[], Any], device: str | torch.device = "cpu") -> dict[str, float]:
    """FLOPs of one call of ``step`` and the median seconds of ``_REPEATS`` further calls.

    Returns ``{"seconds", "gflop", "gflops_per_second"}``.
    """
    with FlopCounterMode(display=False) as counter:
        step()  # also the warm-up
    _synchronize(device)
    times = []
    for _ in range(_REPEATS):
        started = time.perf_counter()
        step()
        _synchronize(device)
        times.append(time.perf_counter() - started)
    seconds = statistics.median(times)
    gflop = counter.get_total_flops() / 1e9
    return {"seconds": seconds, "gflop": gflop, "gflops_per_second": gflop / seconds if seconds > 0 else 0.0}


def profile_training_step(task, model: torch.nn.Module, rows: Sequence[dict[str, Any]]) -> dict[str, float]:
    """One optimisation step's forward + backward (no optimizer update) on ``rows`` with the task's loss.

    The gradients are cleared afterwards and the model's mode restored; its weights are untouched.
    """
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(0)
    batch = {key: value.to(device) for key, value in task.collate(list(rows), generator).items()}
    was_training = model.training
    model.train()

    def step() -> None:
        noise = torch.Generator(device=device).manual_seed(0)
        task.loss(model, batch, noise).backward()
        model.zero_grad(set_to_none=True)

    try:
        result = measure(step, device)
    finally:
        model.train(was_training)
    return {**result, "rows": len(rows)}


@torch.no_grad()
def profile_decoding_step(model, tokenizer, histories: Sequence[Sequence[int]], num_beams: int, history_cache: str) -> dict[str, float]:
    """One canvas-scorer call over ``len(histories) x num_beams`` fully masked rows (one decoding step of a
    beam decoder for those users); building the scorer (prompt embeddings or cache) is not included."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        inputs = tokenizer([list(history) for history in histories], items="indices", return_tensors="pt").to(device)
        scorer = model.build_canvas_scorer(**inputs, history_cache=history_cache)
        users = len(histories)
        canvas = torch.full((users * num_beams, model.config.code_length), -1, dtype=torch.long, device=device)
        row_to_user = torch.arange(users, device=device).repeat_interleave(num_beams)
        result = measure(lambda: scorer(canvas, row_to_user), device)
    finally:
        model.train(was_training)
    return {**result, "rows": users * num_beams}


def with_peak_fraction(profile: dict[str, float], peak_gflops: float) -> dict[str, float]:
    """``profile`` plus ``peak_fraction`` = achieved GFLOP/s / the matmul peak."""
    return {**profile, "peak_fraction": profile["gflops_per_second"] / peak_gflops if peak_gflops > 0 else 0.0}


__all__ = [
    "matmul_peak_gflops",
    "measure",
    "profile_decoding_step",
    "profile_training_step",
    "with_peak_fraction",
]
