"""Input checks that name the offending parameter, so bad input never becomes a silent wrong number."""

from __future__ import annotations

import numpy as np


def finite(name: str, value) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (got NaN or inf: {value!r})")
    return arr


def nonnegative(name: str, value) -> np.ndarray:
    arr = finite(name, value)
    if np.any(arr < 0):
        raise ValueError(f"{name} must be >= 0 (got {value!r}); e.g. C1 = (1/n) sum_I x_i^2 cannot be negative")
    return arr


def positive(name: str, value) -> np.ndarray:
    arr = finite(name, value)
    if np.any(arr <= 0):
        raise ValueError(f"{name} must be > 0 (got {value!r})")
    return arr


def horizon(name: str, value) -> float:
    """A finite, positive time or step horizon (NaN or inf would integrate forever, <= 0 backwards)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number (got {value!r})") from None
    if not (np.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be finite and > 0 (got {value!r})")
    return v


def dimension(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer (got {value!r})")
    if value < 1:
        raise ValueError(f"{name} must be >= 1 (got {value!r})")
    return int(value)


def balanced(a, w, *, rtol: float = 1e-9, atol: float = 1e-12, a_name: str = "a0",
             w_name: str = "w0") -> None:
    """Raise unless a^2 = ||w||^2 (the balanced initialization the closed forms assume)."""
    a = finite(a_name, a)
    w = finite(w_name, w)
    w_sq = w * w if w.shape == a.shape else np.sum(w * w, axis=-1)  # d = 1 given as a scalar, or a vector
    if not np.allclose(a * a, w_sq, rtol=rtol, atol=atol):
        raise ValueError(
            f"{a_name}, {w_name}: unbalanced initialization ({a_name}^2 = {np.asarray(a * a)!r} but "
            f"||{w_name}||^2 = {np.asarray(w_sq)!r}); this formula assumes a(0)^2 = ||w(0)||^2"
        )
