"""lectlib: the algorithms, datasets and widgets of the course
"Machine Learning for Spectroscopy and Imaging Data".

Conventions, the same in every module:

* A spectrum image is an array ``(ny, nx, n_channels)``; pixel coordinates are
  ``(row, col)``, and so are vectors in an image (lattice vectors, reciprocal vectors in
  cycles per pixel). Learning methods take a matrix ``X`` of shape
  ``(n_samples, n_features)``, one spectrum per row; :func:`lectlib.mixing.unfold` and
  :func:`lectlib.mixing.fold` convert between the two. Image transformers take a stack
  of images ``(n_images, height, width)``.
* Energies are in eV, lengths in pixels, angles in degrees.
* **Arrays are float64.** Every function and estimator converts its input to float64
  (float32, integer, boolean, list, read-only and non-contiguous input are all accepted)
  and returns float64. The one exception is asked for by name:
  ``SlidingFFT(dtype=numpy.float32)`` computes and returns single precision, for speed
  and memory on large images.
* Randomness goes through ``random_state`` (None, an int, a
  ``numpy.random.SeedSequence`` or a ``numpy.random.Generator``); the same seed gives
  the same numbers.
* Datasets are ``make_*`` functions that return the data with their ground truth
  (:mod:`lectlib.datasets`).
* Everything that learns is a scikit-learn estimator (parameters in ``__init__``,
  ``fit`` returns ``self``, learned attributes end in ``_``), so it composes in a
  ``Pipeline``.
* **The promise.** Bad input raises ``ValueError`` or ``TypeError`` naming what was
  expected and what came; valid input gives finite results with no warning escaping; no
  input is modified; the same seed gives the same numbers; no call runs away. Two limits
  make that possible: numbers up to 1e100 in magnitude (their squares stay finite;
  rescale data beyond) and arrays of up to 2³¹ elements made by one call (a larger one
  is a mistaken parameter). Strings are never taken for numbers, whether a function or
  an estimator receives them.

Modules, one per idea:

* :mod:`~lectlib.datasets` — data with ground truth: spectral mixtures, EELS, lattice
  images, ferroic and alloy crystals, the named datasets in ``data/``, and real images
  fetched from PyPI;
* :mod:`~lectlib.mixing` — the linear mixing model, Gaussian, Poisson and detector
  noise, resolution;
* :mod:`~lectlib.eels` — physics of the EELS references: plasmons, energy-loss function,
  edges; the zero-loss peak, plural scattering and its removal; delocalization;
* :mod:`~lectlib.lattice` — lattice and reciprocal vectors, Bragg spots, lattice points;
* :mod:`~lectlib.metrics` — scores against the truth: spectral angles, component and
  label matching, abundance error, χ², residual and noise statistics, detector gain,
  step widths;
* :mod:`~lectlib.regression` — fits with known endmembers (OLS, non-negative, Poisson);
* :mod:`~lectlib.decomposition` — PCA, noise edge, parallel analysis, Poisson
  weighting, correspondence analysis;
* :mod:`~lectlib.unmixing` — N-FINDR, the minimum-volume simplex, fully constrained
  least squares, Bayesian unmixing;
* :mod:`~lectlib.sliding` — sliding-window descriptors of images: FFT, autocorrelation,
  histograms, and the ground truth of windows;
* :mod:`~lectlib.crystallography` — atoms as descriptors: finding and refining atoms
  (classically and with a learned detector), neighbor vectors, point groups and
  symmetry-adapted modes, rotation-aligned neighborhood descriptors, tracking;
* :mod:`~lectlib.markov` — Markov state models: pooled transition counts, transition
  matrices with error bars, stationary distribution, timescales, the
  Chapman–Kolmogorov test;
* :mod:`~lectlib.provenance` — what produced a result: a pipeline's description, its
  random states, the versions and the data's hashes as JSON, and its bit-for-bit replay;
* :mod:`~lectlib.lazy` — the per-pixel methods on cubes larger than memory, block by
  block with dask, on one machine or a cluster;
* :mod:`~lectlib.plotting` — the course's figure style and figure helpers;
* :mod:`~lectlib.widgets` — sliders that work live and on the static site.
"""

from . import (
    crystallography,
    datasets,
    decomposition,
    eels,
    lattice,
    lazy,
    markov,
    metrics,
    mixing,
    plotting,
    provenance,
    regression,
    sliding,
    unmixing,
    widgets,
)

__version__ = "0.4.0"

__all__ = [
    "crystallography",
    "datasets",
    "decomposition",
    "eels",
    "lattice",
    "lazy",
    "markov",
    "metrics",
    "mixing",
    "plotting",
    "provenance",
    "regression",
    "sliding",
    "unmixing",
    "widgets",
    "__version__",
]
