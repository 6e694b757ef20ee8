"""Running backtest tasks: one forecaster copy through consecutive refit blocks.

A *task* runs ``refits_per_task`` consecutive refit blocks of one model, in order, on one fresh
clone of the forecaster; each block receives only the observations up to its own last origin,
so no fit, transform or cross-validation can see data after an origin. Within a task a
forecaster with ``warm_start=True`` starts every refit from the previous one. Warnings raised in
a task are recorded (category and message) and re-raised in the caller by
:func:`reemit_warnings`, whatever process the task ran in.

A local model's block is one series' (:func:`run_task`); a global model's block
(:func:`run_global_task`, :class:`~convexforecast.forecasting.folds.PooledBlock`) fits the
panel as it was at the block's refit time and then forecasts every series' origins of the
block in time order, each series updated only up to its own origin.
"""

from __future__ import annotations

import sys
import time
import warnings
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from .._index import same_labels
from .exog import exog_rows_for_model
from .folds import Fold, PooledBlock

__all__ = ["MAX_WARNINGS_PER_MODEL", "fit_and_predict", "reemit_warnings", "run_global_task",
           "run_task"]

MAX_WARNINGS_PER_MODEL = 10  # distinct warnings re-raised per model (then one summary)


def _recorded(run: Any, *args: Any) -> dict[str, Any]:
    """``run(*args)`` with its warnings recorded (category path and message, each once)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run(*args)
    messages: dict[tuple[str, str], None] = {}
    for item in caught:
        path = f"{item.category.__module__}.{item.category.__qualname__}"
        messages[(path, str(item.message))] = None
    return {**result, "warnings": [list(m) for m in messages]}


def _explained(run: Any, model: Any, curves: bool, *args: Any) -> dict[str, Any]:
    """``run(model, *args)`` plus, as ``"explain"``, the model's ``explain_state(curves)``
    (None for forecasters without that hook): the certificate of the fit and, with
    ``curves``, what it learned (see :mod:`~convexforecast.forecasting.explain`)."""
    result = run(model, *args)
    hook = getattr(model, "explain_state", None)
    return {**result, "explain": None if hook is None else hook(curves=curves)}


def run_task(
    forecaster: Any,
    visible: list[pd.Series],
    folds: list[list[Fold]],
    target_labels: list[list[pd.Index]],
    gap: int,
    keys: list[tuple[int, int, int]],
    explain_block: int | None = None,
    exog: list[pd.DataFrame] | None = None,
) -> list[dict[str, Any]]:
    """Run consecutive refit blocks of one series on one fresh copy: per block, fit then
    update/predict.

    ``visible[b]`` ends at block b's last origin: nothing after it is available to block b.
    ``keys[b]`` is ``(model, series, block)``. ``exog[b]`` (optional) holds the exogenous rows
    up to block b's last target; a forecast receives only the model's known-in-advance columns
    after its origin (:func:`~convexforecast.forecasting.exog.exog_rows_for_model`).
    Warnings are recorded per block and returned, so
    that :func:`reemit_warnings` can re-emit them in the caller's process whatever the backend.
    Block ``explain_block`` (the series' last refit) also returns what the model learned.
    """
    model = clone(forecaster, safe=False)
    results = []
    exog = [None] * len(visible) if exog is None else exog
    for y_visible, block_folds, labels, key, x in zip(visible, folds, target_labels, keys, exog,
                                                      strict=True):
        result = _recorded(_explained, fit_and_predict, model, key[2] == explain_block,
                           y_visible, block_folds, labels, gap, x)
        result["series"] = np.full(result["fold"].size, key[1], dtype=np.int64)
        results.append({"key": key, **result})
    return results


def run_global_task(forecaster: Any, blocks: list[PooledBlock], gap: int,
                    keys: list[tuple[int, int, int]],
                    explain_block: int | None = None) -> list[dict[str, Any]]:
    """Run consecutive pooled blocks of a global model on one fresh copy (see the module
    docstring); ``keys[b]`` is ``(model, -1, block)``; block ``explain_block`` (the last
    refit) also returns what the model learned."""
    model = clone(forecaster, safe=False)
    return [{"key": key, **_recorded(_explained, fit_and_predict_pooled, model,
                                     key[2] == explain_block, block, gap)}
            for block, key in zip(blocks, keys, strict=True)]


def fit_and_predict_pooled(model: Any, block: PooledBlock, gap: int) -> dict[str, Any]:
    """One pooled block: fit the panel at the refit time, then, origin time by origin time,
    update the series that have a fold there up to their origin and forecast them."""
    start = time.perf_counter()
    model.fit({name: block.visible[name].iloc[a: b + 1]
               for name, (a, b) in block.train.items()})
    fit_seconds = time.perf_counter() - start
    position = {name: b for name, (_, b) in block.train.items()}
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("series", "fold", "origin", "target",
                                                          "forecast")}
    predict_seconds = 0.0
    for events in block.by_time():
        start = time.perf_counter()
        updates = {}
        for code, fold, _ in events:
            name = block.names[code]
            if fold.origin > position[name]:
                updates[name] = block.visible[name].iloc[position[name] + 1: fold.origin + 1]
                position[name] = fold.origin
        if updates:
            model.update(updates)
        n_ahead = max(gap + fold.test_end - fold.test_start + 1 for _, fold, _ in events)
        prediction = model.predict(n_ahead)
        predict_seconds += time.perf_counter() - start
        for code, fold, labels in events:
            name = block.names[code]
            column = prediction[name].dropna()
            n_test = fold.test_end - fold.test_start + 1
            if not same_labels(column.index[gap: gap + n_test], labels):
                raise RuntimeError(
                    f"{type(model).__name__}.predict returned targets "
                    f"{list(column.index[gap: gap + n_test])} for series {name!r} at fold "
                    f"{fold.fold}; expected {list(labels)}.")
            parts["series"].append(np.full(n_test, code, dtype=np.int64))
            parts["fold"].append(np.full(n_test, fold.fold, dtype=np.int64))
            parts["origin"].append(np.full(n_test, fold.origin, dtype=np.int64))
            parts["target"].append(np.arange(fold.test_start, fold.test_end + 1, dtype=np.int64))
            parts["forecast"].append(column.to_numpy(dtype=np.float64)[gap: gap + n_test])
    return {**{key: np.concatenate(value) for key, value in parts.items()},
            "residuals": None, "fit_seconds": fit_seconds, "predict_seconds": predict_seconds}


def fit_and_predict(model: Any, y_visible: pd.Series, folds: list[Fold],
                    target_labels: list[pd.Index], gap: int,
                    exog: pd.DataFrame | None = None) -> dict[str, Any]:
    """One refit block: fit at its first fold, then update and forecast at every fold."""
    first = folds[0]
    start = time.perf_counter()
    model.fit(y_visible.iloc[first.train_start: first.train_end + 1],
              **exog_rows_for_model(model, exog, first.train_start, first.train_end + 1))
    fit_seconds = time.perf_counter() - start
    residuals = getattr(model, "in_sample_residuals_", None)
    fold_ids, origins, targets, forecasts = [], [], [], []
    predict_seconds = 0.0
    previous = first.origin
    for fold, labels in zip(folds, target_labels, strict=True):
        start = time.perf_counter()
        if fold.origin > previous:
            model.update(y_visible.iloc[previous + 1: fold.origin + 1],
                         **exog_rows_for_model(model, exog, previous + 1, fold.origin + 1))
            previous = fold.origin
        n_test = fold.test_end - fold.test_start + 1
        prediction = model.predict(gap + n_test, **exog_rows_for_model(
            model, exog, fold.origin + 1, fold.test_end + 1, future=True))
        predict_seconds += time.perf_counter() - start
        if not same_labels(prediction.index[gap:], labels):
            raise RuntimeError(
                f"{type(model).__name__}.predict returned targets {list(prediction.index[gap:])} "
                f"at fold {fold.fold}; expected {list(labels)}."
            )
        values = np.asarray(prediction.to_numpy(dtype=np.float64)[gap:])
        fold_ids.append(np.full(n_test, fold.fold, dtype=np.int64))
        origins.append(np.full(n_test, fold.origin, dtype=np.int64))
        targets.append(np.arange(fold.test_start, fold.test_end + 1, dtype=np.int64))
        forecasts.append(values)
    return {
        "fold": np.concatenate(fold_ids),
        "origin": np.concatenate(origins),
        "target": np.concatenate(targets),
        "forecast": np.concatenate(forecasts),
        "residuals": None if residuals is None else np.asarray(residuals, dtype=np.float64).copy(),
        "fit_seconds": fit_seconds,
        "predict_seconds": predict_seconds,
    }


def _warning_category(path: str) -> type[Warning]:
    """The warning class at ``module.QualName`` among loaded modules, else UserWarning.

    Nothing is imported: the path may come from a checkpoint file.
    """
    module, _, name = path.rpartition(".")
    category = getattr(sys.modules.get(module), name, None)
    return category if isinstance(category, type) and issubclass(category, Warning) else UserWarning


def reemit_warnings(fits: dict[str, list[tuple[dict[str, Any], str]]]) -> None:
    """Re-raise the tasks' warnings in the caller, once per model and message, in plan order.

    ``fits[model]`` lists, in plan order, each fit's result and a description of its first
    origin. Each warning names the model, the number of fits that raised it and the first
    fit's origin; past ``MAX_WARNINGS_PER_MODEL`` distinct messages per model, one summary
    warning says how many more there were.
    """
    for name, model_fits in fits.items():
        seen: dict[tuple[str, str], list[str]] = {}
        for result, origin in model_fits:
            for path, message in result["warnings"]:
                seen.setdefault((path, message), []).append(origin)
        for n, ((path, message), origins) in enumerate(seen.items()):
            if n == MAX_WARNINGS_PER_MODEL:
                warnings.warn(f"Model {name!r}: {len(seen) - n} more distinct warnings not shown.",
                              UserWarning, stacklevel=3)
                break
            warnings.warn(f"Model {name!r} ({len(origins)} of {len(model_fits)} fits, first at "
                          f"origin {origins[0]}): {message}", _warning_category(path),
                          stacklevel=3)
