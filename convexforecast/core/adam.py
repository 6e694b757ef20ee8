"""The paper's non-convex baseline: full-batch Adam on the parallel-chain network.

:func:`train_adam` trains exactly the architecture of
:class:`~convexforecast.core.network.ChainNetwork` (paper-notes §1.2): for every input
column ``j``, ``width`` parallel width-1 chains of depth ``L`` reading column ``j``, their
output weights ``α`` and one output bias ``ξ``. It minimises the same objective the convex
Lasso solves exactly,

    ½‖f(X) − y‖² + (β/L) (Σ|W|^L + Σ|α|^L),

with a sum (not a mean) of squares, the biases unregularised and ``|w|^L`` rather than
the signed power ``w^L`` of the authors' notebook (paper-notes §5). No other weight decay
is added. Because the global minimum of this objective equals the Lasso optimum, the
convex solver's certified value is a lower bound for every Adam iterate.

Adam is not scale invariant: a step moves each parameter by about ``lr``. Standardise
``X`` and ``y`` first (the forecasting layer does) so that the default ``lr`` fits.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from convexforecast._validation import (
    check_nonnegative_float,
    check_option,
    check_positive_int,
    check_xy,
    renamed_argument,
)
from convexforecast.core._adam_kernel import chain_gradient, chain_residuals, column_runs
from convexforecast.core.activations import kernel_code
from convexforecast.core.network import Chain, ChainNetwork
from convexforecast.core.torch_export import import_torch

__all__ = ["ADAM_ACTIVATIONS", "AdamResult", "default_width", "train_adam"]

ADAM_ACTIVATIONS = ("relu", "leaky_relu", "abs")
_STEP_ACTIVATIONS = ("sign", "threshold")
_PAPER_WIDTH = 100


@dataclass
class AdamResult:
    """Outcome of :func:`train_adam`.

    Attributes
    ----------
    network : ChainNetwork
        The last iterate (not the best one), with ``beta`` and ``depth`` of the run.
    objective_history : numpy.ndarray
        Objective of the iterates after ``history_epochs`` Adam steps.
    final_objective : float
        ``network.objective(X, y)`` computed in numpy.
    best_objective : float
        Smallest objective over all ``epochs + 1`` iterates (each epoch is evaluated,
        whether recorded or not).
    elapsed : float
        Wall-clock seconds of the call after importing torch (validation,
        initialisation, training, conversion back to numpy).
    epochs : int
        Number of Adam steps taken.
    history_epochs : numpy.ndarray
        Number of steps taken before each recorded objective: ``0, r, 2r, …`` below
        ``epochs`` (``r = record_every``) and then ``epochs``.
    history_elapsed : numpy.ndarray
        Seconds since the start of the call at which each objective was recorded.
    """

    network: ChainNetwork
    objective_history: np.ndarray
    final_objective: float
    best_objective: float
    elapsed: float
    epochs: int
    history_epochs: np.ndarray
    history_elapsed: np.ndarray


def default_width(n_samples: int) -> int:
    """Default number of chains per input column: ``min(2 * n_samples, 100)``.

    A Lasso optimum over ``n_samples`` observations generically has at most
    ``n_samples`` non-zeros, and the network reaches the Lasso optimum once it has at
    least that many chains (paper-notes §1.2); twice that leaves room for the dead or
    redundant units Adam produces (solver-notes §4 recommends widths >= 2x the
    support). The cap of 100 is the paper's baseline width, which keeps the cost per
    epoch bounded on long series.
    """
    return int(min(2 * n_samples, _PAPER_WIDTH))


def train_adam(
    X,
    y,
    *,
    depth: int,
    beta: float,
    width: int | None = None,
    activation: str = "relu",
    epochs: int = 2000,
    lr: float = 5e-3,
    random_state: int = 0,
    negative_slope: float = 0.01,
    record_every: int = 1,
    init_network: ChainNetwork | None = None,
    seed: int | None = None,
) -> AdamResult:
    """Train the parallel-chain network with full-batch Adam (the paper's baseline).

    Parameters
    ----------
    X : array-like of shape (n_samples,) or (n_samples, n_features)
        Inputs; every column gets its own chains (an additive network).
    y : array-like of shape (n_samples,)
        Targets.
    depth : int
        Number of layers L, one of 2, 3, 4 (L − 1 hidden weights and biases per chain).
    beta : float
        Regularisation strength β >= 0.
    width : int or None
        Chains per input column. ``None`` uses :func:`default_width` (``min(2N, 100)``),
        or, with ``init_network``, exactly the chains of ``init_network``. With both,
        each column keeps its ``init_network`` chains and is topped up with randomly
        initialised chains to ``width``.
    activation : {"relu", "leaky_relu", "abs"}
        Hidden activation. Sign and threshold are not allowed: their gradient is zero
        almost everywhere, so gradient descent cannot move their kinks.
    epochs : int
        Number of full-batch Adam steps (>= 1).
    lr : float
        Adam learning rate (> 0); ``torch.optim.Adam`` defaults otherwise, no weight decay.
    random_state : int
        Seed (>= 0) of the local numpy generator used for the random initialisation;
        the run is deterministic given it (no global RNG state is used or changed).
    negative_slope : float
        Slope ``a`` of leaky ReLU ``max(t, a t)``, ``0 <= a < 1`` (leaky_relu only).
    record_every : int
        Record the objective every this many epochs (the initial and final iterates are
        always recorded).
    init_network : ChainNetwork or None
        Start from this network (for example a reconstructed Lasso solution) instead of
        a random one. Its depth and activation must match; it is not modified.

    seed : int, optional
        Deprecated name of ``random_state`` (removed in the next release).

    Returns
    -------
    AdamResult
        The last iterate as a :class:`ChainNetwork` and the objective history.

    Raises
    ------
    ValueError
        For invalid arguments, non-finite or mismatched ``X``/``y``, or an
        ``init_network`` that does not fit the requested architecture.
    TypeError
        If ``init_network`` is not a ChainNetwork.
    FloatingPointError
        If the objective becomes NaN or infinite (lower ``lr``).
    ImportError
        If PyTorch is not installed.

    Notes
    -----
    Random initialisation, per chain reading column ``x``: each hidden layer ``l`` gets a
    random sign and a modulus drawn from ``U(0.5, 1.5)``, divided by ``std(x)`` in the
    first layer so that pre-activations are of order one whatever the scale of ``x``; its
    bias puts the kink at a point drawn uniformly between the smallest and largest value
    of the layer's input on the training data (``x`` for the first layer), so no unit
    starts dead or constant. Output weights are ``U(−1, 1) / sqrt(m)`` over all ``m``
    chains (PyTorch's default scale for a linear layer) and the output bias makes the
    initial residual mean zero.

    All parameters live in one flat vector updated by a single ``torch.optim.Adam``
    (``foreach=False``; Adam is elementwise, so this is the same algorithm as one
    optimiser over separate tensors). Weights and biases are stored as ``(L − 1, m)``
    blocks with ``m = n_features * width`` chains, grouped by input column. The objective
    and its closed-form gradient (checked against torch autograd in the tests) are computed
    by compiled numba kernels, one fused pass over chains and rows for the forward pass and
    one for the backward pass, which recomputes the forward pass instead of storing
    ``(n_samples, m)`` intermediates (:mod:`convexforecast.core._adam_kernel`). They run on
    one thread and sum in a fixed order, so runs are bit-for-bit reproducible.
    """
    torch = import_torch("train_adam")
    start = time.perf_counter()
    X_arr, y_arr = check_xy(X, y, x_name="X", y_name="y")
    depth = check_option("depth", check_positive_int("depth", depth, minimum=2), (2, 3, 4))
    beta = check_nonnegative_float("beta", beta)
    if activation in _STEP_ACTIVATIONS:
        raise ValueError(
            f"`activation` must be one of {list(ADAM_ACTIVATIONS)}. Got {activation!r}: sign "
            "and threshold units have zero gradient almost everywhere, so Adam cannot train "
            "them (use the convex solver)."
        )
    activation = check_option("activation", activation, ADAM_ACTIVATIONS)
    epochs = check_positive_int("epochs", epochs)
    lr = check_nonnegative_float("lr", lr)
    if lr <= 0.0:
        raise ValueError(f"`lr` must be a finite number > 0. Got {lr!r}.")
    seed = check_positive_int("random_state", renamed_argument(
        "random_state", random_state, "seed", seed, 0), minimum=0)
    negative_slope = check_nonnegative_float("negative_slope", negative_slope)
    if negative_slope >= 1.0:
        raise ValueError(f"`negative_slope` must be in [0, 1). Got {negative_slope!r}.")
    record_every = check_positive_int("record_every", record_every)
    if width is not None:
        width = check_positive_int("width", width)
    slope = negative_slope if activation == "leaky_relu" else 0.0

    rng = np.random.default_rng(seed)
    if init_network is None:
        width = default_width(X_arr.shape[0]) if width is None else width
        start_net = _random_network(X_arr, y_arr, depth, beta, activation, slope, width, rng)
    else:
        start_net = _extend_init_network(
            init_network, X_arr, depth, beta, activation, slope, width, rng
        )

    problem = _ChainProblem(start_net, X_arr, y_arr, activation, slope)
    theta_tensor = torch.nn.Parameter(torch.from_numpy(problem.pack(start_net)))
    theta = theta_tensor.detach().numpy()  # shares memory: Adam's in-place updates show here
    grad = np.zeros_like(theta)
    theta_tensor.grad = torch.from_numpy(grad)  # shares memory: filled in place each epoch
    optimizer = torch.optim.Adam([theta_tensor], lr=lr, foreach=False)
    history: list[float] = []
    history_epochs: list[int] = []
    history_elapsed: list[float] = []
    best = math.inf

    def record(step: int, value: float) -> None:
        history.append(value)
        history_epochs.append(step)
        history_elapsed.append(time.perf_counter() - start)

    with np.errstate(over="ignore", invalid="ignore"):  # divergence is reported below
        for step in range(epochs):
            value = problem.objective(theta, grad)
            _check_finite(value, step)
            best = min(best, value)
            if step % record_every == 0:
                record(step, value)
            optimizer.step()
        value = problem.objective(theta)
    _check_finite(value, epochs)
    best = min(best, value)
    record(epochs, value)

    network = problem.unpack(theta)
    final = network.objective(X_arr, y_arr)
    return AdamResult(
        network=network,
        objective_history=np.asarray(history),
        final_objective=final,
        best_objective=float(best),
        elapsed=time.perf_counter() - start,
        epochs=epochs,
        history_epochs=np.asarray(history_epochs, dtype=np.int64),
        history_elapsed=np.asarray(history_elapsed),
    )


class _ChainProblem:
    """The training objective of a network of equal-length chains, with its gradient.

    The parameters live in one flat vector ``theta = [W, B, alpha, xi]`` with ``W`` and
    ``B`` of shape ``(L - 1, m)`` (row ``l`` holds layer ``l`` of all ``m`` chains), so that
    Adam updates a single tensor. The forward and backward passes are the compiled kernels of
    :mod:`convexforecast.core._adam_kernel` (one fused loop over chains and rows each, with
    no ``(n_samples, m)`` temporaries; checked against torch autograd in the tests); the
    penalty and its gradient are ``O(m)`` numpy operations.
    """

    def __init__(
        self, net: ChainNetwork, X: np.ndarray, y: np.ndarray, activation: str, slope: float
    ) -> None:
        self.input_index = np.array([chain.input_index for chain in net.chains], dtype=np.int64)
        self.n_chains = len(net.chains)
        self.n_hidden = net.depth - 1
        self.depth = net.depth
        self.beta = net.beta
        self.activation = activation
        self.slope = slope
        self.negative_side, self.zero_derivative = kernel_code(activation, slope)
        self.runs = column_runs(self.input_index)
        self.Xt = np.ascontiguousarray(X.T, dtype=np.float64)  # (n_features, n_samples)
        self.y = np.ascontiguousarray(y, dtype=np.float64)
        self.resid = np.empty(self.y.size)  # f(X) - y at the last evaluated theta
        self._buffer = np.empty((2, self.y.size))

    def pack(self, net: ChainNetwork) -> np.ndarray:
        m, k = self.n_chains, self.n_hidden
        theta = np.empty(2 * k * m + m + 1)
        weights, biases, alphas = self._views(theta)
        for i, chain in enumerate(net.chains):
            weights[:, i] = chain.weights
            biases[:, i] = chain.biases
            alphas[i] = chain.output_weight
        theta[-1] = net.output_bias
        return theta

    def unpack(self, theta: np.ndarray) -> ChainNetwork:
        weights, biases, alphas = self._views(theta)
        chains = [
            Chain(int(self.input_index[i]), self.activation, weights[:, i].copy(),
                  biases[:, i].copy(), float(alphas[i]), self.slope)
            for i in range(self.n_chains)
        ]
        return ChainNetwork(chains, float(theta[-1]), self.depth, self.beta)

    def _views(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        m, k = self.n_chains, self.n_hidden
        weights = theta[: k * m].reshape(k, m)
        biases = theta[k * m : 2 * k * m].reshape(k, m)
        return weights, biases, theta[2 * k * m : 2 * k * m + m]

    def objective(self, theta: np.ndarray, grad: np.ndarray | None = None) -> float:
        """Objective at ``theta``; if ``grad`` is given, its gradient is written into it.

        ``theta`` and ``grad`` must be contiguous float64 vectors of length ``2km + m + 1``.
        """
        resid = self.resid
        chain_residuals(self.Xt, self.runs, self.y, theta, self.n_hidden, self.negative_side,
                        resid, self._buffer)
        weights, _, alphas = self._views(theta)
        depth, beta = self.depth, self.beta
        abs_weights, abs_alphas = np.abs(weights), np.abs(alphas)
        value = 0.5 * float(resid @ resid) + beta / depth * float(
            np.sum(abs_weights**depth) + np.sum(abs_alphas**depth)
        )
        if grad is None:
            return value
        chain_gradient(self.Xt, self.runs, resid, theta, grad, self.n_hidden,
                       self.negative_side, self.zero_derivative)
        grad_weights, _, grad_alphas = self._views(grad)
        grad_alphas += beta * abs_alphas ** (depth - 1) * np.sign(alphas)
        grad_weights += beta * abs_weights ** (depth - 1) * np.sign(weights)
        grad[-1] = resid.sum()
        return value


def _check_finite(value: float, step: int) -> None:
    if not math.isfinite(value):
        raise FloatingPointError(
            f"The Adam objective became {value} after {step} epochs; lower `lr` or "
            "standardise `X` and `y`."
        )


def _random_chains(
    x: np.ndarray,
    column: int,
    count: int,
    depth: int,
    activation: str,
    slope: float,
    n_total: int,
    rng: np.random.Generator,
) -> list[Chain]:
    """``count`` random chains reading ``x`` (column ``column``); see train_adam Notes."""
    n_hidden = depth - 1
    weights = np.empty((count, n_hidden))
    biases = np.empty((count, n_hidden))
    h = np.repeat(x[:, None], count, axis=1)  # (n_samples, count)
    spread = x.std() if x.std() > 0.0 else 1.0
    for layer in range(n_hidden):
        signs = rng.choice((-1.0, 1.0), size=count)
        w = signs * rng.uniform(0.5, 1.5, size=count) / (spread if layer == 0 else 1.0)
        kinks = rng.uniform(h.min(axis=0), h.max(axis=0))
        weights[:, layer] = w
        biases[:, layer] = -w * kinks
        t = h * w + biases[:, layer]
        h = np.maximum(t, slope * t) if activation != "abs" else np.abs(t)
    alphas = rng.uniform(-1.0, 1.0, size=count) / math.sqrt(n_total)
    return [
        Chain(column, activation, weights[i].copy(), biases[i].copy(), float(alphas[i]), slope)
        for i in range(count)
    ]


def _random_network(
    X: np.ndarray,
    y: np.ndarray,
    depth: int,
    beta: float,
    activation: str,
    slope: float,
    width: int,
    rng: np.random.Generator,
) -> ChainNetwork:
    n_total = width * X.shape[1]
    chains: list = []
    for column in range(X.shape[1]):
        chains += _random_chains(X[:, column], column, width, depth, activation, slope,
                                 n_total, rng)
    net = ChainNetwork(chains, 0.0, depth, beta)
    net.output_bias = float(np.mean(y - net.predict(X)))
    return net


def _extend_init_network(
    init_network: ChainNetwork,
    X: np.ndarray,
    depth: int,
    beta: float,
    activation: str,
    slope: float,
    width: int | None,
    rng: np.random.Generator,
) -> ChainNetwork:
    """Copy ``init_network`` (validated) and top each column up to ``width`` chains."""
    if not isinstance(init_network, ChainNetwork):
        raise TypeError(
            f"`init_network` must be a ChainNetwork or None. Got {type(init_network).__name__}."
        )
    if init_network.depth != depth:
        raise ValueError(
            f"`init_network` must have depth {depth} (the `depth` argument). "
            f"Got {init_network.depth}."
        )
    n_features = X.shape[1]
    per_column: list[list[Chain]] = [[] for _ in range(n_features)]
    for position, chain in enumerate(init_network.chains):
        if not isinstance(chain, Chain) or chain.activation != activation:
            kind = getattr(chain, "activation", type(chain).__name__)
            raise ValueError(
                f"`init_network` chains must be {activation!r} Chains (the `activation` "
                f"argument). Got {kind!r} at position {position}."
            )
        if activation == "leaky_relu" and chain.negative_slope != slope:
            raise ValueError(
                f"`init_network` chains must have negative_slope {slope!r}. "
                f"Got {chain.negative_slope!r} at position {position}."
            )
        weights = np.array(chain.weights, dtype=np.float64).reshape(-1)
        biases = np.array(chain.biases, dtype=np.float64).reshape(-1)
        values = np.concatenate([weights, biases, [chain.output_weight]])
        if weights.size != depth - 1 or biases.size != depth - 1 or not np.isfinite(values).all():
            raise ValueError(
                f"`init_network` chains must have {depth - 1} finite weights and biases. "
                f"Got weights={weights!r}, biases={biases!r} at position {position}."
            )
        if not 0 <= chain.input_index < n_features:
            raise ValueError(
                f"`init_network` chains must read a column of `X` (0..{n_features - 1}). "
                f"Got input_index={chain.input_index!r} at position {position}."
            )
        per_column[chain.input_index].append(
            Chain(int(chain.input_index), activation, weights, biases,
                  float(chain.output_weight), slope)
        )
    if not math.isfinite(init_network.output_bias):
        raise ValueError(
            f"`init_network.output_bias` must be finite. Got {init_network.output_bias!r}."
        )
    if width is not None:
        for column, chains in enumerate(per_column):
            if len(chains) > width:
                raise ValueError(
                    f"`width` must be at least the number of `init_network` chains per "
                    f"column. Got width={width} and {len(chains)} chains on column {column}."
                )
    n_total = sum(len(chains) if width is None else width for chains in per_column)
    chains: list = []
    for column, column_chains in enumerate(per_column):
        chains += column_chains
        missing = 0 if width is None else width - len(column_chains)
        if missing:
            chains += _random_chains(X[:, column], column, missing, depth, activation, slope,
                                     n_total, rng)
    return ChainNetwork(chains, float(init_network.output_bias), depth, beta)
