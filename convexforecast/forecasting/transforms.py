"""Target transforms: map a price level series to the scale a model is fitted on, and back.

Each transform is a small stateless object with

``transform(y, name)``
    levels -> model scale; ``n_lost`` leading observations are consumed (1 for differences);
``inverse(z, last_levels)``
    a forecast path on the model scale -> the level path, given the last observed level(s);
``check(y, name)``
    validate that the transform is defined for ``y`` (positivity for log transforms).

Available: ``"log_return"`` (``log y_t - log y_{t-1}``), ``"diff"`` (``y_t - y_{t-1}``),
``"log"`` (``log y_t``) and ``"none"``.

Notes
-----
Forecasts are mapped back by the plain inverse (e.g. ``exp`` of the cumulated log-return
forecast), i.e. they are median-type forecasts of the level under a symmetric error on the
model scale; no log-normal bias correction is applied.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from .._validation import check_option

__all__ = [
    "TRANSFORMS",
    "Transform",
    "NoTransform",
    "LogTransform",
    "DiffTransform",
    "LogReturnTransform",
    "get_transform",
]


class Transform:
    """Base class of target transforms (stateless; see the module docstring)."""

    name: ClassVar[str] = "none"
    #: Leading observations consumed by :meth:`transform`.
    n_lost: ClassVar[int] = 0
    #: Whether the transform needs strictly positive values.
    positive: ClassVar[bool] = False

    def check(self, y: np.ndarray, name: str = "y") -> None:
        """Raise ValueError (naming ``name``) if the transform is undefined for ``y``."""
        if self.positive:
            bad = np.flatnonzero(np.asarray(y) <= 0)
            if bad.size:
                pos = int(bad[0])
                raise ValueError(
                    f"`{name}` must be strictly positive for transform={self.name!r}. Got "
                    f"{float(y[pos])!r} at position {pos}."
                )

    def transform(self, y: np.ndarray, name: str = "y") -> np.ndarray:
        """Levels -> model scale (a new array of length ``len(y) - n_lost``)."""
        y = np.asarray(y, dtype=np.float64)
        self.check(y, name)
        with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported below
            z = self._forward(y)
        bad = np.flatnonzero(~np.isfinite(z))
        if bad.size:
            pos = int(bad[0]) + self.n_lost
            raise ValueError(
                f"`{name}` overflows under transform={self.name!r}: the transformed value at "
                f"position {pos} is {float(z[bad[0]])!r} (the value there is {float(y[pos])!r}); "
                "rescale the series."
            )
        return z

    def inverse(self, z: np.ndarray, last_levels: np.ndarray) -> np.ndarray:
        """A forecast path ``z`` on the model scale -> the level path.

        Parameters
        ----------
        z : ndarray of shape (h,)
            Forecasts of the transformed series for the next ``h`` steps.
        last_levels : ndarray
            Observed levels ending at the forecast origin (only the last is used).
        """
        return self._inverse(np.asarray(z, dtype=np.float64), np.asarray(last_levels, float))

    def one_step_levels(self, z_hat: np.ndarray, previous: np.ndarray) -> np.ndarray:
        """Map one-step forecasts ``z_hat[i]`` to levels, each given its own previous level.

        Used for in-sample residuals: ``previous[i]`` is the level observed just before the
        target of ``z_hat[i]``.
        """
        z_hat = np.asarray(z_hat, dtype=np.float64)
        previous = np.asarray(previous, dtype=np.float64)
        return self._inverse(z_hat[:, None], previous[:, None])[:, 0]  # one path per row

    def _forward(self, y: np.ndarray) -> np.ndarray:
        return y.copy()

    def _inverse(self, z: np.ndarray, last_levels: np.ndarray) -> np.ndarray:  # noqa: ARG002
        """Paths on the model scale (along the last axis) -> level paths, given the levels
        observed before them (``last_levels[..., -1]``)."""
        return z.copy()

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class NoTransform(Transform):
    """Identity: the model is fitted on the levels."""

    name = "none"


class LogTransform(Transform):
    """``log y``; requires strictly positive values."""

    name = "log"
    positive = True

    def _forward(self, y: np.ndarray) -> np.ndarray:
        return np.log(y)

    def _inverse(self, z: np.ndarray, last_levels: np.ndarray) -> np.ndarray:  # noqa: ARG002
        return np.exp(z)


class DiffTransform(Transform):
    """First differences ``y_t - y_{t-1}``; the inverse cumulates from the last level."""

    name = "diff"
    n_lost = 1

    def _forward(self, y: np.ndarray) -> np.ndarray:
        return np.diff(y)

    def _inverse(self, z: np.ndarray, last_levels: np.ndarray) -> np.ndarray:
        return last_levels[..., -1:] + np.cumsum(z, axis=-1)


class LogReturnTransform(Transform):
    """Log returns ``log y_t - log y_{t-1}``; requires strictly positive values."""

    name = "log_return"
    n_lost = 1
    positive = True

    def _forward(self, y: np.ndarray) -> np.ndarray:
        return np.diff(np.log(y))

    def _inverse(self, z: np.ndarray, last_levels: np.ndarray) -> np.ndarray:
        return last_levels[..., -1:] * np.exp(np.cumsum(z, axis=-1))


TRANSFORMS: dict[str, type[Transform]] = {
    cls.name: cls for cls in (LogReturnTransform, DiffTransform, LogTransform, NoTransform)
}


def get_transform(name: str, argument: str = "transform") -> Transform:
    """Return the transform called ``name``; ValueError naming ``argument`` if unknown."""
    check_option(argument, name, list(TRANSFORMS))
    return TRANSFORMS[name]()
