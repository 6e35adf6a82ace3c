"""A learned atom detector: a per-pixel classifier on image patches, trained on
synthetic frames whose atoms are known.

The classical finder (:func:`~lectlib.crystallography.atoms.find_atoms`) is built from
a model of the image: a Gaussian atom, Poisson noise, a threshold set by that noise.
:class:`LearnedAtomDetector` learns the same decision from examples instead, as the
deep convolutional networks of Ziatdinov et al. (ACS Nano 11, 12742 (2017)) do: every
pixel is classified as "atom here" or not from the ``patch_size × patch_size`` window
around it. The default classifier, a scikit-learn multilayer perceptron with one
hidden layer applied to every window, is a small convolutional network (one layer of
``patch_size²``-wide filters, a ReLU, and a 1 × 1 convolution to the output), evaluated
densely over the image. Its probability map becomes positions as in the classical
finder: local maxima above a threshold, then a sub-pixel centroid.

What it knows is only what it was shown: images like the training frames. An image at
another scale, contrast or noise level lies outside that distribution, and the
detector has no model to fall back on.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import ndimage
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_array, check_is_fitted

from .._validation import (
    as_float_array,
    check_magnitude,
    check_option,
    check_random_state,
    check_scalar,
    check_size,
    reject_strings,
)
from .atoms import _disk_offsets, _int_like, _suppress_ties

__all__ = ["LearnedAtomDetector"]

#: Normalized intensities are clipped to this magnitude: far beyond anything a
#: classifier was trained on (its answer is saturated there), and small enough that no
#: product inside the classifier overflows.
_CLIP = 1e6
#: Largest patch side accepted (a 49 × 49 window already holds 2,401 features).
_MAX_PATCH = 49


def _default_classifier(n_train):
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(
        hidden_layer_sizes=(24,),
        alpha=1e-3,
        batch_size=min(500, n_train),
        learning_rate_init=0.01,
        max_iter=40,
        tol=1e-4,
        n_iter_no_change=5,
    )


def _check_images(images, name="images", ndim=(2, 3)):
    """Images as float64, ``(n, h, w)`` (or ``(h, w)`` when only 2-D is allowed).

    scikit-learn's validator, so that the messages for empty, complex and non-finite
    input are the ones its estimator checks expect; strings are refused and
    magnitudes bounded as everywhere in lectlib.
    """
    if isinstance(images, (str, bytes)):
        raise TypeError(f"{name} must be a numeric array, got a string: {images!r}")
    reject_strings(images, name)
    arr = check_array(images, dtype=np.float64, allow_nd=True, input_name=name)
    if arr.ndim not in ndim:
        shapes = " or ".join(
            {2: "(height, width)", 3: "(n_images, height, width)"}[d] for d in ndim
        )
        raise ValueError(
            f"{name} must be {shapes}, got a {arr.ndim}-D array of shape {arr.shape}"
        )
    check_magnitude(arr, name)
    return arr[None] if arr.ndim == 2 and 3 in ndim else arr


def _check_positions(positions, n_images):
    """A list of ``n_images`` float arrays (n_atoms_i, 2)."""
    expected = (
        "a list of (n_atoms, 2) arrays of (row, col), one per image (for one image, "
        "its (n_atoms, 2) array alone)"
    )
    if positions is None:
        raise ValueError(
            "fit needs the true positions of the atoms. Expected array-like (array "
            f"or non-string sequence), got None: {expected}"
        )
    if isinstance(positions, (str, bytes, dict)) or not hasattr(positions, "__len__"):
        raise TypeError(f"positions must be {expected}, got {type(positions).__name__}")
    if isinstance(positions, np.ndarray) and positions.dtype != object:
        if positions.ndim == 2 and n_images == 1:
            positions = [positions]
        elif positions.ndim == 3:
            positions = list(positions)
        else:
            raise ValueError(
                f"positions must be {expected}, got an array of shape "
                f"{positions.shape} for {n_images} image(s)"
            )
    elif n_images == 1 and len(positions) and _is_pair(positions[0]):
        positions = [positions]  # one image's atoms as a list of (row, col) pairs
    if len(positions) != n_images:
        raise ValueError(
            f"positions must hold one (n_atoms, 2) array per image: {n_images} "
            f"image(s), got {len(positions)} array(s)"
        )
    out = []
    for i, p in enumerate(positions):
        p = as_float_array(p, f"positions[{i}]", allow_empty=True)
        if p.size == 0:
            p = p.reshape(0, 2)
        if p.ndim != 2 or p.shape[1] != 2:
            raise ValueError(
                f"positions[{i}] must have shape (n_atoms, 2) of (row, col), got "
                f"{p.shape}"
            )
        out.append(p)
    return out


def _is_pair(item):
    """Whether ``item`` is one (row, col) pair of numbers, not an array of pairs."""
    return (
        isinstance(item, (list, tuple, np.ndarray))
        and np.ndim(item) == 1
        and len(item) == 2
    )


def _robust_center_scale(image):
    """The median and the mean absolute deviation from it (1 for a flat image)."""
    center = float(np.median(image))
    scale = float(np.mean(np.abs(image - center)))
    return center, (scale if scale > 0 else 1.0)


def _label_map(shape, positions, radius):
    """True where a pixel lies within ``radius`` of an atom."""
    h, w = shape
    labels = np.zeros(shape, bool)
    near = (
        (positions[:, 0] > -radius - 1)
        & (positions[:, 0] < h + radius)
        & (positions[:, 1] > -radius - 1)
        & (positions[:, 1] < w + radius)
    )
    positions = positions[near]  # atoms whose disk may touch the image
    if not len(positions):
        return labels
    offsets = _disk_offsets(radius + 1.0).astype(np.intp)
    check_size(len(positions) * len(offsets) * 4, "the atoms' labelled disks")
    base = np.rint(positions).astype(np.intp)
    rows = base[:, :1] + offsets[:, 0]  # (n_atoms, K)
    cols = base[:, 1:] + offsets[:, 1]
    d2 = (rows - positions[:, :1]) ** 2 + (cols - positions[:, 1:]) ** 2
    inside = (d2 <= radius**2) & (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
    labels[rows[inside], cols[inside]] = True
    return labels


def _plateau_centers(peak):
    """One pixel per 8-connected group of peak pixels: the one nearest the group's
    center of mass (a flat top of the probability map is one peak, not many)."""
    groups, n = ndimage.label(peak, structure=np.ones((3, 3), bool))
    coords = np.argwhere(peak)
    if n == len(coords):  # every peak is a single pixel: the usual case
        return coords
    group = groups[peak] - 1
    count = np.bincount(group, minlength=n)
    center = np.stack(
        [np.bincount(group, coords[:, k], minlength=n) / count for k in (0, 1)], 1
    )
    distance = np.sum((coords - center[group]) ** 2, axis=1)
    order = np.lexsort((distance, group))
    _, first = np.unique(group[order], return_index=True)
    return coords[np.sort(order[first])]


class LearnedAtomDetector(BaseEstimator):
    """Atoms in an image by a classifier of image patches, learned from examples.

    Trained on images whose atoms are known, it labels every pixel within
    ``label_radius`` of an atom "atom" and every other pixel "background", learns to
    tell the two apart from the ``patch_size × patch_size`` window around the pixel,
    and finds atoms in new images as the peaks of its probability map.

    Parameters
    ----------
    classifier : scikit-learn classifier, optional
        Any classifier with ``predict_proba`` (it is cloned, and its ``random_state``,
        if it has one, set from ``random_state``). Default: a multilayer perceptron
        with one hidden layer of 24 ReLU units, trained by Adam for at most 40
        epochs (``MLPClassifier(hidden_layer_sizes=(24,), alpha=1e-3,
        batch_size=500, learning_rate_init=0.01, max_iter=40)``; its
        ``ConvergenceWarning`` at 40 epochs is not shown): a small convolutional
        network when applied to every window.
    patch_size : int, default=7
        Side of the square window each pixel is classified from, in pixels: odd,
        3 to 49. It should hold an atom and a little of its surroundings (about
        4 atom widths).
    label_radius : float, default=1.5
        Pixels within this distance of a true atom (in pixels, > 0 and at most
        ``patch_size``) are the "atom" class when training. About the atom's width:
        the disk must be small enough that neighboring atoms' disks stay apart.
    normalize : {"image", None}, default="image"
        ``"image"``: every image is centered on its median and divided by its mean
        absolute deviation from the median before its patches are taken, so that
        the detector sees contrast, whatever the dose or the detector's gain.
        ``None``: the one center and scale of all training images (computed the
        same way) are applied to every image, training or new: the detector sees
        intensities as they come.
    threshold : float, default=0.5
        A peak of the probability map is an atom if it exceeds this (0 < threshold
        < 1).
    min_distance : int, default=2
        The smallest distance between two atoms, in pixels (≥ 1): a peak is the
        largest probability in the ``(2 min_distance + 1)²`` square around it.
    n_train_pixels : int, default=20000
        Pixels drawn from the training images to fit the classifier (≥ 2): half of
        them atom pixels, half background pixels, drawn at random.
    random_state : None, int, numpy.random.SeedSequence or numpy.random.Generator
        Seeds the draw of training pixels and the classifier.

    Attributes
    ----------
    classifier_ : scikit-learn classifier
        The fitted clone of ``classifier``.
    patch_size_ : int
        The window side the classifier was trained on.
    normalization_ : (float, float) or None
        With ``normalize=None``, the ``(center, scale)`` of the training images
        applied to every image; ``None`` with ``normalize="image"``.
    n_atom_pixels_ : int
        Atom pixels in the training images (of all pixels, those within
        ``label_radius`` of an atom).
    n_background_pixels_ : int
        Background pixels in the training images.
    training_score_ : float
        Balanced accuracy of the classifier on the pixels it was trained on.

    See Also
    --------
    lectlib.crystallography.find_atoms : the classical finder, from a model of the
        atom and of the noise instead of examples; needs no training.
    lectlib.crystallography.refine_positions : a Gaussian fit of positions found by
        either, towards the Cramér–Rao bound.
    lectlib.metrics.match_positions : recall and precision of found positions.

    Notes
    -----
    **Training.** Each image is normalized (``normalize``) and padded by reflection by
    ``patch_size // 2`` pixels; the window around each pixel, flattened, is that
    pixel's feature vector (``numpy.lib.stride_tricks.sliding_window_view``: no loop
    over pixels). A pixel's label is 1 if it lies within ``label_radius`` of a true
    atom. Atom pixels are few (about 16 % of a graphene image for the default
    radius), so ``n_train_pixels / 2`` of each class are drawn (with replacement only
    if a class has fewer pixels): a balanced sample, so that the classifier's 0.5 is
    the point where both classes are equally likely a priori.

    **Detection.** The classifier gives every pixel's probability of being an atom
    pixel (one matrix product per layer for the whole image). Peaks are the pixels
    that are the largest in their ``(2 min_distance + 1)²`` square and above
    ``threshold`` (a flat top counts once); of peaks closer than ``min_distance``
    the stronger stays. Each position is then the probability-weighted centroid of
    the pixels within ``label_radius + 1`` of its peak pixel: the atom's disk of
    high probability is symmetric about the atom, and its rim, where the probability
    falls, says where the disk's edge is to a fraction of a pixel.

    **What it has not seen.** The classifier knows the images it was trained on and
    nothing else. With ``normalize=None`` it learns a level of intensity: at a lower
    dose than in training every atom is fainter than any it saw, and it finds few or
    none. With ``normalize="image"`` another dose changes only the noise, not the
    intensities the classifier sees, but a frame without atoms (vacuum, a hole) has
    its noise stretched to the contrast of atoms and is read as a frame of atoms;
    and atoms much wider than in training (a smaller pixel size) fill the window
    with a flat top that fires several peaks per atom. The classical
    :func:`~lectlib.crystallography.find_atoms` takes the atom's size as a parameter
    and sets its threshold from each image's noise, so it does not fail in these
    ways; the remedy here is to train on frames that span the conditions.

    The method is the patch-wise form of the fully convolutional networks of
    Ziatdinov et al., ACS Nano 11, 12742 (2017), who trained deep networks on
    simulated images to find atoms in noisy frames of Si-doped graphene. One hidden
    layer keeps it within scikit-learn: it trains in under a second on 20,000 pixels
    and classifies a 128 × 128 image in a few milliseconds.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.crystallography import LearnedAtomDetector
    >>> from lectlib.datasets import add_image_noise, render_atoms
    >>> from lectlib.lattice import lattice_points, lattice_vectors
    >>> from lectlib.metrics import match_positions
    >>> rng = np.random.default_rng(0)
    >>> def frame(angle):  # atoms 6 px apart, 1.5 px wide, 10 counts at a peak
    ...     vectors = lattice_vectors("hexagonal", 6.0, angle)
    ...     atoms = lattice_points((48, 48), vectors, origin=(24.0, 24.0))[0]
    ...     clean = render_atoms((48, 48), atoms, atom_size=1.5) + 0.1
    ...     return add_image_noise(clean, "poisson", 10.0, random_state=rng), atoms
    >>> images, atoms = zip(*[frame(angle) for angle in (0.0, 20.0, 40.0)])
    >>> detector = LearnedAtomDetector(random_state=0).fit(images, atoms)
    >>> image, truth = frame(10.0)  # a new frame, at an orientation never seen
    >>> proba = detector.predict_proba(image)
    >>> proba.shape, bool(0 <= proba.min() and proba.max() <= 1)
    ((48, 48), True)
    >>> match = match_positions(detector.predict(image), truth, max_distance=2.0)
    >>> bool(match.recall > 0.95 and match.precision > 0.95)
    True
    """

    def __init__(
        self,
        classifier=None,
        *,
        patch_size=7,
        label_radius=1.5,
        normalize="image",
        threshold=0.5,
        min_distance=2,
        n_train_pixels=20000,
        random_state=None,
    ):
        self.classifier = classifier
        self.patch_size = patch_size
        self.label_radius = label_radius
        self.normalize = normalize
        self.threshold = threshold
        self.min_distance = min_distance
        self.n_train_pixels = n_train_pixels
        self.random_state = random_state

    # ------------------------------------------------------------------ parameters

    def _check_patch_size(self):
        size = _int_like(self.patch_size, "patch_size", low=3, high=_MAX_PATCH)
        if size % 2 == 0:
            raise ValueError(
                f"patch_size must be odd (a window centered on its pixel), got {size}"
            )
        return size

    def _check_predict_params(self):
        threshold = check_scalar(
            self.threshold,
            "threshold",
            low=0.0,
            high=1.0,
            low_inclusive=False,
            high_inclusive=False,
        )
        min_distance = _int_like(self.min_distance, "min_distance", low=1, high=1000)
        return threshold, min_distance

    # ---------------------------------------------------------------------- helpers

    def _normalized(self, image, normalization):
        center, scale = (
            _robust_center_scale(image) if normalization is None else normalization
        )
        out = (image - center) / scale
        return np.clip(out, -_CLIP, _CLIP, out=out)

    def _padded(self, image, normalization, size):
        half = size // 2
        return np.pad(self._normalized(image, normalization), half, mode="symmetric")

    # ------------------------------------------------------------------------- fit

    def fit(self, images, positions):
        """Learn to classify pixels as atom or background from images with known atoms.

        Parameters
        ----------
        images : array_like of shape (n_images, height, width) or (height, width)
            Training images (one size for all); a list of equal-sized images works too.
        positions : list of array_like of shape (n_atoms, 2)
            The true ``(row, col)`` of every atom, one array per image (for one 2-D
            image, its ``(n_atoms, 2)`` array alone). Atoms just outside an image may
            be included: their pixels inside it are labelled.

        Returns
        -------
        self : LearnedAtomDetector
        """
        imgs = _check_images(images)
        atoms = _check_positions(positions, len(imgs))
        size = self._check_patch_size()
        radius = check_scalar(
            self.label_radius,
            "label_radius",
            low=0.0,
            low_inclusive=False,
            high=float(size),
        )
        check_option(self.normalize, "normalize", ("image", None))
        self._check_predict_params()
        n_train = _int_like(self.n_train_pixels, "n_train_pixels", low=2)
        check_size(n_train * size * size, "the training patches")
        rng = check_random_state(self.random_state)
        classifier = (
            _default_classifier(n_train) if self.classifier is None else self.classifier
        )
        if not (hasattr(classifier, "fit") and hasattr(classifier, "predict_proba")):
            raise TypeError(
                "classifier must be a scikit-learn classifier with fit and "
                f"predict_proba, got {type(classifier).__name__}"
            )
        classifier = clone(classifier)

        n, h, w = imgs.shape
        labels = np.stack([_label_map((h, w), p, radius) for p in atoms])
        n_atom = int(labels.sum())
        n_background = labels.size - n_atom
        if n_atom == 0 or n_background == 0:
            missing = "atom" if n_atom == 0 else "background"
            raise ValueError(
                f"the training images hold no {missing} pixel (pixels within "
                f"label_radius={radius:g} px of a true atom are atom pixels; "
                f"{n_atom} of {labels.size} are): both classes are needed"
            )
        if self.normalize is None:
            center = float(np.median(imgs))
            scale = float(np.mean(np.abs(imgs - center)))
            normalization = (center, scale if scale > 0 else 1.0)
        else:
            normalization = None

        flat = labels.ravel()
        atom_index = np.flatnonzero(flat)
        background_index = np.flatnonzero(~flat)
        half = n_train // 2
        chosen = np.concatenate(
            [
                rng.choice(atom_index, half, replace=len(atom_index) < half),
                rng.choice(
                    background_index,
                    n_train - half,
                    replace=len(background_index) < n_train - half,
                ),
            ]
        )
        y = np.repeat([1, 0], [half, n_train - half])
        X = np.empty((n_train, size * size))
        image_of, pixel = np.divmod(chosen, h * w)
        row, col = np.divmod(pixel, w)
        for i in range(n):  # a loop over images, not pixels
            mine = image_of == i
            if not mine.any():
                continue
            padded = self._padded(imgs[i], normalization, size)
            windows = np.lib.stride_tricks.sliding_window_view(padded, (size, size))
            X[mine] = windows[row[mine], col[mine]].reshape(-1, size * size)
        if "random_state" in classifier.get_params():
            classifier.set_params(random_state=int(rng.integers(2**31 - 1)))
        with warnings.catch_warnings():
            if self.classifier is None:
                # the default's epochs are capped by design (max_iter=40, under a
                # second): stopping there is not a failure to report
                warnings.simplefilter("ignore", ConvergenceWarning)
            classifier.fit(X, y)
        classes = list(getattr(classifier, "classes_", []))
        if classes != [0, 1]:
            raise ValueError(
                f"the classifier must learn the classes [0, 1], got {classes}"
            )
        proba = classifier.predict_proba(X)[:, 1]
        guess = proba > 0.5
        self.training_score_ = float(
            0.5 * (np.mean(guess[y == 1]) + np.mean(~guess[y == 0]))
        )
        self.classifier_ = classifier
        self.patch_size_ = size
        self.normalization_ = normalization
        self.n_atom_pixels_ = n_atom
        self.n_background_pixels_ = n_background
        self.label_radius_ = radius
        return self

    # --------------------------------------------------------------------- predict

    def predict_proba(self, image):
        """The probability that each pixel is an atom pixel.

        Parameters
        ----------
        image : array_like of shape (height, width)
            Any size (not only the training images').

        Returns
        -------
        proba : ndarray of shape (height, width)
            Values in [0, 1].
        """
        check_is_fitted(self)
        image = _check_images(image, "image", ndim=(2,))
        size = self.patch_size_
        check_size(image.size * size * size, "the image's patches")
        padded = self._padded(image, self.normalization_, size)
        windows = np.lib.stride_tricks.sliding_window_view(padded, (size, size))
        X = windows.reshape(-1, size * size)
        proba = self.classifier_.predict_proba(X)[:, 1]
        return np.clip(proba, 0.0, 1.0).reshape(image.shape)

    def predict(self, image):
        """The atoms of an image: peaks of the probability map, refined.

        Parameters
        ----------
        image : array_like of shape (height, width)

        Returns
        -------
        positions : ndarray of shape (n_atoms, 2)
            ``(row, col)`` of every atom, in pixels, sorted by row, then by column;
            shape ``(0, 2)`` when there is none.
        """
        check_is_fitted(self)
        threshold, md = self._check_predict_params()
        proba = self.predict_proba(image)
        size = 2 * md + 1
        peak = proba == ndimage.maximum_filter(proba, size=size, mode="nearest")
        peak &= proba > threshold
        coords = _plateau_centers(peak)
        if not len(coords):
            return np.zeros((0, 2))
        keep = _suppress_ties(coords, proba[coords[:, 0], coords[:, 1]], md)
        coords = coords[keep]
        # probability-weighted centroid of the disk around each peak pixel
        reach = self.label_radius_ + 1.0
        offsets = _disk_offsets(reach).astype(np.intp)
        rows = coords[:, :1] + offsets[:, 0]
        cols = coords[:, 1:] + offsets[:, 1]
        h, w = proba.shape
        inside = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
        weight = np.where(
            inside, proba[np.clip(rows, 0, h - 1), np.clip(cols, 0, w - 1)], 0.0
        )
        total = weight.sum(axis=1)  # > threshold > 0: the peak pixel is in it
        positions = (
            np.stack([(weight * rows).sum(axis=1), (weight * cols).sum(axis=1)], axis=1)
            / total[:, None]
        )
        return positions[np.lexsort((positions[:, 1], positions[:, 0]))]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.target_tags.required = True
        return tags
