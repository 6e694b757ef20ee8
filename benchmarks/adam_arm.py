"""The BTC experiment's Adam arm at the full design (issue 13, item 5).

Daily BTC-USD log returns, 10 lags, depth 3, the library's default width (``min(2N, 100)``
chains per lag, so 100). Over the final ``--days`` (365) origins, refit every ``--refit``
(7) days on an expanding window; at every refit:

1. the convex net (``ConvexARForecaster``, β by the default 5-fold × 20-β cross-validation)
   gives β and the **certified optimum** of ``½‖f(X) − y‖² + (β/L) Σ|w|^L`` on that window,
   with its duality gap;
2. ``AdamNetForecaster`` at the same β (same windows, same architecture, same objective)
   trains for ``--epochs`` full-batch Adam epochs from each of the ``--seeds``; its final
   objective, its best iterate and the objective at intermediate epochs are compared with
   the certified optimum, and its wall time is recorded;
3. both forecast the block's origins (one step ahead, moving the origin by ``update``).

Tasks (refit, seed) run ``--n-jobs`` at a time, refits in an interleaved order so that any
prefix of the run covers the whole year, and every finished task is appended to
``adam_arm.csv`` in ``--out-dir`` (a rerun skips finished tasks). ``--summary`` only
summarises what is there, as markdown.

Usage::

    python benchmarks/adam_arm.py                 # full design (hours on 2 cores)
    python benchmarks/adam_arm.py --summary       # the markdown of what has finished
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from btc_experiment import machine_description, to_markdown
from joblib import Parallel, delayed

import convexforecast as cf

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BTC = REPO_ROOT.parent / "shared" / "data" / "btc-usd-daily.csv"
CHECKPOINT_EPOCHS = (500, 1000, 2000, 4000)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--btc", type=Path, default=DEFAULT_BTC)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--refit", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=6000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--out-dir", type=Path, default=Path("/tmp/convexforecast-adam-arm"))
    parser.add_argument("--summary", action="store_true")
    return parser.parse_args(argv)


def interleaved(n: int) -> list[int]:
    """0 .. n-1 ordered so that every prefix is spread over the range (van der Corput)."""
    order, seen = [], set()
    k = 0
    while len(order) < n:
        bits, x, denominator = k, 0.0, 1.0
        while bits:
            denominator *= 2
            x += (bits & 1) / denominator
            bits >>= 1
        index = int(x * n)
        if index not in seen:
            seen.add(index)
            order.append(index)
        k += 1
    return order


def run_task(y: pd.Series, n_train: int, block: int, refit: int, seed: int,
             epochs: int) -> dict:
    """One (refit, seed) task: the certified convex fit, the Adam fit, their forecasts."""
    end = n_train + block * refit
    train = y.iloc[:end]
    origins = range(end - 1, min(end - 1 + refit, len(y) - 1))
    convex_start = time.perf_counter()
    convex = cf.ConvexARForecaster(lags=10, depth=3).fit(train)
    convex_seconds = time.perf_counter() - convex_start
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        adam_start = time.perf_counter()
        adam = cf.AdamNetForecaster(lags=10, depth=3, beta=convex.beta_, epochs=epochs,
                                    random_state=seed).fit(train)
        adam_seconds = time.perf_counter() - adam_start
    history = np.asarray(adam.models_[0].objective_history, dtype=np.float64)
    optimum = convex.objective_
    row = {
        "block": block, "seed": seed, "n_train": end, "beta": convex.beta_,
        "neurons": convex.n_neurons_, "certified_objective": optimum,
        "relative_gap": convex.duality_gap_ / optimum, "convex_seconds": convex_seconds,
        "adam_final": adam.objective_, "adam_best": float(history.min()),
        "adam_seconds": adam_seconds, "epochs": epochs,
        "excess_final": (adam.objective_ - optimum) / optimum,
        "excess_best": (float(history.min()) - optimum) / optimum,
        "improvement_last_tenth": (history[int(0.9 * epochs)] - history[-1]) / optimum,
        "warnings": len(caught),
    }
    for epoch in CHECKPOINT_EPOCHS:
        if epoch < history.size:
            row[f"excess_at_{epoch}"] = (history[epoch] - optimum) / optimum
    forecasts = {"convex": [], "adam": [], "naive": [], "actual": []}
    for origin in origins:
        if origin > end - 1:
            new = y.iloc[origin: origin + 1]
            convex.update(new)
            adam.update(new)
        forecasts["convex"].append(float(convex.predict(1).iloc[0]))
        forecasts["adam"].append(float(adam.predict(1).iloc[0]))
        forecasts["naive"].append(float(y.iloc[origin]))
        forecasts["actual"].append(float(y.iloc[origin + 1]))
    row["forecasts"] = json.dumps(forecasts)
    return row


def summarise(frame: pd.DataFrame, args: argparse.Namespace, n_blocks: int) -> str:
    """Markdown: excess over the certified optimum per seed, times, forecast accuracy."""
    per_seed = frame.groupby("seed").agg(
        fits=("block", "size"),
        excess_final_median=("excess_final", "median"),
        excess_final_max=("excess_final", "max"),
        excess_best_median=("excess_best", "median"),
        **{f"excess_at_{e}_median": (f"excess_at_{e}", "median") for e in CHECKPOINT_EPOCHS
           if f"excess_at_{e}" in frame},
        still_improving_median=("improvement_last_tenth", "median"),
        adam_seconds_median=("adam_seconds", "median"),
        convex_seconds_median=("convex_seconds", "median"),
    )
    errors = {"convex": [], "adam": [], "naive": []}
    for row in frame.itertuples():
        f = json.loads(row.forecasts)
        actual = np.asarray(f["actual"])
        for name in errors:
            errors[name].append(np.abs(np.asarray(f[name]) - actual))
    mae = {name: float(np.concatenate(v).mean()) for name, v in errors.items()}
    blocks = frame["block"].nunique()
    lines = [
        f"{blocks} of {n_blocks} weekly refits finished ({len(frame)} Adam fits); "
        f"β by the convex CV per refit (median {frame['beta'].median():.4g}, "
        f"{int((frame.groupby('block')['neurons'].first() == 0).sum())} of {blocks} refits with "
        f"an empty optimal network); certified relative gap ≤ "
        f"{frame['relative_gap'].max():.1e}.",
        "Excess = (Adam objective − certified optimum) / certified optimum; "
        "`still_improving` = objective decrease over the last 10 % of epochs, relative to the "
        "optimum.",
        to_markdown(per_seed, ".3g"),
        "MAE of the one-step forecasts over the finished blocks' origins (USD; convex and "
        "Adam on the same windows; each seed's Adam forecasts pooled): " +
        ", ".join(f"{k} {v:,.1f}" for k, v in mae.items()) + ".",
    ]
    return "\n\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the missing tasks (or only summarise) and print the markdown summary."""
    args = parse_args(argv)
    y = cf.load_csv(args.btc, drop_last=True)
    n_train = len(y) - args.days
    n_blocks = -(-args.days // args.refit)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    path = args.out_dir / "adam_arm.csv"
    done = pd.read_csv(path) if path.exists() else pd.DataFrame(columns=["block", "seed"])
    finished = set(zip(done["block"].astype(int), done["seed"].astype(int), strict=True))
    if not args.summary:
        print(machine_description(), flush=True)
        tasks = [(b, s) for b in interleaved(n_blocks) for s in args.seeds
                 if (b, s) not in finished]
        jobs = (delayed(run_task)(y, n_train, b, args.refit, s, args.epochs) for b, s in tasks)
        for row in Parallel(n_jobs=args.n_jobs, return_as="generator_unordered")(jobs):
            pd.DataFrame([row]).to_csv(path, mode="a", header=not path.exists(), index=False)
            print(f"block {row['block']} seed {row['seed']}: excess {row['excess_final']:.2e} "
                  f"in {row['adam_seconds']:.0f} s", flush=True)
    frame = pd.read_csv(path)
    print(summarise(frame, args, n_blocks))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
