"""lectlib: the algorithms, datasets and widgets of the course
"Machine Learning for Spectroscopy and Imaging Data".

Conventions, the same in every module:

* A spectrum image is an array ``(ny, nx, n_channels)``; pixel coordinates are ``(row, col)``.
  Learning methods take a matrix ``X`` of shape ``(n_samples, n_features)``, one spectrum per
  row; :func:`lectlib.mixing.unfold` and :func:`lectlib.mixing.fold` convert between the two.
* Energies are in eV; arrays are float64.
* Randomness goes through ``random_state`` (None, an int or a ``numpy.random.Generator``).
* Datasets are ``make_*`` functions that return the data with their ground truth
  (:mod:`lectlib.datasets`).
* Bad input raises ``ValueError`` or ``TypeError`` naming what was expected and what came.

Modules: :mod:`~lectlib.datasets`, :mod:`~lectlib.mixing`, :mod:`~lectlib.metrics`,
:mod:`~lectlib.plotting`, :mod:`~lectlib.widgets`, :mod:`~lectlib.eels` (physics of the EELS
references), :mod:`~lectlib.regression` (fits with known endmembers),
:mod:`~lectlib.decomposition` (PCA, Poisson weighting, correspondence analysis),
:mod:`~lectlib.unmixing` (N-FINDR, fully constrained least squares, Bayesian unmixing),
:mod:`~lectlib.sliding` (sliding-window FFT, autocorrelation and histogram descriptors).
"""

from . import (datasets, decomposition, eels, metrics, mixing, plotting, regression, sliding,
               unmixing, widgets)

__version__ = "0.3.0"

__all__ = ["datasets", "decomposition", "eels", "metrics", "mixing", "plotting", "regression",
           "sliding", "unmixing", "widgets", "__version__"]
