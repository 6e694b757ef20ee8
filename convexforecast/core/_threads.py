"""One BLAS thread for the solver's small dense products.

On 2 cores, the working-set solver's products (Gram updates of a few dozen columns) run faster
single-threaded, and the result is then bit-reproducible whatever the machine's thread count.
"""

from __future__ import annotations

import functools
import threading

from threadpoolctl import ThreadpoolController

__all__ = ["single_threaded_blas"]

_BLAS = ThreadpoolController()
_SINGLE_THREADED = threading.local()  # set while a single_threaded_blas call runs


def single_threaded_blas(func):
    """Run ``func`` with one BLAS thread; nested calls (each fit of a β path) run under the
    outer limit, so the limit is entered once per path or cross-validation."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if getattr(_SINGLE_THREADED, "active", False):
            return func(*args, **kwargs)
        with _BLAS.limit(limits=1, user_api="blas"):
            _SINGLE_THREADED.active = True
            try:
                return func(*args, **kwargs)
            finally:
                _SINGLE_THREADED.active = False

    return wrapper
