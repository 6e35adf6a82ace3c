"""Local crystallography: atoms as descriptors of an atomic-resolution image.

A sliding window must trade spatial resolution against the quality of its Fourier
transform; atomic coordinates need no window. Six modules, in the order of the work:

* :mod:`~lectlib.crystallography.atoms` — find atoms (a filter matched to the atom
  size, a threshold set by the noise), refine all of them at once to sub-pixel
  positions (batched 2-D Gaussian fits or centers of mass), and the Cramér–Rao bound
  on a position from Poisson counts (:func:`find_atoms`, :func:`refine_positions`,
  :func:`position_crlb`);
* :mod:`~lectlib.crystallography.neighbors` — each atom's vectors to its neighbors in
  one slot order for every atom, the angles between them, and a least-squares fit of
  the lattice (:func:`neighbor_vectors`, :func:`neighbor_angles`,
  :func:`fit_lattice_vectors`);
* :mod:`~lectlib.crystallography.symmetry` — point groups and their character tables,
  symmetry-adapted displacement modes built with projection operators, mode
  amplitudes, the reduction of a representation, and the replicas of a descriptor
  under a group's operations (:func:`point_group`, :func:`character_table`,
  :func:`symmetry_modes`, :func:`mode_amplitudes`, :func:`reduce_representation`,
  :func:`replicas`);
* :mod:`~lectlib.crystallography.detector` — a learned atom detector: a classifier of
  image patches trained on frames with known atoms, evaluated densely like a small
  convolutional network (:class:`LearnedAtomDetector`);
* :mod:`~lectlib.crystallography.descriptors` — the neighborhood of a site as a
  density on a polar grid, and its alignment by the lattice's discrete rotations, so
  that every orientation of one configuration gives one vector
  (:func:`polar_descriptors`, :func:`align_rotations`);
* :mod:`~lectlib.crystallography.tracking` — positions found frame by frame linked
  into tracks, with gaps for missed frames (:func:`link_positions`).
"""

from .atoms import find_atoms, position_crlb, refine_positions
from .descriptors import align_rotations, polar_descriptors
from .detector import LearnedAtomDetector
from .neighbors import fit_lattice_vectors, neighbor_angles, neighbor_vectors
from .symmetry import (
    POINT_GROUPS,
    character_table,
    mode_amplitudes,
    point_group,
    reduce_representation,
    replicas,
    symmetry_modes,
)
from .tracking import link_positions

__all__ = [
    "find_atoms",
    "refine_positions",
    "position_crlb",
    "neighbor_vectors",
    "neighbor_angles",
    "fit_lattice_vectors",
    "POINT_GROUPS",
    "point_group",
    "character_table",
    "symmetry_modes",
    "mode_amplitudes",
    "reduce_representation",
    "replicas",
    "LearnedAtomDetector",
    "polar_descriptors",
    "align_rotations",
    "link_positions",
]
