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
* with a kink working set whose restricted problems are solved exactly by an active-set search
  (:func:`jump_feature_sign`, feature-sign search with one linear constraint per input, in
  numpy: a prototype of the compiled solver this design needs; its times mean nothing, its
  rounds and steps are what that solver would take). ``--check`` also solves every restricted
  problem with cvxpy + Clarabel and reports the largest difference of the objectives.

Both price exactly and stop at the same certified relative gap (1e-6), so their pricings, Gram
work (entries of new columns against held ones: n-row products) and restricted-solve steps
compare directly. Times are not compared (the prototype's steps are dense numpy solves).

``--backtest`` runs the whole call twice instead, the second time with every working-set solve
replaced by the kink working set, whose jumps :func:`jumps_to_pairs` turns into capped-ramp
pairs so that cross-validation, warm starts, scoring and final fits run unchanged; it prints
both runs' totals and how far apart their forecasts are.

Usage::

    python benchmarks/kink_rounds.py --days 120 --every 15
    python benchmarks/kink_rounds.py --days 40 --every 10 --check
    python benchmarks/kink_rounds.py --selftest
    python benchmarks/kink_rounds.py --backtest --days 365   # the issue's call, every solve
"""

from __future__ import annotations

import argparse
import contextlib
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


@contextlib.contextmanager
def _counting_library(totals: dict):
    """Count, into ``totals``, the Gram entries of the library working set's appends
    (``"entries"``: new columns against held ones, and among themselves) and its restricted
    solves' feature-sign steps (``"steps"``)."""
    from convexforecast.core.solvers import working_set as ws_module

    append, feature_sign = ws_module.WorkingSet.append, ws_module.feature_sign

    def counting_append(self, inputs, keys, *args, **kwargs):
        held, new = self.keys.shape[0], keys.shape[0]
        totals["entries"] += new * held + new * (new + 1) // 2
        return append(self, inputs, keys, *args, **kwargs)

    def counting_feature_sign(*args, **kwargs):
        z, taken, factor = feature_sign(*args, **kwargs)
        totals["steps"] += taken
        return z, taken, factor

    ws_module.WorkingSet.append, ws_module.feature_sign = counting_append, counting_feature_sign
    try:
        yield totals
    finally:
        ws_module.WorkingSet.append, ws_module.feature_sign = append, feature_sign


def pair_solve(dictionaries, y, beta, start) -> dict:
    """The library's solve, with the counts of :func:`_counting_library`."""
    from convexforecast.core.solvers.working_set import solve_working_set

    with _counting_library({"entries": 0, "steps": 0}) as totals, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        solution = solve_working_set(dictionaries, y, beta, warm_start=start)
    return {"pricings": solution.n_iter, "entries": totals["entries"],
            "primal": solution.primal, "gap": solution.relative_gap,
            "size": solution.coef.shape[0], "steps": totals["steps"]}


def jump_feature_sign(G: np.ndarray, q: np.ndarray, beta: float, groups: np.ndarray,
                      j: np.ndarray, tol: float = 1e-12, max_steps: int = 100_000,
                      ) -> tuple[np.ndarray, int]:
    """Exactly minimise ``½ jᵀGj − qᵀj + (β/2) Σ_i (‖j_i‖₁ + |Σ j_i|)`` from ``j`` (``groups``:
    the input of each variable); return the minimiser and the steps taken.

    Feature-sign search (Lee et al. 2007) with the sum of each input's jumps as one more signed
    quantity: on a face, every non-zero jump keeps its sign, and every input either keeps the
    sign of its sum or keeps its sum at zero (a linear constraint, whose multiplier is the sum's
    subgradient). A step solves the face's KKT system and moves to the target or to the first
    sign change. At a face optimum the most violated condition is fixed: an input's
    multiplier beyond ±β/2 frees its sum; a zero jump whose gradient leaves the band enters
    (into an input without jumps, as a pair that keeps the sum at zero when that is what the
    gradients ask for, else alone with the sum following it).
    """
    h = beta / 2.0
    d = int(groups.max()) + 1 if groups.shape[0] else 0
    j = j.astype(float).copy()
    scale = max(beta, float(np.abs(q).max(initial=0.0)))
    sums = np.bincount(groups, weights=j, minlength=d)
    free, tau = sums != 0.0, np.sign(sums)
    for step in range(max_steps):
        active = np.flatnonzero(j)
        held = np.bincount(groups[active], minlength=d) > 0
        free &= held  # an input whose jumps all left has a zero sum
        tau[~free] = 0.0
        constrained = np.flatnonzero(~free & held)
        m, c = active.shape[0], constrained.shape[0]
        multiplier = np.zeros(d)
        if m:
            kkt = np.zeros((m + c, m + c))
            kkt[:m, :m] = G[np.ix_(active, active)]
            rows = groups[active][:, None] == constrained[None, :]
            kkt[:m, m:], kkt[m:, :m] = rows, rows.T
            rhs = np.zeros(m + c)
            rhs[:m] = q[active] - h * (np.sign(j[active]) + tau[groups[active]])
            solution = np.linalg.solve(kkt, rhs)
            multiplier[constrained] = solution[m:] / h
            begin, direction = j[active], solution[:m] - j[active]
            with np.errstate(divide="ignore", invalid="ignore"):
                t_jump = -begin / direction
                sum_begin = np.bincount(groups[active], weights=begin, minlength=d)
                sum_step = np.bincount(groups[active], weights=direction, minlength=d)
                t_sum = np.maximum(-sum_begin / sum_step, 0.0)
            t_jump = np.where((t_jump > 0) & (t_jump < 1), t_jump, np.inf)
            t_sum = np.where(free & (sum_step * tau < 0) & (t_sum < 1), t_sum, np.inf)
            if min(t_jump.min(), t_sum.min()) < 1.0:
                if t_jump.min() <= t_sum.min():
                    k = int(np.argmin(t_jump))
                    moved = begin + t_jump[k] * direction
                    moved[k] = 0.0
                else:
                    i = int(np.argmin(t_sum))
                    moved = begin + t_sum[i] * direction
                    free[i], tau[i] = False, 0.0
                # jumps that reach zero together leave together (not as round-off of either sign)
                moved[np.abs(moved) <= 1e-13 * np.abs(begin).max(initial=0.0)] = 0.0
                j[active] = moved
                continue
            j[active] = solution[:m]
        gradient = G @ j - q
        for i in np.flatnonzero(~held & (np.bincount(groups, minlength=d) > 0)):
            members = gradient[groups == i]  # no jumps: the sum's best subgradient
            multiplier[i] = np.clip(-(members.max() + members.min()) / (2 * h), -1.0, 1.0)
        subgradient = np.where(free, tau, np.clip(multiplier, -1.0, 1.0))
        release = np.where(~free & held, (np.abs(multiplier) - 1.0) * h, -np.inf)
        violation = np.where(j == 0.0, np.abs(gradient + h * subgradient[groups]) - h, -np.inf)
        if max(violation.max(initial=-np.inf), release.max(initial=-np.inf)) <= tol * scale:
            return j, step
        if release.max(initial=-np.inf) >= violation.max(initial=-np.inf):
            i = int(np.argmax(release))
            free[i], tau[i] = True, np.sign(multiplier[i])
            continue
        k = int(np.argmax(violation))
        i = groups[k]
        if held[i]:
            j[k] = -1e-300 * np.sign(gradient[k] + h * subgradient[i])  # enters with this sign
            continue
        members = np.flatnonzero(groups == i)
        top, bottom = members[np.argmax(gradient[members])], members[np.argmin(gradient[members])]
        if gradient[top] - gradient[bottom] > 2 * h:  # a capped ramp: the sum stays zero
            j[top], j[bottom] = -1e-300, 1e-300
        else:  # one jump, and the sum follows it
            k, sign = (top, -1.0) if gradient[top] > 2 * h else (bottom, 1.0)
            free[i], tau[i] = True, sign
            j[k] = 1e-300 * sign
    raise RuntimeError(f"jump_feature_sign: no optimum after {max_steps} steps")


def _jump_penalty(jumps: np.ndarray, groups: np.ndarray) -> float:
    """``½ Σ_i (‖j_i‖₁ + |Σ j_i|)`` (``groups``: the input of each jump)."""
    sums = np.bincount(groups, weights=jumps)
    return 0.5 * (float(np.abs(jumps).sum()) + float(np.abs(sums).sum()))


def _cvxpy_jump_minimum(A: np.ndarray, y: np.ndarray, beta: float, groups: np.ndarray) -> float:
    """``min_j ½‖y − Aj‖² + β·penalty(j)`` by cvxpy + Clarabel (the reference; the least-squares
    form keeps it accurate on the nearly collinear ramps of neighbouring kinks)."""
    import cvxpy as cp

    jumps = cp.Variable(A.shape[1])
    penalty = sum(cp.norm1(jumps[groups == i]) + cp.abs(cp.sum(jumps[groups == i]))
                  for i in np.unique(groups))
    problem = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(y - A @ jumps) + beta / 2 * penalty))
    problem.solve(solver="CLARABEL", tol_gap_abs=1e-14, tol_gap_rel=1e-13, tol_feas=1e-13)
    return float(problem.value)


def _restricted(stack, kinks, y_c, beta, previous: dict, check: bool):
    """The jump problem on the kinks held, started from the previous round's jumps: residual,
    primal, non-zeros, steps, the mean of the fitted function over the rows and (with
    ``check``) cvxpy's objective minus it, relative. A kink's ramp is the library's capped ramp
    ``(k, N − 1)``."""
    columns = [(i, k) for i, held in enumerate(kinks) for k in sorted(held)]
    groups = np.array([i for i, _ in columns], dtype=np.int64)
    keys = np.array([k for _, k in columns], dtype=np.int64) * stack.n_unique[groups] \
        + stack.n_unique[groups] - 1
    A = np.empty((y_c.shape[0], len(columns)), order="F")
    means = stack.centred_columns(groups, keys, A)
    G, q = A.T @ A, A.T @ y_c
    start = np.array([previous.get(column, 0.0) for column in columns])
    jumps, steps = jump_feature_sign(G, q, beta, groups, start)
    previous.clear()
    previous.update({column: v for column, v in zip(columns, jumps, strict=True) if v != 0.0})
    r = y_c - A @ jumps
    primal = 0.5 * float(r @ r) + beta * _jump_penalty(jumps, groups)
    difference = 0.0
    if check:
        difference = (_cvxpy_jump_minimum(A, y_c, beta, groups) - primal) / primal
    return r, primal, int(np.count_nonzero(jumps)), steps, float(means @ jumps), difference


def kink_solve(dictionaries, y, beta, start, tol: float = 1e-6, max_iter: int = 100,
               check: bool = False, held: set | None = None) -> dict:
    """A working set of kinks: the same start (its pairs' ends, their jumps as the first
    point; none for a cold solve), exact pricing, round size and entry rule as the pair solver;
    each round adds the ends of the entering pairs. ``held``: the kinks ``(input, k)`` a
    working set carried along a path holds already (their Gram entries are not counted again).
    """
    from convexforecast.core.solvers.column_stack import CappedRampStack
    from convexforecast.core.solvers.lasso import dual_objective
    from convexforecast.core.solvers.working_set import _entering, price_all

    stack = CappedRampStack.of(dictionaries)
    last = [d.n_unique - 1 for d in dictionaries]  # its ramp is zero on the data
    kinks = [set() for _ in dictionaries]
    entries, steps, difference = [0], 0, 0.0

    def add(inputs, a, b, carried=frozenset()) -> int:
        before = sum(map(len, kinks))
        new = fresh = 0
        for i, ends in zip(inputs, zip(a, b, strict=True), strict=True):
            for k in ends:
                if k != last[i] and int(k) not in kinks[i]:
                    kinks[i].add(int(k))
                    new += 1
                    fresh += (int(i), int(k)) not in carried
        held_before = before + new - fresh
        entries[0] += fresh * held_before + fresh * (fresh + 1) // 2
        return new

    y_c = y - y.mean()
    jumps: dict = {}
    if start is not None:
        a, b = stack.decode(start.inputs, start.keys)
        add(start.inputs, a, b, held or frozenset())
        for i, first, second, z in zip(start.inputs, a, b, start.coef, strict=True):
            for k, sign in ((first, 1.0), (second, -1.0)):  # C_ab = R_a − R_b
                if k != last[i]:
                    jumps[(int(i), int(k))] = jumps.get((int(i), int(k)), 0.0) + sign * z
    r, primal, size, fitted_mean = y_c, 0.5 * float(y_c @ y_c), 0, 0.0
    if any(kinks):
        r, primal, size, taken, fitted_mean, difference = _restricted(stack, kinks, y_c, beta,
                                                                      jumps, check)
        steps += taken
    best = -np.inf
    for pricings in range(1, max_iter + 1):  # noqa: B007 - reported after the loop
        k = max(16, size // 8)
        max_abs, inputs, keys, values = price_all(dictionaries, r, k, stack)
        best = max(best, dual_objective(y_c, r, max_abs, beta))
        if primal - best <= tol * primal:
            break
        order = _entering(np.abs(values), beta, tol, k)
        if not add(inputs[order], *stack.decode(inputs[order], keys[order])):
            break  # only pairs of held kinks violate: the restricted solve is off
        r, primal, size, taken, fitted_mean, off = _restricted(stack, kinks, y_c, beta, jumps,
                                                               check)
        steps, difference = steps + taken, max(difference, abs(off))
    return {"pricings": pricings, "entries": entries[0], "primal": primal, "dual": best,
            "gap": (primal - best) / primal if primal > 0 else 0.0, "size": size,
            "steps": steps, "check": difference, "jumps": jumps, "max_abs": max_abs,
            "intercept": float(y.mean()) - fitted_mean}


def jumps_to_pairs(jumps: dict, n_unique: np.ndarray):
    """Capped-ramp coefficients with the same function and ‖z‖₁ = ½(‖j‖₁ + |Σj|) per input:
    each input's positive jumps paired with its negative ones (the largest point's jump is
    ``−Σ j``) in kink order. Returns ``(inputs, keys, coef)``."""
    inputs, keys, coef = [], [], []
    for i, size in enumerate(n_unique):
        held = sorted((k, v) for (input_, k), v in jumps.items() if input_ == i and v != 0.0)
        if not held:
            continue
        last = size - 1
        total = sum(v for _, v in held)
        points = held + ([(last, -total)] if total != 0.0 else [])
        positive = [[k, v] for k, v in points if v > 0]
        negative = [[k, -v] for k, v in points if v < 0]
        while positive and negative:
            flow = min(positive[0][1], negative[0][1])
            up, down = positive[0][0], negative[0][0]
            a, b = min(up, down), max(up, down)
            inputs.append(i)
            keys.append(a * size + b)
            coef.append(flow if up == a else -flow)  # C_ab = R_a − R_b
            positive[0][1] -= flow
            negative[0][1] -= flow
            if positive[0][1] <= 1e-15 * flow:
                positive.pop(0)
            if negative and negative[0][1] <= 1e-15 * flow:
                negative.pop(0)
    return np.array(inputs, dtype=np.int64), np.array(keys, dtype=np.int64), np.array(coef)


def full_backtest(btc: Path, days: int) -> None:
    """The issue's call over the last ``days`` origins twice: with the library's solver, and
    with every working-set solve replaced by the kink working set (its jumps turned into
    capped-ramp pairs, so cross-validation, warm starts and scoring run unchanged). Prints the
    totals of both and how far apart their forecasts are."""
    import convexforecast as cf
    import convexforecast.core.fit as fit_module
    from convexforecast.core.solvers.lasso import LassoSolution

    prices = cf.load_csv(btc, drop_last=True)

    def forecasts() -> np.ndarray:
        result = cf.backtest({"convex": cf.ConvexARForecaster(lags=10, depth=3)}, prices,
                             initial_train_size=len(prices) - days, steps=1, refit=7,
                             show_progress=False)
        return result.predictions["forecast"].to_numpy()

    library = dict.fromkeys(("solves", "pricings", "steps", "entries", "uncertified"), 0)
    solve = fit_module.solve_working_set

    def counted_solve(*args, **kwargs):
        solution = solve(*args, **kwargs)
        library["solves"] += 1
        library["pricings"] += solution.n_iter
        library["uncertified"] += not solution.converged
        return solution

    kinks = dict.fromkeys(library, 0)

    def kink_replacement(dictionaries, y, beta, *, tol=1e-6, max_iter=500, warm_start=None,
                         workspace=None, **_):
        previous, held = getattr(workspace, "kink_path", (None, frozenset()))
        out = kink_solve(dictionaries, y, beta, warm_start if warm_start is not None else previous,
                         tol=tol, max_iter=max_iter, held=held)
        inputs, keys, coef = jumps_to_pairs(out["jumps"], [d.n_unique for d in dictionaries])
        solution = LassoSolution(coef, out["intercept"], float(beta), out["primal"], out["dual"],
                                 out["pricings"], "fast", inputs=inputs, keys=keys,
                                 max_correlation=out["max_abs"], converged=out["gap"] <= tol)
        if workspace is not None:  # the path's next point starts here, holding these kinks
            workspace.kink_path = (solution, frozenset(k for k, v in out["jumps"].items() if v))
        for name, value in (("solves", 1), ("pricings", out["pricings"]),
                            ("steps", out["steps"]), ("entries", out["entries"]),
                            ("uncertified", not solution.converged)):
            kinks[name] += value
        return solution

    fit_module.solve_working_set = counted_solve
    try:
        with _counting_library(library):
            pair_forecasts = forecasts()
    finally:
        fit_module.solve_working_set = solve
    fit_module.solve_working_set = kink_replacement
    try:
        kink_forecasts = forecasts()
    finally:
        fit_module.solve_working_set = solve
    difference = np.max(np.abs(kink_forecasts - pair_forecasts) / np.abs(pair_forecasts))
    print(f"\nThe default backtest of the last {days} days, every working-set solve counted")
    print("| | pairs (library) | kinks (prototype) |\n|---|---|---|")
    for name in ("solves", "pricings", "steps", "entries", "uncertified"):
        label = {"steps": "restricted-solve steps", "entries": "Gram entries of appended "
                 "columns", "uncertified": "solves above tol"}.get(name, name)
        print(f"| {label} | {library[name]:,} | {kinks[name]:,} |")
    print(f"| pricings after each solve's first | {library['pricings'] - library['solves']:,} | "
          f"{kinks['pricings'] - kinks['solves']:,} |")
    print(f"\nlargest relative difference of the forecasts: {difference:.1e}")


def selftest(n_problems: int = 60, seed: int = 7) -> float:
    """Largest relative excess of :func:`jump_feature_sign`'s objective over cvxpy + Clarabel's
    on random problems (60 × 14 designs, 4 inputs, β from 0.5 to 20), from zero and from random
    starts."""
    rng = np.random.default_rng(seed)
    worst = 0.0
    for trial in range(n_problems):
        A = rng.normal(size=(60, 14))
        A -= A.mean(axis=0)
        groups = np.sort(rng.integers(0, 4, 14))
        y = rng.normal(size=60) + A[:, 0]
        G, q, beta = A.T @ A, A.T @ y, (0.5, 2.0, 8.0, 20.0)[trial % 4]
        minimum = _cvxpy_jump_minimum(A, y, beta, groups)
        for start in (np.zeros(14), np.where(rng.random(14) < 0.3, rng.normal(size=14), 0.0)):
            jumps, _ = jump_feature_sign(G, q, beta, groups, start)
            residual = y - A @ jumps
            value = 0.5 * residual @ residual + beta * _jump_penalty(jumps, groups)
            worst = max(worst, (value - minimum) / minimum)
    return worst


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--btc", type=Path, default=DEFAULT_BTC)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--every", type=int, default=15)
    parser.add_argument("--check", action="store_true",
                        help="also solve every restricted problem with cvxpy + Clarabel")
    parser.add_argument("--selftest", action="store_true",
                        help="only compare jump_feature_sign with cvxpy on random problems")
    parser.add_argument("--backtest", action="store_true",
                        help="only run the whole backtest with each working set and compare")
    args = parser.parse_args(argv)
    if args.backtest:
        full_backtest(args.btc, args.days)
        return
    if args.selftest:
        print(f"jump_feature_sign vs cvxpy + Clarabel, 60 random problems from zero and random "
              f"starts: largest relative excess {selftest():.1e}")
        return

    from convexforecast.core.dictionaries.implicit import PairDictionary

    cases = capture(args.btc, args.days, args.every)
    rows = []
    for case in cases:
        dictionaries = [PairDictionary(x, 3) for x in case["x"]]
        pair = pair_solve(dictionaries, case["y"], case["beta"], case["start"])
        kink = kink_solve(dictionaries, case["y"], case["beta"], case["start"],
                          check=args.check)
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
    print(f"| restricted-solve steps | {sum(p['steps'] for p, _ in rows):,} | "
          f"{sum(k['steps'] for _, k in rows):,} |")
    print(f"\nlargest relative difference of the primal objectives: {primal_diff:.1e}")
    if args.check:
        print("largest relative difference of a restricted objective, cvxpy vs active set: "
              f"{max(k['check'] for _, k in rows):.1e}")


if __name__ == "__main__":
    main()
