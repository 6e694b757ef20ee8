"""Adam baseline at the paper's full design: milliseconds per epoch, numpy vs compiled kernels.

The problem is the one the BTC backtest's Adam net trains at every refit: windows of
``--lags`` (10) standardised daily BTC log returns (Close, intraday last row dropped) predicting
the next one, the first ``--rows`` (3,833) windows, ``--width`` (100) chains per lag, so
1,000 chains, depth ``--depth`` (3), float64. ``--data synthetic`` uses i.i.d. normal inputs
and a noisy sine of their sum instead (no data file needed).

Two implementations of the objective and gradient of ``train_adam`` are timed in the same
run, alternating, with the same Adam (``torch.optim.Adam``), initialisation and seed:

- ``numpy``: the previous implementation, kept below as :class:`NumpyChainProblem` (one
  broadcast array pass per operation on ``(n_samples, m)`` arrays);
- ``kernel``: the current :class:`convexforecast.core.adam._ChainProblem` (numba kernels).

Milliseconds per epoch are ``(history_elapsed[-1] - history_elapsed[0]) / epochs`` of a
``train_adam`` run (the training loop only: objective, gradient and Adam step per epoch),
the median over ``--repeats`` runs (each run after one warm-up run), and the CPU time of
the calling thread per epoch (numpy's BLAS threads and torch's OpenMP workers not counted). The objective and
gradient alone (no Adam step) are also timed at the initial point, in wall and in CPU time
of the calling thread (less sensitive to other processes on the machine). Then both train
``--compare-epochs`` (200) epochs from the same start, and the script prints the largest
difference of their parameters and objective histories (round-off only), and checks that two
kernel runs are bit-for-bit identical.

The Adam step itself (``torch.optim.Adam``, 5,001 parameters) takes ~0.1 ms, but PyTorch runs
its square root on its OpenMP thread pool; when the other cores are busy, each step waits for
a descheduled worker (several ms per epoch). ``--torch-threads 1`` shows the epoch time
without that effect.

Usage::

    python benchmarks/bench_adam.py                    # BTC windows, ~1 min
    python benchmarks/bench_adam.py --torch-threads 1
    python benchmarks/bench_adam.py --data synthetic --activation abs --depth 4
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from statistics import median

import numpy as np
from _machine import cpu_model

import convexforecast.core.adam as adam_module
from convexforecast.core.adam import _ChainProblem, train_adam
from convexforecast.core.network import ChainNetwork

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BTC = REPO_ROOT.parent / "shared" / "data" / "btc-usd-daily.csv"
TARGET_MS = 50.0
MOONSHOT_MS = 20.0


class NumpyChainProblem(_ChainProblem):
    """The numpy objective ``train_adam`` used before the compiled kernels (reference)."""

    def __init__(self, net: ChainNetwork, X: np.ndarray, y: np.ndarray, activation: str,
                 slope: float) -> None:
        super().__init__(net, X, y, activation, slope)
        self.inputs = X[:, self.input_index]  # (n_samples, m), constant during training

    def _activate(self, t: np.ndarray) -> np.ndarray:
        if self.activation == "relu":
            return np.maximum(t, 0.0)
        if self.activation == "leaky_relu":
            return np.maximum(t, self.slope * t)
        return np.abs(t)

    def _derivative(self, t: np.ndarray) -> np.ndarray:
        if self.activation == "abs":
            return np.sign(t)
        deriv = (t > 0.0).astype(np.float64)
        if self.activation == "leaky_relu":
            deriv *= 1.0 - self.slope
            deriv += self.slope
        return deriv

    def objective(self, theta: np.ndarray, grad: np.ndarray | None = None) -> float:
        weights, biases, alphas = self._views(theta)
        hidden = [self.inputs]
        pre_activations = []
        for layer in range(self.n_hidden):
            t = hidden[-1] * weights[layer]
            t += biases[layer]
            pre_activations.append(t)
            hidden.append(self._activate(t))
        resid = hidden[-1] @ alphas
        resid += theta[-1] - self.y
        depth, beta = self.depth, self.beta
        abs_weights, abs_alphas = np.abs(weights), np.abs(alphas)
        value = 0.5 * float(resid @ resid) + beta / depth * float(
            np.sum(abs_weights**depth) + np.sum(abs_alphas**depth)
        )
        if grad is None:
            return value
        grad_weights, grad_biases, grad_alphas = self._views(grad)
        grad_alphas[:] = resid @ hidden[-1]
        grad_alphas += beta * abs_alphas ** (depth - 1) * np.sign(alphas)
        grad[-1] = resid.sum()
        upstream = np.multiply.outer(resid, alphas)
        for layer in range(self.n_hidden - 1, -1, -1):
            upstream *= self._derivative(pre_activations[layer])
            grad_biases[layer] = upstream.sum(axis=0)
            grad_weights[layer] = np.einsum("ij,ij->j", upstream, hidden[layer])
            if layer:
                upstream *= weights[layer]
        grad_weights += beta * abs_weights ** (depth - 1) * np.sign(weights)
        return value


@contextlib.contextmanager
def implementation(name: str) -> Iterator[None]:
    """Make ``train_adam`` use the ``"numpy"`` reference or the ``"kernel"`` objective."""
    original = adam_module._ChainProblem
    adam_module._ChainProblem = NumpyChainProblem if name == "numpy" else original
    try:
        yield
    finally:
        adam_module._ChainProblem = original


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=["btc", "synthetic"], default="btc")
    parser.add_argument("--btc", type=Path, default=DEFAULT_BTC)
    parser.add_argument("--rows", type=int, default=3833)
    parser.add_argument("--lags", type=int, default=10)
    parser.add_argument("--width", type=int, default=100)
    parser.add_argument("--depth", type=int, default=3, choices=[2, 3, 4])
    parser.add_argument("--activation", default="relu", choices=["relu", "leaky_relu", "abs"])
    parser.add_argument("--beta", type=float, default=1.0)
    parser.add_argument("--epochs", type=int, default=40, help="epochs per timed run")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per implementation")
    parser.add_argument("--compare-epochs", type=int, default=200)
    parser.add_argument("--torch-threads", type=int, default=0,
                        help="torch.set_num_threads for this process (0 = leave the default); "
                             "1 keeps the Adam step off PyTorch's OpenMP pool, whose workers "
                             "wait for busy cores on a loaded machine")
    return parser.parse_args(argv)


def make_data(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray]:
    """``(X, y)`` of shape ``(rows, lags)`` and ``(rows,)``, standardised."""
    if args.data == "btc":
        from convexforecast.data.loaders import load_csv
        from convexforecast.forecasting.windows import lag_matrix

        close = load_csv(args.btc, drop_last=True).to_numpy()
        returns = np.diff(np.log(close))
        returns = (returns - returns.mean()) / returns.std()
        X, y = lag_matrix(returns, args.lags)
        if X.shape[0] < args.rows:
            raise SystemExit(f"--rows {args.rows} > {X.shape[0]} BTC windows available")
        return X[: args.rows], y[: args.rows]
    rng = np.random.default_rng(0)
    X = rng.standard_normal((args.rows, args.lags))
    return X, np.sin(X.sum(axis=1) / np.sqrt(args.lags)) + 0.3 * rng.standard_normal(args.rows)


def ms_per_epoch(name: str, X: np.ndarray, y: np.ndarray, args: argparse.Namespace,
                 epochs: int) -> tuple[float, float]:
    """Training-loop wall milliseconds per epoch of one ``train_adam`` run, and the calling
    thread's CPU milliseconds of the whole call per epoch (set-up included)."""
    start_cpu = time.thread_time()
    with implementation(name):
        result = train_adam(X, y, depth=args.depth, beta=args.beta, width=args.width,
                            activation=args.activation, epochs=epochs, random_state=0)
    cpu = 1e3 * (time.thread_time() - start_cpu) / epochs
    return 1e3 * (result.history_elapsed[-1] - result.history_elapsed[0]) / epochs, cpu


def objective_ms(name: str, X: np.ndarray, y: np.ndarray, args: argparse.Namespace,
                 calls: int) -> tuple[float, float]:
    """Median wall and thread-CPU milliseconds of one objective + gradient evaluation."""
    from convexforecast.core.adam import _random_network

    slope = 0.01 if args.activation == "leaky_relu" else 0.0
    net = _random_network(X, y, args.depth, args.beta, args.activation, slope, args.width,
                          np.random.default_rng(0))
    cls = NumpyChainProblem if name == "numpy" else _ChainProblem
    problem = cls(net, X, y, args.activation, slope)
    theta = problem.pack(net)
    grad = np.zeros_like(theta)
    problem.objective(theta, grad)
    wall, cpu = [], []
    for _ in range(calls):
        start, start_cpu = time.perf_counter(), time.thread_time()
        problem.objective(theta, grad)
        wall.append(time.perf_counter() - start)
        cpu.append(time.thread_time() - start_cpu)
    return 1e3 * median(wall), 1e3 * median(cpu)


def run_parameters(name: str, X: np.ndarray, y: np.ndarray, args: argparse.Namespace,
                   epochs: int) -> tuple[np.ndarray, np.ndarray]:
    """Final parameters (chain by chain) and objective history of a run."""
    with implementation(name):
        result = train_adam(X, y, depth=args.depth, beta=args.beta, width=args.width,
                            activation=args.activation, epochs=epochs, random_state=0)
    net = result.network
    parts = [np.concatenate([c.weights, c.biases, [c.output_weight]]) for c in net.chains]
    return np.concatenate([*parts, [net.output_bias]]), result.objective_history


def main(argv: list[str] | None = None) -> int:
    """Time both implementations, then compare their iterates."""
    args = parse_args(argv)
    if args.torch_threads:
        import torch

        torch.set_num_threads(args.torch_threads)
    X, y = make_data(args)
    print(f"{cpu_model()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; "
          f"{args.data} X {X.shape}, width {args.width} ({args.width * X.shape[1]} chains), "
          f"depth {args.depth}, {args.activation}, beta {args.beta}, float64"
          + (f", torch threads {args.torch_threads}" if args.torch_threads else ""), flush=True)
    # warm-up: numba compilation / cache load, torch import
    ms_per_epoch("kernel", X, y, args, 2)
    ms_per_epoch("numpy", X, y, args, 2)
    numpy_epochs = max(1, args.epochs // 4)  # the reference is ~50x slower
    times: dict[str, list[float]] = {"numpy": [], "kernel": []}
    cpu_times: dict[str, list[float]] = {"numpy": [], "kernel": []}
    for _ in range(args.repeats):
        for name, epochs in (("numpy", numpy_epochs), ("kernel", args.epochs)):
            wall, cpu = ms_per_epoch(name, X, y, args, epochs)
            times[name].append(wall)
            cpu_times[name].append(cpu)
    old, new = median(times["numpy"]), median(times["kernel"])
    for name, epochs in (("numpy", numpy_epochs), ("kernel", args.epochs)):
        runs = ", ".join(f"{t:.1f}" for t in times[name])
        print(f"{name:>6}: median {median(times[name]):8.2f} ms/epoch over {args.repeats} runs of "
              f"{epochs} epochs ({runs}); thread CPU {median(cpu_times[name]):.2f} ms/epoch")
    for name, calls in (("numpy", 10), ("kernel", 50)):
        wall, cpu = objective_ms(name, X, y, args, calls)
        print(f"{name:>6}: objective + gradient alone {wall:8.2f} ms wall, {cpu:8.2f} ms CPU "
              f"(median of {calls} calls)")
    verdict = "met" if new <= TARGET_MS else "MISSED"
    moonshot = "met" if new <= MOONSHOT_MS else "missed"
    print(f"speed-up {old / new:.1f}x; target <= {TARGET_MS:.0f} ms: {verdict}; moonshot <= "
          f"{MOONSHOT_MS:.0f} ms: {moonshot}; load average now {os.getloadavg()[0]:.2f}")

    if args.compare_epochs:
        ref_theta, ref_history = run_parameters("numpy", X, y, args, args.compare_epochs)
        theta, history = run_parameters("kernel", X, y, args, args.compare_epochs)
        again_theta, again_history = run_parameters("kernel", X, y, args, args.compare_epochs)
        deterministic = (np.array_equal(theta, again_theta)
                         and np.array_equal(history, again_history))
        print(f"after {args.compare_epochs} epochs: max |theta_kernel - theta_numpy| = "
              f"{np.max(np.abs(theta - ref_theta)):.2e} (max |theta| "
              f"{np.max(np.abs(ref_theta)):.2e}); max relative objective difference "
              f"{np.max(np.abs(history - ref_history) / np.abs(ref_history)):.2e}; final "
              f"objective {history[-1]:.10g} vs {ref_history[-1]:.10g}; two kernel runs "
              f"bit-identical: {deterministic}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
