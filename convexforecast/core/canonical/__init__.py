"""Canonical networks: from a Lasso solution to the few-neuron, minimum-norm network.

* :mod:`.convex_fit` — :func:`~.convex_fit.canonicalize` and :class:`~.convex_fit.ConvexFit`,
  the fit layer's one result type;
* :mod:`.decomposition` — the minimum-norm decompositions of paper-notes §2.3 (skyline, depth-4
  reflections);
* :mod:`.interpolant` — the closed-form canonical function of depth-≤3 ReLU solutions, for
  scoring β paths without building networks.
"""
