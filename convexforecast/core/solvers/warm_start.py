"""Warm starts: solutions carried from one fit to the next on other data.

:class:`PortableSolution` stores a working-set solution by the *training rows* where its
kinks occur, so that a refit on a longer window of the same series (even re-standardised) can
start from it. :class:`WarmStart` is the whole state one estimator carries between fits: a
portable solution per (cross-validation fold, β) and one for the final fit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from convexforecast.core.dictionaries.implicit import ImplicitDictionary
from convexforecast.core.solvers.column_stack import CappedRampStack
from convexforecast.core.solvers.lasso import LassoSolution
from convexforecast.core.solvers.working_set import codes, split_codes, sum_by_code

__all__ = ["PortableSolution", "WarmStart"]


@dataclass
class PortableSolution:
    """A working-set solution in data-independent form, to warm-start a fit on other data.

    ``rows[i]`` locates the kinks of column i by the training rows where they occur
    (:meth:`~convexforecast.core.solvers.column_stack.CappedRampStack.key_rows`), so a refit on a longer
    window of the same series can start from it.
    """

    inputs: np.ndarray
    rows: np.ndarray
    coef: np.ndarray

    @classmethod
    def from_solution(cls, solution: LassoSolution | None,
                      dictionaries: list[ImplicitDictionary],
                      stack: CappedRampStack | None = None) -> PortableSolution | None:
        """The portable form, or None without a solution or for dictionaries other than
        capped ramps (``stack``: the dictionaries' :class:`CappedRampStack`, if built already)."""
        if solution is None or solution.inputs is None:  # none, or an explicit-matrix solution
            return None
        stack = CappedRampStack.of(dictionaries) if stack is None else stack
        if stack is None:
            return None
        return cls(solution.inputs.copy(), stack.key_rows(solution.inputs, solution.keys),
                   solution.coef.copy())

    def start(self, dictionaries: list[ImplicitDictionary],
              stack: CappedRampStack | None = None) -> LassoSolution:
        """A warm start on ``dictionaries``: the columns that exist there (duplicates summed;
        none for another dictionary family; ``stack`` as in :meth:`from_solution`)."""
        stack = CappedRampStack.of(dictionaries) if stack is None else stack
        if stack is None:
            keys = np.zeros(self.inputs.shape[0], dtype=np.int64)
            valid = np.zeros(self.inputs.shape[0], dtype=bool)
        else:
            keys, valid = stack.keys_from_rows(self.inputs, self.rows)
        distinct, coef = sum_by_code(codes(self.inputs[valid], keys[valid]), self.coef[valid])
        inputs, keys = split_codes(distinct)
        return LassoSolution(coef, 0.0, float("nan"), np.inf, -np.inf, 0, "warm start",
                             inputs=inputs, keys=keys, converged=False)


@dataclass
class WarmStart:
    """What a fit leaves for the next one (``warm_start=True``), by training row.

    Attributes
    ----------
    cv : list of list of PortableSolution or None, optional
        Per cross-validation fold and β, the solution of the last β cross-validation.
    cv_shape : tuple of int
        ``(n_folds, n_betas)`` of that cross-validation (a new one starts from it only if its
        grid has the same shape).
    final : PortableSolution or None
        The last final fit's solution.
    """

    cv: list[list[PortableSolution | None]] | None = None
    cv_shape: tuple[int, int] = (0, 0)
    final: PortableSolution | None = field(default=None)
