"""Backtest checkpoints: finished tasks on disk, fingerprinted so that a resume never reuses
stale results and never stops on a damaged file.

A checkpoint directory holds ``config.json`` (the backtest's fingerprint and its SHA-256) and
one ``block-m<model>-b<block>.npz`` per finished (model, refit block): numpy arrays plus a
JSON metadata string, read with ``allow_pickle=False``. Every file is written atomically
(:func:`convexforecast._artefacts.atomic_write`).

The fingerprint covers everything that changes results: the library version, the data
(labels and values, and those of ``exog`` with its column names), the fold plan, every
forecaster's class and parameters, and the *code* of callables and of forecaster classes
defined outside convexforecast (their functions' bytecode, constants, defaults and closures;
the functions and constants of their own module that they read, recursively; code of other
packages by name and package version). A
parameter or closure value that cannot be fingerprinted refuses checkpointing with a
:class:`CheckpointError`. Mutable module-level state read by code (a global dict, say) is
recorded by its type only.

On resume, a block is reused only if its file parses, its checksum matches its arrays, and it
was written for this fingerprint; otherwise it is recomputed with a
:class:`~convexforecast._artefacts.CorruptFileWarning` naming the file and the reason. An
unreadable ``config.json`` is rewritten (the blocks carry the fingerprint themselves); a
readable one written for another backtest is refused with :class:`CheckpointError`.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import sys
import types
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._artefacts import CorruptFileWarning, atomic_write, library_version, sha256
from .._index import label_integers
from .._validation import short_repr
from .explain import check_explain_state

__all__ = ["CHECKPOINT_FORMAT_VERSION", "CheckpointError", "CheckpointStore", "describe_model",
           "fingerprint", "series_digest"]

CHECKPOINT_FORMAT_VERSION = 3
_ARRAYS = ("series", "fold", "origin", "target", "forecast", "residuals")
_INTEGER_ARRAYS = ("series", "fold", "origin", "target")


class CheckpointError(ValueError):
    """A checkpoint directory cannot be used: it holds another backtest's results, or the
    backtest cannot be fingerprinted. The message names the directory or the value."""


# ------------------------------------------------------------------------ fingerprints
def series_digest(y: pd.Series) -> dict[str, Any]:
    """SHA-256 of the labels and values; the same for every datetime resolution."""
    digest = sha256(label_integers(y.index).tobytes() + y.to_numpy().tobytes())
    return {"sha256": digest, "n": len(y), "index": type(y.index).__name__,
            "start": str(y.index[0]), "end": str(y.index[-1])}


def _qualname(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', type(obj).__name__)}"


def _is_library(obj: Any) -> bool:
    """Defined in convexforecast itself (covered by the library version)."""
    return str(getattr(obj, "__module__", "")).split(".", 1)[0] == "convexforecast"


def _module_version(name: str) -> str | None:
    module = sys.modules.get(name.split(".", 1)[0])
    version = getattr(module, "__version__", None)
    return str(version) if version is not None else None


class _Fingerprinter:
    """Turns a parameter value into stable JSON, raising CheckpointError when it cannot.

    ``strict=False`` never raises: unknown objects become their ``repr`` (a description for
    :attr:`BacktestResult.config`, not a fingerprint).
    """

    def __init__(self, strict: bool) -> None:
        self.strict = strict
        self._seen: set[int] = set()

    def value(self, value: Any, where: str) -> Any:
        from sklearn.base import BaseEstimator

        if value is None or isinstance(value, bool | int | str):
            return value
        if isinstance(value, float):
            return value if np.isfinite(value) else repr(value)
        if isinstance(value, np.generic):
            return self.value(value.item(), where)
        if isinstance(value, np.ndarray):
            if value.dtype.hasobject:
                return [self.value(v, where) for v in value.tolist()]
            return {"ndarray": sha256(np.ascontiguousarray(value).tobytes()),
                    "dtype": str(value.dtype), "shape": list(value.shape)}
        if isinstance(value, pd.Series | pd.DataFrame | pd.Index):
            hashed = pd.util.hash_pandas_object(value, index=not isinstance(value, pd.Index))
            return {"pandas": type(value).__name__, "sha256": sha256(hashed.to_numpy().tobytes())}
        if isinstance(value, list | tuple):
            return [self.value(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, Mapping):
            return {str(k): self.value(v, f"{where}[{k!r}]")
                    for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
        if isinstance(value, BaseEstimator):
            return {"class": self.cls(type(value)),
                    "params": self.value(value.get_params(deep=False), where)}
        if isinstance(value, type):
            return self.cls(value)
        if isinstance(value, types.ModuleType):
            return {"module": value.__name__, "version": _module_version(value.__name__)}
        if isinstance(value, functools.partial):
            return {"partial": self.value(value.func, where),
                    "args": self.value(list(value.args), where),
                    "keywords": self.value(dict(value.keywords), where)}
        if isinstance(value, types.MethodType):
            return {"method": self.value(value.__func__, where),
                    "self": self.value(value.__self__, where)}
        if isinstance(value, types.FunctionType):
            return {"function": _qualname(value), "code": self.function(value)}
        if isinstance(value, types.BuiltinFunctionType | np.ufunc):
            module = getattr(value, "__module__", None) or "numpy"
            return {"builtin": _qualname(value), "version": _module_version(module)}
        if not self.strict:
            return repr(value)
        raise CheckpointError(
            f"`checkpoint_dir` cannot be used: {where} = {short_repr(value)} (a "
            f"{type(value).__name__}) cannot be fingerprinted, so a resumed backtest could reuse "
            "results computed with another value. Pass plain values, functions or estimators, "
            "or run without `checkpoint_dir`."
        )

    def function(self, function: types.FunctionType) -> str:
        """SHA-256 of a function's behaviour: code, defaults, closure and the module-level
        values it reads (functions of its own module are followed recursively)."""
        if id(function) in self._seen:
            return "recursive"
        self._seen.add(id(function))
        where = f"function {_qualname(function)}"
        parts: list[Any] = [_code_description(function.__code__),
                            self.value(function.__defaults__, where),
                            self.value(function.__kwdefaults__, where)]
        for cell in function.__closure__ or ():
            try:
                contents = cell.cell_contents
            except ValueError:  # an empty cell
                contents = None
            parts.append(self.value(contents, f"the closure of {where}"))
        namespace = function.__globals__
        for name in sorted(_global_names(function.__code__)):
            if name not in namespace:
                continue
            value = namespace[name]
            parts.append([name, self._global(value, function, f"global `{name}` read by {where}")])
        return sha256(json.dumps(parts, sort_keys=True).encode())

    def _global(self, value: Any, reader: types.FunctionType, where: str) -> Any:
        """A module-level value read by ``reader``: followed when it is code of the same
        module, by name and package version when it is code elsewhere, and by its current
        content otherwise (constants and mutable module state alike: a dict changed between
        two runs changes the fingerprint); what cannot be fingerprinted is refused."""
        own_module = getattr(value, "__module__", None) == reader.__module__
        if isinstance(value, types.FunctionType | type) and own_module:
            return self.value(value, where)
        if isinstance(value, types.FunctionType | type | types.BuiltinFunctionType | np.ufunc):
            module = getattr(value, "__module__", None) or ""
            return {"code": _qualname(value), "version": _module_version(module)}
        if isinstance(value, types.ModuleType | np.generic | bool | int | float | str | bytes
                      | type(None)):
            return self.value(value if not isinstance(value, bytes) else value.hex(), where)
        if isinstance(value, set | frozenset):
            return self.value(sorted(value, key=repr), where)
        # module state (dicts, lists, arrays, estimators ...) by its current content; what
        # cannot be fingerprinted is refused (strict) rather than reused when it has changed
        return self.value(value, where)

    def cls(self, cls: type) -> dict[str, Any]:
        """A class: its name and, unless it is convexforecast's own, its methods' code."""
        out: dict[str, Any] = {"class": _qualname(cls)}
        if _is_library(cls) or cls.__module__ == "builtins":
            return out
        code = {}
        for klass in cls.__mro__:
            if klass is object or _is_library(klass):
                continue
            if klass.__module__.split(".", 1)[0] != cls.__module__.split(".", 1)[0]:
                code[_qualname(klass)] = _module_version(klass.__module__)
                continue  # a third-party base class: its package version stands for its code
            for name, member in sorted(vars(klass).items()):
                function = getattr(member, "__func__", member)
                if isinstance(member, property):
                    function = member.fget
                if isinstance(function, types.FunctionType):
                    code[f"{klass.__qualname__}.{name}"] = self.function(function)
        out["code"] = code
        return out


def _code_description(code: types.CodeType) -> list[Any]:
    """Bytecode, constants (nested code objects described recursively) and names."""
    consts = [_code_description(c) if isinstance(c, types.CodeType) else repr(c)
              for c in code.co_consts]
    return [code.co_code.hex(), consts, list(code.co_names), code.co_argcount,
            code.co_kwonlyargcount, code.co_flags]


def _global_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def fingerprint(name: str, model: Any) -> dict[str, Any]:
    """The fingerprint of one forecaster (class, code where needed, every parameter)."""
    printer = _Fingerprinter(strict=True)
    params = model.get_params(deep=False) if hasattr(model, "get_params") else {}
    return {"name": name, "class": printer.cls(type(model)),
            "params": printer.value(params, f"`forecasters[{name!r}]` parameters")}


def describe_model(name: str, model: Any) -> dict[str, Any]:
    """A JSON description of one forecaster for reports (never raises)."""
    printer = _Fingerprinter(strict=False)
    params = model.get_params(deep=False) if hasattr(model, "get_params") else {}
    return {"name": name, "class": _qualname(type(model)),
            "params": printer.value(params, name)}


# -------------------------------------------------------------------------- the store
def _arrays_digest(arrays: Mapping[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}:{array.dtype.str}:{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


class CheckpointStore:
    """Finished (model, series, block) results of one backtest configuration in ``directory``."""

    def __init__(self, directory: Any, config: dict[str, Any]) -> None:
        try:
            self.directory = Path(directory)
        except TypeError:
            raise TypeError(f"`checkpoint_dir` must be a path. Got {short_repr(directory)}.") from None
        self.directory.mkdir(parents=True, exist_ok=True)
        self.config = config
        self.hash = sha256(json.dumps(config, sort_keys=True).encode())
        path = self.directory / "config.json"
        stored = self._read_config(path)
        if stored is None:
            document = {"format_version": CHECKPOINT_FORMAT_VERSION, "hash": self.hash,
                        "config": config}
            atomic_write(path, json.dumps(document, sort_keys=True, indent=1).encode())
        elif stored["hash"] != self.hash:
            old = stored["config"]
            differs = sorted(k for k in set(old) | set(config) if old.get(k) != config.get(k))
            raise CheckpointError(
                f"`checkpoint_dir` {str(self.directory)!r} holds a checkpoint of a different "
                f"backtest configuration (stored hash {stored['hash'][:12]}, this run "
                f"{self.hash[:12]}; differs in {differs}). Use another directory or delete it."
            )

    def _read_config(self, path: Path) -> dict[str, Any] | None:
        """The stored configuration document, or None if absent or unreadable (warned)."""
        if not path.exists():
            return None
        try:
            document = json.loads(path.read_bytes())
            if not isinstance(document, dict) or not isinstance(document.get("config"), dict):
                raise ValueError("not a checkpoint configuration object")
            stored_hash = document.get("hash")
            if stored_hash != sha256(json.dumps(document["config"], sort_keys=True).encode()):
                raise ValueError("its hash does not match its content")
            return document
        except Exception as exc:  # noqa: BLE001 - any damage: rewrite it
            self._warn(path, f"{type(exc).__name__}: {exc}", "rewriting it")
            return None

    def _path(self, key: tuple[int, int, int]) -> Path:
        model, series, block = key
        part = "pooled" if series < 0 else f"s{series:04d}"
        return self.directory / f"block-m{model:03d}-{part}-b{block:06d}.npz"

    @staticmethod
    def _warn(path: Path, reason: str, action: str = "recomputing it") -> None:
        warnings.warn(f"Checkpoint file {str(path)!r} is unusable ({reason}); {action}.",
                      CorruptFileWarning, stacklevel=4)

    def save(self, result: dict[str, Any]) -> None:
        """Write one finished (model, series, block) result atomically."""
        arrays = {name: np.asarray(result[name]) for name in _ARRAYS[:-1]}
        arrays["residuals"] = (np.empty(0) if result["residuals"] is None
                               else np.asarray(result["residuals"], dtype=np.float64))
        meta = {"key": list(result["key"]), "fit_seconds": result["fit_seconds"],
                "predict_seconds": result["predict_seconds"],
                "has_residuals": result["residuals"] is not None, "hash": self.hash,
                "warnings": result["warnings"], "explain": result.get("explain"),
                "library_version": library_version(),
                "checksum": _arrays_digest(arrays)}
        buffer = io.BytesIO()
        np.savez(buffer, meta=np.array(json.dumps(meta)), **arrays)
        atomic_write(self._path(result["key"]), buffer.getvalue())

    def load(self, key: tuple[int, int, int]) -> dict[str, Any] | None:
        """The stored result of ``key``, or None when absent, damaged or stale (warned)."""
        path = self._path(key)
        if not path.exists():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                arrays = {name: data[name].copy() for name in _ARRAYS}
            return self._check(key, meta, arrays)
        except _Stale as exc:
            self._warn(path, str(exc))
        except Exception as exc:  # noqa: BLE001 - any damage (EOFError, BadZipFile, ...)
            self._warn(path, f"{type(exc).__name__}: {exc}")
        return None

    def _check(self, key: tuple[int, int, int], meta: Any, arrays: dict[str, np.ndarray],
               ) -> dict[str, Any]:
        if not isinstance(meta, dict):
            raise ValueError(f"metadata is a {type(meta).__name__}, not an object")
        if meta.get("checksum") != _arrays_digest(arrays):
            raise ValueError("checksum mismatch")
        if meta.get("hash") != self.hash:
            raise _Stale("written for another configuration")
        if meta.get("key") != list(key):
            raise ValueError(f"it holds block {meta.get('key')}, not {list(key)}")
        n = arrays["fold"].shape
        if any(arrays[a].shape != n or arrays[a].ndim != 1 for a in _ARRAYS[:-1]):
            raise ValueError("arrays of different shapes")
        if any(arrays[a].dtype.kind != "i" for a in _INTEGER_ARRAYS):
            raise ValueError("positions are not integers")
        fit_seconds, predict_seconds = meta["fit_seconds"], meta["predict_seconds"]
        if not all(isinstance(v, int | float) for v in (fit_seconds, predict_seconds)):
            raise ValueError("timings are not numbers")
        result = {name: arrays[name] for name in _ARRAYS[:-1]}
        result.update(key=key, residuals=arrays["residuals"] if meta["has_residuals"] else None,
                      fit_seconds=float(fit_seconds), predict_seconds=float(predict_seconds),
                      warnings=[list(w) for w in meta.get("warnings", [])],
                      explain=check_explain_state(meta.get("explain")))
        return result


class _Stale(Exception):
    """A readable block written for another configuration."""
