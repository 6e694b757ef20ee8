"""Design experiment for issue 13.1: would a working set of *kinks* need fewer rounds than one of
capped-ramp *pairs*?

At depth 3 the Lasso over capped ramps ``C_ab = R_a − R_b`` (``R_k = (x − u_k)_+`` on the data)
is the problem over slope jumps ``j_k`` at the data points with penalty
``(β/2)(‖j‖₁ + |Σ_k j_k|)`` per input (paper-notes §2.3: a representation's ‖z‖₁ is at least half
the total jump, with equality for a pairing of positive with negative jumps; the jump at the
largest point is ``−Σ j``, its ramp is zero on the data). Restricted to a set of kinks, that
problem holds *every* pairing of them, so a round only has to find new kinks; the pair working
set also has to find the pairings, one priced column at a time.

This script captures every ``--every``-th warm-started solve of the default BTC backtest (the
issue's call over the last ``--days`` origins) and solves each again from the same start:

* with the library's pair working set (``solve_working_set``);
* with a kink working set whose restricted problems are solved by cvxpy + Clarabel to 1e-13
  (a prototype: slow, but its round count is what an exact kink solver would need).

Both price exactly and stop at the same certified relative gap (1e-6), so their pricings and
Gram work (entries of new columns against held ones: n-row products) compare directly. Times
are not compared (the prototype's restricted solves are cvxpy's).

Usage::

    python benchmarks/kink_rounds.py --days 120 --every 15
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BTC = REPO_ROOT.parent / "shared" / "data" / "btc-usd-daily.csv"


def capture(btc: Path, days: int, every: int) -> list[dict]:
    """Every ``every``-th warm-started solve of the default backtest: data, β and start."""
    import convexforecast as cf
    import convexforecast.core.fit as fit_module

    cases, count = [], [0]
    solve = fit_module.solve_working_set

    def recording(dictionaries, y, beta, **options):
        solution = solve(dictionaries, y, beta, **options)
        start = options.get("warm_start")
        count[0] += 1
        if start is not None and count[0] % every == 0:
            cases.append({"x": [d.x.copy() for d in dictionaries], "y": y.copy(), "beta": beta,
                          "start": start})
        return solution

    fit_module.solve_working_set = recording
    try:
        prices = cf.load_csv(btc, drop_last=True)
        cf.backtest({"convex": cf.ConvexARForecaster(lags=10, depth=3)}, prices,
                    initial_train_size=len(prices) - days, steps=1, refit=7,
                    show_progress=False)
    finally:
        fit_module.solve_working_set = solve
    return cases


def pair_solve(dictionaries, y, beta, start) -> dict:
    """The library's solve, counting the Gram entries of every append."""
    from convexforecast.core.solvers import working_set as ws_module

    entries = [0]
    append = ws_module.WorkingSet.append

    def counting(self, inputs, keys, *args, **kwargs):
        held, new = self.keys.shape[0], keys.shape[0]
        entries[0] += new * held + new * (new + 1) // 2
        return append(self, inputs, keys, *args, **kwargs)

    ws_module.WorkingSet.append = counting
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            solution = ws_module.solve_working_set(dictionaries, y, beta, warm_start=start)
    finally:
        ws_module.WorkingSet.append = append
    return {"pricings": solution.n_iter, "entries": entries[0], "primal": solution.primal,
            "gap": solution.relative_gap, "size": solution.coef.shape[0]}


def _restricted(dictionaries, kinks, y_c, beta):
    """The jump problem on the kinks held, by cvxpy + Clarabel: residual, primal, non-zeros."""
    import cvxpy as cp

    blocks = [np.maximum(d.x[:, None] - d.u[None, sorted(k)], 0.0)
              for d, k in zip(dictionaries, kinks, strict=True)]
    A = np.hstack(blocks)
    A = A - A.mean(axis=0)
    jumps = cp.Variable(A.shape[1])
    penalty, lo = 0, 0
    for block in blocks:
        hi = lo + block.shape[1]
        if hi > lo:
            penalty += cp.norm1(jumps[lo:hi]) + cp.abs(cp.sum(jumps[lo:hi]))
        lo = hi
    problem = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(y_c - A @ jumps) + beta / 2 * penalty))
    problem.solve(solver="CLARABEL", tol_gap_abs=1e-14, tol_gap_rel=1e-13, tol_feas=1e-13,
                  max_iter=500)
    value, r = jumps.value, y_c - A @ jumps.value
    total, lo = 0.0, 0
    for block in blocks:
        hi = lo + block.shape[1]
        total += np.abs(value[lo:hi]).sum() + abs(value[lo:hi].sum())
        lo = hi
    nonzero = int(np.count_nonzero(np.abs(value) > 1e-9 * np.abs(value).max(initial=0.0)))
    return r, 0.5 * float(r @ r) + beta / 2 * total, nonzero


def kink_solve(dictionaries, y, beta, start, tol: float = 1e-6, max_iter: int = 100) -> dict:
    """A working set of kinks: the same start (its pairs' ends), exact pricing, round size and
    entry rule as the pair solver; each round adds the ends of the entering pairs."""
    from convexforecast.core.solvers.column_stack import CappedRampStack
    from convexforecast.core.solvers.lasso import dual_objective
    from convexforecast.core.solvers.working_set import _entering, price_all

    stack = CappedRampStack.of(dictionaries)
    last = [d.n_unique - 1 for d in dictionaries]  # its ramp is zero on the data
    kinks = [set() for _ in dictionaries]
    entries = [0]

    def add(inputs, a, b) -> int:
        held = sum(map(len, kinks))
        new = 0
        for i, ends in zip(inputs, zip(a, b, strict=True), strict=True):
            for k in ends:
                if k != last[i] and int(k) not in kinks[i]:
                    kinks[i].add(int(k))
                    new += 1
        entries[0] += new * held + new * (new + 1) // 2
        return new

    y_c = y - y.mean()
    add(start.inputs, *stack.decode(start.inputs, start.keys))
    r, primal, size = y_c, 0.5 * float(y_c @ y_c), 0
    if any(kinks):
        r, primal, size = _restricted(dictionaries, kinks, y_c, beta)
    best = -np.inf
    for pricings in range(1, max_iter + 1):  # noqa: B007 - reported after the loop
        k = max(16, size // 8)
        max_abs, inputs, keys, values = price_all(dictionaries, r, k, stack)
        best = max(best, dual_objective(y_c, r, max_abs, beta))
        if primal - best <= tol * primal:
            break
        order = _entering(np.abs(values), beta, tol, k)
        if not add(inputs[order], *stack.decode(inputs[order], keys[order])):
            break  # only pairs of held kinks violate: the prototype's restricted solve is off
        r, primal, size = _restricted(dictionaries, kinks, y_c, beta)
    return {"pricings": pricings, "entries": entries[0], "primal": primal,
            "gap": (primal - best) / primal, "size": size}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--btc", type=Path, default=DEFAULT_BTC)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--every", type=int, default=15)
    args = parser.parse_args(argv)

    from convexforecast.core.dictionaries.implicit import PairDictionary

    cases = capture(args.btc, args.days, args.every)
    rows = []
    for case in cases:
        dictionaries = [PairDictionary(x, 3) for x in case["x"]]
        pair = pair_solve(dictionaries, case["y"], case["beta"], case["start"])
        kink = kink_solve(dictionaries, case["y"], case["beta"], case["start"])
        rows.append((pair, kink))
        print(f"pair {pair['pricings']:2d} pricings, {pair['size']:3d} columns, gap "
              f"{pair['gap']:.1e} | kinks {kink['pricings']:2d} pricings, {kink['size']:3d} "
              f"kinks, gap {kink['gap']:.1e}", flush=True)
    pair_p = np.array([p["pricings"] for p, _ in rows])
    kink_p = np.array([k["pricings"] for _, k in rows])
    pair_e = sum(p["entries"] for p, _ in rows)
    kink_e = sum(k["entries"] for _, k in rows)
    primal_diff = max(abs(p["primal"] - k["primal"]) / p["primal"] for p, k in rows)
    certified = sum(p["gap"] <= 1e-6 and k["gap"] <= 1e-6 for p, k in rows)
    long = pair_p >= 4
    print(f"\n{len(rows)} warm-started solves of the last {args.days} days' default backtest "
          f"(every {args.every}th), both certified in {certified}")
    print("| | pairs (library) | kinks (prototype) |\n|---|---|---|")
    print(f"| pricings | {pair_p.sum()} | {kink_p.sum()} |")
    print(f"| pricings after the first | {(pair_p - 1).sum()} | {(kink_p - 1).sum()} |")
    print(f"| the same, solves with ≥ 4 pair pricings ({long.sum()}) | {(pair_p[long] - 1).sum()} "
          f"| {(kink_p[long] - 1).sum()} |")
    print(f"| Gram entries of appended columns | {pair_e:,} | {kink_e:,} |")
    print(f"\nlargest relative difference of the primal objectives: {primal_diff:.1e}")


if __name__ == "__main__":
    main()
