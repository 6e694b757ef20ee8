"""One BLAS thread for the solver's small dense products.

On 2 cores, the working-set solver's products (Gram updates of a few dozen columns) run faster
single-threaded, and the result is then bit-reproducible whatever the machine's thread count.

Both BLAS libraries are limited: numpy's (``libscipy_openblas64_``) and scipy's own
(``libscipy_openblas``, used by ``scipy.linalg`` and by numba's ``np.dot``). The controller is
built on first use, once both are loaded: a controller built when this module is imported
would see no library at all and limit nothing.
"""

from __future__ import annotations

import functools
import threading

from threadpoolctl import ThreadpoolController

__all__ = ["single_threaded_blas"]

_SINGLE_THREADED = threading.local()  # set while a single_threaded_blas call runs


@functools.cache
def blas_controller() -> ThreadpoolController:
    """The BLAS libraries of numpy and scipy, found once both are loaded."""
    import numpy.linalg  # noqa: F401  (numpy's BLAS)
    import scipy.linalg  # noqa: F401  (scipy's BLAS)

    return ThreadpoolController().select(user_api="blas")


def single_threaded_blas(func):
    """Run ``func`` with one BLAS thread; nested calls (each fit of a β path) run under the
    outer limit, so the limit is entered once per path or cross-validation."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if getattr(_SINGLE_THREADED, "active", False):
            return func(*args, **kwargs)
        with blas_controller().limit(limits=1):
            _SINGLE_THREADED.active = True
            try:
                return func(*args, **kwargs)
            finally:
                _SINGLE_THREADED.active = False

    return wrapper
