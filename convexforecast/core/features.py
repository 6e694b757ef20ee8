"""Dictionary features: the functions behind the Lasso columns, with their provenance.

A :class:`Feature` is a function of one real input. It can be evaluated anywhere (not
only at the training points), it records where it came from (activation, depth, sign
pattern, kinks, which kinks are reflections ``2 x_j - x_k``), and it can be realised
as a unit-weight chain of the paper's architecture (paper-notes §1.2, §3).

Kinds
-----
``"ramp"``
    ``sigma(direction * (x - a))``; ReLU or leaky ReLU (``negative_slope``).
``"capped_ramp"``
    ``clip(x - a, 0, b - a)`` with ``a < b`` (an increasing capped ramp).
``"abs"``
    ``|x - c|``.
``"folded_abs"``
    ``||x - c| - b|`` with kinks ``(c - b, c, c + b)``.
``"step"``
    a piecewise-constant +-1 (sign) or 0/1 (threshold) function that flips at every
    kink ``t`` (the value at ``x = t`` is the value right of ``t``, i.e. sign(0) = +1).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

KINDS = ("ramp", "capped_ramp", "abs", "folded_abs", "step")


@dataclass(frozen=True)
class Feature:
    """One dictionary column as a function of a scalar input.

    Parameters
    ----------
    kind : str
        One of ``"ramp"``, ``"capped_ramp"``, ``"abs"``, ``"folded_abs"``, ``"step"``.
    kinks : tuple of float
        Breakpoints in ascending order (switch points for ``"step"``).
    activation : str
        Activation of the network the feature belongs to.
    depth : int
        Number of layers L of the network (L - 1 hidden layers per chain).
    direction : int
        ``+1`` or ``-1``. Ramps: ``+1`` is ``(x - a)_+``, ``-1`` is ``(a - x)_+``.
        Steps: ``+1`` rises at the first switch (starts at -1 for sign, 0 for threshold).
    negative_slope : float
        Leaky-ReLU slope ``a`` in ``max(t, a t)``; 0 for ReLU.
    reflected : tuple of bool
        For each kink, whether it is a reflection ``2 x_j - x_k`` of the data rather
        than a data point (or a midpoint for abs).
    sources : tuple
        For each reflected kink, the pair ``(x_k, x_j)`` it reflects (``2 x_j - x_k``);
        ``None`` for other kinks.
    """

    kind: str
    kinks: tuple[float, ...]
    activation: str = "relu"
    depth: int = 2
    direction: int = 1
    negative_slope: float = 0.0
    reflected: tuple[bool, ...] = field(default=())
    sources: tuple[tuple[float, float] | None, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"`kind` must be one of {list(KINDS)}. Got {self.kind!r}.")
        if not self.reflected:
            object.__setattr__(self, "reflected", (False,) * len(self.kinks))
        if not self.sources:
            object.__setattr__(self, "sources", (None,) * len(self.kinks))

    @property
    def is_reflection(self) -> bool:
        """Whether any kink of the feature is a reflection of the data about itself."""
        return any(self.reflected)

    @property
    def n_kinks(self) -> int:
        """Number of breakpoints."""
        return len(self.kinks)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Evaluate the feature at the points ``x`` (any shape)."""
        x = np.asarray(x, dtype=np.float64)
        k = self.kinks
        if self.kind == "ramp":
            t = self.direction * (x - k[0])
            return np.maximum(t, self.negative_slope * t)
        if self.kind == "capped_ramp":
            return np.clip(x - k[0], 0.0, k[1] - k[0])
        if self.kind == "abs":
            return np.abs(x - k[0])
        if self.kind == "folded_abs":
            return np.abs(np.abs(x - k[1]) - (k[1] - k[0]))
        flips = np.searchsorted(np.asarray(k), x, side="right") % 2
        rising = np.where(flips == 1, 1.0, 0.0) if self.direction > 0 else np.where(flips == 1, 0.0, 1.0)
        return 2.0 * rising - 1.0 if self.activation == "sign" else rising

    def chain(self) -> tuple[list[tuple[float, float]], float, float]:
        """Realise the feature as a unit-weight chain.

        Returns
        -------
        layers : list of (s_l, t_l)
            ``F_1 = x`` and ``F_{l+1} = sigma(s_l * (F_l - t_l))`` for the ``depth - 1``
            hidden layers, with sigma the feature's activation.
        scale, offset : float
            ``feature(x) == scale * F_L(x) + offset`` for every real ``x``.

        Raises
        ------
        ValueError
            For step features, which are realised by amplitude chains instead.
        """
        n_hidden = self.depth - 1
        identity = (1.0, 0.0)  # sigma(h - 0) == h for h >= 0 (ReLU and abs)
        k = self.kinks
        if self.kind == "ramp":
            layers, scale, offset = [(float(self.direction), k[0])], 1.0, 0.0
        elif self.kind == "abs":
            layers, scale, offset = [(1.0, k[0])], 1.0, 0.0
        elif self.kind == "capped_ramp":
            layers, scale, offset = [(1.0, k[0]), (-1.0, k[1] - k[0])], -1.0, k[1] - k[0]
        elif self.kind == "folded_abs":
            layers, scale, offset = [(1.0, k[1]), (1.0, k[1] - k[0])], 1.0, 0.0
        else:
            raise ValueError("Step features have no unit-weight chain; use an amplitude chain.")
        if len(layers) > n_hidden:
            raise ValueError(
                f"A {self.kind} feature needs depth >= {len(layers) + 1}. Got depth={self.depth}."
            )
        layers += [identity] * (n_hidden - len(layers))
        return layers, scale, offset

    def describe(self) -> dict:
        """A JSON-friendly description of the feature's provenance."""
        return {
            "kind": self.kind,
            "activation": self.activation,
            "depth": self.depth,
            "direction": self.direction,
            "kinks": [float(v) for v in self.kinks],
            "reflected": list(self.reflected),
            "sources": [None if s is None else [float(s[0]), float(s[1])] for s in self.sources],
            "negative_slope": self.negative_slope,
        }

    @classmethod
    def from_description(cls, d: dict) -> Feature:
        """Inverse of :meth:`describe`."""
        return cls(
            kind=d["kind"],
            kinks=tuple(d["kinks"]),
            activation=d["activation"],
            depth=int(d["depth"]),
            direction=int(d["direction"]),
            negative_slope=float(d["negative_slope"]),
            reflected=tuple(d["reflected"]),
            sources=tuple(None if s is None else (s[0], s[1]) for s in d["sources"]),
        )

