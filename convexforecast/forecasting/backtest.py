"""Rolling-origin backtesting, written once for every forecaster.

The fold plan is a :class:`~convexforecast.forecasting.folds.TimeSeriesFold` (origins, training
windows, refit blocks; see :mod:`convexforecast.forecasting.folds`). The work is split into
*tasks* (:mod:`convexforecast.forecasting.tasks`): a task runs ``refits_per_task`` consecutive
refit blocks (default 1) of one model on one fresh clone of the forecaster, each block seeing
only the observations up to its own last origin. Tasks run through :mod:`joblib`
(``joblib.parallel_config(backend="dask")`` distributes them on a Dask cluster) and results
are assembled in plan order; the grouping into tasks is fixed by ``refits_per_task``, so
results do not depend on ``n_jobs`` or the backend. The outcome is a
:class:`~convexforecast.forecasting.results.BacktestResult`.

With ``checkpoint_dir`` the blocks of every finished task are saved, and a rerun with the same
configuration loads them instead of recomputing them (see
:mod:`convexforecast.forecasting.checkpoints`: what the fingerprint covers, how damaged files
are recomputed, and the :class:`~convexforecast.forecasting.checkpoints.CheckpointError` for a
directory written by another backtest).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from tqdm.auto import tqdm

from .._artefacts import library_version
from .._validation import InvalidParameterError, check_bool, check_positive_int, short_repr
from .base import check_series
from .checkpoints import (
    CHECKPOINT_FORMAT_VERSION,
    CheckpointStore,
    describe_model,
    fingerprint,
    series_digest,
)
from .exog import check_backtest_exog, check_exog, exog_digest
from .folds import Fold, TimeSeriesFold, folds_frame, plan_backtest
from .intervals import add_intervals, check_interval_options
from .results import BacktestResult
from .tasks import reemit_warnings, run_task

__all__ = ["BacktestResult", "TimeSeriesFold", "backtest", "plan_backtest"]


def _check_forecasters(forecasters: Any) -> dict[str, Any]:
    def is_forecaster(obj: Any) -> bool:
        return all(callable(getattr(obj, name, None)) for name in ("fit", "predict", "update"))

    if isinstance(forecasters, Mapping):
        if not forecasters:
            raise ValueError("`forecasters` must not be empty. Got {}.")
        models = dict(forecasters)
    else:
        models = {type(forecasters).__name__: forecasters}
    for name, model in models.items():
        if not isinstance(name, str) or not name:
            raise TypeError(f"`forecasters` keys must be non-empty strings. Got {name!r}.")
        if not is_forecaster(model):
            raise TypeError(f"`forecasters[{name!r}]` must be a forecaster with fit, predict and "
                            f"update methods. Got {type(model).__name__}.")
    return models


# -------------------------------------------------------------------------- backtest
def _check_n_jobs(n_jobs: Any) -> int | None:
    if n_jobs is None:
        return None
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int | np.integer) or n_jobs == 0:
        raise InvalidParameterError(f"`n_jobs` must be a non-zero integer or None. Got "
                                    f"{short_repr(n_jobs)}.")
    return int(n_jobs)


def backtest(
    forecasters: Any,
    y: pd.Series,
    cv: TimeSeriesFold | None = None,
    *,
    n_jobs: int | None = 1,
    refits_per_task: int = 1,
    intervals: Mapping[str, Any] | None = None,
    show_progress: bool = True,
    checkpoint_dir: str | os.PathLike | None = None,
    verbose: bool = False,
    exog: pd.DataFrame | pd.Series | None = None,
    **fold_settings: Any,
) -> BacktestResult:
    """Rolling-origin backtest of one forecaster or a dict of named forecasters.

    Parameters
    ----------
    forecasters : forecaster or dict[str, forecaster]
        Objects with ``fit(y)``, ``predict(steps)`` and ``update(y_new)`` (see
        :class:`~convexforecast.forecasting.base.BaseForecaster`). They are cloned
        (:func:`sklearn.base.clone`) for every refit and never modified. A single forecaster is
        named after its class.
    y : pandas.Series
        The series (see ``BaseForecaster.fit`` for the accepted indexes). Not modified.
    cv : TimeSeriesFold, optional
        The fold plan. Its settings may instead be passed by name, as a shortcut:
        ``backtest(f, y, initial_train_size=500, steps=1, refit=7)`` is
        ``backtest(f, y, TimeSeriesFold(initial_train_size=500, steps=1, refit=7))``
        (``initial_train_size``, ``steps``, ``fold_stride``, ``refit``, ``fixed_train_size``,
        ``gap``; see :class:`~convexforecast.forecasting.folds.TimeSeriesFold`).
    n_jobs : int or None
        Parallel tasks for :class:`joblib.Parallel` (-1: all cores; None: the value of an
        enclosing ``joblib.parallel_config``). Under ``parallel_config(backend="dask")`` the
        cluster decides. Results do not depend on it.
    refits_per_task : int
        Consecutive refit blocks run by one task on one copy of a forecaster (see the module
        docstring). With ``warm_start=True`` forecasters, e.g. ``ConvexARForecaster``, each
        refit then starts from the previous one; larger values mean fewer cold fits but
        fewer tasks to spread over workers. Forecasts depend on it only through such warm
        starts (within the solver tolerance), never on ``n_jobs``. Checkpoints are written
        per finished task, so an interrupted task is rerun whole.
    intervals : dict, optional
        ``{"method": "conformal", "level": 0.9}`` or ``{"method": "bootstrap", "level": 0.9,
        "n_boot": 1000, "random_state": 0, "residuals": "out_of_sample" | "in_sample"}``; see
        :mod:`convexforecast.forecasting.intervals`. Adds ``lower``/``upper`` columns and
        coverage metrics.
    show_progress : bool
        Show a tqdm progress bar over (model, block) tasks.
    checkpoint_dir : path-like, optional
        Directory to save finished tasks to and resume from (see the module docstring).
    verbose : bool
        Print the fold plan before running.
    exog : pandas.DataFrame or Series, optional
        Exogenous inputs on ``y``'s index (see :mod:`~convexforecast.forecasting.exog`), for
        the forecasters with ``supports_exog``; the others ignore them. Each fit and update
        gets the rows up to its origin; each forecast only the model's known-in-advance
        columns after the origin. Not modified.

    Returns
    -------
    BacktestResult

    Warns
    -----
    Warning
        Warnings raised while fitting or predicting (e.g. a solver's ConvergenceWarning) are
        recorded in every task, including tasks in worker processes and tasks restored from
        a checkpoint, and re-raised here with their category, once per model and message,
        naming the model, how many fits raised it and the first origin.

    Raises
    ------
    ValueError
        For invalid options (the message names the argument and the value), a training
        window shorter than a forecaster's ``min_train_size``, or a ``checkpoint_dir`` written
        for another configuration.
    """
    cv = TimeSeriesFold.resolve(cv, fold_settings, "backtest")
    models = _check_forecasters(forecasters)
    series = check_series(y)
    exog_frame = None if exog is None else check_exog(exog, series.index)
    folds, settings = cv.split(series), cv.settings(series.index)
    n_jobs = _check_n_jobs(n_jobs)
    refits_per_task = check_positive_int("refits_per_task", refits_per_task)
    interval_options = check_interval_options(intervals)
    show_progress = check_bool("show_progress", show_progress)
    verbose = check_bool("verbose", verbose)
    n0 = settings["initial_train_size"]
    reach = settings["gap"] + settings["steps"]
    for name, model in models.items():
        limit = getattr(model, "max_steps", None)
        if isinstance(limit, int | np.integer) and reach > limit:
            raise ValueError(
                f"`gap` + `steps` must be <= {limit} for forecaster {name!r} "
                f"({type(model).__name__} forecasts at most {limit} steps from an origin, e.g. "
                f"multistep='direct' with steps={limit}). Got gap={settings['gap']} + "
                f"steps={settings['steps']} = {reach}."
            )
        if exog_frame is not None:
            check_backtest_exog(name, model, exog_frame.columns, reach)
        minimum = getattr(model, "min_train_size", 1)
        if isinstance(minimum, int | np.integer) and n0 < minimum:
            raise ValueError(
                f"`initial_train_size` must be at least {minimum} for forecaster {name!r} "
                f"({type(model).__name__}). Got {short_repr(cv.initial_train_size)} ({n0} "
                "observations)."
            )

    plan = folds_frame(folds, series.index)
    blocks: dict[int, list[Fold]] = {}
    for fold in folds:
        blocks.setdefault(fold.block, []).append(fold)
    names = list(models)
    config = {
        "format_version": CHECKPOINT_FORMAT_VERSION,
        "library_version": library_version(),
        "y": series_digest(series),
        "plan": settings,
        "models": [describe_model(name, models[name]) for name in names],
        **({"refits_per_task": refits_per_task} if refits_per_task > 1 else {}),
        **({} if exog_frame is None else {"exog": {
            **exog_digest(exog_frame),
            "used_by": [n for n in names if getattr(models[n], "supports_exog", False)]}}),
    }
    block_ids = list(blocks)
    groups = [tuple(block_ids[g: g + refits_per_task])
              for g in range(0, len(block_ids), refits_per_task)]
    if verbose:
        print(f"Backtest plan: {len(folds)} folds in {len(blocks)} refit blocks x {len(names)} "
              f"models ({len(groups) * len(names)} tasks); settings {settings}")
        with pd.option_context("display.max_rows", 50, "display.width", 200):
            print(plan.to_string(index=False) if len(plan) <= 50 else plan)

    store = None
    if checkpoint_dir is not None:
        models_fingerprint = [fingerprint(name, models[name]) for name in names]
        store = CheckpointStore(checkpoint_dir, {**config, "models": models_fingerprint})
    results: dict[tuple[int, int], dict[str, Any]] = {}
    pending = []
    for i in range(len(names)):
        for group in groups:
            loaded = [store.load((i, block)) if store is not None else None for block in group]
            if all(result is not None for result in loaded):
                results.update({(i, block): result for block, result in zip(group, loaded,
                                                                            strict=True)})
            else:
                pending.append((i, group))

    def task(model: int, group: tuple[int, ...]):
        visible = [series.iloc[: blocks[b][-1].origin + 1] for b in group]
        labels = [[series.index[f.test_start: f.test_end + 1] for f in blocks[b]] for b in group]
        exog_rows = None if exog_frame is None else [
            exog_frame.iloc[: blocks[b][-1].test_end + 1] for b in group]
        return delayed(run_task)(models[names[model]], visible, [blocks[b] for b in group],
                                 labels, settings["gap"], [(model, b) for b in group], exog_rows)

    n_done = len(names) * len(groups) - len(pending)
    progress = tqdm(total=len(names) * len(groups), initial=n_done,
                    disable=not show_progress, desc="backtest", unit="task")
    try:
        if pending:
            try:
                parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
            except ValueError:  # backends without generator support (e.g. multiprocessing)
                parallel = Parallel(n_jobs=n_jobs, return_as="list")
            for task_results in parallel(task(*key) for key in pending):
                for result in task_results:
                    if store is not None:
                        store.save(result)
                    results[result["key"]] = result
                progress.update(1)
    finally:
        progress.close()

    reemit_warnings(names, blocks, results, series.index)
    return _assemble(series, names, blocks, results, plan, settings, config, interval_options)


def _assemble(
    series: pd.Series,
    names: list[str],
    blocks: dict[int, list[Fold]],
    results: dict[tuple[int, int], dict[str, Any]],
    plan: pd.DataFrame,
    settings: dict[str, Any],
    config: dict[str, Any],
    interval_options: dict[str, Any] | None,
) -> BacktestResult:
    parts, timing_rows, residual_map = [], {}, {}
    values = series.to_numpy()
    for i, name in enumerate(names):
        fit_s = predict_s = 0.0
        for block, block_folds in blocks.items():
            result = results[(i, block)]
            fit_s += result["fit_seconds"]
            predict_s += result["predict_seconds"]
            for fold in block_folds:
                residual_map[(name, fold.fold)] = result["residuals"]
            origin, target = result["origin"], result["target"]
            parts.append(pd.DataFrame({
                "origin": series.index[origin],
                "target": series.index[target],
                "horizon": (target - origin).astype(np.int64),
                "model": name,
                "forecast": result["forecast"],
                "actual": values[target],
                "fold": result["fold"],
            }))
        timing_rows[name] = {"fit_seconds": fit_s, "predict_seconds": predict_s,
                             "n_fits": len(blocks)}
    predictions = pd.concat(parts, ignore_index=True)
    if interval_options is not None:
        predictions = add_intervals(predictions, interval_options,
                                    in_sample_residuals=residual_map)
    timings = pd.DataFrame.from_dict(timing_rows, orient="index")
    timings.index.name = "model"
    return BacktestResult(
        predictions=predictions,
        folds=plan,
        timings=timings,
        config={**config, "intervals": interval_options, "plan": settings},
        y=series,
        in_sample_residuals=residual_map,
    )

