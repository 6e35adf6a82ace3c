"""Finding atoms, refining them at the Cramér–Rao bound, and the bound itself
(lectlib.crystallography.atoms)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.spatial import cKDTree

from helpers import FAST
from lectlib.crystallography import find_atoms, position_crlb, refine_positions
from lectlib.datasets import add_image_noise, render_atoms
from lectlib.lattice import lattice_points, lattice_vectors
from lectlib.metrics import match_positions

OFFSETS = st.floats(-0.5, 0.5, allow_nan=False)


def _gaussians(shape, positions, heights, sigma, background=0.0):
    """Pixel-sampled Gaussian atoms: exactly the model refine_positions fits."""
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    image = np.full(shape, float(background))
    for (r, c), a in zip(
        np.atleast_2d(positions),
        np.broadcast_to(heights, len(np.atleast_2d(positions))),
    ):
        image += a * np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / (2 * sigma**2))
    return image


def _isolated_atoms(n_side, spacing, rng):
    """Atoms on a square grid, far apart, at random sub-pixel positions."""
    grid = np.arange(n_side) * spacing + spacing
    base = np.stack(np.meshgrid(grid, grid, indexing="ij"), -1).reshape(-1, 2)
    size = int((n_side + 1) * spacing)
    return base + rng.uniform(-0.5, 0.5, base.shape), (size, size)


def _recall_precision(found, truth, tolerance):
    """One-to-one matching within ``tolerance`` px."""
    m = match_positions(found, truth, tolerance)
    return m.recall, m.precision


def _lattice(shape=(200, 200), spacing=10.0, angle=7.0):
    a = lattice_vectors("square", spacing, angle)
    pts = lattice_points(shape, a, origin=(shape[0] / 2 + 0.3, shape[1] / 2 - 0.2))[0]
    inside = (
        (pts.min(axis=1) > 6) & (pts[:, 0] < shape[0] - 7) & (pts[:, 1] < shape[1] - 7)
    )
    return pts[inside]


# ------------------------------------------------------------------------- find_atoms


@FAST
@given(dr=OFFSETS, dc=OFFSETS, sigma=st.floats(1.0, 2.5))
def test_a_shifted_gaussian_is_found_at_its_sub_pixel_position(dr, dc, sigma):
    truth = np.array([11.0 + dr, 12.0 + dc])
    image = _gaussians((24, 24), truth, 100.0, sigma, background=3.0)
    gaussian = find_atoms(image, min_distance=5)
    assert gaussian.shape == (1, 2)
    assert np.abs(gaussian[0] - truth).max() < 1e-3
    com = find_atoms(image, min_distance=5, refine="com", atom_size=sigma)
    assert com.shape == (1, 2)
    # the 3σ disk around the nearest pixel cuts the atom's tails unevenly
    assert np.abs(com[0] - truth).max() < 0.05
    pixel = find_atoms(image, min_distance=5, refine=None)
    assert pixel.shape == (1, 2) and np.abs(pixel[0] - truth).max() <= 0.5


@pytest.mark.parametrize(
    ("amplitude", "background"), [(10.0, 3.0), (25.0, 20.0), (200.0, 5.0)]
)
def test_recall_and_precision_on_a_noisy_lattice(amplitude, background):
    # amplitude counts at an atom's peak (2π σ² A ≈ 140 counts in all for A = 10) on a
    # background of a few counts per pixel: each atom is barely visible in the raw
    # image, yet every one is found, and nothing else
    truth = _lattice()
    clean = render_atoms((200, 200), truth, atom_size=1.5) + background / amplitude
    image = add_image_noise(clean, "poisson", amplitude, random_state=1)
    found = find_atoms(image, min_distance=5)
    recall, precision = _recall_precision(found, truth, 10.0 / 3)
    assert recall >= 0.99 and precision >= 0.99, (recall, precision)
    if amplitude >= 100:
        # bright atoms: the refined positions are within a few hundredths of a pixel
        d = cKDTree(truth).query(found)[0]
        assert np.sqrt(np.mean(d**2)) < 0.05


def test_atoms_below_the_noise_are_not_found():
    # the same lattice at a third of the dose: the threshold keeps the false peaks out
    # and misses atoms instead (recall drops, precision stays)
    truth = _lattice()
    clean = render_atoms((200, 200), truth, atom_size=1.5) + 3.0 / 3.0
    image = add_image_noise(clean, "poisson", 3.0, random_state=1)
    recall, precision = _recall_precision(find_atoms(image, min_distance=5), truth, 3.3)
    assert recall < 0.5 and precision >= 0.99


@pytest.mark.parametrize("background", [0.3, 3.0, 20.0])
def test_pure_poisson_noise_has_no_atoms(background):
    # at 0.3 counts per pixel the counts are far from Gaussian: the threshold's
    # skewness correction keeps their long upper tail out
    counts = [
        len(
            find_atoms(
                add_image_noise(
                    np.full((256, 256), background), "poisson", 1.0, random_state=seed
                ),  # fmt: skip
                min_distance=5,
                refine=None,
            )
        )
        for seed in range(4)
    ]
    assert sum(counts) <= 1, counts


def test_gaussian_noise_and_flat_images_have_no_atoms():
    rng = np.random.default_rng(0)
    assert len(find_atoms(rng.normal(10.0, 1.0, (256, 256)), min_distance=4)) <= 1
    for flat in (np.zeros((30, 30)), np.full((30, 30), 7.0), np.full((30, 30), -2.0)):
        found = find_atoms(flat, min_distance=3)
        assert found.shape == (0, 2) and found.dtype == np.float64


def test_a_threshold_in_image_units_is_the_atoms_height():
    # heights 10, 30 and 50 above a background of 100: the filter reads heights
    truth = np.array([[10.0, 10.0], [10.0, 30.0], [30.0, 20.0]])
    image = _gaussians((40, 40), truth, [10.0, 30.0, 50.0], 1.5, background=100.0)
    assert len(find_atoms(image, min_distance=4, threshold=5.0)) == 3
    assert len(find_atoms(image, min_distance=4, threshold=20.0)) == 2
    assert len(find_atoms(image, min_distance=4, threshold=40.0)) == 1


def test_order_border_and_max_atoms():
    truth = np.array([[3.0, 20.0], [20.0, 30.2], [20.2, 10.0], [35.0, 25.0]])
    image = _gaussians((40, 40), truth, [60.0, 40.0, 50.0, 30.0], 1.5, 1.0)
    found = find_atoms(image, min_distance=4)
    # the atom 3 px from the edge is dropped; the rest come sorted by row, then col
    np.testing.assert_allclose(found, truth[[1, 2, 3]], atol=1e-3)
    assert len(find_atoms(image, min_distance=4, exclude_border=False)) == 4
    strongest = find_atoms(image, min_distance=4, max_atoms=2)
    np.testing.assert_allclose(strongest, truth[[1, 2]], atol=1e-3)


def test_a_flat_topped_peak_gives_one_atom():
    image = np.zeros((21, 21))
    image[9:12, 9:12] = 1.0  # nine equal maxima
    found = find_atoms(image, min_distance=3, refine=None)
    assert found.shape == (1, 2)


# -------------------------------------------------------------------- refine_positions


def test_overlapping_atoms_are_refined_jointly():
    # two atoms 2σ apart: each one's patch holds half of the other
    truth = np.array([[15.2, 15.3], [15.2 + 1.8, 15.3 + 2.4]])
    image = _gaussians((32, 32), truth, [100.0, 80.0], 1.5, background=5.0)
    start = np.round(truth)
    fit = refine_positions(image, start)
    assert fit.converged.all() and fit.n_iter <= 10
    np.testing.assert_allclose(fit.positions, truth, atol=1e-3)
    np.testing.assert_allclose(fit.amplitude, [100.0, 80.0], rtol=1e-3)
    np.testing.assert_allclose(fit.sigma, 1.5, rtol=1e-3)
    np.testing.assert_allclose(fit.background, 5.0, atol=1e-2)
    # fitted alone, each atom takes in part of the other and is pulled towards it
    alone = refine_positions(image, start, subtract_neighbors=False)
    pull = np.abs(alone.positions - truth).max(axis=1)
    assert np.all(pull > 0.3), pull
    # and a plain least-squares fit with neighbors handled is exact too
    lsq = refine_positions(image, start, noise="gaussian")
    np.testing.assert_allclose(lsq.positions, truth, atol=1e-3)


@pytest.mark.parametrize("background", ["local", "global"])
def test_a_cluster_of_overlapping_atoms_is_refined_jointly(background):
    # four atoms 2 to 3σ apart, each patch holding all the others: the blocks between
    # two neighbors of one patch are needed for the joint step to converge
    truth = np.array([[18.0, 18.2], [19.1, 21.5], [21.4, 18.9], [15.3, 20.7]])
    image = _gaussians((40, 40), truth, [100.0, 60.0, 80.0, 50.0], 1.5, 4.0)
    fit = refine_positions(image, np.round(truth), background=background)
    assert fit.converged.all() and fit.n_iter <= 20
    np.testing.assert_allclose(fit.positions, truth, atol=1e-3)
    np.testing.assert_allclose(fit.background, 4.0, atol=0.01)
    if background == "global":
        assert np.ptp(fit.background) == 0.0


@pytest.mark.parametrize(
    ("amplitude", "background"), [(20.0, 2.0), (100.0, 10.0), (500.0, 20.0)]
)
def test_the_gaussian_fit_reaches_the_cramer_rao_bound(amplitude, background):
    # isolated atoms rendered by lectlib.datasets, Poisson counts: the fit's
    # root-mean-square error is within 1.5 times the bound (it is ~1.05 here; the
    # rendering's bilinear split widens atoms a little)
    rng = np.random.default_rng(7)
    truth, shape = _isolated_atoms(14, 14.0, rng)
    clean = background + render_atoms(shape, truth, np.full(len(truth), amplitude),
                                      atom_size=1.5)  # fmt: skip
    image = rng.poisson(clean).astype(float)
    fit = refine_positions(image, np.round(truth))
    assert fit.converged.mean() >= 0.99
    rms = np.sqrt(np.mean((fit.positions - truth)[fit.converged] ** 2))
    bound = position_crlb(amplitude, 1.5, background, radius=4.5).mean()
    assert rms / bound < 1.25, rms / bound
    com = refine_positions(image, np.round(truth), method="com")
    assert np.sqrt(np.mean((com.positions - truth) ** 2)) > rms


def test_refinement_is_scale_invariant_and_keeps_its_input():
    rng = np.random.default_rng(3)
    truth, shape = _isolated_atoms(4, 12.0, rng)
    counts = rng.poisson(_gaussians(shape, truth, 60.0, 1.6, 4.0)).astype(float)
    start = np.round(truth)
    saved_image, saved_start = counts.copy(), start.copy()
    fit = refine_positions(counts, start)
    scaled = refine_positions(counts / 250.0, start)  # e.g. counts divided by a dose
    np.testing.assert_allclose(scaled.positions, fit.positions, atol=1e-6)
    np.testing.assert_allclose(scaled.amplitude * 250.0, fit.amplitude, rtol=1e-6)
    np.testing.assert_array_equal(counts, saved_image)
    np.testing.assert_array_equal(start, saved_start)


def test_centre_of_mass_fields():
    truth = np.array([[10.2, 10.4], [10.0, 22.7]])
    image = _gaussians((32, 32), truth, [50.0, 80.0], 1.5, 2.0)
    com = refine_positions(image, np.round(truth), method="com")
    assert set(com) == {
        "positions", "sigma", "amplitude", "background", "converged", "n_iter"
    }  # fmt: skip
    np.testing.assert_allclose(com.positions, truth, atol=0.02)
    np.testing.assert_allclose(com.background, 2.0, atol=0.15)  # the tails in the ring
    np.testing.assert_allclose(com.sigma, 1.5, rtol=0.1)  # truncated by the disk
    np.testing.assert_allclose(com.amplitude, [50.0, 80.0], rtol=0.15)
    assert com.converged.all()


def test_a_fit_with_no_atom_is_flagged_and_stays_finite():
    rng = np.random.default_rng(0)
    image = rng.poisson(5.0, (40, 40)).astype(float)
    image[10, 10] += 200.0  # an atom-free patch at (30, 30), one bright pixel
    start = np.array([[30.0, 30.0], [10.0, 10.0]])
    fit = refine_positions(image, start, sigma=1.5)
    for key in ("positions", "sigma", "amplitude", "background"):
        assert np.all(np.isfinite(fit[key]))
    assert not fit.converged.all()
    # a flagged atom keeps its starting position; every atom stays near its start
    assert np.all(np.abs(fit.positions - start) <= 4.5)
    bad = ~fit.converged
    assert np.all(fit.sigma[bad] > 0)


@FAST
@given(seed=st.integers(0, 2**16), n=st.integers(1, 6), noise=st.sampled_from(
    ["poisson", "gaussian"]
))  # fmt: skip
def test_any_image_gives_finite_results_without_warnings(seed, n, noise):
    rng = np.random.default_rng(seed)
    image = rng.normal(0.0, 1.0, (20, 20)) * rng.choice([1e-200, 1.0, 1e50])
    image += rng.choice([0.0, 3.0]) * np.abs(image).max()
    positions = rng.uniform(0.0, 19.0, (n, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for method in ("gaussian", "com"):
            fit = refine_positions(image, positions, method=method, noise=noise)
            for key in ("positions", "sigma", "amplitude", "background"):
                assert np.all(np.isfinite(fit[key])), key
            assert fit.positions.shape == (n, 2) and fit.converged.dtype == bool
        found = find_atoms(image, min_distance=2)
        assert np.all(np.isfinite(found))


def test_empty_positions_give_empty_results():
    fit = refine_positions(np.ones((10, 10)), np.zeros((0, 2)))
    assert fit.positions.shape == (0, 2) and fit.sigma.shape == (0,)
    assert fit.converged.shape == (0,) and fit.n_iter == 0
    assert refine_positions(np.ones((10, 10)), [], method="com").positions.shape == (
        0,
        2,
    )


# ----------------------------------------------------------------------- position_crlb


@pytest.mark.parametrize("sigma", [1.0, 1.5, 2.5])
def test_the_bound_of_a_bright_atom_on_no_background_is_sigma_over_root_n(sigma):
    amplitude = 1000.0
    n = 2 * np.pi * sigma**2 * amplitude
    for offset in (None, (0.0, 0.0), (0.37, -0.21)):
        bound = position_crlb(amplitude, sigma, 0.0, offset=offset)
        np.testing.assert_allclose(bound, sigma / np.sqrt(n), rtol=1e-3)


def test_the_bound_is_reached_by_a_brute_force_fit_at_high_dose():
    # Monte Carlo: 400 atoms of the exact model, Poisson counts, fitted; the spread of
    # the (unbiased) estimates matches the bound
    rng = np.random.default_rng(11)
    truth, shape = _isolated_atoms(20, 12.0, rng)
    image = rng.poisson(_gaussians(shape, truth, 500.0, 1.5, 5.0)).astype(float)
    fit = refine_positions(image, np.round(truth), sigma=1.5, radius=4.5)
    error = fit.positions - truth
    assert np.abs(error.mean(axis=0)).max() < 0.005  # unbiased
    ratio = error.std(axis=0) / position_crlb(500.0, 1.5, 5.0, radius=4.5)
    assert np.all(np.abs(ratio - 1) < 0.12), ratio


@FAST
@given(
    amplitude=st.floats(5.0, 1e4),
    sigma=st.floats(0.8, 3.0),
    background=st.floats(0.0, 100.0),
    k=st.floats(1.5, 20.0),
)
def test_the_bound_falls_as_one_over_root_dose_and_rises_with_background(
    amplitude, sigma, background, k
):
    bound = position_crlb(amplitude, sigma, background)
    assert bound.shape == (2,) and np.all(np.isfinite(bound)) and np.all(bound > 0)
    np.testing.assert_allclose(bound[0], bound[1], rtol=1e-9)  # averaged offsets
    # k times the dose: k times the counts of atom and background
    np.testing.assert_allclose(
        position_crlb(k * amplitude, sigma, k * background), bound / np.sqrt(k),
        rtol=1e-6,
    )  # fmt: skip
    assert np.all(position_crlb(amplitude, sigma, background + 5.0) > bound)
    assert np.all(position_crlb(k * amplitude, sigma, background) < bound)
    # fewer pixels, less information
    assert np.all(position_crlb(amplitude, sigma, background, radius=2.0) >= bound)


def test_the_bound_broadcasts():
    bound = position_crlb([[20.0], [100.0], [500.0]], 1.5, [2.0, 20.0])
    assert bound.shape == (3, 2, 2)
    assert np.all(np.diff(bound[:, :, 0], axis=0) < 0)  # brighter: tighter
    assert np.all(np.diff(bound[:, :, 0], axis=1) > 0)  # more background: looser
    assert position_crlb(100.0, 1.5, 2.0, offset=(0.5, -0.5)).shape == (2,)


# -------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: find_atoms(np.ones(10), min_distance=2), "image must be 2-D"),
        (lambda: find_atoms(np.ones((3, 4, 5)), min_distance=2), "image must be 2-D"),
        (lambda: find_atoms(np.full((9, 9), np.nan), min_distance=2), "NaN"),
        (lambda: find_atoms(np.full((9, 9), np.inf), min_distance=2), "infinite"),
        (lambda: find_atoms(np.ones((9, 9)), min_distance=0), "min_distance must be"),
        (lambda: find_atoms(np.ones((9, 9)), min_distance=-3), "min_distance must be"),
        (lambda: find_atoms(np.ones((9, 9)), min_distance=2, refine="fit"), "refine"),
        (lambda: find_atoms(np.ones((9, 9)), min_distance=2, atom_size=0), "atom_size"),
        (
            lambda: find_atoms(np.ones((9, 9)), min_distance=2, threshold=-1),
            "threshold",
        ),
        (lambda: find_atoms(np.ones((9, 9)), min_distance=2, max_atoms=0), "max_atoms"),
        (lambda: refine_positions(np.ones((9, 9)), np.ones((2, 3))), r"\(n_atoms, 2\)"),
        (
            lambda: refine_positions(np.ones((9, 9)), np.ones(2)),
            r"\(n_atoms, 2\)",
        ),
        (lambda: refine_positions(np.ones((9, 9)), [[1.0, np.nan]]), "positions"),
        (lambda: refine_positions(np.ones((9, 9)), [[4.0, 12.0]]), "inside the 9 × 9"),
        (
            lambda: refine_positions(np.ones((9, 9)), [[4.0, 4.0]], method="fit"),
            "method",
        ),
        (
            lambda: refine_positions(np.ones((9, 9)), [[4.0, 4.0]], noise="shot"),
            "noise",
        ),
        (
            lambda: refine_positions(np.ones((9, 9)), [[4, 4]], background="none"),
            "background",
        ),
        (lambda: refine_positions(np.ones((9, 9)), [[4.0, 4.0]], radius=0.5), "radius"),
        (lambda: refine_positions(np.ones((9, 9)), [[4.0, 4.0]], sigma=0.0), "sigma"),
        (
            lambda: refine_positions(np.ones((9, 9)), [[4, 4], [5, 5]], sigma=[1.0]),
            "sigma",
        ),
        (lambda: refine_positions(np.ones((9, 9)), [[4, 4]], max_iter=0), "max_iter"),
        (lambda: refine_positions(np.ones((9, 9)), [[4, 4]], tol=0.0), "tol"),
        (lambda: position_crlb(0.0, 1.5, 1.0), "amplitude must be > 0"),
        (lambda: position_crlb(10.0, -1.0, 1.0), "sigma must lie in"),
        (lambda: position_crlb(10.0, 1.5, -1.0), "background must be >= 0"),
        (lambda: position_crlb(10.0, 1.5, np.nan), "NaN"),
        (lambda: position_crlb([1.0, 2.0], [1.0, 2.0, 3.0], 1.0), "broadcast"),
        (lambda: position_crlb(10.0, 1.5, 1.0, radius=0.5), "radius"),
        (lambda: position_crlb(10.0, 1.5, 1.0, offset=(0.7, 0.0)), "offset"),
    ],
)
def test_bad_input_raises_a_clear_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_wrong_types_raise_type_errors():
    with pytest.raises(TypeError, match="min_distance"):
        find_atoms(np.ones((9, 9)), min_distance="5")
    with pytest.raises(TypeError, match="min_distance"):
        find_atoms(np.ones((9, 9)), min_distance=2.5)
    with pytest.raises(TypeError, match="exclude_border"):
        find_atoms(np.ones((9, 9)), min_distance=2, exclude_border="yes")
    with pytest.raises(TypeError, match="image"):
        find_atoms("image", min_distance=2)
    with pytest.raises(TypeError, match="subtract_neighbors"):
        refine_positions(np.ones((9, 9)), [[4, 4]], subtract_neighbors=None)
    # a whole-number float is an integer distance
    assert find_atoms(np.ones((9, 9)), min_distance=2.0).shape == (0, 2)
