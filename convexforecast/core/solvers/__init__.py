"""Lasso solvers with duality-gap certificates.

* :mod:`.working_set` — the exact working-set (column generation) solver over implicit
  dictionaries, with :mod:`.feature_sign` restricted solves (compiled in
  :mod:`._feature_sign_kernel`) and :mod:`.column_stack` batching across inputs;
* :mod:`.kink_set` — the working set of kinks for capped-ramp dictionaries (ReLU of depth 3
  and 4), with restricted solves compiled in :mod:`._jump_kernel`;
* :mod:`.warm_start` — solutions carried between fits on other data;
* :mod:`.reference` — cvxpy + Clarabel and the min-norm LP on explicit dictionaries;
* :mod:`.lasso` — the one result type, :class:`~.lasso.LassoSolution`, and the certificate.
"""
