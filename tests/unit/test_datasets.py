"""Unit and property tests of lectlib.datasets: make_mixture's ground truth,
load and export.

Expected values come from the model's definition (sum-to-one abundances,
``clean = A @ W``, the SNR formula, Poisson statistics, the Dirichlet marginals) or from
an independent run of the same recorded call, never from numbers copied out of a run.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from helpers import FAST

from lectlib.datasets import registry
from lectlib.datasets import DATASETS, export, load, make_mixture
from lectlib.metrics import pairwise_spectral_angles, snr_db
from lectlib.mixing import mix, unfold


def _rank(X, rtol=1e-8):
    s = np.linalg.svd(X, compute_uv=False)
    return int(np.sum(s > rtol * s[0]))


# -------------------------------------------------------------- make_mixture: the truth


@st.composite
def mixture_args(draw):
    n_components = draw(st.integers(1, 5))
    ny = draw(st.integers(2, 20))
    nx = draw(st.integers(2, 20))
    n_pure = draw(st.integers(0, min(3, (ny * nx) // n_components)))
    # Correlation lengths up to 1/8 of the grid: longer ones on small grids give NaN
    # abundances, a bug shown by test_small_grid_with_default_length_scale below.
    length_scale = draw(st.sampled_from([0.0, 0.5, 1.0, 2.0]))
    length_scale = length_scale if 8 * length_scale <= min(ny, nx) else 0.0
    return dict(
        n_components=n_components,
        shape=(ny, nx),
        n_channels=draw(st.integers(8, 48)),
        concentration=draw(st.floats(0.05, 20.0)),
        n_pure=n_pure,
        length_scale=length_scale,
        noise=draw(st.sampled_from(["gaussian", "poisson", None])),
        snr_db=draw(st.floats(0.0, 40.0)),
        dose=draw(st.floats(1.0, 500.0)),
        random_state=draw(st.integers(0, 2**31)),
    )


@FAST
@given(args=mixture_args())
def test_make_mixture_shapes_and_truth(args):
    d = make_mixture(**args)
    k, (ny, nx), c = args["n_components"], args["shape"], args["n_channels"]
    assert d.cube.shape == d.clean.shape == (ny, nx, c)
    assert d.energy.shape == (c,)
    assert d.endmembers.shape == (k, c)
    assert d.abundances.shape == (ny, nx, k)
    assert d.pure_pixels.shape == (k, args["n_pure"], 2)
    for key in ("cube", "clean", "energy", "endmembers", "abundances"):
        assert d[key].dtype == np.float64, key
        assert np.all(np.isfinite(d[key])), key
    np.testing.assert_allclose(d.energy, np.linspace(0.0, 100.0, c), rtol=0, atol=1e-12)

    # abundances live on the simplex
    assert np.all(d.abundances >= 0)
    np.testing.assert_allclose(d.abundances.sum(axis=-1), 1.0, rtol=0, atol=1e-12)
    # the clean cube is exactly the forward model of the returned truth
    np.testing.assert_array_equal(d.clean, mix(d.abundances, d.endmembers))

    # endmembers: positive and clearly distinct
    assert np.all(d.endmembers > 0)
    if k > 1:
        angles = pairwise_spectral_angles(d.endmembers, d.endmembers)
        assert angles[np.triu_indices(k, 1)].min() >= 12.0

    # pure pixels: exactly one-hot at their (row, col), all distinct
    pixels = d.pure_pixels.reshape(-1, 2)
    assert len({tuple(p) for p in pixels}) == len(pixels)
    for comp in range(k):
        for row, col in d.pure_pixels[comp]:
            assert 0 <= row < ny and 0 <= col < nx
            expected = np.zeros(k)
            expected[comp] = 1.0
            np.testing.assert_array_equal(d.abundances[row, col], expected)

    assert d.params["n_components"] == k and d.params["noise"] == args["noise"]
    assert isinstance(d.DESCR, str) and f"{k} endmembers" in d.DESCR


@FAST
@given(
    n_components=st.integers(1, 6),
    side=st.integers(8, 14),
    concentration=st.floats(0.3, 5.0),
    n_pure=st.integers(0, 1),
    seed=st.integers(0, 2**31),
)
def test_clean_rank_equals_n_components(
    n_components, side, concentration, n_pure, seed
):
    kwargs = dict(
        concentration=concentration, n_pure=n_pure, length_scale=1.0, random_state=seed
    )
    d = make_mixture(n_components, (side, side), 40, noise=None, **kwargs)
    assert _rank(unfold(d.clean)) == n_components
    # and noise makes it full rank
    noisy = make_mixture(n_components, (side, side), 40, snr_db=20.0, **kwargs)
    assert _rank(unfold(noisy.cube)) == 40


def test_no_pure_pixels_with_high_concentration():
    d = make_mixture(
        3, (40, 40), 16, concentration=50.0, n_pure=0, noise=None, random_state=1
    )
    assert d.abundances.max() < 0.99
    # the same draw with pure pixels does hold exactly pure ones
    e = make_mixture(
        3, (40, 40), 16, concentration=50.0, n_pure=1, noise=None, random_state=1
    )
    assert e.abundances.max() == 1.0


def test_concentration_controls_purity():
    medians = []
    for concentration in (0.1, 1.0, 10.0):
        d = make_mixture(
            3,
            (48, 48),
            16,
            concentration=concentration,
            n_pure=0,
            noise=None,
            random_state=4,
        )
        medians.append(np.median(d.abundances.max(axis=-1)))
    assert medians[0] > medians[1] > medians[2]
    assert medians[2] > 1 / 3  # the maximum of three fractions is never below a third


@pytest.mark.parametrize("concentration", [0.3, 1.0, 5.0])
def test_abundance_marginals_are_beta(concentration):
    # Dirichlet(a, ..., a) over k components has Beta(a, (k - 1) a) marginals. With
    # length_scale=0 the pixels are independent, so a KS test applies.
    k = 3
    d = make_mixture(
        k,
        (64, 64),
        8,
        concentration=concentration,
        n_pure=0,
        length_scale=0.0,
        noise=None,
        random_state=12,
    )
    marginal = stats.beta(concentration, (k - 1) * concentration)
    for comp in range(k):
        p = stats.kstest(d.abundances[..., comp].ravel(), marginal.cdf).pvalue
        assert p > 1e-3, (comp, p)


@pytest.mark.parametrize("seed", range(5))
def test_small_grid_with_default_length_scale(seed):
    # An 8 x 8 grid with the default length_scale=6 must still give finite abundances on
    # the simplex (it raised "abundances contains ... NaN" for most seeds when this was
    # written).
    d = make_mixture(3, (8, 8), 16, random_state=seed)
    assert np.all(np.isfinite(d.abundances))
    np.testing.assert_allclose(d.abundances.sum(axis=-1), 1.0, rtol=0, atol=1e-12)


def test_abundance_marginal_is_dirichlet_with_spatial_correlation():
    # "each pixel's abundances follow exactly Dirichlet(concentration)", also for
    # correlated maps: one pixel from each of many independent draws is a sample of that
    # marginal, Beta(a, (k - 1) a) for one component.
    k, a, n = 3, 1.0, 400
    values = np.array(
        [
            make_mixture(
                k,
                (32, 32),
                16,
                concentration=a,
                n_pure=0,
                length_scale=6.0,
                noise=None,
                random_state=seed,
            ).abundances[16, 10, 0]
            for seed in range(n)
        ]
    )
    marginal = stats.beta(a, (k - 1) * a)
    assert stats.kstest(values, marginal.cdf).pvalue > 1e-3
    # sample variance within 4 standard errors of the Beta variance
    var = marginal.var()
    se = np.sqrt(
        (
            marginal.moment(4)
            - 4 * marginal.mean() * marginal.moment(3)
            + 6 * marginal.mean() ** 2 * marginal.moment(2)
            - 3 * marginal.mean() ** 4
            - var**2
        )
        / n
    )
    assert abs(values.var() - var) < 4 * se


def test_gaussian_noise_level():
    d = make_mixture(3, (48, 48), 128, noise="gaussian", snr_db=22.0, random_state=3)
    # SNR estimate has std 10/ln10 * sqrt(2/N) ~ 0.011 dB for N = 48*48*128
    assert abs(snr_db(d.clean, d.cube) - 22.0) < 0.1
    expected_variance = np.mean(d.clean**2) / 10 ** (22.0 / 10)
    assert isinstance(d.noise_variance, float)
    assert d.noise_variance == pytest.approx(expected_variance, rel=1e-12)
    residual = d.cube - d.clean
    n = residual.size
    assert abs(residual.var() / d.noise_variance - 1) < 5 * np.sqrt(2 / n)


def test_poisson_noise_counts():
    dose = 40.0
    d = make_mixture(3, (32, 32), 64, noise="poisson", dose=dose, random_state=9)
    np.testing.assert_array_equal(d.cube, np.round(d.cube))  # counts
    assert d.cube.min() >= 0
    assert d.clean.mean() == pytest.approx(dose, rel=1e-12)
    np.testing.assert_array_equal(d.noise_variance, d.clean)
    np.testing.assert_array_equal(d.clean, mix(d.abundances, d.endmembers))
    residual = d.cube - d.clean
    n = residual.size
    assert abs(residual.mean()) < 5 * np.sqrt(dose / n)
    # Var(counts) = expected: standardized residuals have unit variance
    z2 = residual**2 / d.clean
    assert abs(z2.mean() - 1) < 5 * np.sqrt((2 + 1 / d.clean.min()) / n)


def test_no_noise():
    d = make_mixture(2, (10, 12), 20, noise=None, length_scale=1.0, random_state=0)
    np.testing.assert_array_equal(d.cube, d.clean)
    assert d.noise_variance == 0


def test_same_seed_same_data_different_seed_different():
    fields = ("cube", "clean", "energy", "endmembers", "abundances", "pure_pixels")
    a = make_mixture(3, (24, 24), 32, random_state=5)
    b = make_mixture(3, (24, 24), 32, random_state=5)
    c = make_mixture(3, (24, 24), 32, random_state=6)
    g = make_mixture(3, (24, 24), 32, random_state=np.random.default_rng(5))
    for key in fields:
        np.testing.assert_array_equal(a[key], b[key])
        np.testing.assert_array_equal(a[key], g[key])
    assert a.noise_variance == b.noise_variance
    for key in ("cube", "clean", "endmembers", "abundances"):
        assert not np.array_equal(a[key], c[key]), key


def test_energy_range_is_used():
    d = make_mixture(
        2, (4, 4), 11, energy_range=(400.0, 500.0), length_scale=0.0, random_state=0
    )
    np.testing.assert_allclose(d.energy, 400.0 + 10.0 * np.arange(11), rtol=1e-14)


@pytest.mark.parametrize(
    "kwargs, error, pattern",
    [
        (dict(n_components=0), ValueError, r"n_components must be >= 1, got 0"),
        (dict(n_components=2.5), TypeError, r"n_components must be an integer"),
        (dict(shape=(0, 4)), ValueError, r"shape\[0\] must be >= 1"),
        (dict(shape=(4,)), ValueError, r"shape must be a pair"),
        (dict(n_channels=1), ValueError, r"n_channels must be >= 2"),
        (
            dict(energy_range=(10.0, 5.0)),
            ValueError,
            r"energy_range must be increasing",
        ),
        (
            dict(energy_range=("a", "b")),
            TypeError,
            r"energy_range\[0\] must be a real number",
        ),
        (dict(concentration=0.0), ValueError, r"concentration must be > 0"),
        (dict(concentration=np.nan), ValueError, r"concentration must be finite"),
        (dict(n_pure=-1), ValueError, r"n_pure must be >= 0"),
        (
            dict(n_components=3, shape=(2, 2), n_pure=2),
            ValueError,
            r"n_components \* n_pure = 6 pure pixels do not fit in 2 x 2 = 4 pixels",
        ),
        (dict(length_scale=-1.0), ValueError, r"length_scale must be >= 0"),
        (
            dict(noise="laplace"),
            ValueError,
            r"noise must be 'gaussian', 'poisson' or None",
        ),
        (dict(snr_db=np.inf), ValueError, r"snr_db must be finite"),
        (dict(dose=0.0), ValueError, r"dose must be > 0"),
        (
            dict(random_state="seed"),
            TypeError,
            r"random_state must be None, a non-negative int",
        ),
        (
            dict(random_state=2.0),
            TypeError,
            r"random_state must be None, a non-negative int",
        ),
        (
            dict(random_state=-3),
            ValueError,
            r"random_state must be a non-negative integer",
        ),
    ],
)
def test_make_mixture_rejects_bad_parameters(kwargs, error, pattern):
    base = dict(n_components=2, shape=(6, 6), n_channels=16, random_state=0)
    base.update(kwargs)
    with pytest.raises(error, match=pattern):
        make_mixture(**base)


# ------------------------------------------------------------------------ load / export


def _assert_same_dataset(a, b):
    keys = set(DATASETS["mixture"]["fields"]) | {"clean"}
    for key in sorted(keys):
        x, y = np.asarray(a[key]), np.asarray(b[key])
        assert x.shape == y.shape, key
        if np.issubdtype(x.dtype, np.integer) or np.issubdtype(y.dtype, np.integer):
            assert np.issubdtype(x.dtype, np.integer) and np.issubdtype(
                y.dtype, np.integer
            ), key
            np.testing.assert_array_equal(x, y, err_msg=key)
        else:
            np.testing.assert_allclose(x, y, rtol=1e-12, atol=0, err_msg=key)


def test_committed_file_equals_regenerated(repo_root):
    from_file = load("mixture", source="file")
    generated = load("mixture", source="generate")
    assert generated.source == "generated"
    assert from_file.source == str(repo_root / "data" / "mixture.npz")
    _assert_same_dataset(from_file, generated)
    assert type(from_file.noise_variance) is type(generated.noise_variance) is float
    # and the named dataset is exactly the recorded make_* call
    spec = DATASETS["mixture"]
    made = spec["maker"](**spec["kwargs"])
    _assert_same_dataset(generated, made)
    assert from_file.cube.shape == (48, 48, 128)


def test_loaded_clean_is_forward_model():
    d = load("mixture")
    np.testing.assert_array_equal(d.clean, mix(d.abundances, d.endmembers))


def test_auto_reads_the_checkout_file(repo_root):
    d = load("mixture")
    assert d.source == str(repo_root / "data" / "mixture.npz")


def test_auto_generates_without_a_checkout(monkeypatch):
    monkeypatch.setattr(registry, "_data_dir", lambda: None)
    d = load("mixture")
    assert d.source == "generated"
    monkeypatch.undo()
    _assert_same_dataset(d, load("mixture", source="file"))


def test_file_source_without_checkout_raises(monkeypatch):
    monkeypatch.setattr(registry, "_data_dir", lambda: None)
    with pytest.raises(FileNotFoundError, match=r"course checkout"):
        load("mixture", source="file")


def test_missing_file_raises(monkeypatch, tmp_path):
    monkeypatch.setattr(registry, "_data_dir", lambda: tmp_path)
    with pytest.raises(FileNotFoundError, match=r"mixture\.npz is missing"):
        load("mixture", source="file")


def test_checksum_is_verified(monkeypatch, tmp_path, repo_root):
    shutil.copy(repo_root / "data" / "mixture.npz", tmp_path / "mixture.npz")
    monkeypatch.setattr(registry, "_data_dir", lambda: tmp_path)
    # the intact copy loads (so the failure below is due to the corruption)
    intact = load("mixture", source="file")
    assert intact.source == str(tmp_path / "mixture.npz")

    with np.load(tmp_path / "mixture.npz", allow_pickle=False) as f:
        arrays = {key: f[key] for key in f.files}
    arrays["cube"] = arrays["cube"].copy()
    arrays["cube"][3, 4, 5] += 1e-9
    np.savez_compressed(tmp_path / "mixture.npz", **arrays)
    for source in ("file", "auto"):
        with pytest.raises(ValueError, match=r"checksum"):
            load("mixture", source=source)


def test_checksum_catches_a_changed_dtype(monkeypatch, tmp_path, repo_root):
    with np.load(repo_root / "data" / "mixture.npz", allow_pickle=False) as f:
        arrays = {key: f[key] for key in f.files}
    arrays["pure_pixels"] = arrays["pure_pixels"].astype(
        np.int32
    )  # same values, other dtype
    np.savez_compressed(tmp_path / "mixture.npz", **arrays)
    monkeypatch.setattr(registry, "_data_dir", lambda: tmp_path)
    with pytest.raises(ValueError, match=r"checksum"):
        load("mixture", source="file")


def test_load_rejects_unknown_name_and_source():
    with pytest.raises(
        ValueError, match=r"unknown dataset 'mixtures'.*available: \['mixture'\]"
    ):
        load("mixtures")
    with pytest.raises(
        ValueError, match=r"source must be 'auto', 'file' or 'generate'"
    ):
        load("mixture", source="web")
    with pytest.raises(ValueError, match=r"unknown dataset"):
        export("nope", "/nonexistent")


def test_export_writes_a_plain_npz_that_load_reads_back(
    tmp_path, monkeypatch, repo_root
):
    path, checksum = export("mixture", tmp_path)
    assert path == tmp_path / "mixture.npz"
    with np.load(path, allow_pickle=False) as f:
        arrays = {key: f[key] for key in f.files}
    assert set(arrays) == set(DATASETS["mixture"]["fields"])
    # The returned checksum is that of the arrays written. It equals the recorded one
    # only where regeneration is bit-identical (the same CPU family and NumPy build);
    # the file itself is compared with the committed one below, to a relative 1e-12.
    assert registry._checksum(arrays) == checksum
    monkeypatch.setitem(DATASETS["mixture"], "sha256", checksum)
    for arr in arrays.values():
        assert arr.dtype != object
    # the exported file is what load() verifies and reads
    monkeypatch.setattr(registry, "_data_dir", lambda: tmp_path)
    exported = load("mixture", source="file")
    monkeypatch.undo()
    _assert_same_dataset(exported, load("mixture", source="file"))


def test_export_without_directory_and_checkout(monkeypatch):
    monkeypatch.setattr(registry, "_data_dir", lambda: None)
    with pytest.raises(FileNotFoundError, match=r"pass directory="):
        export("mixture")


def test_checksum_depends_on_every_array():
    arrays = {"a": np.arange(4.0), "b": np.ones((2, 2))}
    base = registry._checksum(arrays)
    variants = [
        {"a": np.arange(4.0) + 1e-12, "b": np.ones((2, 2))},
        {"a": np.arange(4.0), "b": np.ones(4)},  # same bytes, other shape
        {"a": np.arange(4.0), "c": np.ones((2, 2))},  # other name
    ]
    digests = [registry._checksum(v) for v in variants]
    assert base not in digests
    assert len(set(digests)) == len(digests)
    # independent of insertion order
    assert registry._checksum(dict(reversed(list(arrays.items())))) == base


def test_datasets_registry_fields_are_make_mixture_fields():
    for name, spec in DATASETS.items():
        d = spec["maker"](**spec["kwargs"])
        for field in spec["fields"]:
            assert field in d, (name, field)
        # every recorded kwarg is a real parameter of the maker, recorded in params
        assert set(d.params) >= set(spec["kwargs"]) - {"random_state"}


def test_each_family_registers_its_own_finish(monkeypatch):
    """The generic loader has no special case: the mixture's own finish adds `clean`
    (and a float noise variance), whether read or generated; a dataset without one gets
    only the stored arrays plus source and DESCR."""
    spec = registry.DATASETS["mixture"]
    assert spec["finish"] is not None and spec["maker"] is make_mixture
    for source in ("file", "generate"):
        d = load("mixture", source=source)
        assert isinstance(d.noise_variance, float)
        np.testing.assert_array_equal(d.clean, mix(d.abundances, d.endmembers))
    monkeypatch.setitem(
        registry.DATASETS,
        "tiny",
        dict(
            maker=make_mixture,
            kwargs=dict(shape=(4, 5), n_channels=8, random_state=1),
            fields=("cube", "energy"),
            sha256="",
            finish=None,
        ),
    )
    tiny = load("tiny", source="generate")
    assert sorted(tiny) == ["DESCR", "cube", "energy", "source"]
    assert tiny.DESCR.startswith("Dataset 'tiny': make_mixture(shape=(4, 5)")


def test_register_refuses_a_second_dataset_of_the_same_name():
    with pytest.raises(
        ValueError, match=r"a dataset named 'mixture' is already registered"
    ):
        registry.register("mixture", make_mixture, {}, fields=("cube",), sha256="")
