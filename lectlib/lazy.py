"""Per-pixel methods on spectrum images larger than memory, block by block with dask.

A 512 × 512 × 2048 EELS cube is 2 GiB in float32, a 4D-STEM dataset far more: such a
cube stays on disk and is processed a **chunk** at a time. The tool is dask, because it
is the field's convention: HyperSpy's lazy signals are dask arrays, so a cube opened
lazily there is already the input these functions take. A dask array is a grid of numpy
arrays (its chunks) and a graph of tasks on them; nothing is read or computed until
:func:`compute` (or ``.compute()``) asks for a result, and then only a few chunks are
in memory at a time.

Here a chunk is **a block of pixels × all channels**: a few whole rows of the image
(or part of one row, for very wide images), with every channel of every pixel in it.
The channel axis is never split because every method here works on whole spectra: a
regression, an FCLS fit or a projection of one pixel needs all of its channels and
nothing from the other pixels. A dask array whose channel axis is split into several
chunks is therefore **rechunked**, not refused: its chunks are regrouped into blocks
of pixels × all channels of about ``chunk_pixels`` pixels (which costs one pass of
regrouping, done block by block by dask). By default a chunk holds about
:data:`CHUNK_BYTES` (64 MiB) once converted to float64, the precision every lectlib
method computes in.

Cubes on disk are ``.npy`` files (numpy's format: a short header and the raw array),
read through a memory map. :func:`write_cube` writes one block of rows at a time
(synthetic data for benchmarks), :func:`open_cube` opens one as a dask array,
:func:`store_cube` writes a lazy result (a map, a cube of coefficients) to another
``.npy`` file without holding it whole. Every task maps only its own block of the file
and unmaps it when it is done, so the peak memory of a computation is a small multiple
of the chunk size (a few chunks in flight per thread, the method's temporaries), not of
the cube: ``tests/unit/test_lazy.py`` measures it for two cube sizes.

The methods are lectlib's in-memory ones, applied to each chunk: the projection of a
fitted transformer (:func:`transform_cube`: known-endmember regression, PCA, weighted
PCA), fully constrained least squares (:func:`fcls_cube`), the fit with known endmembers
and its χ² (:func:`fit_known_endmembers_cube`), any function of spectra
(:func:`map_spectra`). Each pixel's result depends on that pixel alone, so they equal
the in-memory results (to rounding, 1e-10 tested). Two methods need the whole cube:
Poisson scaling needs the total spectrum before any pixel can be scaled
(:func:`poisson_normalize_cube` reads the cube twice), and PCA is fitted by scikit-
learn's ``IncrementalPCA``, one block after another (:func:`incremental_pca`).

**More than one machine.** The same code runs on a ``dask.distributed`` cluster: create
a client and every computation goes to it, ::

    from dask.distributed import Client
    client = Client("tcp://scheduler:8786")  # the address of the cluster's scheduler
    coefficients = compute(fcls_cube(open_cube("/shared/cube.npy"), E), progress=True)

(``Client(LocalCluster(n_workers=2))`` makes a cluster of processes on one machine,
which the tests use). The data must then live on **a filesystem every worker sees, at
the same path** (NFS, Lustre, a mounted bucket): a task sent to a worker carries the
file's path and the block to read, never the data, and :func:`store_cube` writes the
result there too. A cube passed as an in-memory numpy array is shipped inside the
graph instead, which is fine for a test and wrong for a large cube.

Inputs, for every function: a numpy array, a ``numpy.memmap`` (e.g.
``numpy.load(path, mmap_mode="r")``) or a dask array, of shape ``(ny, nx,
n_channels)``, in any real dtype (float32 on disk is usual); the methods convert each
block to float64. A wrong shape, a non-numeric dtype or a bad parameter raises when the
function is called; a NaN or a negative count inside the data raises (a ``ValueError``
naming it) when the block holding it is computed, since the data are only read then.

References
----------
M. Rocklin, "Dask: parallel computation with blocked algorithms and task scheduling",
Proc. 14th Python in Science Conf., 130 (2015).
F. de la Peña et al., HyperSpy (Zenodo, doi:10.5281/zenodo.592838): lazy signals.
D. A. Ross, J. Lim, R.-S. Lin and M.-H. Yang, Int. J. Comput. Vis. 77, 125 (2008):
incremental PCA.
"""

from __future__ import annotations

import copy
import functools
import mmap
import numbers
import os
import sys
import threading
import time
from pathlib import Path

import dask
import dask.array as da
import numpy as np
from sklearn.decomposition import IncrementalPCA
from sklearn.utils import Bunch
from sklearn.utils.validation import check_is_fitted

from ._validation import (
    as_float_array,
    check_endmembers,
    check_non_negative,
    check_scalar,
    check_size,
    reject_strings,
)
from .regression import fit_known_endmembers
from .unmixing import fcls

__all__ = [
    "CHUNK_BYTES",
    "open_cube",
    "write_cube",
    "store_cube",
    "map_spectra",
    "transform_cube",
    "fcls_cube",
    "fit_known_endmembers_cube",
    "poisson_normalize_cube",
    "incremental_pca",
    "compute",
    "MemoryTrace",
]

#: Default size of a chunk, in bytes of float64: 64 MiB.
CHUNK_BYTES = 64 * 2**20


# --------------------------------------------------------------------- inputs, chunks


def _check_path(path, name="path", suffix=None):
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name} must be a str or a path, got {type(path).__name__}")
    path = Path(path)
    if suffix is not None and path.suffix != suffix:
        raise ValueError(f"{name} must end in {suffix!r}, got {str(path)!r}")
    return path


def _check_chunk_pixels(chunk_pixels, n_channels, name="chunk_pixels"):
    if chunk_pixels is None:
        return max(1, CHUNK_BYTES // (8 * n_channels))
    return check_scalar(chunk_pixels, name, low=1, integer=True)


def _pixel_chunks(shape, chunk_pixels):
    """Chunks of about ``chunk_pixels`` pixels × all channels: whole rows when a row
    fits in a chunk, else parts of one row."""
    ny, nx, c = shape
    if chunk_pixels >= nx:
        return (min(ny, chunk_pixels // nx), nx, c)
    return (1, chunk_pixels, c)


def _check_dtype(dtype, name):
    if dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {dtype}")


class _NpyFile:
    """The array of a ``.npy`` file, read and written block by block.

    Each access maps the file, copies the block in or out and unmaps it, so that no
    page of the file stays mapped between tasks (and counted in the memory of the
    process). Only the path and the layout are pickled: this is what a task carries
    to a worker of a cluster.
    """

    def __init__(self, path, shape, dtype, offset, fortran=False):
        self.path = str(path)
        self.shape = tuple(int(n) for n in shape)
        self.dtype = np.dtype(dtype)
        self.offset = int(offset)
        self.fortran = bool(fortran)
        self.ndim = len(self.shape)

    @classmethod
    def from_memmap(cls, mm):
        return cls(
            mm.filename, mm.shape, mm.dtype, mm.offset, not mm.flags.c_contiguous
        )

    def _map(self, mode):
        order = "F" if self.fortran else "C"
        return np.memmap(
            self.path, self.dtype, mode, self.offset, self.shape, order=order
        )

    def __getitem__(self, index):
        mapped = self._map("r")
        block = np.array(mapped[index])
        del mapped  # unmapped here: the copy is all that stays
        return block

    def __setitem__(self, index, value):
        mapped = self._map("r+")
        mapped[index] = value
        mapped.flush()
        del mapped

    def __dask_tokenize__(self):
        stat = os.stat(self.path)
        layout = (self.shape, self.dtype.str, self.offset, self.fortran)
        return ("lectlib.lazy._NpyFile", self.path, stat.st_mtime_ns, layout)


def _from_file(npy, chunk_pixels):
    chunk_pixels = _check_chunk_pixels(chunk_pixels, npy.shape[-1])
    return da.from_array(
        npy,
        chunks=_pixel_chunks(npy.shape, chunk_pixels),
        meta=np.empty((0, 0, 0), npy.dtype),
        fancy=False,
    )


def _check_cube_shape(shape):
    if len(shape) != 3:
        raise ValueError(
            f"cube must be 3-D (ny, nx, n_channels), got a {len(shape)}-D array of "
            f"shape {tuple(shape)}"
        )
    if 0 in shape:
        raise ValueError(f"cube is empty (shape {tuple(shape)})")


def _as_cube(cube, chunk_pixels=None):
    """A dask array (ny, nx, c) chunked over pixels only,
    from a numpy array, a memmap or a dask array."""
    if isinstance(cube, da.Array):
        _check_cube_shape(cube.shape)
        _check_dtype(cube.dtype, "cube")
        if chunk_pixels is None and len(cube.chunks[2]) == 1:
            return cube  # already pixels × all channels: the caller's chunks
        size = _check_chunk_pixels(chunk_pixels, cube.shape[2])
        return cube.rechunk(_pixel_chunks(cube.shape, size))
    if isinstance(cube, np.memmap) and isinstance(cube.base, mmap.mmap):
        # a whole mapped file (not a view of one): read it by path, block by block
        _check_cube_shape(cube.shape)
        _check_dtype(cube.dtype, "cube")
        return _from_file(_NpyFile.from_memmap(cube), chunk_pixels)
    reject_strings(cube, "cube")
    if hasattr(cube, "tocsr") and hasattr(cube, "nnz"):
        raise TypeError("cube is a sparse matrix; pass a dense (ny, nx, c) array")
    arr = np.asarray(cube)
    if arr.dtype == object or np.issubdtype(arr.dtype, np.complexfloating):
        arr = as_float_array(arr, "cube")  # object: numbers checked; complex: refused
    _check_dtype(arr.dtype, "cube")
    _check_cube_shape(arr.shape)
    size = _check_chunk_pixels(chunk_pixels, arr.shape[2])
    return da.from_array(arr, chunks=_pixel_chunks(arr.shape, size))


def _spectra(block):
    """A chunk (rows, cols, c) as float64 spectra (n_pixels, c), checked: finite and
    within lectlib's magnitudes."""
    return as_float_array(block.reshape(-1, block.shape[-1]), "cube")


# ------------------------------------------------------------------------ files on disk


def open_cube(path, *, chunk_pixels=None):
    """Open a spectrum image stored as a ``.npy`` file as a lazy dask array.

    Parameters
    ----------
    path : str or path-like
        A ``.npy`` file holding an array ``(ny, nx, n_channels)`` of real numbers
        (``numpy.save`` or :func:`write_cube` wrote it).
    chunk_pixels : int, optional
        Pixels per chunk (each with all its channels); by default as many as fill
        :data:`CHUNK_BYTES` (64 MiB) in float64.

    Returns
    -------
    cube : dask.array.Array, shape (ny, nx, n_channels)
        In the file's dtype; nothing is read until it is computed.

    See Also
    --------
    write_cube : writes such a file block by block, never holding the whole cube.
    store_cube : writes a lazy result to such a file.
    numpy.load : ``mmap_mode="r"`` maps the whole file in one process instead.

    Notes
    -----
    Only the header is read here. Each chunk is a task that maps the file, copies its
    block of whole rows (contiguous on disk) and unmaps it; the task carries the path,
    not the data, so the same array computes on a cluster whose workers see the file
    at the same path.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from lectlib.lazy import open_cube
    >>> path = Path(tempfile.mkdtemp()) / "cube.npy"
    >>> np.save(path, np.arange(60.0).reshape(3, 4, 5))
    >>> cube = open_cube(path, chunk_pixels=8)
    >>> cube.shape, cube.chunks
    ((3, 4, 5), ((2, 1), (4,), (5,)))
    >>> float(cube[2, 3].sum().compute())
    285.0
    """
    path = _check_path(path)
    if path.is_dir():
        raise ValueError(f"path must be a .npy file, got the folder {str(path)!r}")
    try:
        mapped = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:
        raise ValueError(f"{str(path)!r} is not a .npy array file: {exc}") from None
    if not isinstance(mapped, np.memmap):  # an .npz archive
        raise ValueError(f"{str(path)!r} is not a .npy file of one array")
    _check_cube_shape(mapped.shape)
    _check_dtype(mapped.dtype, f"the array in {str(path)!r}")
    npy = _NpyFile.from_memmap(mapped)
    del mapped
    return _from_file(npy, chunk_pixels)


def _check_writable_dtype(dtype):
    try:
        dtype = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"dtype must be a numpy dtype, got {dtype!r} ({exc})") from None
    if dtype.kind not in "iuf":
        raise TypeError(f"dtype must be a real float or integer dtype, got {dtype}")
    return dtype


def _cast(block, dtype, what):
    """``block`` (float64, finite) in ``dtype``, refusing values that do not fit."""
    if dtype.kind == "f":
        top = np.finfo(dtype).max
        if block.size and np.abs(block).max() > top:
            raise ValueError(f"{what} holds values beyond the range of {dtype}")
        return block.astype(dtype)
    info = np.iinfo(dtype)
    if block.size and (
        block.min() < info.min
        or block.max() > info.max
        or np.any(block != np.round(block))
    ):
        raise ValueError(
            f"{what} must hold integers in [{info.min}, {info.max}] for dtype {dtype}"
        )
    return block.astype(dtype)


def _new_npy(path, shape, dtype):
    """Create ``path`` as a ``.npy`` file of ``shape`` (sparse on disk; nothing is
    allocated in memory) and return its layout."""
    mapped = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)
    npy = _NpyFile(path, shape, dtype, mapped.offset)
    del mapped
    return npy


def write_cube(path, shape, make_block, *, dtype="float32", block_rows=None):
    """Write a spectrum image to a ``.npy`` file one block of rows at a time.

    Parameters
    ----------
    path : str or path-like
        The file to write, ending in ``.npy``; replaced if it exists.
    shape : (int, int, int)
        ``(ny, nx, n_channels)`` of the cube (at most 2³¹ values).
    make_block : callable
        ``make_block(rows)`` with ``rows`` a ``slice`` of row indices returns the
        block ``cube[rows]``, an array ``(len(rows), nx, n_channels)``.
    dtype : numpy dtype, default="float32"
        The dtype on disk: a real float (float32 halves the size of float64) or an
        integer type for counts (the values must then be integers in its range).
    block_rows : int, optional
        Rows per block; by default as many as fill :data:`CHUNK_BYTES` in float64.

    Returns
    -------
    path : pathlib.Path
        The file written.

    See Also
    --------
    open_cube : opens the file as a dask array.
    store_cube : writes a dask array (a lazy result) instead of blocks from a function.
    numpy.save : writes an array that is already whole in memory.

    Notes
    -----
    The file is created at its full size without being allocated, then each block is
    checked (its shape, finite values that fit the dtype), converted and appended; so
    at most one block (and its conversion) is in memory. The file is written under a
    temporary name and renamed at the end: an error leaves no half-written cube.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from lectlib.lazy import write_cube
    >>> def rows_of(rows):
    ...     y = np.arange(rows.start, rows.stop)[:, None, None]
    ...     return np.broadcast_to(y, (y.size, 3, 2)).astype(float)
    >>> path = write_cube(Path(tempfile.mkdtemp()) / "c.npy", (5, 3, 2), rows_of,
    ...                   block_rows=2)
    >>> np.load(path)[:, 0, 0].tolist()
    [0.0, 1.0, 2.0, 3.0, 4.0]
    """
    path = _check_path(path, suffix=".npy")
    if isinstance(shape, (str, bytes)) or not hasattr(shape, "__len__"):
        raise TypeError(f"shape must be (ny, nx, n_channels), got {shape!r}")
    if len(shape) != 3:
        raise ValueError(f"shape must be (ny, nx, n_channels), got {shape!r}")
    shape = tuple(
        check_scalar(n, f"shape[{i}]", low=1, integer=True) for i, n in enumerate(shape)
    )
    check_size(int(np.prod(shape, dtype=float)), "the cube")
    if not callable(make_block):
        raise TypeError(f"make_block must be callable, got {type(make_block).__name__}")
    dtype = _check_writable_dtype(dtype)
    ny, nx, c = shape
    if block_rows is None:
        block_rows = max(1, CHUNK_BYTES // (8 * nx * c))
    block_rows = check_scalar(block_rows, "block_rows", low=1, integer=True)
    part = path.with_name(path.name + ".part")
    try:
        npy = _new_npy(part, shape, dtype)
        with open(part, "r+b") as file:
            file.seek(npy.offset)
            for start in range(0, ny, block_rows):
                rows = slice(start, min(start + block_rows, ny))
                expected = (rows.stop - rows.start, nx, c)
                what = f"make_block({rows.start}:{rows.stop})"
                block = as_float_array(make_block(rows), what, allow_empty=True)
                if block.shape != expected:
                    raise ValueError(
                        f"{what} must return an array of shape {expected}, got "
                        f"{block.shape}"
                    )
                file.write(memoryview(_cast(block, dtype, what)).cast("B"))
        os.replace(part, path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return path


def store_cube(array, path, *, dtype="float64", progress=False):
    """Compute a lazy array and write it to a ``.npy`` file block by block.

    Parameters
    ----------
    array : dask.array.Array or array_like
        The result to write, e.g. a cube of coefficients ``(ny, nx, k)`` or a map
        ``(ny, nx)``.
    path : str or path-like
        The file to write, ending in ``.npy``; replaced if it exists.
    dtype : numpy dtype, default="float64"
        The dtype on disk (real float or integer).
    progress : bool, default=False
        Show dask's progress bar (see :func:`compute`).

    Returns
    -------
    path : pathlib.Path
        The file written; :func:`open_cube` (or ``numpy.load``) reads it back.

    See Also
    --------
    compute : returns the result in memory instead.
    write_cube : writes blocks made by a function rather than a dask array.

    Notes
    -----
    ``dask.array.store`` with one task per chunk: each computes its block, maps its
    region of the file, writes and unmaps it, so the result is never whole in memory.
    The chunks write disjoint regions, so no lock is needed, also on a cluster (whose
    workers must see ``path``). The file is written under a temporary name and renamed
    when complete.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import dask.array as da
    >>> import numpy as np
    >>> from lectlib.lazy import store_cube
    >>> lazy = da.ones((4, 6, 2), chunks=(1, 6, 2)).cumsum(axis=0)
    >>> path = store_cube(lazy, Path(tempfile.mkdtemp()) / "out.npy")
    >>> np.load(path)[:, 0, 0].tolist()
    [1.0, 2.0, 3.0, 4.0]
    """
    path = _check_path(path, suffix=".npy")
    dtype = _check_writable_dtype(dtype)
    progress = _check_flag(progress, "progress")
    if not isinstance(array, da.Array):
        reject_strings(array, "array")
        array = as_float_array(array, "array")
        array = da.from_array(array, chunks=array.shape)
    _check_dtype(array.dtype, "array")
    if array.size == 0:
        raise ValueError(f"array is empty (shape {array.shape})")
    check_size(array.size, "the stored array")
    part = path.with_name(path.name + ".part")
    try:
        target = _new_npy(part, array.shape, dtype)
        blocks = array.map_blocks(_checked_cast, dtype, dtype=dtype)
        compute(da.store(blocks, target, lock=False, compute=False), progress=progress)
        os.replace(part, path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return path


def _checked_cast(block, dtype):
    return _cast(as_float_array(block, "a block of the array"), dtype, "the array")


# ---------------------------------------------------------------------- the methods


def _check_flag(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _apply(block, func, n_out, dtype):
    rows, cols = block.shape[:2]
    out = np.asarray(func(_spectra(block)))
    if out.shape != (rows * cols, n_out):
        raise ValueError(
            f"the function must return ({rows * cols}, {n_out}) for "
            f"{rows * cols} spectra, got shape {out.shape}"
        )
    return out.astype(dtype, copy=False).reshape(rows, cols, n_out)


def map_spectra(func, cube, n_out, *, dtype=np.float64, chunk_pixels=None):
    """Apply a function of spectra to every chunk of a cube, lazily.

    Parameters
    ----------
    func : callable
        ``func(X)`` with ``X`` an array ``(n_pixels, n_channels)`` of float64 spectra
        (one chunk, pixels in row-major order) returns ``(n_pixels, n_out)``: a
        result per pixel that depends on that pixel's spectrum only.
    cube : ndarray, numpy.memmap or dask.array.Array, shape (ny, nx, n_channels)
        The spectrum image.
    n_out : int
        Values per pixel that ``func`` returns.
    dtype : numpy dtype, default=numpy.float64
        The dtype of the result.
    chunk_pixels : int, optional
        Pixels per chunk; by default the chunks of a dask array that already holds
        all channels per chunk, else about :data:`CHUNK_BYTES` of float64.

    Returns
    -------
    result : dask.array.Array, shape (ny, nx, n_out)
        Lazy; :func:`compute` or :func:`store_cube` evaluate it.

    See Also
    --------
    transform_cube : for a fitted scikit-learn transformer (finds ``n_out`` itself).
    fcls_cube : this with :func:`lectlib.unmixing.fcls`.
    dask.array.map_blocks : the general tool, for chunks of any shape.

    Notes
    -----
    One ``dask.array.map_blocks`` task per chunk: the chunk is unfolded to spectra
    (:func:`lectlib.mixing.unfold`'s row-major order), converted to float64, passed to
    ``func`` and folded back; a result of another shape raises a ``ValueError`` when
    the chunk is computed. Because ``func`` sees one chunk at a time, it must not use
    the other pixels (a normalization by the mean spectrum of the chunk would differ
    from one over the whole cube).

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.lazy import compute, map_spectra
    >>> cube = np.arange(24.0).reshape(2, 3, 4)
    >>> totals = map_spectra(lambda X: X.sum(axis=1, keepdims=True), cube, 1)
    >>> compute(totals)[..., 0].tolist()
    [[6.0, 22.0, 38.0], [54.0, 70.0, 86.0]]
    """
    if not callable(func):
        raise TypeError(f"func must be callable, got {type(func).__name__}")
    n_out = check_scalar(n_out, "n_out", low=1, integer=True)
    try:
        dtype = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"dtype must be a numpy dtype, got {dtype!r} ({exc})") from None
    _check_dtype(dtype, "dtype")
    cube = _as_cube(cube, chunk_pixels)
    return cube.map_blocks(
        _apply,
        func,
        n_out,
        dtype,
        dtype=dtype,
        chunks=(cube.chunks[0], cube.chunks[1], (n_out,)),
        meta=np.empty((0, 0, 0), dtype),
    )


def _n_outputs(estimator, n_channels):
    try:
        return len(estimator.get_feature_names_out())
    except Exception:  # noqa: BLE001 (no names: ask the transform itself)
        pass
    try:
        probe = estimator.transform(np.ones((1, n_channels)))
    except Exception as exc:  # noqa: BLE001
        raise ValueError(
            "could not tell how many values the transform returns per pixel "
            f"({type(exc).__name__}: {exc}); pass n_out="
        ) from None
    return int(np.shape(probe)[1])


def transform_cube(estimator, cube, *, n_out=None, chunk_pixels=None):
    """A fitted transformer applied to every pixel of a cube, chunk by chunk.

    Parameters
    ----------
    estimator : fitted transformer
        Anything with ``transform`` on rows of spectra: e.g.
        :class:`~lectlib.regression.KnownEndmemberRegression`,
        :class:`~lectlib.decomposition.WeightedPCA`, scikit-learn's ``PCA`` or
        ``IncrementalPCA`` (:func:`incremental_pca`), or a ``Pipeline`` of them.
    cube : ndarray, numpy.memmap or dask.array.Array, shape (ny, nx, n_channels)
        The spectrum image.
    n_out : int, optional
        Values per pixel; by default the length of ``get_feature_names_out()``, or
        what ``transform`` returns for one spectrum of ones.
    chunk_pixels : int, optional
        Pixels per chunk (see :func:`map_spectra`).

    Returns
    -------
    result : dask.array.Array, shape (ny, nx, n_out)
        Lazy; equal to ``fold(estimator.transform(unfold(cube)), (ny, nx))``.

    See Also
    --------
    map_spectra : the same for any function of spectra.
    fit_known_endmembers_cube : the regression with χ² maps, not only coefficients.
    incremental_pca : fits a PCA on a cube that does not fit in memory.

    Notes
    -----
    A copy of the estimator is taken when the graph is made, so refitting it later
    does not change the result. ``transform`` is applied to each chunk's spectra
    (:func:`map_spectra`): right for every transformer whose output for a pixel depends
    on that pixel alone and on what was learned in ``fit`` — a projection, a
    regression, a scaling by the training statistics — not for one that learns from the
    rows it transforms.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.lazy import compute, transform_cube
    >>> from lectlib.regression import KnownEndmemberRegression
    >>> E = np.array([[1.0, 2.0, 3.0, 4.0], [4.0, 3.0, 2.0, 1.0]])
    >>> cube = np.einsum("yxk,kc->yxc", np.full((2, 3, 2), [0.5, 2.0]), E)
    >>> model = KnownEndmemberRegression(E).fit(cube.reshape(-1, 4))
    >>> coefficients = compute(transform_cube(model, cube, chunk_pixels=4))
    >>> coefficients.shape, coefficients[1, 2].round(12).tolist()
    ((2, 3, 2), [0.5, 2.0])
    """
    if not callable(getattr(estimator, "transform", None)):
        raise TypeError(
            f"estimator must have a transform method, got {type(estimator).__name__}"
        )
    check_is_fitted(estimator)
    cube = _as_cube(cube, chunk_pixels)
    n_channels = cube.shape[2]
    expected = getattr(estimator, "n_features_in_", None)
    if expected is not None and expected != n_channels:
        raise ValueError(
            f"cube has {n_channels} channels but the estimator was fitted on "
            f"{expected} features"
        )
    estimator = copy.deepcopy(estimator)
    if n_out is None:
        n_out = _n_outputs(estimator, n_channels)
    return map_spectra(estimator.transform, cube, n_out)


def fcls_cube(cube, endmembers, *, max_iter=None, chunk_pixels=None):
    """Fully constrained least squares (abundances ≥ 0 summing to one) for every pixel
    of a cube, chunk by chunk.

    Parameters
    ----------
    cube : ndarray, numpy.memmap or dask.array.Array, shape (ny, nx, n_channels)
        The spectrum image.
    endmembers : array_like, shape (k, n_channels)
        The vertices of the simplex (affinely independent).
    max_iter : int, optional
        Outer iterations of the active-set method (see :func:`lectlib.unmixing.fcls`).
    chunk_pixels : int, optional
        Pixels per chunk (see :func:`map_spectra`).

    Returns
    -------
    abundances : dask.array.Array, shape (ny, nx, k)
        Lazy; equal to ``lectlib.unmixing.fcls(cube, endmembers)``.

    See Also
    --------
    lectlib.unmixing.fcls : the same in memory.
    fit_known_endmembers_cube : no sum-to-one constraint: amounts, not fractions.

    Notes
    -----
    :func:`lectlib.unmixing.fcls` (the exact active-set method) runs on each chunk's
    spectra; every pixel is an independent problem, so the result is the in-memory
    one. The endmembers and ``max_iter`` are checked when the function is called, the
    data when each chunk is computed.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.lazy import compute, fcls_cube
    >>> E = np.eye(3)
    >>> cube = np.array([[[0.2, 0.3, 0.5], [2.0, 0.0, 0.0]]])
    >>> compute(fcls_cube(cube, E)).round(6).tolist()
    [[[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]]]
    """
    cube = _as_cube(cube, chunk_pixels)
    E = check_endmembers(endmembers, cube.shape[2], affine=True)
    fcls(E, E, max_iter=max_iter)  # checks max_iter the way the chunks will use it
    solve = functools.partial(fcls, endmembers=E, max_iter=max_iter)
    return map_spectra(solve, cube, E.shape[0])


def _fit_block(X, **options):
    fit = fit_known_endmembers(X, **options)
    return np.column_stack([fit.coefficients, fit.chi2, fit.reduced_chi2])


def fit_known_endmembers_cube(
    cube,
    endmembers,
    *,
    method="nnls",
    energy=None,
    window=None,
    variance="poisson",
    max_iter=100,
    chunk_pixels=None,
):
    """Fit every pixel of a cube with known endmembers, chunk by chunk, with χ² maps.

    Parameters
    ----------
    cube : ndarray, numpy.memmap or dask.array.Array, shape (ny, nx, n_channels)
        The spectrum image.
    endmembers : array_like, shape (k, n_channels)
        The known reference spectra, one per row.
    method : {"ols", "nnls", "poisson"}, default="nnls"
        See :func:`lectlib.regression.fit_known_endmembers`.
    energy : array_like, shape (n_channels,), optional
        The energy axis; needed for ``window``.
    window : (float, float), optional
        Fit only the channels with ``low <= energy <= high``.
    variance : "poisson", float or array_like of shape (n_channels,) or (n_window,)
        Noise variance for χ² (a per-pixel variance is not taken here: it would be a
        second cube).
    max_iter : int, default=100
        Iterations of the Poisson fit.
    chunk_pixels : int, optional
        Pixels per chunk (see :func:`map_spectra`).

    Returns
    -------
    result : sklearn.utils.Bunch
        Lazy dask arrays ``coefficients`` (ny, nx, k), ``chi2`` and ``reduced_chi2``
        (ny, nx), computed together by ``compute(result.coefficients, result.chi2)``;
        and, as in the in-memory fit, ``dof``, ``channels``, ``energy`` and
        ``method``.

    See Also
    --------
    lectlib.regression.fit_known_endmembers : in memory; also returns the model and
        residual cubes, and the iterations used.
    transform_cube : with a fitted ``KnownEndmemberRegression``: coefficients only.
    fcls_cube : abundances that also sum to one.

    Notes
    -----
    :func:`lectlib.regression.fit_known_endmembers` runs on each chunk, and its
    coefficients and χ² are packed into one array of ``k + 2`` values per pixel, so
    asking for both computes each chunk once. The fits are per pixel; the Poisson fit
    stops when no coefficient of the chunk changes by more than 1e-11 of the largest,
    so its results agree with the in-memory fit to about that precision. The options
    are checked when the function is called by fitting one spectrum of zeros. The
    model and residuals are cube-sized: ``map_spectra`` with the coefficients gives
    them if needed.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.lazy import compute, fit_known_endmembers_cube
    >>> E = np.array([[1.0, 2.0, 3.0, 4.0], [4.0, 3.0, 2.0, 1.0]])
    >>> cube = np.einsum("yxk,kc->yxc", np.full((2, 3, 2), [0.5, 2.0]), E)
    >>> fit = fit_known_endmembers_cube(cube, E, variance=1.0)
    >>> coefficients, chi2 = compute(fit.coefficients, fit.chi2)
    >>> coefficients[0, 0].round(12).tolist(), bool(chi2.max() < 1e-20)
    ([0.5, 2.0], True)
    """
    cube = _as_cube(cube, chunk_pixels)
    n_channels = cube.shape[2]
    if not isinstance(variance, (str, numbers.Real)) and np.ndim(variance) > 1:
        raise ValueError(
            "variance must be 'poisson', a number or one value per channel, got an "
            f"array of shape {np.shape(variance)}"
        )
    options = dict(
        endmembers=check_endmembers(endmembers, n_channels),
        energy=energy,
        window=window,
        method=method,
        variance=variance,
        max_iter=max_iter,
    )
    # One spectrum of zeros checks every option the way each chunk will use them.
    probe = fit_known_endmembers(np.zeros((1, n_channels)), **options)
    k = probe.coefficients.shape[-1]
    packed = map_spectra(functools.partial(_fit_block, **options), cube, k + 2)
    return Bunch(
        coefficients=packed[..., :k],
        chi2=packed[..., k],
        reduced_chi2=packed[..., k + 1],
        dof=probe.dof,
        channels=probe.channels,
        energy=probe.energy,
        method=probe.method,
    )


def _column_sums(block):
    X = _spectra(block)
    check_non_negative(X, "poisson_normalize_cube")
    return X.sum(axis=0)[None, None, :]


def _row_weights(block):
    X = _spectra(block)
    check_non_negative(X, "poisson_normalize_cube")
    return np.sqrt(X.sum(axis=1)).reshape(block.shape[:2])


def _scale(block, col):
    X = _spectra(block)
    check_non_negative(X, "poisson_normalize_cube")
    denom = np.sqrt(X.sum(axis=1))[:, None] * col[None, :]
    scaled = np.divide(X, denom, out=np.zeros_like(X), where=denom > 0)
    return scaled.reshape(block.shape)


def poisson_normalize_cube(cube, *, chunk_pixels=None, progress=False):
    """Poisson two-way scaling of a cube of counts (chapter 3), in two passes.

    Parameters
    ----------
    cube : ndarray, numpy.memmap or dask.array.Array, shape (ny, nx, n_channels)
        Non-negative counts.
    chunk_pixels : int, optional
        Pixels per chunk (see :func:`map_spectra`).
    progress : bool, default=False
        Show the progress of the first pass, which runs during the call.

    Returns
    -------
    scaled : dask.array.Array, shape (ny, nx, n_channels)
        Lazy ``D / √(r cᵀ)``, float64; zero where a pixel or channel has no counts.
    row_weights : dask.array.Array, shape (ny, nx)
        Lazy √(counts of each pixel): the image of totals.
    col_weights : ndarray, shape (n_channels,)
        √(counts of each channel over the whole cube): the total spectrum, computed.

    See Also
    --------
    lectlib.decomposition.poisson_normalize : the same on a matrix in memory.
    lectlib.decomposition.WeightedPCA : its ``transform`` scales by the training
        spectrum instead (with :func:`transform_cube`, one pass).
    incremental_pca : ``center=False`` on ``scaled`` is the weighted PCA of the cube.

    Notes
    -----
    Keenan & Kotula's (2004) scaling divides each count by √(r_i c_j), the square roots
    of its pixel's total ``r_i`` (the mean image, up to a factor) and its channel's
    total ``c_j`` over all pixels (the mean spectrum). A pixel's total is in its own
    chunk, but a channel's total needs every chunk before any pixel can be scaled; so
    this takes **two passes** over the cube: the first (during the call, chunk by
    chunk, summing the spectra) computes ``c``; the second, when ``scaled`` is
    computed, scales each chunk. Keeping the first pass separate keeps memory bounded:
    in one graph, every chunk read for the sums would be held until the last sum was
    done. Results equal :func:`~lectlib.decomposition.poisson_normalize` on
    ``unfold(cube)``.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.decomposition import poisson_normalize
    >>> from lectlib.lazy import compute, poisson_normalize_cube
    >>> cube = np.array([[[4.0, 0.0], [1.0, 3.0]]])
    >>> scaled, rows, cols = poisson_normalize_cube(cube)
    >>> expected = poisson_normalize(cube.reshape(-1, 2))[0].reshape(cube.shape)
    >>> bool(np.allclose(compute(scaled), expected)), cols.round(4).tolist()
    (True, [2.2361, 1.7321])
    """
    progress = _check_flag(progress, "progress")
    cube = _as_cube(cube, chunk_pixels)
    n_row_chunks, n_col_chunks = len(cube.chunks[0]), len(cube.chunks[1])
    sums = cube.map_blocks(
        _column_sums,
        dtype=np.float64,
        chunks=((1,) * n_row_chunks, (1,) * n_col_chunks, (cube.shape[2],)),
        meta=np.empty((0, 0, 0)),
    ).sum(axis=(0, 1))
    col = np.sqrt(compute(sums, progress=progress))
    scaled = cube.map_blocks(_scale, col, dtype=np.float64, meta=np.empty((0, 0, 0)))
    rows = cube.map_blocks(
        _row_weights, dtype=np.float64, drop_axis=2, meta=np.empty((0, 0))
    )
    return scaled, rows, col


def _batches(cube, n_min):
    """The cube's chunks in row-major order, grouped so that each batch holds at least
    ``n_min`` pixels."""
    blocks = [
        cube.blocks[i, j]
        for i in range(len(cube.chunks[0]))
        for j in range(len(cube.chunks[1]))
    ]
    groups, current, count = [], [], 0
    for block in blocks:
        current.append(block)
        count += block.shape[0] * block.shape[1]
        if count >= n_min:
            groups.append(current)
            current, count = [], 0
    if current:
        if groups:
            groups[-1].extend(current)
        else:
            groups.append(current)
    return groups


def _draw_progress(done, total, start, out):
    width = 40
    bar = "#" * int(width * done / total)
    percent = int(100 * done / total)
    elapsed = time.perf_counter() - start
    out.write(f"\r[{bar:<{width}}] | {percent:3d}% Completed | {elapsed:.1f}s")
    out.flush()


def incremental_pca(
    cube, n_components, *, batch_pixels=None, center=True, progress=False
):
    """PCA of a cube larger than memory: scikit-learn's ``IncrementalPCA`` fitted one
    chunk of pixels after another.

    Parameters
    ----------
    cube : ndarray, numpy.memmap or dask.array.Array, shape (ny, nx, n_channels)
        The spectrum image (e.g. the ``scaled`` output of
        :func:`poisson_normalize_cube`).
    n_components : int
        Components to keep; at most ``n_channels``.
    batch_pixels : int, optional
        Pixels per ``partial_fit`` call (the chunk size); by default the cube's chunks
        (about :data:`CHUNK_BYTES` each). Batches smaller than ``n_components`` pixels
        are merged with their neighbor.
    center : bool, default=True
        Subtract the mean spectrum, as :func:`lectlib.decomposition.pca`; False gives
        the uncentered decomposition of :class:`~lectlib.decomposition.WeightedPCA`.
    progress : bool, default=False
        Print a progress bar (one step per batch).

    Returns
    -------
    pca : sklearn.decomposition.IncrementalPCA
        Fitted: ``components_``, ``explained_variance_`` (the eigenvalues),
        ``explained_variance_ratio_``, ``singular_values_``, ``mean_`` (zeros when not
        centered), ``n_samples_seen_`` (pixels); its ``transform`` works with
        :func:`transform_cube`.

    See Also
    --------
    lectlib.decomposition.pca : the exact SVD of a matrix in memory.
    lectlib.decomposition.WeightedPCA : the Poisson-weighted PCA in memory.
    transform_cube : projects the cube onto the fitted components.

    Notes
    -----
    Ross et al.'s (2008) incremental SVD, as scikit-learn implements it: each batch is
    appended to the current ``n_components`` singular vectors (scaled by their singular
    values) and a row correcting the mean, and a new truncated SVD is taken. When the
    data have rank at most ``n_components`` this is exact; otherwise each truncation
    drops the variance outside the kept components, and the components deviate from
    the exact PCA by an angle of the order of the ratio of the discarded to the kept
    eigenvalues (tested against :func:`~lectlib.decomposition.pca`). The batches are
    computed by dask (local threads or a cluster) one after another and each update
    runs in the calling process, so one batch is in memory at a time. Without
    centering, each batch is fitted as ``[X; -X]``, whose mean is zero and whose
    scatter is ``2 XᵀX``: the components are those of the uncentered SVD, and the
    eigenvalues and singular values are rescaled to it (``S² / n``, as
    :func:`~lectlib.decomposition.pca` with ``center=False``). Component signs are
    scikit-learn's (``svd_flip``), not :func:`~lectlib.decomposition.pca`'s.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.lazy import incremental_pca
    >>> rng = np.random.default_rng(0)
    >>> cube = (rng.standard_normal((20, 10, 2)) @ rng.standard_normal((2, 6)))
    >>> model = incremental_pca(cube, 2, batch_pixels=50)
    >>> model.components_.shape, int(model.n_samples_seen_)
    ((2, 6), 200)
    >>> bool(model.explained_variance_ratio_.sum() > 0.999999)  # rank 2: exact
    True
    """
    center = _check_flag(center, "center")
    progress = _check_flag(progress, "progress")
    cube = _as_cube(cube, batch_pixels)
    n_pixels, n_channels = cube.shape[0] * cube.shape[1], cube.shape[2]
    k = check_scalar(n_components, "n_components", low=1, integer=True)
    if k > min(n_channels, n_pixels):
        raise ValueError(
            f"n_components={k} exceeds min(n_pixels, n_channels) = "
            f"{min(n_pixels, n_channels)}"
        )
    # copy=False: each batch below is a new array, which partial_fit may center in place
    model = IncrementalPCA(n_components=k, copy=False)
    batches = _batches(cube, k)
    start = time.perf_counter()
    for done, batch in enumerate(batches, start=1):
        X = np.concatenate([_spectra(b) for b in compute(*batch, as_tuple=True)])
        if not center:
            X = np.concatenate([X, -X])
        # constant data: scikit-learn divides 0 by 0 for the ratios (fixed below)
        with np.errstate(invalid="ignore", divide="ignore"):
            model.partial_fit(X)
        if progress:
            _draw_progress(done, len(batches), start, sys.stdout)
    if progress:
        sys.stdout.write("\n")
    model.set_params(copy=True)  # later calls by the user must not change their data
    if not np.all(np.isfinite(model.explained_variance_ratio_)):
        # no variance at all: every ratio is 0, as in lectlib.decomposition.pca
        model.explained_variance_ratio_ = np.zeros(k)
    if not center:
        n = model.n_samples_seen_ // 2
        # [X; -X] has 2n rows and scatter 2 XᵀX: back to the SVD of X, eigenvalues S²/n
        factor = (2 * n - 1) / (2 * n)
        model.singular_values_ = model.singular_values_ / np.sqrt(2.0)
        model.explained_variance_ = model.explained_variance_ * factor
        model.noise_variance_ = model.noise_variance_ * factor
        model.mean_ = np.zeros(n_channels)
        model.n_samples_seen_ = n
    return model


def _active_client():
    """The default ``dask.distributed`` client, or None (without importing
    distributed when nothing has)."""
    if "distributed" not in sys.modules:
        return None
    from distributed import default_client

    try:
        return default_client()
    except ValueError:
        return None


def compute(*arrays, progress=False, as_tuple=False):
    """Compute lazy arrays, with dask's progress bar when asked.

    Parameters
    ----------
    *arrays : dask collections or ndarrays
        What to compute; results that share chunks (e.g. the ``coefficients`` and
        ``chi2`` of :func:`fit_known_endmembers_cube`) are computed together, each
        chunk once. Numpy arrays pass through.
    progress : bool, default=False
        Show a progress bar: ``dask.diagnostics.ProgressBar`` with the local
        scheduler, ``distributed.progress`` when a ``dask.distributed`` client is
        active.
    as_tuple : bool, default=False
        Return a tuple even for one array.

    Returns
    -------
    result : ndarray or tuple of ndarray
        One result per argument (a lone result unpacked unless ``as_tuple``).

    See Also
    --------
    store_cube : writes the result to disk instead, for results larger than memory.
    dask.compute : the same without the progress bar.

    Notes
    -----
    Where the work runs is dask's choice: the threads of this process by default, or
    the cluster of the active ``dask.distributed.Client`` (creating one makes it the
    default). The call is the same in both cases. On a cluster the results are
    gathered into this process: compute maps and coefficients here, and write cubes
    with :func:`store_cube`.

    Examples
    --------
    >>> import dask.array as da
    >>> from lectlib.lazy import compute
    >>> x = da.arange(6.0, chunks=2)
    >>> total, doubled = compute(x.sum(), 2 * x)
    >>> float(total), doubled.tolist()
    (15.0, [0.0, 2.0, 4.0, 6.0, 8.0, 10.0])
    """
    progress = _check_flag(progress, "progress")
    as_tuple = _check_flag(as_tuple, "as_tuple")
    if not arrays:
        raise TypeError("compute needs at least one array")
    client = _active_client() if progress else None
    if client is not None:
        from distributed import progress as show_progress

        lazy = [a for a in arrays if dask.is_dask_collection(a)]
        futures = client.compute(lazy)
        show_progress(futures)
        done = iter(client.gather(futures))
        results = tuple(next(done) if dask.is_dask_collection(a) else a for a in arrays)
    elif progress:
        from dask.diagnostics import ProgressBar

        with ProgressBar():
            results = dask.compute(*arrays)
    else:
        results = dask.compute(*arrays)
    return results if as_tuple or len(results) != 1 else results[0]


class MemoryTrace:
    """The memory this process holds, sampled over time while a block of code runs.

    Parameters
    ----------
    interval : float, default=0.01
        Seconds between two samples (> 0, at most 10).

    Attributes
    ----------
    times : ndarray of shape (n_samples,)
        Seconds since the block started, one per sample (the first at 0, the last when
        the block ended).
    mib : ndarray of shape (n_samples,)
        The process's resident memory at each sample, minus its value at the start, in
        MiB (2²⁰ bytes).
    peak_mib : float
        The largest of ``mib``: the memory the block added at its peak.

    See Also
    --------
    compute : runs a dask computation, whose memory this can trace.
    dask.diagnostics.ResourceProfiler : samples only while dask computes, not around
        other code such as an in-memory computation to compare with.

    Notes
    -----
    A thread reads the resident set size of the process (``psutil``) every
    ``interval`` seconds while the ``with`` block runs. A peak shorter than the
    interval can fall between two samples, so the trace is a lower bound of the true
    peak, close to it for peaks that last longer than a few intervals. Only this
    process is traced: the memory of the workers of a ``dask.distributed`` cluster is
    theirs.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.lazy import MemoryTrace
    >>> with MemoryTrace() as trace:
    ...     block = np.ones((2048, 2048))  # 32 MiB, held while the block runs
    ...     total = block.sum()
    >>> bool(trace.peak_mib > 16), float(trace.times[0])
    (True, 0.0)
    """

    def __init__(self, interval=0.01):
        self.interval = check_scalar(
            interval, "interval", low=0.0, low_inclusive=False, high=10.0
        )

    def __enter__(self):
        import psutil

        process = psutil.Process()
        self._samples = [(time.perf_counter(), process.memory_info().rss)]
        self._stop = threading.Event()

        def sample():
            while not self._stop.wait(self.interval):
                self._samples.append((time.perf_counter(), process.memory_info().rss))

        self._process = process
        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        self._thread.join()
        self._samples.append((time.perf_counter(), self._process.memory_info().rss))
        samples = np.array(self._samples, dtype=np.float64)
        self.times = samples[:, 0] - samples[0, 0]
        self.mib = (samples[:, 1] - samples[0, 1]) / 2**20
        self.peak_mib = float(self.mib.max())
        return False
