"""Datasets with known ground truth, and the named datasets of the course.

Every ``make_*`` function returns a :class:`sklearn.utils.Bunch` holding the data, their
axes and the truth they were made from, so that every claim of the course can be checked
against a number. All randomness goes through ``random_state``; nothing is downloaded,
except by the fetchers of real data.

One module per family of data, all importable from here:

* :mod:`~lectlib.datasets.spectra` — spectrum images of the linear mixing model
  (:func:`make_mixture`);
* :mod:`~lectlib.datasets.eels` — an EELS spectrum image of an oxide heterostructure,
  built from the physics in :mod:`lectlib.eels` (:func:`make_eels_interface`);
* :mod:`~lectlib.datasets.lattices` — atomic-resolution images of crystals: grains of
  several phases, the charge orders of the α-RuCl₃ surface
  (:func:`make_lattice_phases`, :func:`make_charge_order`);
* :mod:`~lectlib.datasets.spm` — a scanning-probe spectroscopic image: a
  band-excitation PFM map of ferroelectric hysteresis loops (:func:`make_pfm_loops`,
  :func:`pfm_loop`);
* :mod:`~lectlib.datasets.ferroics` — a ferroelectric perovskite with polar domains,
  a flux closure, non-polar and antipolar regions (:func:`make_ferroic_lattice`);
* :mod:`~lectlib.datasets.alloys` — a Mo₁₋ₓReₓS₂-like composition series whose Re
  chains break the hexagonal symmetry (:func:`make_alloy_series`);
* :mod:`~lectlib.datasets.dynamics` — a movie of Si dopants in graphene whose local
  configuration changes from frame to frame by a known Markov chain
  (:func:`make_dopant_movie`);
* :mod:`~lectlib.datasets.fetchers` — real images downloaded once from PyPI, checked
  and cached: SrTiO₃ ADF/ABF from atomap's wheel (:func:`fetch_srtio3`);
* :mod:`~lectlib.datasets.rendering` — atoms and detector noise shared by the image
  datasets (:func:`render_atoms`, :func:`add_image_noise`);
* :mod:`~lectlib.datasets.registry` — named, fixed datasets: :func:`load` returns one
  from the committed file in ``data/`` when lectlib runs from a checkout of the course,
  otherwise (e.g. on Colab) by regenerating the identical arrays; :func:`export` writes
  the file. The test suite checks that both give the same numbers.
"""

from .alloys import ALLOY_SPECIES, make_alloy_series
from .dynamics import DOPANT_CLASSES, make_dopant_movie
from .eels import make_eels_interface
from .ferroics import FERROIC_VARIANTS, make_ferroic_lattice
from .fetchers import fetch_srtio3, get_data_home
from .lattices import (
    CHARGE_ORDER_SPOTS,
    CHARGE_ORDERS,
    LATTICE_PHASES,
    make_charge_order,
    make_lattice_phases,
)
from .registry import DATASETS, export, load, register
from .rendering import add_image_noise, render_atoms
from .spectra import make_mixture
from .spm import PFM_PARAMETERS, PFM_REGIONS, make_pfm_loops, pfm_loop

__all__ = [
    "make_mixture",
    "make_eels_interface",
    "make_lattice_phases",
    "make_charge_order",
    "LATTICE_PHASES",
    "CHARGE_ORDERS",
    "CHARGE_ORDER_SPOTS",
    "make_pfm_loops",
    "pfm_loop",
    "PFM_REGIONS",
    "PFM_PARAMETERS",
    "make_ferroic_lattice",
    "FERROIC_VARIANTS",
    "make_alloy_series",
    "ALLOY_SPECIES",
    "make_dopant_movie",
    "DOPANT_CLASSES",
    "fetch_srtio3",
    "get_data_home",
    "render_atoms",
    "add_image_noise",
    "load",
    "export",
    "register",
    "DATASETS",
]
