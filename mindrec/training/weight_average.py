"""An exponential moving average of the trainable weights (``TrainingArguments.ema_decay``).

Validation, ``best/`` and ``final/`` read the averaged weights; the optimizer keeps training the raw ones.
A constant learning rate leaves the raw weights jittering around a minimum; their average sits nearer to it,
which is what the learning-rate decay at the end of the MindRec schedule otherwise buys, but at every
validation (so checkpoint selection compares settled models, not the noise of one step).

The k-th update (k = 1, 2, ...) uses the decay ``min(ema_decay, (1 + k) / (10 + k))``: early on the average
spans about the last tenth of the steps taken, so it never holds much of the random initialisation.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

WEIGHT_AVERAGE_FILE = "weight_average.safetensors"
_UPDATES_KEY = "num_updates"


class WeightAverage:
    """The running average of a model's trainable parameters.

    Args:
        named_parameters: ``model.named_parameters()``; the ones without ``requires_grad`` are left out.
        decay: the largest per-step decay, in (0, 1).
    """

    def __init__(self, named_parameters: Iterable[tuple[str, torch.nn.Parameter]], decay: float):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"The weight average's decay must be in (0, 1), got {decay}.")
        self.decay = decay
        named = [(name, parameter) for name, parameter in named_parameters if parameter.requires_grad]
        if not named:
            raise ValueError("The weight average needs trainable parameters; the model has none.")
        self.names = [name for name, _ in named]
        self.parameters = [parameter for _, parameter in named]
        # Detached views share the parameters' storage: built once, they follow every optimizer step.
        self._targets = [parameter.detach() for parameter in self.parameters]
        self.averages = [parameter.detach().clone() for parameter in self.parameters]
        self.num_updates = 0

    def current_decay(self) -> float:
        """The decay the next update uses."""
        k = self.num_updates + 1
        return min(self.decay, (1 + k) / (10 + k))

    @torch.no_grad()
    def update(self) -> None:
        """Move every average towards its parameter: ``avg += (1 - decay) (param - avg)``. Call after each
        optimizer step."""
        weight = 1.0 - self.current_decay()
        torch._foreach_lerp_(self.averages, self._targets, weight)
        self.num_updates += 1

    @contextlib.contextmanager
    def averaged_weights(self) -> Iterator[None]:
        """Inside the block the model holds the averaged weights; the raw ones come back on exit (also on
        an exception)."""
        with torch.no_grad():
            raw = [parameter.detach().clone() for parameter in self.parameters]
            torch._foreach_copy_([parameter.data for parameter in self.parameters], self.averages)
        try:
            yield
        finally:
            with torch.no_grad():
                torch._foreach_copy_([parameter.data for parameter in self.parameters], raw)

    def save(self, folder: Path) -> None:
        """Write the averages (and the update count) to ``folder/weight_average.safetensors``."""
        tensors = {
            name: average.detach().cpu().contiguous()
            for name, average in zip(self.names, self.averages, strict=True)
        }
        save_file(
            tensors, str(Path(folder) / WEIGHT_AVERAGE_FILE), metadata={_UPDATES_KEY: str(self.num_updates)}
        )

    def load(self, folder: Path) -> None:
        """Read what :meth:`save` wrote; the names and shapes must match this model's trainable parameters."""
        path = Path(folder) / WEIGHT_AVERAGE_FILE
        if not path.is_file():
            raise ValueError(
                f"Checkpoint {folder} has no {WEIGHT_AVERAGE_FILE}: it was written without `ema_decay`, so the "
                "run cannot be resumed with it. Resume without `ema_decay`, or start the run again."
            )
        with safe_open(str(path), framework="pt") as handle:
            saved_names = set(handle.keys())
            if saved_names != set(self.names):
                missing, extra = sorted(set(self.names) - saved_names), sorted(saved_names - set(self.names))
                raise ValueError(
                    f"{path} does not match the model's trainable parameters (missing {missing[:3]}, "
                    f"unexpected {extra[:3]})."
                )
            loaded = [handle.get_tensor(name) for name in self.names]
            num_updates = int(handle.metadata()[_UPDATES_KEY])
        for name, average, tensor in zip(self.names, self.averages, loaded, strict=True):
            if average.shape != tensor.shape:
                raise ValueError(
                    f"{path}: {name} has shape {tuple(tensor.shape)}, the model {tuple(average.shape)}."
                )
        with torch.no_grad():
            torch._foreach_copy_(
                self.averages,
                [tensor.to(average.device) for tensor, average in zip(loaded, self.averages, strict=True)],
            )
        self.num_updates = num_updates


__all__ = ["WEIGHT_AVERAGE_FILE", "WeightAverage"]
