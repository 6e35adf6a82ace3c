"""Provenance: what produced a result, written down so that it can be run again.

An analysis pipeline makes an analysis **traceable** (every step and parameter is
named), **repeatable** (run it again and get the same numbers), **explainable** (each
step's output can be looked at) and **transferable** (apply it to other data). The
first two need the pipeline written down next to its result, in a form that outlives
the Python session. A **provenance record** is that form: a small JSON document that
holds

* the estimator, described as data (:func:`describe`): its class by import path, its
  parameters (``get_params(deep=False)``), and the estimators nested in it (the steps
  of a ``Pipeline`` or ``FeatureUnion``, the transformers of a ``ColumnTransformer``,
  an estimator passed as a parameter such as ``classifier=``), described the same way;
* every ``random_state`` in it, under scikit-learn's parameter path
  (``"kmeans__random_state"``);
* the method that was run (``"fit_transform"``, ``"fit_predict"``);
* a SHA-256 hash of the input and of the output (:func:`array_hash`), with their
  shapes and dtypes: the data themselves stay where they are;
* the versions of Python, the platform, numpy, scipy, scikit-learn, joblib, lectlib
  (and dask when it is imported), and the BLAS/OpenMP thread pools in use;
* the time it was made and a free-text note.

:func:`record` makes one (and writes it to a file), :func:`build` turns the
description back into an unfitted estimator, and :func:`replay` rebuilds it, checks
that the data are the recorded ones, runs the method again and compares the hash of
the new output with the recorded one: ``matches`` is True when the result is
reproduced **bit for bit**.

Bit for bit needs more than the same parameters:

* **the same versions** of every package on the path of the computation: a new
  release may change a default, an algorithm or the order of a sum;
* **the same threads and BLAS** for estimators whose floating-point sums depend on
  them (k-means and Gaussian mixtures reduce over OpenMP threads; matrix products go
  through OpenBLAS or MKL, whose kernels depend on the CPU): the record lists the
  thread pools, and a replay with other ones may differ in the last bits;
* **seeded random states**: an estimator that draws random numbers (k-means
  initialisation, randomized SVD, N-FINDR, a neural network) draws new ones at every
  run unless ``random_state`` is an int (or a ``numpy.random.SeedSequence``). A
  ``numpy.random.Generator`` or ``RandomState`` cannot be recorded at all (its state
  changes as it is used: :func:`describe` refuses it), and ``random_state=None`` is
  recorded with a :class:`UnseededWarning`, not refused, because most estimators that
  accept a seed only use it in some settings (``PCA`` only with its randomized or
  ARPACK solvers): the replay says whether the result came back.

What a record cannot promise is equality across versions: it can only say which
versions differ when a replay does not match (:func:`replay` lists them). A record
from another version still builds the estimator as long as its parameters exist
(parameters added since take their defaults), so the analysis stays *traceable* and
*transferable* when it is no longer repeatable bit for bit.

A record is data, never code. It is JSON (never pickle): arrays are lists with their
dtype and shape, tuples and lists stay distinct, functions and classes are import
paths, and :func:`build` imports them only from an allow-list of packages
(:data:`DEFAULT_ALLOW`: lectlib, scikit-learn, numpy, scipy; the caller may pass
another), so a record received from elsewhere cannot run code of its choosing.

References
----------
G. K. Sandve, A. Nekrutenko, J. Taylor and E. Hovig, PLoS Comput. Biol. 9, e1003285
(2013): ten simple rules for reproducible computational research (record every
intermediate step, version and random seed).
F. Pedregosa et al., J. Mach. Learn. Res. 12, 2825 (2011), and L. Buitinck et al.,
arXiv:1309.0238 (2013): scikit-learn's estimator interface (``get_params``, pipelines).
NIST FIPS 180-4 (2015): the SHA-256 hash.
"""

from __future__ import annotations

import datetime
import hashlib
import importlib
import json
import math
import os
import platform
import sys
import types
import warnings
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ._validation import _object_to_float, check_size, reject_strings

__all__ = [
    "DEFAULT_ALLOW",
    "UnseededWarning",
    "describe",
    "build",
    "array_hash",
    "record",
    "replay",
]

#: The packages :func:`build` imports from unless told otherwise.
DEFAULT_ALLOW = ("lectlib", "sklearn", "numpy", "scipy")
#: The version of the record format written by :func:`record`.
FORMAT = 1
#: Python's own types that may appear as parameters (e.g. ``dtype=float``).
_BUILTINS = {"bool": bool, "int": int, "float": float, "complex": complex, "str": str}
#: Array kinds a description can hold: bool, integers, floats, complex, strings.
_ARRAY_KINDS = "biufcU"
#: Array kinds :func:`array_hash` takes: the numeric ones.
_HASH_KINDS = "biufc"
_NONFINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


class UnseededWarning(UserWarning):
    """A recorded estimator has a ``random_state`` of None.

    Such an estimator may draw different random numbers at every run, and then its
    result cannot be replayed bit for bit. :func:`record` warns rather than refuses
    because many estimators use their seed only in some settings (``PCA`` only with
    a randomized or ARPACK solver): :func:`replay` tells whether the result came back.
    Turn the warning into an error to insist on seeds.

    Parameters
    ----------
    message : str
        The paths of the unseeded parameters and what to do.

    Attributes
    ----------
    paths : list of str
        The parameter paths whose ``random_state`` is None (set by :func:`record`;
        empty for a warning made by hand).

    See Also
    --------
    record : warns with it.
    replay : says, by comparing hashes, whether an unseeded result came back.

    Notes
    -----
    Make every run strict with
    ``warnings.simplefilter("error", UnseededWarning)``; ``record`` then raises
    instead of writing a record that may not replay.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from sklearn.cluster import KMeans
    >>> from lectlib.provenance import UnseededWarning, record
    >>> X = np.arange(12.0).reshape(6, 2)
    >>> kmeans = KMeans(2, n_init=1)                    # no random_state
    >>> labels = kmeans.fit_predict(X)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     rec = record(kmeans, X, labels, method="fit_predict")
    >>> caught[0].category is UnseededWarning, caught[0].message.paths
    (True, ['random_state'])
    """

    def __init__(self, message):
        super().__init__(message)
        self.paths = []


# --------------------------------------------------------------------- import paths


def _allowed(path, allow):
    return any(path == m or path.startswith(m + ".") for m in allow)


def _resolve(path):
    """The object at a dotted import path ``module.QualName`` (the longest importable
    prefix is the module); raises ImportError or AttributeError."""
    parts = path.split(".")
    for i in range(len(parts) - 1, 0, -1):
        name = ".".join(parts[:i])
        if name in sys.modules:
            obj = sys.modules[name]
        else:
            try:
                obj = importlib.import_module(name)
            except ImportError:
                continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(f"no module found in {path!r}")


def _import_path(obj, where):
    """``module.QualName`` of a class or function, the public module when it exports
    the object (``sklearn.cluster.KMeans``, not ``sklearn.cluster._kmeans.KMeans``)."""
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    if not isinstance(module, str) or not isinstance(qualname, str):
        raise ValueError(
            f"{where} is {obj!r}, which has no import path: it cannot be recorded "
            "(use a function defined in a module)"
        )
    if "<" in qualname:
        raise ValueError(
            f"{where} is {qualname} (a lambda or a local function), which cannot be "
            "imported again: it is not replayable (define it at the top of a module)"
        )
    if module == "__main__":
        raise ValueError(
            f"{where} is {qualname}, defined in __main__ (a notebook or a script), "
            "which another session cannot import: it is not replayable (move it "
            "into a module)"
        )
    parts = module.split(".")
    private = [i for i, p in enumerate(parts) if p.startswith("_")]
    candidates = [module]
    if private and private[0] > 0:
        candidates.insert(0, ".".join(parts[: private[0]]))
    for candidate in candidates:
        path = f"{candidate}.{qualname}"
        try:
            found = _resolve(path)
        except (ImportError, AttributeError):
            continue
        if found is obj:
            return path
    raise ValueError(
        f"{where} is {obj!r}, which cannot be imported back from {module}.{qualname}: "
        "it is not replayable"
    )


def _check_allow(allow):
    if allow is None:
        return DEFAULT_ALLOW
    if isinstance(allow, (str, bytes)) or not isinstance(allow, (list, tuple, set)):
        raise TypeError(
            "allow must be a list of package names such as ['lectlib', 'sklearn'], "
            f"got {allow!r}"
        )
    for name in allow:
        if not isinstance(name, str) or not name or name.startswith("."):
            raise TypeError(
                f"allow must hold package names (non-empty strings), got {name!r}"
            )
    return tuple(allow)


def _import_allowed(path, allow, where):
    """Resolve an import path of a record, refusing what lies outside ``allow``."""
    if not isinstance(path, str) or not path:
        raise ValueError(f"{where} must be an import path, got {path!r}")
    builtin = path.removeprefix("builtins.")
    if builtin != path and builtin in _BUILTINS:
        return _BUILTINS[builtin]
    if not _allowed(path, allow):
        raise ValueError(
            f"{where} is {path!r}, outside the allowed packages {list(allow)}: a "
            "record is data, not code to run from anywhere (pass allow=[...] to "
            "trust another package)"
        )
    try:
        obj = _resolve(path)
    except (ImportError, AttributeError) as exc:
        raise ValueError(
            f"{where} is {path!r}, which cannot be imported here ({exc}): the "
            "record was made with another version or another package"
        ) from None
    if isinstance(obj, types.ModuleType):
        raise ValueError(f"{where} is {path!r}, a module: a record holds no modules")
    module = getattr(obj, "__module__", None)
    if isinstance(module, str) and not _allowed(module, allow):
        raise ValueError(
            f"{where} is {path!r}, which is {module}'s, outside the allowed packages "
            f"{list(allow)}"
        )
    return obj


# ------------------------------------------------------------------- encode, decode


def _nonfinite_name(x):
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


def _encode_float(x):
    x = float(x)
    return x if math.isfinite(x) else {"type": "float", "value": _nonfinite_name(x)}


def _array_data(a):
    """A flat list of an array's values (C order), JSON-able."""
    kind = a.dtype.kind
    flat = np.ravel(a, order="C")
    if kind == "f":
        if a.dtype.itemsize > 8:
            raise ValueError(f"dtype {a.dtype} is wider than float64")
        return [v if math.isfinite(v) else _nonfinite_name(v) for v in flat.tolist()]
    if kind == "c":
        if a.dtype.itemsize > 16:
            raise ValueError(f"dtype {a.dtype} is wider than complex128")
        return [
            [p if math.isfinite(p) else _nonfinite_name(p) for p in (v.real, v.imag)]
            for v in flat.tolist()
        ]
    return flat.tolist()  # bool, int, str: JSON as they are


def _encode(value, where):
    """``value`` as JSON-able data (see :func:`describe` for the forms)."""
    kind = type(value)
    if value is None or kind in (bool, int, str):
        return value
    if kind is float:
        return _encode_float(value)
    if kind is list:
        return [_encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if kind is tuple:
        return {
            "type": "tuple",
            "items": [_encode(v, f"{where}[{i}]") for i, v in enumerate(value)],
        }
    if kind is dict:
        return {
            "type": "dict",
            "items": [
                [_encode(k, f"{where} key"), _encode(v, f"{where}[{k!r}]")]
                for k, v in value.items()
            ],
        }
    if hasattr(value, "get_params") and not isinstance(value, type):
        return _describe(value, where)
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in _ARRAY_KINDS:
            raise ValueError(
                f"{where} is an array of dtype {value.dtype}: only numbers, booleans "
                "and strings can be recorded"
            )
        try:
            data = _array_data(value)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        return {
            "type": "ndarray",
            "dtype": str(value.dtype),
            "shape": list(value.shape),
            "data": data,
        }
    if isinstance(value, np.generic):
        if value.dtype.kind not in _ARRAY_KINDS:
            raise ValueError(f"{where} is a numpy {value.dtype}: it cannot be recorded")
        try:
            data = _array_data(np.asarray(value))[0]
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        return {"type": "scalar", "dtype": str(value.dtype), "value": data}
    if isinstance(value, np.dtype):
        if value.kind not in _ARRAY_KINDS:
            raise ValueError(f"{where} is dtype {value}: it cannot be recorded")
        return {"type": "dtype", "value": str(value)}
    if isinstance(value, slice):
        return {
            "type": "slice",
            "items": [
                _encode(v, f"{where}.{n}")
                for n, v in zip(
                    ("start", "stop", "step"), (value.start, value.stop, value.step)
                )
            ],
        }
    if isinstance(value, np.random.SeedSequence):
        return {
            "type": "seed_sequence",
            "entropy": _encode(value.entropy, f"{where}.entropy"),
            "spawn_key": list(value.spawn_key),
            "pool_size": value.pool_size,
            "n_children_spawned": value.n_children_spawned,
        }
    if isinstance(value, (np.random.Generator, np.random.RandomState)):
        raise ValueError(
            f"{where} is a numpy {type(value).__name__}, whose state changes as it is "
            "used: it cannot be recorded (pass an int seed)"
        )
    if kind.__module__.startswith("joblib") and kind.__name__ == "Memory":
        location = value.location
        return {
            "type": "memory",
            "location": None if location is None else str(location),
            "mmap_mode": value.mmap_mode,
            "compress": _encode(value.compress, f"{where}.compress"),
            "verbose": _encode(getattr(value, "_verbose", 0), f"{where}.verbose"),
        }
    if callable(value) and (isinstance(value, type) or hasattr(value, "__qualname__")):
        return {"type": "import", "path": _import_path(value, where)}
    if isinstance(value, np.ufunc):
        return {"type": "import", "path": _import_path(value, where)}
    raise ValueError(
        f"{where} is a {kind.__module__}.{kind.__qualname__}, which a record cannot "
        "hold: it is not replayable"
    )


def _describe(estimator, where):
    if isinstance(estimator, type):
        raise TypeError(
            f"{where} must be an estimator instance, got the class "
            f"{estimator.__name__} (call it: {estimator.__name__}())"
        )
    if not callable(getattr(estimator, "get_params", None)):
        raise TypeError(
            f"{where} must be an estimator (with get_params), got "
            f"{type(estimator).__name__}"
        )
    params = estimator.get_params(deep=False)
    return {
        "type": "estimator",
        "class": _import_path(type(estimator), f"{where}'s class"),
        "params": {name: _encode(v, f"{where}.{name}") for name, v in params.items()},
    }


def _keys(value, expected, where):
    if not isinstance(value, dict):
        raise ValueError(f"{where} must be a JSON object, got {value!r:.60}")
    missing = [k for k in expected if k not in value]
    if missing:
        raise ValueError(
            f"{where} lacks {missing} (got keys {sorted(map(str, value))})"
        )


def _decode_number(x, where):
    if isinstance(x, str) and x in _NONFINITE:
        return _NONFINITE[x]
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise ValueError(f"{where} must be a number, got {x!r:.60}")
    return x


def _decode_array(value, where):
    _keys(value, ("dtype", "shape", "data"), where)
    try:
        dtype = np.dtype(value["dtype"])
    except TypeError:
        raise ValueError(
            f"{where}.dtype {value['dtype']!r:.60} is not a dtype"
        ) from None
    if dtype.kind not in _ARRAY_KINDS:
        raise ValueError(f"{where}.dtype {dtype} cannot be recorded")
    shape, data = value["shape"], value["data"]
    if not isinstance(shape, list) or not all(type(n) is int and n >= 0 for n in shape):
        raise ValueError(f"{where}.shape must be a list of sizes, got {shape!r:.60}")
    size = check_size(math.prod(shape), where)
    if not isinstance(data, list) or len(data) != size:
        raise ValueError(
            f"{where}.data must be a list of {size} values for shape {tuple(shape)}"
        )
    if dtype.kind == "f":
        data = [_decode_number(x, where) for x in data]
    elif dtype.kind == "c":
        if not all(isinstance(x, list) and len(x) == 2 for x in data):
            raise ValueError(f"{where}.data must hold [real, imag] pairs")
        data = [complex(*(_decode_number(p, where) for p in x)) for x in data]
    elif dtype.kind == "U":
        if not all(isinstance(x, str) for x in data):
            raise ValueError(f"{where}.data must hold strings")
    elif not all(type(x) is (bool if dtype.kind == "b" else int) for x in data):
        raise ValueError(f"{where}.data must hold values of dtype {dtype}")
    try:
        return np.array(data, dtype=dtype).reshape(shape)
    except (OverflowError, ValueError) as exc:
        raise ValueError(f"{where}.data do not fit dtype {dtype}: {exc}") from None


def _decode(value, allow, where):
    if value is None or type(value) in (bool, int, float, str):
        return value
    if type(value) is list:
        return [_decode(v, allow, f"{where}[{i}]") for i, v in enumerate(value)]
    if type(value) is not dict:
        raise ValueError(f"{where} must be JSON data, got {type(value).__name__}")
    _keys(value, ("type",), where)
    kind = value["type"]
    if kind == "estimator":
        return _build(value, allow, where)
    if kind == "float":
        _keys(value, ("value",), where)
        if value["value"] not in _NONFINITE:
            raise ValueError(f"{where}.value must be 'nan', 'inf' or '-inf'")
        return _NONFINITE[value["value"]]
    if kind in ("tuple", "dict", "slice"):
        _keys(value, ("items",), where)
        items = value["items"]
        if not isinstance(items, list):
            raise ValueError(f"{where}.items must be a list")
        if kind == "tuple":
            return tuple(
                _decode(v, allow, f"{where}[{i}]") for i, v in enumerate(items)
            )
        if kind == "slice":
            if len(items) != 3:
                raise ValueError(f"{where}.items must be [start, stop, step]")
            return slice(*(_decode(v, allow, where) for v in items))
        if not all(isinstance(p, list) and len(p) == 2 for p in items):
            raise ValueError(f"{where}.items must be [key, value] pairs")
        out = {}
        for k, v in items:
            key = _decode(k, allow, f"{where} key")
            try:
                out[key] = _decode(v, allow, f"{where}[{key!r}]")
            except TypeError:  # an unhashable key
                raise ValueError(f"{where} has an unhashable key {key!r:.60}") from None
        return out
    if kind == "ndarray":
        return _decode_array(value, where)
    if kind == "scalar":
        _keys(value, ("dtype", "value"), where)
        data = value["value"]
        array = _decode_array(
            {"dtype": value["dtype"], "shape": [], "data": [data]}, where
        )
        return array[()]
    if kind == "dtype":
        _keys(value, ("value",), where)
        try:
            dtype = np.dtype(value["value"])
        except TypeError:
            raise ValueError(f"{where} {value['value']!r:.60} is not a dtype") from None
        if dtype.kind not in _ARRAY_KINDS:
            raise ValueError(f"{where} is dtype {dtype}, which cannot be recorded")
        return dtype
    if kind == "import":
        _keys(value, ("path",), where)
        return _import_allowed(value["path"], allow, where)
    if kind == "seed_sequence":
        _keys(value, ("entropy", "spawn_key", "pool_size", "n_children_spawned"), where)
        try:
            return np.random.SeedSequence(
                _decode(value["entropy"], allow, where),
                spawn_key=tuple(value["spawn_key"]),
                pool_size=value["pool_size"],
                n_children_spawned=value["n_children_spawned"],
            )
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{where} is not a valid SeedSequence: {exc}") from None
    if kind == "memory":
        from joblib import Memory

        _keys(value, ("location", "mmap_mode", "compress", "verbose"), where)
        location = value["location"]
        if location is not None and not isinstance(location, str):
            raise ValueError(f"{where}.location must be a path or None")
        try:
            return Memory(
                location,
                mmap_mode=value["mmap_mode"],
                compress=_decode(value["compress"], allow, where),
                verbose=value["verbose"],
            )
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{where} is not a valid joblib.Memory: {exc}") from None
    raise ValueError(f"{where} has an unknown type {kind!r:.60}")


def _build(description, allow, where):
    _keys(description, ("type", "class", "params"), where)
    if description["type"] != "estimator":
        raise ValueError(
            f"{where}.type must be 'estimator', got {description['type']!r:.60}"
        )
    cls = _import_allowed(description["class"], allow, f"{where}.class")
    if not isinstance(cls, type) or not callable(getattr(cls, "get_params", None)):
        raise ValueError(f"{where}.class {description['class']} is not an estimator")
    params = description["params"]
    if not isinstance(params, dict):
        raise ValueError(f"{where}.params must be a JSON object")
    kwargs = {name: _decode(v, allow, f"{where}.{name}") for name, v in params.items()}
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ValueError(
            f"{where}: {description['class']} does not take these parameters here "
            f"({exc}); the record was made with another version"
        ) from None


def _canonical_hash(data):
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


# ------------------------------------------------------------------------ public API


def describe(estimator):
    """A JSON-able description of an estimator, nested estimators included.

    Parameters
    ----------
    estimator : estimator
        Anything with scikit-learn's ``get_params`` (fitted or not: only its
        parameters are described).

    Returns
    -------
    description : dict
        ``{"type": "estimator", "class": "module.QualName", "params": {...}}`` with
        one entry per parameter of ``get_params(deep=False)``, in its order. Values
        that JSON holds as they are stay as they are (None, bool, int, finite float,
        str, list); every other value is a JSON object whose ``"type"`` says what it
        is: ``"estimator"`` (recursively), ``"tuple"`` and ``"dict"`` (``"items"``),
        ``"ndarray"`` (``"dtype"``, ``"shape"`` and the values in C order as a flat
        ``"data"`` list), ``"scalar"`` (a numpy number), ``"dtype"``, ``"float"``
        (NaN and ±inf), ``"slice"``, ``"import"`` (a class or function by its import
        path, e.g. ``numpy.float32``), ``"seed_sequence"`` and ``"memory"`` (a
        ``joblib.Memory``).

    Raises
    ------
    TypeError
        ``estimator`` has no ``get_params`` (or is a class, not an instance).
    ValueError
        A parameter cannot be replayed: a lambda or a function defined in
        ``__main__``, a ``numpy.random.Generator`` or ``RandomState``, an object of
        another kind. The message names the parameter's path.

    See Also
    --------
    build : the inverse, from the description to an unfitted estimator.
    record : the description with the data's hashes, versions and random states.

    Notes
    -----
    Nested estimators are found wherever ``get_params(deep=False)`` returns them:
    the ``(name, estimator)`` steps of a ``Pipeline`` (named by ``make_pipeline`` or
    by hand) and ``FeatureUnion``, the ``(name, transformer, columns)`` triples of a
    ``ColumnTransformer``, an estimator given as a parameter. A class is named by
    its public module when that module exports it (``sklearn.cluster.KMeans``), so
    that a record survives the moves of private modules between versions. Floats are
    written with the shortest decimal that reads back to the same double, so arrays
    and parameters come back exactly.

    Examples
    --------
    >>> from sklearn.cluster import KMeans
    >>> from sklearn.pipeline import make_pipeline
    >>> from lectlib.decomposition import WeightedPCA
    >>> from lectlib.provenance import describe
    >>> d = describe(make_pipeline(WeightedPCA(2), KMeans(3, random_state=0)))
    >>> d["class"]
    'sklearn.pipeline.Pipeline'
    >>> step = d["params"]["steps"][0]          # a (name, estimator) tuple
    >>> step["type"], step["items"][0], step["items"][1]["class"]
    ('tuple', 'weightedpca', 'lectlib.decomposition.WeightedPCA')
    """
    return _describe(estimator, "estimator")


def build(description, *, allow=None):
    """The unfitted estimator a :func:`describe` description stands for.

    Parameters
    ----------
    description : dict
        As returned by :func:`describe` (or read from a record's ``"estimator"``).
    allow : list of str, optional
        Packages whose classes and functions may be imported, e.g.
        ``["lectlib", "sklearn"]``; a module matches when it is one of them or inside
        one. Default :data:`DEFAULT_ALLOW` (lectlib, sklearn, numpy, scipy). Python's
        ``bool``, ``int``, ``float``, ``complex`` and ``str`` are always allowed.

    Returns
    -------
    estimator : estimator
        A new, unfitted estimator whose ``get_params(deep=False)`` equals the
        described estimator's: the same values and types (tuples stay tuples, numpy
        scalars stay numpy scalars, arrays come back with their dtype and shape).

    Raises
    ------
    ValueError
        A class or function outside ``allow``; a malformed description (the message
        gives the path in it); a class or parameter that does not exist in the
        installed version.
    TypeError
        ``allow`` is not a list of package names.

    See Also
    --------
    describe : the inverse.
    replay : builds the estimator of a record, runs it and checks the result.

    Notes
    -----
    A record is data, not code: this function imports modules only inside the
    allow-list, and checks that the object found is defined there too (an attribute
    that a package merely re-exports from elsewhere is refused). It then calls the
    classes with their parameters, as ``sklearn.base.clone`` does; nothing is fitted.
    Parameters that the installed version added since the record was made take their
    defaults.

    Examples
    --------
    >>> from sklearn.cluster import KMeans
    >>> from lectlib.provenance import build, describe
    >>> kmeans = build(describe(KMeans(3, random_state=0)))
    >>> kmeans.n_clusters, kmeans.random_state
    (3, 0)
    >>> d = describe(KMeans(3))
    >>> d["class"] = "os.system"
    >>> build(d)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: estimator.class is 'os.system', outside the allowed packages ...
    """
    allow = _check_allow(allow)
    if not isinstance(description, dict):
        raise TypeError(
            "description must be a dict from describe(), got "
            f"{type(description).__name__}"
        )
    return _build(description, allow, "estimator")


def _as_hashable(X, name):
    """``X`` as an ndarray of a numeric dtype, or a list of them (a sequence)."""
    if isinstance(X, (list, tuple)) and X and all(isinstance(x, np.ndarray) for x in X):
        return [_as_hashable(x, f"{name}[{i}]") for i, x in enumerate(X)]
    if isinstance(X, (str, bytes)):
        raise TypeError(f"{name} must be a numeric array, got {type(X).__name__}")
    if hasattr(X, "tocsr") and hasattr(X, "nnz"):
        raise TypeError(
            f"{name} is a sparse matrix; pass a dense array (e.g. {name}.toarray())"
        )
    if hasattr(X, "get_params"):
        raise TypeError(
            f"{name} must be an array, got an estimator ({type(X).__name__}); record "
            "the output of fit_transform or fit_predict"
        )
    reject_strings(X, name)
    try:
        arr = np.asarray(X)
    except Exception as exc:  # ragged nested lists and the like
        raise ValueError(f"{name} could not be converted to an array: {exc}") from None
    if arr.dtype == object:
        arr = _object_to_float(arr, name)
    if arr.dtype.kind not in _HASH_KINDS or (
        arr.dtype.kind in "fc"
        and arr.dtype.itemsize > 8 * (1 + (arr.dtype.kind == "c"))
    ):
        raise TypeError(f"{name} must hold numbers, got dtype {arr.dtype}")
    return arr


def _digest(arr):
    """(sha256 hex, shape, dtype name) of an array or a list of arrays."""
    h = hashlib.sha256()
    if isinstance(arr, list):
        parts = [_digest(a) for a in arr]
        h.update(f"lectlib array_hash 1: sequence of {len(parts)}\n".encode())
        for digest, _, _ in parts:
            h.update(f"{digest}\n".encode())
        return h.hexdigest(), [p[1] for p in parts], [p[2] for p in parts]
    little = arr.dtype.newbyteorder("<")
    shape = list(arr.shape)
    h.update(f"lectlib array_hash 1: {little.name} {shape}\n".encode())
    data = np.require(arr.astype(little, copy=False), requirements="C")
    h.update(data.reshape(-1).view(np.uint8))
    return h.hexdigest(), shape, little.name


def array_hash(X):
    """The SHA-256 hash of an array's values, shape and dtype, or of a list of arrays.

    Parameters
    ----------
    X : array_like or list of ndarray
        Numbers of any numeric dtype (bool, integers, floats up to float64, complex
        up to complex128); a list or tuple of numpy arrays is hashed as a sequence,
        in order (e.g. the atom positions of several frames).

    Returns
    -------
    sha256 : str
        64 hexadecimal digits.

    Raises
    ------
    TypeError
        Strings, objects other than numbers, sparse matrices, an estimator.

    See Also
    --------
    record : stores the hashes of an input and of an output.
    replay : compares them with the hashes of new data.

    Notes
    -----
    The hash covers a header ``"lectlib array_hash 1: <dtype> <shape>"`` followed by
    the values in C order and little-endian byte order, in the array's own dtype:
    the same values give the same hash whatever their memory layout (C or Fortran
    order, a view, big-endian bytes, a read-only or memory-mapped array, a nested
    list of the same numbers), and a different shape or dtype gives another hash
    (float32 and float64 values differ; hashing in the own dtype also keeps int64
    values above 2⁵³ apart, which a float64 conversion would merge). NaN values are
    hashed by their bits, so NaNs with different payloads differ. A sequence hashes
    the hashes of its arrays in order. SHA-256 is the hash of NIST FIPS 180-4.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.provenance import array_hash
    >>> X = np.arange(6.0).reshape(2, 3)
    >>> len(array_hash(X))
    64
    >>> array_hash(X) == array_hash(np.asfortranarray(X)) == array_hash(X.tolist())
    True
    >>> array_hash(X) == array_hash(X.astype(np.float32))   # another dtype
    False
    >>> array_hash(X) == array_hash(X.reshape(3, 2))        # another shape
    False
    """
    return _digest(_as_hashable(X, "X"))[0]


def _data_entry(X, name):
    digest, shape, dtype = _digest(_as_hashable(X, name))
    return {"sha256": digest, "shape": shape, "dtype": dtype}


def _versions():
    import joblib
    import scipy
    import sklearn

    import lectlib

    versions = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
        "joblib": joblib.__version__,
        "lectlib": getattr(lectlib, "__version__", "unknown"),
    }
    if "dask" in sys.modules:
        versions["dask"] = getattr(sys.modules["dask"], "__version__", "unknown")
    return versions


def _threadpools():
    from threadpoolctl import threadpool_info

    keys = (
        "user_api",
        "internal_api",
        "prefix",
        "version",
        "num_threads",
        "architecture",
    )
    pools = [{k: info.get(k) for k in keys} for info in threadpool_info()]
    return sorted(pools, key=lambda p: json.dumps(p, sort_keys=True, default=str))


def _random_states(estimator):
    """``{path: encoded value}`` of every ``random_state`` parameter, in
    scikit-learn's ``__`` notation."""
    params = estimator.get_params(deep=True)
    return {
        path: _encode(v, path)
        for path, v in params.items()
        if path == "random_state" or path.endswith("__random_state")
    }


def record(estimator, X, result, *, method="fit_transform", path=None, note=None):
    """The provenance record of a result: what produced it, from which data, where.

    Parameters
    ----------
    estimator : estimator
        The estimator (or pipeline) that produced ``result``; its parameters are
        recorded, not its fitted state.
    X : array_like or list of ndarray
        The input it was run on (hashed, not stored).
    result : array_like or list of ndarray
        What ``getattr(estimator, method)(X)`` returned (hashed, not stored).
    method : str, default="fit_transform"
        The method that produced the result, starting with ``"fit_"`` (e.g.
        ``"fit_transform"``, ``"fit_predict"``): :func:`replay` runs it on a freshly
        built, unfitted estimator.
    path : str or path-like, optional
        Also write the record there as JSON (UTF-8, indent 1, a final newline); its
        folder must exist.
    note : str, optional
        Free text kept in the record (what the result is, where it is stored).

    Returns
    -------
    record : dict
        ``format`` (1), ``created`` (ISO 8601 time, UTC), ``note``, ``method``,
        ``estimator`` (:func:`describe`), ``estimator_sha256`` (the hash of that
        description, to notice later edits), ``random_states`` (every
        ``random_state`` by parameter path, e.g. ``"kmeans__random_state"``),
        ``input`` and ``output`` (``{"sha256", "shape", "dtype"}``, lists of shapes
        and dtypes for a list of arrays), ``versions`` (python, platform, machine,
        numpy, scipy, scikit-learn, joblib, lectlib, and dask when imported) and
        ``threadpools`` (BLAS and OpenMP libraries with their versions and
        threads).

    Raises
    ------
    TypeError
        ``estimator`` is not an estimator, ``X`` or ``result`` not numeric arrays,
        a wrong type of ``method``, ``path`` or ``note``.
    ValueError
        A parameter that cannot be replayed (see :func:`describe`), a ``method``
        the estimator lacks or that does not fit, an empty ``path`` or a folder.

    Warns
    -----
    UnseededWarning
        Some ``random_state`` is None: if those steps draw random numbers the result
        cannot be replayed bit for bit (the warning lists their paths).

    See Also
    --------
    replay : runs a record again and checks its result.
    describe : the estimator part alone.
    array_hash : the hashes of the input and output.

    Notes
    -----
    Two records of the same result differ only in ``created`` (and in ``note``):
    keys keep one order and parameters scikit-learn's (sorted) order, so the files
    can be compared with ``diff`` and kept under version control. Nothing is run:
    the record says what produced ``result`` and :func:`replay` checks it. The
    choice to warn on ``random_state=None`` rather than refuse is explained in the
    module docstring; ``warnings.simplefilter("error", UnseededWarning)`` refuses.
    Rules of reproducible computation: Sandve et al., PLoS Comput. Biol. 9,
    e1003285 (2013).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.cluster import KMeans
    >>> from sklearn.pipeline import make_pipeline
    >>> from lectlib.regression import KnownEndmemberRegression
    >>> from lectlib.provenance import record
    >>> E = np.array([[1.0, 2.0, 3.0, 4.0], [4.0, 3.0, 2.0, 1.0]])
    >>> X = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]]) @ E
    >>> pipe = make_pipeline(
    ...     KnownEndmemberRegression(E), KMeans(2, n_init=3, random_state=0)
    ... )
    >>> labels = pipe.fit_predict(X)
    >>> rec = record(pipe, X, labels, method="fit_predict", note="two layers")
    >>> rec["random_states"], rec["input"]["shape"], rec["output"]["dtype"]
    ({'kmeans__random_state': 0}, [4, 4], 'int32')
    """
    description = describe(estimator)
    if not isinstance(method, str):
        raise TypeError(f"method must be a string, got {type(method).__name__}")
    if not method.startswith("fit_") or not callable(getattr(estimator, method, None)):
        available = [
            m
            for m in ("fit_transform", "fit_predict")
            if callable(getattr(estimator, m, None))
        ]
        raise ValueError(
            f"method must be a fit_* method of {type(estimator).__name__} (replay "
            f"fits a new estimator): {available}, got {method!r}"
        )
    if note is not None and not isinstance(note, str):
        raise TypeError(f"note must be a string or None, got {type(note).__name__}")
    if path is not None:
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be a file path, got {type(path).__name__}")
        if not str(path).strip():
            raise ValueError("path is empty")
        if Path(path).is_dir():
            raise ValueError(f"path {str(path)!r} is a folder; give a file name")
    inputs, output = _data_entry(X, "X"), _data_entry(result, "result")
    random_states = _random_states(estimator)
    unseeded = [p for p, v in random_states.items() if v is None]
    if unseeded:
        warning = UnseededWarning(
            f"random_state is None at {unseeded}: if these steps draw random "
            "numbers, the result cannot be replayed bit for bit (set int seeds)"
        )
        warning.paths = unseeded
        warnings.warn(warning, stacklevel=2)
    rec = {
        "format": FORMAT,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"
        ),
        "note": note,
        "method": method,
        "estimator": description,
        "estimator_sha256": _canonical_hash(description),
        "random_states": random_states,
        "input": inputs,
        "output": output,
        "versions": _versions(),
        "threadpools": _threadpools(),
    }
    if path is not None:
        text = json.dumps(rec, indent=1, ensure_ascii=False, allow_nan=False)
        Path(path).write_text(text + "\n", encoding="utf-8")
    return rec


def _load(rec):
    if isinstance(rec, (str, os.PathLike)):
        if not str(rec).strip():
            raise ValueError("record is an empty path")
        try:
            text = Path(rec).read_text(encoding="utf-8")
        except IsADirectoryError:
            raise ValueError(f"record {str(rec)!r} is a folder") from None
        try:
            rec = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"record {str(rec)!r} is not JSON: {exc}") from None
    if not isinstance(rec, dict):
        raise TypeError(
            f"record must be a dict from record() or a path to one, got "
            f"{type(rec).__name__}"
        )
    _keys(rec, ("format", "method", "estimator", "input", "output"), "record")
    if rec["format"] != FORMAT:
        raise ValueError(
            f"record has format {rec['format']!r:.20}; this lectlib reads format "
            f"{FORMAT}"
        )
    if not isinstance(rec["method"], str) or not rec["method"].startswith("fit_"):
        raise ValueError(f"record.method must be a fit_* method, got {rec['method']!r}")
    for key in ("input", "output"):
        _keys(rec[key], ("sha256",), f"record.{key}")
    return rec


def _differences(rec):
    """``{what: (recorded, now)}`` for the versions and thread pools that differ."""
    out = {}
    recorded = rec.get("versions") if isinstance(rec.get("versions"), dict) else {}
    now = _versions()
    for key in [k for k in now if k in recorded]:  # (dask: only where imported)
        if recorded[key] != now[key]:
            out[key] = (recorded[key], now[key])
    pools, pools_now = rec.get("threadpools"), _threadpools()
    if isinstance(pools, list) and _pools_differ(pools, pools_now):
        out["threadpools"] = (pools, pools_now)
    return out


def _pools_differ(recorded, now):
    """Whether a recorded BLAS is missing now, or a recorded library present now has
    another version, architecture or number of threads. (An OpenMP library is loaded
    only when first used: one that is not loaded yet is no difference.)"""
    loaded = {}
    for pool in now:
        key = (pool.get("user_api"), pool.get("internal_api"), pool.get("prefix"))
        loaded.setdefault(key, []).append(pool)
    for pool in recorded:
        if not isinstance(pool, dict):
            return True
        key = (pool.get("user_api"), pool.get("internal_api"), pool.get("prefix"))
        if key not in loaded:
            if pool.get("user_api") == "blas":
                return True
            continue
        if pool not in loaded[key]:
            return True
    return False


def replay(record, X, *, check=True, allow=None):
    """Run a record again on its input and say whether the result came back bit for bit.

    Parameters
    ----------
    record : dict or str or path-like
        A record from :func:`record`, or the path of its JSON file.
    X : array_like or list of ndarray
        The recorded input (its hash must match the record's).
    check : bool, default=True
        Raise when the result differs from the recorded one (or the record's
        estimator was edited); with False, return and let ``matches`` tell.
    allow : list of str, optional
        Packages :func:`build` may import from (default :data:`DEFAULT_ALLOW`).

    Returns
    -------
    replayed : sklearn.utils.Bunch
        ``result`` (the new output), ``estimator`` (rebuilt and fitted),
        ``matches`` (True when the output's hash equals the recorded one: the same
        values, shape and dtype, bit for bit), ``record`` (the record as read),
        ``edited`` (True when the estimator description no longer has its recorded
        hash) and ``differences`` (``{name: (recorded, now)}`` for every version and
        thread pool that differs from the record's).

    Raises
    ------
    ValueError
        ``X`` is not the recorded input (the message gives both hashes); with
        ``check``, a result that differs or an edited record (the message says what
        differs: shapes, hashes, versions, unseeded random states); a record that
        cannot be built (see :func:`build`) or is malformed.
    TypeError
        ``record`` is neither a dict nor a path.

    See Also
    --------
    record : makes the record.
    build : rebuilds the estimator alone, without running it.

    Notes
    -----
    The input is checked before anything is run: a replay on other data is not a
    replay. The estimator is rebuilt unfitted and the recorded method (e.g.
    ``fit_predict``) run on ``X``; a bit-for-bit match needs what the module
    docstring lists (the same versions, threads and BLAS, seeded random states).
    When the result differs, the message names the versions and thread pools that
    differ from the record's, and the unseeded random states, the usual causes.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.decomposition import PCA
    >>> from sklearn.mixture import GaussianMixture
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from lectlib.provenance import record, replay
    >>> X = np.random.default_rng(0).normal(size=(60, 4))
    >>> pipe = make_pipeline(
    ...     StandardScaler(),
    ...     PCA(2, random_state=0),
    ...     GaussianMixture(2, random_state=0),
    ... )
    >>> labels = pipe.fit_predict(X)
    >>> rec = record(pipe, X, labels, method="fit_predict")
    >>> again = replay(rec, X)
    >>> again.matches, bool(np.array_equal(again.result, labels))
    (True, True)
    >>> replay(rec, X + 1e-9)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: X is not the recorded input: sha256 ... recorded, ... given ...
    """
    rec = _load(record)
    allow = _check_allow(allow)
    if not isinstance(check, (bool, np.bool_)):
        raise TypeError(f"check must be True or False, got {check!r}")
    given = _data_entry(X, "X")
    recorded = rec["input"]
    if given["sha256"] != recorded["sha256"]:
        raise ValueError(
            f"X is not the recorded input: sha256 {recorded['sha256']} recorded, "
            f"{given['sha256']} given (shape {recorded.get('shape')} "
            f"{recorded.get('dtype')} recorded, {given['shape']} {given['dtype']} "
            "given)"
        )
    edited = (
        "estimator_sha256" in rec
        and _canonical_hash(rec["estimator"]) != rec["estimator_sha256"]
    )
    if edited and check:
        raise ValueError(
            "record.estimator was edited after the record was made (its hash "
            f"{_canonical_hash(rec['estimator'])} differs from the recorded "
            f"{rec['estimator_sha256']}): it does not describe what produced the "
            "result (pass check=False to run it anyway)"
        )
    estimator = build(rec["estimator"], allow=allow)
    run = getattr(estimator, rec["method"], None)
    if not callable(run):
        raise ValueError(
            f"the rebuilt {type(estimator).__name__} has no method {rec['method']!r}"
        )
    result = run(X)
    output = _data_entry(result, "result")
    matches = bool(output["sha256"] == rec["output"]["sha256"])
    differences = _differences(rec)
    if check and not matches:  # (an edited record was refused above)
        recorded = rec["output"]
        parts = [
            f"the replayed output differs from the recorded one: sha256 "
            f"{recorded['sha256']} recorded, {output['sha256']} now (shape "
            f"{recorded.get('shape')} {recorded.get('dtype')} recorded, "
            f"{output['shape']} {output['dtype']} now)"
        ]
        if differences:
            listed = "; ".join(
                f"{k}: {v[0]} recorded, {v[1]} now"
                for k, v in differences.items()
                if k != "threadpools"
            )
            if "threadpools" in differences:
                listed += "; the BLAS/OpenMP thread pools differ"
            parts.append(f"what differs from the record: {listed.lstrip('; ')}")
        else:
            parts.append("the versions and thread pools are the recorded ones")
        unseeded = [p for p, v in (rec.get("random_states") or {}).items() if v is None]
        if unseeded:
            parts.append(f"unseeded random states: {unseeded}")
        raise ValueError("; ".join(parts))
    return Bunch(
        result=result,
        estimator=estimator,
        matches=matches,
        record=rec,
        edited=bool(edited),
        differences=differences,
    )
