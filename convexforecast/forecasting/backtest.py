"""Rolling-origin backtesting, written once for every forecaster and for many series.

The fold plan is a :class:`~convexforecast.forecasting.folds.TimeSeriesFold` (origins, training
windows, refit blocks; see :mod:`convexforecast.forecasting.folds`). The work is split into
*tasks* (:mod:`convexforecast.forecasting.tasks`): a task runs ``refits_per_task`` consecutive
refit blocks of one model on one fresh clone of the forecaster, each block seeing only the
observations up to its own last origin. By default (``"auto"``) a forecaster with
``warm_start=True`` (the default of ``ConvexARForecaster``) runs all the refits of a series in
one task, each starting from the previous one, and any other forecaster one refit per task.
Tasks run through :mod:`joblib` (``joblib.parallel_config(backend="dask")`` distributes them
on a Dask cluster) and results
are assembled in plan order; the grouping into tasks is fixed by ``refits_per_task``, so
results do not depend on ``n_jobs`` or the backend. The outcome is a
:class:`~convexforecast.forecasting.results.BacktestResult`.

Many series (a wide DataFrame or a dict of series; see
:mod:`~convexforecast.forecasting.panel`) are backtested on each series' own fold plan, on its
own calendar. A *local* forecaster (the default) is cloned per series, so the tasks are
(model, series, block); a *global* forecaster (``global_model = True``, e.g.
``ConvexARForecaster(global_model=True)``) gets the whole panel: its tasks are (model, pooled
block), each refit seeing every series only up to the refit time and each forecast its series
only up to its origin (:func:`~convexforecast.forecasting.folds.plan_pooled_blocks`).

With ``checkpoint_dir`` the blocks of every finished task are saved, and a rerun with the same
configuration loads them instead of recomputing them (see
:mod:`convexforecast.forecasting.checkpoints`: what the fingerprint covers, how damaged files
are recomputed, and the :class:`~convexforecast.forecasting.checkpoints.CheckpointError` for a
directory written by another backtest).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
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
from .explain import collect_backtest_explanations
from .folds import (
    Fold,
    PooledBlock,
    TimeSeriesFold,
    folds_frame,
    plan_backtest,
    plan_pooled_blocks,
)
from .intervals import add_intervals, check_interval_options
from .panel import check_panel, is_panel
from .results import BacktestResult
from .tasks import reemit_warnings, run_global_task, run_task

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


def _is_global(model: Any) -> bool:
    """Whether a forecaster declares that it fits many series at once (``global_model``)."""
    return getattr(model, "global_model", False) is True


def backtest(
    forecasters: Any,
    y: pd.Series | pd.DataFrame | Mapping[str, pd.Series],
    cv: TimeSeriesFold | None = None,
    *,
    n_jobs: int | None = 1,
    refits_per_task: int | str = "auto",
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
        (:func:`sklearn.base.clone`) for every task and never modified. A single forecaster
        is named after its class. A forecaster with ``global_model = True`` is a global
        model: with many series it is fitted on all of them at once (see the module
        docstring).
    y : pandas.Series, pandas.DataFrame or dict of str to pandas.Series
        One series (see ``BaseForecaster.fit`` for the accepted indexes), or many: a wide
        frame on one calendar (leading/trailing NaN: not yet / no longer listed) or a dict of
        series with calendars and lengths of their own (see
        :func:`~convexforecast.forecasting.panel.check_panel`). Not modified.
    cv : TimeSeriesFold, optional
        The fold plan. Its settings may instead be passed by name, as a shortcut:
        ``backtest(f, y, initial_train_size=500, steps=1, refit=7)`` is
        ``backtest(f, y, TimeSeriesFold(initial_train_size=500, steps=1, refit=7))``
        (``initial_train_size``, ``steps``, ``fold_stride``, ``refit``, ``fixed_train_size``,
        ``gap``; see :class:`~convexforecast.forecasting.folds.TimeSeriesFold`). With many
        series the plan is applied to each series on its own index, so a date
        ``initial_train_size`` gives every series the same test period.
    n_jobs : int or None
        Parallel tasks for :class:`joblib.Parallel` (-1: all cores; None: the value of an
        enclosing ``joblib.parallel_config``). Under ``parallel_config(backend="dask")`` the
        cluster decides. Results do not depend on it.
    refits_per_task : int or "auto"
        Consecutive refit blocks run by one task on one copy of a forecaster (see the module
        docstring). With ``warm_start=True`` forecasters, e.g. ``ConvexARForecaster``, each
        refit then starts from the previous one; larger values mean fewer cold fits but
        fewer tasks to spread over workers. ``"auto"``: every refit of a (model, series) in
        one task for forecasters with ``warm_start=True``, one refit per task for the others
        (to spread one series' refits over workers, give a number). The grouping depends
        only on the plan, so forecasts never depend on ``n_jobs``; they depend on this
        argument only through warm starts, within the solver tolerance. Checkpoints are
        written per finished task, so an interrupted task is rerun whole.
    intervals : dict, optional
        ``{"method": "conformal", "level": 0.9}`` or ``{"method": "bootstrap", "level": 0.9,
        "n_boot": 1000, "random_state": 0, "residuals": "out_of_sample" | "in_sample"}``; see
        :mod:`convexforecast.forecasting.intervals`. Adds ``lower``/``upper`` columns and
        coverage metrics, calibrated per model, horizon (and series).
    show_progress : bool
        Show a tqdm progress bar over tasks.
    checkpoint_dir : path-like, optional
        Directory to save finished tasks to and resume from (see the module docstring).
    verbose : bool
        Print the fold plan (per series, summarised) before running.
    exog : pandas.DataFrame or Series, or dict of str to them, optional
        Exogenous inputs on ``y``'s index (see :mod:`~convexforecast.forecasting.exog`), for
        the forecasters with ``supports_exog``; the others ignore them. With many series, a
        dict with one frame per series, on that series' index (local models only). Each fit
        and update gets the rows up to its origin; each forecast only the model's
        known-in-advance columns after the origin. Not modified.

    Returns
    -------
    BacktestResult
        With many series, ``predictions`` and ``folds`` have a ``series`` column.

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
        window shorter than a forecaster's ``min_train_size`` (naming the series), or a
        ``checkpoint_dir`` written for another configuration.
    """
    cv = TimeSeriesFold.resolve(cv, fold_settings, "backtest")
    models = _check_forecasters(forecasters)
    many = is_panel(y)
    panel = check_panel(y) if many else {"y": check_series(y)}
    exog_frames = _check_exog(exog, panel, many)
    n_jobs = _check_n_jobs(n_jobs)
    if refits_per_task != "auto":
        refits_per_task = check_positive_int("refits_per_task", refits_per_task)
    interval_options = check_interval_options(intervals)
    show_progress = check_bool("show_progress", show_progress)
    verbose = check_bool("verbose", verbose)
    plans, settings = {}, {}
    for name, series in panel.items():
        try:
            plans[name], settings[name] = cv.split(series), cv.settings(series.index)
        except InvalidParameterError as exc:
            if not many:
                raise
            raise InvalidParameterError(f"Series {name!r}: {exc}") from None
        for model_name, model in models.items():
            _check_reach(model_name, model, settings[name], cv, name if many else None)
            if exog_frames is not None and _is_global(model) and getattr(
                    model, "supports_exog", False):
                raise InvalidParameterError(
                    f"`exog` cannot be used by forecaster {model_name!r}: a global model "
                    "(global_model=True) takes no exogenous inputs. Use local models, or "
                    "backtest it without `exog`.")
            if exog_frames is not None:
                check_backtest_exog(model_name, model, exog_frames[name].columns,
                                    settings[name]["gap"] + settings[name]["steps"])

    names = list(models)
    series_names = list(panel)
    plan = _plan_frame(panel, plans, many)
    config = {
        "format_version": CHECKPOINT_FORMAT_VERSION,
        "library_version": library_version(),
        "y": ({name: series_digest(s) for name, s in panel.items()} if many
              else series_digest(panel["y"])),
        "plan": settings if many else settings["y"],
        "models": [describe_model(name, models[name]) for name in names],
        **({"refits_per_task": refits_per_task} if refits_per_task != 1 else {}),
        **({} if exog_frames is None else {"exog": {
            **({"series": {name: exog_digest(f) for name, f in exog_frames.items()},
                "columns": list(dict.fromkeys(c for f in exog_frames.values()
                                              for c in f.columns))} if many
               else exog_digest(exog_frames["y"])),
            "used_by": [n for n in names if getattr(models[n], "supports_exog", False)]}}),
    }
    jobs = _plan_tasks(models, panel, plans, settings, cv, refits_per_task, exog_frames)
    if verbose:
        _print_plan(jobs, plans, plan, settings, many, len(names))

    store = None
    if checkpoint_dir is not None:
        models_fingerprint = [fingerprint(name, models[name]) for name in names]
        store = CheckpointStore(checkpoint_dir, {**config, "models": models_fingerprint})
    results: dict[tuple[int, int, int], dict[str, Any]] = {}
    pending = []
    for job in jobs:
        loaded = [store.load(key) if store is not None else None for key in job.keys]
        if all(result is not None for result in loaded):
            results.update(zip(job.keys, loaded, strict=True))
        else:
            pending.append(job)

    progress = tqdm(total=len(jobs), initial=len(jobs) - len(pending),
                    disable=not show_progress, desc="backtest", unit="task")
    try:
        if pending:
            try:
                parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
            except ValueError:  # backends without generator support (e.g. multiprocessing)
                parallel = Parallel(n_jobs=n_jobs, return_as="list")
            for task_results in parallel(job.call(models, cv.gap) for job in pending):
                for result in task_results:
                    if store is not None:
                        store.save(result)
                    results[result["key"]] = result
                progress.update(1)
    finally:
        progress.close()

    ordered = {name: [results[key] for job in jobs if job.model == i for key in job.keys]
               for i, name in enumerate(names)}
    reemit_warnings({name: [(result, _first_origin(result, panel, series_names, many))
                            for result in model_results]
                     for name, model_results in ordered.items()})
    return _assemble(panel, many, ordered, plan, config, interval_options)


def _check_exog(exog: Any, panel: dict[str, pd.Series], many: bool
                ) -> dict[str, pd.DataFrame] | None:
    """Validated copies of ``exog`` per series (None without exog)."""
    if exog is None:
        return None
    if not many:
        return {"y": check_exog(exog, panel["y"].index)}
    if not isinstance(exog, Mapping) or set(exog) != set(panel):
        got = sorted(exog) if isinstance(exog, Mapping) else type(exog).__name__
        raise InvalidParameterError(f"`exog` must be a dict with one frame per series "
                                    f"{list(panel)} when `y` holds many series. Got {got}.")
    return {name: check_exog(exog[name], series.index) for name, series in panel.items()}


def _check_reach(name: str, model: Any, settings: dict[str, Any], cv: TimeSeriesFold,
                 series: str | None) -> None:
    """The plan must fit the forecaster: steps it can reach and observations it needs."""
    where = "" if series is None else f" on series {series!r}"
    reach = settings["gap"] + settings["steps"]
    limit = getattr(model, "max_steps", None)
    if isinstance(limit, int | np.integer) and reach > limit:
        raise ValueError(
            f"`gap` + `steps` must be <= {limit} for forecaster {name!r} "
            f"({type(model).__name__} forecasts at most {limit} steps from an origin, e.g. "
            f"multistep='direct' with steps={limit}). Got gap={settings['gap']} + "
            f"steps={settings['steps']} = {reach}."
        )
    minimum = getattr(model, "min_series_length" if _is_global(model) and series is not None
                      else "min_train_size", 1)
    n0 = settings["initial_train_size"]
    if isinstance(minimum, int | np.integer) and n0 < minimum:
        raise ValueError(
            f"`initial_train_size` must be at least {minimum} for forecaster {name!r} "
            f"({type(model).__name__}){where}. Got {short_repr(cv.initial_train_size)} ({n0} "
            "observations)."
        )


def _warm_starts(model: Any) -> bool:
    """Whether a forecaster starts each refit from the previous one (``warm_start=True``)."""
    get_params = getattr(model, "get_params", None)
    return callable(get_params) and get_params(deep=False).get("warm_start") is True


def _plan_frame(panel: dict[str, pd.Series], plans: dict[str, list[Fold]], many: bool,
                ) -> pd.DataFrame:
    if not many:
        return folds_frame(plans["y"], panel["y"].index)
    frames = [folds_frame(plans[name], series.index) for name, series in panel.items()]
    for name, frame in zip(panel, frames, strict=True):
        frame.insert(0, "series", name)
    return pd.concat(frames, ignore_index=True)


@dataclass
class _Job:
    """One task: a model's consecutive blocks of one series, or a global model's pooled ones."""

    model: int
    keys: list[tuple[int, int, int]]
    local: dict[str, Any] | None = None
    pooled: list[PooledBlock] | None = None
    last_block: int | None = None  # the series' (or the pooled plan's) last refit: explained

    def call(self, models: dict[str, Any], gap: int) -> Any:
        forecaster = list(models.values())[self.model]
        if self.pooled is not None:
            return delayed(run_global_task)(forecaster, self.pooled, gap, self.keys,
                                            explain_block=self.last_block)
        return delayed(run_task)(forecaster, self.local["visible"], self.local["folds"],
                                 self.local["labels"], gap, self.keys,
                                 explain_block=self.last_block, exog=self.local["exog"])


def _plan_tasks(models: dict[str, Any], panel: dict[str, pd.Series],
                plans: dict[str, list[Fold]], settings: dict[str, dict[str, Any]],
                cv: TimeSeriesFold, refits_per_task: int | str,
                exog_frames: dict[str, pd.DataFrame] | None) -> list[_Job]:
    jobs = []
    for i, model in enumerate(models.values()):
        per_task = refits_per_task
        if per_task == "auto":  # chains of warm-started refits, fixed by the plan
            per_task = sum(len(p) for p in plans.values()) if _warm_starts(model) else 1
        if _is_global(model):
            pooled = plan_pooled_blocks(
                panel, plans, {n: s["initial_train_size"] for n, s in settings.items()},
                cv.fixed_train_size, getattr(model, "min_series_length", 1))
            for g in range(0, len(pooled), per_task):
                chunk = pooled[g: g + per_task]
                jobs.append(_Job(i, [(i, -1, g + k) for k in range(len(chunk))], pooled=chunk,
                                 last_block=len(pooled) - 1))
            continue
        for code, (name, series) in enumerate(panel.items()):
            blocks: dict[int, list[Fold]] = {}
            for fold in plans[name]:
                blocks.setdefault(fold.block, []).append(fold)
            ids = list(blocks)
            for g in range(0, len(ids), per_task):
                group = ids[g: g + per_task]
                jobs.append(_Job(i, [(i, code, b) for b in group], local={
                    "visible": [series.iloc[: blocks[b][-1].origin + 1] for b in group],
                    "folds": [blocks[b] for b in group],
                    "labels": [[series.index[f.test_start: f.test_end + 1] for f in blocks[b]]
                               for b in group],
                    "exog": None if exog_frames is None else [
                        exog_frames[name].iloc[: blocks[b][-1].test_end + 1] for b in group]},
                    last_block=ids[-1]))
    return jobs


def _print_plan(jobs: list[_Job], plans: dict[str, list[Fold]], plan: pd.DataFrame,
                settings: dict[str, dict[str, Any]], many: bool, n_models: int) -> None:
    n_folds = sum(len(folds) for folds in plans.values())
    print(f"Backtest plan: {n_folds} folds of {len(plans)} series x {n_models} models "
          f"({len(jobs)} tasks)")
    with pd.option_context("display.max_rows", 60, "display.width", 200):
        if not many:
            print(f"settings {settings['y']}")
            print(plan.to_string(index=False) if len(plan) <= 50 else plan)
            return
        summary = plan.groupby("series", sort=False).agg(
            folds=("fold", "size"), refits=("refit", "sum"), first_origin=("origin", "first"),
            last_origin=("origin", "last"), last_target=("test_end", "last"),
            n_train_first=("n_train", "first"))
        print(summary.to_string())


def _first_origin(result: dict[str, Any], panel: dict[str, pd.Series], names: list[str],
                  many: bool) -> str:
    """The first origin of a task result, as text (with its series in a panel)."""
    if len(result["origin"]) == 0:
        return "(none)"
    name = names[int(result["series"][0])]
    label = str(panel[name].index[int(result["origin"][0])])
    return f"{label} of {name!r}" if many else label


def _assemble(
    panel: dict[str, pd.Series],
    many: bool,
    ordered: dict[str, list[dict[str, Any]]],
    plan: pd.DataFrame,
    config: dict[str, Any],
    interval_options: dict[str, Any] | None,
) -> BacktestResult:
    names = list(panel)
    parts, timing_rows, residual_map = [], {}, {}
    for model, model_results in ordered.items():
        fit_s = predict_s = 0.0
        for result in model_results:
            fit_s += result["fit_seconds"]
            predict_s += result["predict_seconds"]
            codes = result["series"]
            for code in np.unique(codes):
                name = names[int(code)]
                rows = codes == code
                index, values = panel[name].index, panel[name].to_numpy()
                origin, target = result["origin"][rows], result["target"][rows]
                frame = {
                    "origin": index[origin],
                    "target": index[target],
                    "horizon": (target - origin).astype(np.int64),
                    "model": model,
                    "forecast": result["forecast"][rows],
                    "actual": values[target],
                    "fold": result["fold"][rows],
                }
                parts.append(pd.DataFrame({"series": name, **frame} if many else frame))
                if result["key"][1] >= 0:  # local fits: one residual set per block
                    for fold in np.unique(result["fold"][rows]):
                        key = (model, name, int(fold)) if many else (model, int(fold))
                        residual_map[key] = result["residuals"]
        timing_rows[model] = {"fit_seconds": fit_s, "predict_seconds": predict_s,
                              "n_fits": len(model_results)}
    predictions = pd.concat(parts, ignore_index=True)
    if many:
        order = {name: i for i, name in enumerate(names)}
        model_order = {name: i for i, name in enumerate(ordered)}
        predictions = predictions.sort_values(
            ["model", "series", "origin", "target"], kind="stable",
            key=lambda c: c.map(model_order) if c.name == "model" else (
                c.map(order) if c.name == "series" else c)).reset_index(drop=True)
    if interval_options is not None:
        predictions = add_intervals(predictions, interval_options,
                                    in_sample_residuals=residual_map)
    timings = pd.DataFrame.from_dict(timing_rows, orient="index")
    timings.index.name = "model"
    return BacktestResult(
        predictions=predictions,
        folds=plan,
        timings=timings,
        config={**config, "intervals": interval_options},
        y=panel if many else panel["y"],
        in_sample_residuals=residual_map,
        explanations=collect_backtest_explanations(ordered, panel, many),
    )
