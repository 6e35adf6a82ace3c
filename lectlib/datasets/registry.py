"""Named datasets of the course: how each is made, its committed file, and its checksum.

A dataset family registers each fixed dataset it offers with :func:`register`: the
``make_*`` call that generates it, the arrays that are stored, the SHA-256 of those
arrays, and how the stored arrays are completed into what ``make_*`` would return
(``finish``). :func:`load` then reads ``data/<name>.npz`` when lectlib runs from a
checkout of the course and regenerates the identical arrays elsewhere (Colab, a
``pip install``); :func:`export` writes the file.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from .._validation import check_option

__all__ = ["DATASETS", "register", "load", "export"]

#: Registered datasets by name: ``maker``, ``kwargs``, ``fields``, ``sha256``,
#: ``finish``.
DATASETS = {}


def register(name, maker, kwargs, *, fields, sha256, finish=None):
    """Add a named dataset: ``maker(**kwargs)`` restricted to ``fields``,
    with its checksum.

    Parameters
    ----------
    name : str
        The name :func:`load` knows it by (also the file name ``data/<name>.npz``).
    maker : callable
        A ``make_*`` function returning a :class:`~sklearn.utils.Bunch`.
    kwargs : dict
        The arguments of the call that makes the dataset
        (a fixed ``random_state`` included).
    fields : tuple of str
        The arrays stored in the file.
    sha256 : str
        The checksum of those arrays (as :func:`export` returns it).
    finish : callable, optional
        ``finish(data)`` completes a :class:`~sklearn.utils.Bunch` of the stored arrays
        in place, e.g. by recomputing an array that follows from the others instead of
        storing it.

    See Also
    --------
    load : read or regenerate a registered dataset.
    export : write a registered dataset's file and return its checksum.

    Notes
    -----
    A family registers its datasets when its module is imported, and
    :mod:`lectlib.datasets` imports every family, so :data:`DATASETS` is complete once
    ``lectlib.datasets`` is imported. Only the recipe is stored; nothing is computed
    here. A name can be registered once: a second registration raises ``ValueError``.

    Examples
    --------
    >>> from lectlib.datasets.registry import DATASETS
    >>> sorted(DATASETS["mixture"])
    ['fields', 'finish', 'kwargs', 'maker', 'sha256']
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty string, got {name!r}")
    if name in DATASETS:
        raise ValueError(f"a dataset named {name!r} is already registered")
    if not callable(maker):
        raise TypeError(f"maker must be a make_* function, got {type(maker).__name__}")
    if not isinstance(kwargs, dict):
        raise TypeError(
            f"kwargs must be a dict of the maker's arguments, got {kwargs!r}"
        )
    if (
        isinstance(fields, str)
        or not fields
        or not all(isinstance(f, str) for f in fields)
    ):
        raise TypeError(
            f"fields must be a non-empty sequence of field names, got {fields!r}"
        )
    if not (isinstance(sha256, str) and len(sha256) == 64):
        raise TypeError(f"sha256 must be a hex digest of 64 characters, got {sha256!r}")
    if finish is not None and not callable(finish):
        raise TypeError(
            f"finish must be a function or None, got {type(finish).__name__}"
        )
    DATASETS[name] = dict(
        maker=maker,
        kwargs=dict(kwargs),
        fields=tuple(fields),
        sha256=sha256,
        finish=finish,
    )


def _checksum(arrays):
    digest = hashlib.sha256()
    for key in sorted(arrays):
        arr = np.ascontiguousarray(arrays[key])
        digest.update(key.encode())
        digest.update(str(arr.dtype).encode() + str(arr.shape).encode())
        digest.update(arr.tobytes())
    return digest.hexdigest()


def _data_dir():
    """``data/`` of the course checkout lectlib runs from,
    or None when installed elsewhere."""
    root = Path(__file__).resolve().parents[2]
    if (root / "pyproject.toml").is_file() and (root / "data").is_dir():
        return root / "data"
    return None


def _spec(name):
    if not isinstance(name, str) or name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; available: {sorted(DATASETS)}")
    return DATASETS[name]


def _generate(name):
    spec = _spec(name)
    made = spec["maker"](**spec["kwargs"])
    return {key: made[key] for key in spec["fields"]}


def _finish(name, arrays, source):
    spec = _spec(name)
    data = Bunch(**arrays)
    if spec["finish"] is not None:
        spec["finish"](data)
    data.source = source
    data.DESCR = (
        f"Dataset {name!r}: {spec['maker'].__name__}("
        + ", ".join(f"{k}={v!r}" for k, v in spec["kwargs"].items())
        + ")"
    )
    return data


def load(name, *, source="auto"):
    """A named dataset of the course, identical on every machine.

    Parameters
    ----------
    name : str
        One of ``lectlib.datasets.DATASETS``.
    source : {"auto", "file", "generate"}, default="auto"
        ``"file"`` reads ``data/<name>.npz`` of the course checkout (and verifies its
        checksum); ``"generate"`` recomputes the arrays with the recorded ``make_*``
        call; ``"auto"`` reads the file when lectlib runs from a checkout and generates
        otherwise (Colab, pip install).

    Returns
    -------
    data : sklearn.utils.Bunch
        The dataset's stored arrays (for ``"mixture"``: ``cube``, ``energy``,
        ``endmembers``, ``abundances``, ``noise_variance``, ``pure_pixels``, as
        :func:`~lectlib.datasets.make_mixture` names them), what its family's ``finish``
        adds (for ``"mixture"``: ``clean``), ``source`` (the file read, or
        ``"generated"``) and ``DESCR``.

    See Also
    --------
    export : write the file that ``load`` reads.
    lectlib.datasets.make_mixture : the generator behind ``"mixture"``, for other
        settings.

    Notes
    -----
    The file's checksum covers every stored array's name, dtype, shape and bytes, so a
    file that was changed or damaged is refused rather than silently used.

    Examples
    --------
    >>> from lectlib.datasets import load
    >>> data = load("mixture")
    >>> data.cube.shape
    (48, 48, 128)
    """
    spec = _spec(name)
    check_option(source, "source", ("auto", "file", "generate"))
    directory = _data_dir()
    if source == "generate" or (source == "auto" and directory is None):
        return _finish(name, _generate(name), "generated")
    if directory is None:
        raise FileNotFoundError(
            "source='file' needs lectlib to run from a course checkout with a data/ "
            "folder"
        )
    path = directory / f"{name}.npz"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing; recreate it with lectlib.datasets.export({name!r})"
        )
    with np.load(path, allow_pickle=False) as stored:
        arrays = {key: stored[key] for key in stored.files}
    if _checksum(arrays) != spec["sha256"]:
        raise ValueError(
            f"{path} does not match its recorded checksum: the file was modified or "
            "damaged. Restore it from the repository (git checkout -- "
            f"data/{name}.npz), or use load({name!r}, source='generate')"
        )
    return _finish(name, arrays, str(path))


def export(name, directory=None):
    """Write dataset ``name`` to ``<directory>/<name>.npz`` and
    return its path and checksum.

    Parameters
    ----------
    name : str
        One of ``lectlib.datasets.DATASETS``.
    directory : path-like, optional
        Where to write; by default the checkout's ``data/``.

    Returns
    -------
    path : pathlib.Path
        The file written.
    sha256 : str
        The checksum of its arrays, to record with :func:`register`.

    See Also
    --------
    load : read the file back (verifying the checksum) or regenerate it.

    Notes
    -----
    The file is a plain NumPy ``.npz`` (no pickled objects), readable by ``numpy.load``
    in any tool. For maintainers: after changing how a dataset is made, export it and
    record the returned checksum where the dataset is registered. (Regeneration on
    another CPU or NumPy build can differ in the last bit of a float, so the checksum
    guards the committed file, and the test suite compares that file with a fresh
    regeneration to a relative 1e-12.)

    Examples
    --------
    >>> import tempfile
    >>> from lectlib.datasets import DATASETS, export
    >>> path, sha256 = export("mixture", tempfile.mkdtemp())
    >>> path.name, sha256 == DATASETS["mixture"]["sha256"]
    ('mixture.npz', True)
    """
    _spec(name)
    directory = Path(directory) if directory is not None else _data_dir()
    if directory is None:
        raise FileNotFoundError("no data/ folder found; pass directory=")
    if not directory.is_dir():
        raise FileNotFoundError(f"directory {str(directory)!r} does not exist")
    arrays = _generate(name)
    path = Path(directory) / f"{name}.npz"
    np.savez_compressed(path, **arrays)
    return path, _checksum(arrays)
