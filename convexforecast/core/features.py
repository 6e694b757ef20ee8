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
        """Evaluate the feature at the points ``x`` (any shape), with :class:`FeatureTable`."""
        x = np.asarray(x, dtype=np.float64)
        return FeatureTable.from_features([self]).evaluate(x.reshape(-1))[:, 0].reshape(x.shape)

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



_RAMP, _CAPPED, _ABS, _FOLDED, _STEP = range(len(KINDS))
#: Kind codes in the order their groups are summed (alphabetical by kind name).
GROUP_ORDER = tuple(KINDS.index(kind) for kind in sorted(KINDS))
CHUNK_ENTRIES = 4_000_000  # entries per evaluation block (bounds temporary memory)


@dataclass(frozen=True)
class FeatureTable:
    """Many features as parallel arrays, evaluated in one vectorised pass per kind.

    This is the one evaluator of dictionary features: :meth:`Feature.__call__`, the explicit
    dictionaries (:mod:`convexforecast.core.dictionaries`) and additive networks
    (:class:`~convexforecast.core.additive.AdditiveFunction`) all evaluate through it.

    Attributes
    ----------
    kind : ndarray of shape (P,)
        Index into :data:`KINDS`.
    kinks : ndarray of shape (P, K)
        Breakpoints in ascending order, padded with ``+inf``.
    direction : ndarray of shape (P,)
        ``+1`` or ``-1`` (see :class:`Feature`).
    slope : ndarray of shape (P,)
        Leaky-ReLU slope of ramps (0 for ReLU).
    sign : ndarray of shape (P,)
        Whether a step feature takes the values ±1 (sign) rather than 0/1 (threshold).
    """

    kind: np.ndarray
    kinks: np.ndarray
    direction: np.ndarray
    slope: np.ndarray
    sign: np.ndarray

    @classmethod
    def from_features(cls, features: list[Feature]) -> FeatureTable:
        width = max((f.n_kinks for f in features), default=1)
        kinks = np.full((len(features), max(width, 1)), np.inf)
        for i, f in enumerate(features):
            kinks[i, :f.n_kinks] = f.kinks
        return cls(kind=np.array([KINDS.index(f.kind) for f in features], dtype=np.int64),
                   kinks=kinks,
                   direction=np.array([f.direction for f in features], dtype=np.int64),
                   slope=np.array([f.negative_slope for f in features], dtype=np.float64),
                   sign=np.array([f.activation == "sign" for f in features], dtype=bool))

    @property
    def size(self) -> int:
        return int(self.kind.shape[0])

    def groups(self) -> list[tuple[int, np.ndarray]]:
        """``(kind code, column indices)`` per kind present, in :data:`GROUP_ORDER`."""
        return [(code, np.flatnonzero(self.kind == code)) for code in GROUP_ORDER
                if np.any(self.kind == code)]

    def evaluate_group(self, code: int, columns: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Values of the features ``columns`` (all of kind ``code``) at ``x``.

        ``x`` is of shape (m, 1) (the same points for every feature) or (m, len(columns))
        (column ``k`` holds the points of feature ``columns[k]``); the result is (m, len(columns)).
        """
        k0 = self.kinks[columns, 0][None, :]
        if code == _RAMP:
            t = self.direction[columns][None, :] * (x - k0)
            return np.maximum(t, self.slope[columns][None, :] * t)
        if code == _CAPPED:
            return np.clip(x - k0, 0.0, self.kinks[columns, 1][None, :] - k0)
        if code == _ABS:
            return np.abs(x - k0)
        if code == _FOLDED:
            k1 = self.kinks[columns, 1][None, :]
            return np.abs(np.abs(x - k1) - (k1 - k0))
        flips = np.sum(x[:, :, None] >= self.kinks[columns][None, :, :], axis=2) % 2
        up = self.direction[columns][None, :] > 0
        rising = np.where(flips == 1, np.where(up, 1.0, 0.0), np.where(up, 0.0, 1.0))
        # C order, like the other kinds: the products with coefficients then sum identically
        return np.ascontiguousarray(np.where(self.sign[columns][None, :], 2.0 * rising - 1.0,
                                             rising))

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        """Every feature at the points ``x`` of shape (m,); the result is (m, P).

        Evaluated in blocks of columns, so temporary memory stays bounded.
        """
        out = np.empty((x.shape[0], self.size))
        xc = x[:, None]
        block = max(1, CHUNK_ENTRIES // max(1, x.shape[0] * self.kinks.shape[1]))
        for code, columns in self.groups():
            for start in range(0, columns.shape[0], block):
                part = columns[start:start + block]
                out[:, part] = self.evaluate_group(code, part, xc)
        return out
