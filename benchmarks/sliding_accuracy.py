"""How close the spectra are: lectlib's to the floor's, and the peers' to lectlib's.

The part of ``bench_sliding.py`` that compares numbers, without a stopwatch:

* :func:`check_accuracy`: lectlib's magnitudes and log features against |rfft2| of the
  Hann-tapered windows (the enforced accuracy target), element by element in the order
  of ``frequencies_``;
* :func:`lectlib_spectra`: lectlib's Hann and untapered magnitudes as full 64 × 64
  planes, and their leakage (:func:`spectrum_measures`);
* :func:`compare_peer`: a peer's spectra (from ``sliding_peers.py``) against what it
  should compute and against lectlib's, by the same measures.
"""

from __future__ import annotations

import numpy as np
from scipy import fft as sp_fft
from scipy import ndimage

from lectlib.sliding import SlidingFFT

from sliding_case import CROP, STEP, WINDOW, hann_taper, lectlib_variants, window_stack

TOL = {"float64": 1e-10, "float32": 1e-5}
PEAKS = 12  # strongest local maxima of the power spectrum counted as "the peaks"
PEAK_RADIUS = 2  # their neighborhoods: (2 r + 1)² bins
DC_RADIUS = 2  # bins with |k| ≤ this are left out of the leakage measures


# ----------------------------------------------------------------------- frequency bins


def frequency_index(frequencies):
    """Row and column of each of lectlib's features in a
    natural-order full FFT plane."""
    fy, fx = np.asarray(frequencies).T
    iy, ix = np.rint(fy * WINDOW).astype(int), np.rint(fx * WINDOW).astype(int)
    if not (
        np.allclose(fy * WINDOW, iy, atol=1e-9)
        and np.allclose(fx * WINDOW, ix, atol=1e-9)
        and ix.min() >= 0
        and ix.max() <= WINDOW // 2
        and np.abs(iy).max() <= WINDOW // 2
    ):
        raise RuntimeError(
            "lectlib's frequencies_ are not FFT bins of a 64 × 64 half plane"
        )
    return iy % WINDOW, ix, iy


def half_to_full(half):
    """(n, 64, 33) natural-order rfft2 magnitudes → (n, 64, 64), by |F(−k)| = |F(k)|."""
    n = half.shape[0]
    full = np.empty((n, WINDOW, WINDOW), dtype=half.dtype)
    full[:, :, : WINDOW // 2 + 1] = half
    neg_rows = (-np.arange(WINDOW)) % WINDOW
    full[:, :, WINDOW // 2 + 1 :] = half[:, neg_rows][:, :, WINDOW // 2 - 1 : 0 : -1]
    return full


def lectlib_to_full(features, model):
    """lectlib's uncropped magnitudes (n, 2112) → natural-order
    full planes (n, 64, 64)."""
    iy, ix, _ = frequency_index(model.frequencies_)
    half = np.zeros((features.shape[0], WINDOW, WINDOW // 2 + 1), dtype=np.float64)
    half[:, iy, ix] = features
    return half_to_full(half)


def grid_index(positions, n_cols):
    """Window (row, col) offsets in pixels → row-major index in
    lectlib's window order."""
    positions = np.asarray(positions)
    if (positions % STEP).any():
        raise RuntimeError("a peer window does not start on the 8-px grid")
    return positions[:, 0] // STEP * n_cols + positions[:, 1] // STEP


# ----------------------------------------------------------------------------- measures


def rel_max_diff(a, b):
    """max |a − b| / max |b|."""
    return float(np.abs(np.asarray(a, np.float64) - b).max() / np.abs(b).max())


def spectrum_measures(full, reference=None, chunk=1024):
    """Per-window leakage, and the difference in shape to ``reference``,
    of magnitude planes.

    ``full`` (n, 64, 64): magnitudes in natural FFT order. Bins with |k| ≤ DC_RADIUS are
    left out. Off-peak fraction: the share of the power that lies farther than
    PEAK_RADIUS bins (Chebyshev) from all of the PEAKS strongest local maxima
    (5 × 5, periodic) of the window's power spectrum. With ``reference``: the L2
    distance between the two spectra, each scaled to unit norm (0: same shape; √2:
    nothing in common).
    """
    k = np.fft.fftfreq(WINDOW) * WINDOW
    dc = (k[:, None] ** 2 + k[None, :] ** 2) <= DC_RADIUS**2
    size = (1, 2 * PEAK_RADIUS + 1, 2 * PEAK_RADIUS + 1)
    off_peak, distance = [], []
    for c0 in range(0, full.shape[0], chunk):
        power = np.asarray(full[c0 : c0 + chunk], dtype=np.float64) ** 2
        power[:, dc] = 0.0
        local_max = (power == ndimage.maximum_filter(power, size=size, mode="wrap")) & (
            power > 0
        )
        score = np.where(local_max, power, 0.0).reshape(len(power), -1)
        top = np.argpartition(score, -PEAKS, axis=1)[:, -PEAKS:]
        near = np.zeros(score.shape, dtype=np.uint8)
        np.put_along_axis(near, top, 1, axis=1)
        near = (
            ndimage.maximum_filter(near.reshape(power.shape), size=size, mode="wrap")
            > 0
        )
        total = power.sum(axis=(1, 2))
        off_peak.append(1.0 - (power * near).sum(axis=(1, 2)) / total)
        if reference is not None:
            a = np.sqrt(power).reshape(len(power), -1)
            b = np.asarray(reference[c0 : c0 + chunk], dtype=np.float64).reshape(
                len(power), -1
            )
            b = b * ~dc.ravel()
            a = a / np.linalg.norm(a, axis=1, keepdims=True)
            b = b / np.linalg.norm(b, axis=1, keepdims=True)
            distance.append(np.linalg.norm(a - b, axis=1))
    off_peak = np.concatenate(off_peak)
    out = dict(
        off_peak_power_median=float(np.median(off_peak)),
        off_peak_power_mean=float(off_peak.mean()),
    )
    if reference is not None:
        distance = np.concatenate(distance)
        out.update(
            unit_spectrum_distance_median=float(np.median(distance)),
            unit_spectrum_distance_max=float(distance.max()),
        )
    return out


# ----------------------------------------------------------------- lectlib vs the floor


def floor_magnitudes(image):
    """|rfft2| of the Hann-tapered windows,
    in float64 and in float32 (each stored as float64).

    The exact references of :func:`check_accuracy`: (n_windows, 64, 33), natural order.
    """
    windows = window_stack(image)
    out = {}
    for name in ("float64", "float32"):
        taper = hann_taper(name)
        out[name] = np.concatenate(
            [
                np.abs(
                    sp_fft.rfft2(np.multiply(windows[r], taper, dtype=name), workers=1)
                )
                for r in range(windows.shape[0])
            ]
        ).astype(np.float64)
    return out


def check_accuracy(image):
    """lectlib's magnitudes and log features against the floors' |rfft2|,
    per precision."""
    floors_abs = floor_magnitudes(image)
    out = {}
    for name in ("float64", "float32"):
        dtype = np.dtype(name)
        tol = TOL[name]
        model = SlidingFFT(
            window=WINDOW, step=STEP, log=False, mask_center=0, dtype=dtype
        ).fit(image)
        features = model.transform(image)
        iy, ix, _ = frequency_index(model.frequencies_)
        row = dict(
            dtype=name,
            tolerance=tol,
            n_features=int(features.shape[1]),
            output_dtype=str(features.dtype),
            natural_fft_row_order=bool(
                np.array_equal(
                    iy.reshape(model.feature_shape_)[:, 0], np.arange(WINDOW)
                )
            ),
            rel_max_diff_magnitude_same_precision_floor=rel_max_diff(
                features, floors_abs[name][:, iy, ix]
            ),
            rel_max_diff_magnitude_float64_floor=rel_max_diff(
                features, floors_abs["float64"][:, iy, ix]
            ),
        )
        del features
        scale = float(floors_abs["float64"].max())
        for label, (kwargs, dname, _) in lectlib_variants().items():
            if dname != name:
                continue
            model = SlidingFFT(window=WINDOW, step=STEP, **kwargs).fit(image)
            features = model.transform(image)
            iy, ix, ky = frequency_index(model.frequencies_)
            expected = np.log1p(floors_abs["float64"][:, iy, ix])
            # mask_center=1 zeroes the bins next to k = 0 (which ones is lectlib's
            # choice: a disc or a square); those must be zero in every window, near
            # k = 0, and include it
            masked = (features == 0).all(axis=0)
            near_zero = np.maximum(np.abs(ky), ix) <= 1
            mask_ok = bool(
                masked[(ky == 0) & (ix == 0)].all() and not masked[~near_zero].any()
            )
            expected[:, masked] = 0.0
            diff = rel_max_diff(features, expected)
            if "crop" in label:  # exactly the bins |k_y| ≤ 16, 0 ≤ k_x ≤ 16
                in_crop = bool(
                    np.abs(ky).max() <= CROP
                    and ix.max() <= CROP
                    and len(set(zip(ky.tolist(), ix.tolist())))
                    == features.shape[1]
                    == (2 * CROP + 1) * (CROP + 1)
                )
            else:
                in_crop = features.shape[1] == WINDOW * (WINDOW // 2 + 1)
            row[f"rel_max_diff_log_features[{label}]"] = diff
            row[f"n_features[{label}]"] = int(features.shape[1])
            row[f"frequencies_within_crop[{label}]"] = in_crop
            row[f"masked_bins_zero[{label}]"] = mask_ok
            row[f"masked_bins[{label}]"] = [
                [int(a), int(b)] for a, b in zip(ky[masked], ix[masked])
            ]
            del features, expected
        row["largest_magnitude"] = scale
        checks = [
            row["rel_max_diff_magnitude_same_precision_floor"] <= tol,
            row["rel_max_diff_magnitude_float64_floor"] <= tol,
        ]
        checks += [v <= tol for k, v in row.items() if k.startswith("rel_max_diff_log")]
        checks += [
            v
            for k, v in row.items()
            if k.startswith(("frequencies_within", "masked_bins_zero"))
        ]
        row["accuracy_ok"] = bool(all(checks))
        out[name] = row
    return out


def lectlib_spectra(image):
    """lectlib's Hann and untapered magnitudes as full planes,
    and their leakage measures.

    Returns (hann_full, untapered_full, leakage): the planes (n_windows, 64, 64) in
    natural order, float64, and the ``leakage`` entry of the results.
    """
    full = {}
    for taper in ("hann", None):
        model = SlidingFFT(
            window=WINDOW,
            step=STEP,
            taper=taper,
            log=False,
            mask_center=0,
            dtype=np.float64,
        ).fit(image)
        full[taper] = lectlib_to_full(model.transform(image), model)
    leakage = dict(
        measure=(
            f"share of each window's power (bins with |k| > {DC_RADIUS}) lying more "
            f"than {PEAK_RADIUS} bins from all of its {PEAKS} strongest local maxima "
            f"({2 * PEAK_RADIUS + 1} × {2 * PEAK_RADIUS + 1}, periodic); median over "
            "the windows"
        ),
        **{f"lectlib_hann_{k}": v for k, v in spectrum_measures(full["hann"]).items()},
        **{
            f"lectlib_untapered_{k}": v
            for k, v in spectrum_measures(full[None], reference=full["hann"]).items()
        },
    )
    return full["hann"], full[None], leakage


# ----------------------------------------------------------------- the peers vs lectlib


def compare_pycroscopy(info, arrays, windows, grid, lectlib_untapered, hann_full):
    """pycroscopy's spectra against the untapered |FFT| and against lectlib's."""
    n_rows, n_cols = grid
    spectra = arrays["spectra"]  # (121, 121, 64, 64), fftshifted
    flat = spectra.reshape(-1, WINDOW, WINDOW)
    order = grid_index(arrays["positions"], n_cols)
    if sorted(order.tolist()) != list(range(n_rows * n_cols)):
        raise RuntimeError("pycroscopy's windows are not lectlib's windows")
    ours = np.empty_like(flat)
    ours[order] = flat  # into lectlib's (row-major) order
    natural = np.fft.ifftshift(ours, axes=(-2, -1))
    del ours
    untapered = np.abs(sp_fft.fft2(windows.reshape(-1, WINDOW, WINDOW), workers=1))
    to_untapered = rel_max_diff(natural, untapered)
    del untapered
    second = arrays["positions"][1].tolist()
    info["comparison"] = dict(
        window_order=(
            "column-major: its result[i, j] is the window at row offset 8 j, column "
            "offset 8 i"
            if second == [STEP, 0]
            else f"second window at {second}"
        ),
        rel_max_diff_to_untapered_abs_fft=to_untapered,
        rel_max_diff_to_lectlib_taper_none=rel_max_diff(natural, lectlib_untapered),
        hann_applied=bool(to_untapered > 1e-6),
        **{
            f"vs_lectlib_hann_{k}": v
            for k, v in spectrum_measures(natural, reference=hann_full).items()
        },
    )


def compare_pycroscopy_zoom(info, arrays, image):
    """pycroscopy's filter path: the real part of the centered spectrum,
    tapered after the FFT."""
    zoomed = arrays["zoomed"].astype(np.float64)
    flat = zoomed.reshape(-1, WINDOW // 2, WINDOW // 2)
    positions = arrays["zoomed_positions"]
    h = np.hamming(WINDOW // 2)
    taper = np.sqrt(np.outer(h, h))
    lo, hi = WINDOW // 4, 3 * WINDOW // 4
    real_part, magnitude = [], []
    for (r, c), out in zip(positions, flat):
        spectrum = np.fft.fftshift(np.fft.fft2(image[r : r + WINDOW, c : c + WINDOW]))[
            lo:hi, lo:hi
        ]
        real_part.append(rel_max_diff(out, spectrum.real * taper))
        magnitude.append(rel_max_diff(out, np.abs(spectrum) * taper))
    info["zoom_check"].update(
        n_windows=int(len(flat)),
        rel_max_diff_to_real_part_times_sqrt_hamming=float(max(real_part)),
        rel_max_diff_to_magnitude_times_sqrt_hamming=float(min(magnitude)),
        min_value=float(zoomed.min()),
    )


def compare_atomai(info, arrays, image, grid, hann_full):
    """atomai's spectra against its recipe, recomputed here, and against lectlib's."""
    n_rows, n_cols = grid
    spectra = arrays["spectra"]  # (14641, 64, 64), fftshifted log1p|F|
    order = grid_index(arrays["positions"], n_cols)
    if order.tolist() != list(range(n_rows * n_cols)):
        raise RuntimeError(
            "atomai's windows are not lectlib's windows in lectlib's order"
        )
    normalized = (image - image.min()) / (image.max() - image.min())
    h = np.hamming(WINDOW)
    taper = np.sqrt(np.outer(h, np.ones(WINDOW)) * np.outer(np.ones(WINDOW), h))
    recipe = np.log1p(
        np.abs(
            sp_fft.fftshift(
                sp_fft.fft2(
                    window_stack(normalized).reshape(-1, WINDOW, WINDOW) * taper,
                    workers=1,
                ),
                axes=(-2, -1),
            )
        )
    )
    diff_recipe = float(np.abs(spectra - recipe).max())
    del recipe
    natural = np.fft.ifftshift(np.expm1(spectra), axes=(-2, -1))
    info["comparison"] = dict(
        recipe=(
            "log(1 + |fftshift(fft2(√(Hamming ⊗ Hamming) × w))|) for each window w of "
            "the image rescaled to [0, 1] by its minimum and maximum"
        ),
        max_abs_diff_to_recipe_log=diff_recipe,
        image_range=[float(image.min()), float(image.max())],
        **{
            f"vs_lectlib_hann_{k}": v
            for k, v in spectrum_measures(natural, reference=hann_full).items()
        },
    )


def compare_peer(name, info, arrays, image, hann_full, untapered_full):
    """Add the comparison of peer ``name``'s spectra to its ``info`` (in place)."""
    windows = window_stack(image)
    grid = windows.shape[:2]
    if name == "pycroscopy":
        compare_pycroscopy(info, arrays, windows, grid, untapered_full, hann_full)
        compare_pycroscopy_zoom(info, arrays, image)
    else:
        compare_atomai(info, arrays, image, grid, hann_full)
