"""What a run saves after every level, so that the same run started again continues from it.

A :class:`Checkpoint` holds the run's identity, the last finished level, the network's state after it, the
mask it trained on, theta(0), the weight-rewinding point, the sign history and the metrics so far.  On disk
it is one ``torch.save`` file of plain data (tensors, arrays, dicts), written atomically.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from deep.masks import Mask
from sim.core.folders import ResultsError, atomic_write_bytes

# the names of the fields in the file (the dataclass's own names read better in code)
_FILE_KEYS = {"ident": "ident", "level": "level", "state": "state", "mask": "masks", "theta0": "theta0",
              "rewind_point": "rewind", "history": "history", "metrics": "metrics", "init_signs": "init_signs"}


@dataclass(frozen=True)
class Checkpoint:
    ident: dict  # the run's identity (as in run.json)
    level: int  # the last finished level
    state: dict  # the network's state dict after that level
    mask: Mask  # the mask that level trained on
    theta0: dict  # the state at initialization
    rewind_point: dict  # the state after rewind_epoch epochs of level 0 (weight rewinding)
    history: list  # per finished level, the signs of the prunable weights (int8, 0 once pruned)
    metrics: list  # per finished level, its density and accuracies
    init_signs: np.ndarray  # the signs at initialization

    def to_bytes(self) -> bytes:
        data = {key: getattr(self, name) for name, key in _FILE_KEYS.items()}
        data["masks"] = self.mask.as_dict()
        buf = io.BytesIO()
        torch.save(data, buf)
        return buf.getvalue()

    def save(self, path: Path) -> None:
        atomic_write_bytes(Path(path), self.to_bytes())

    @classmethod
    def load(cls, path: Path, device="cpu") -> "Checkpoint":
        """A run's checkpoint; an unreadable one (truncated, not a checkpoint) is an error naming the file."""
        try:
            data = torch.load(path, map_location=device, weights_only=False)
        except Exception as exc:  # noqa: BLE001 - torch raises many kinds for a damaged file
            raise ResultsError(f"{path} is not a readable checkpoint ({type(exc).__name__}: {str(exc)[:120]}); "
                               f"move it away to start the run again") from None
        if not isinstance(data, dict) or set(_FILE_KEYS.values()) - set(data):
            raise ResultsError(f"{path} is not a checkpoint of deep.run; move it away to start the run again")
        fields = {name: data[key] for name, key in _FILE_KEYS.items()}
        return cls(**(fields | {"mask": Mask(data["masks"])}))
