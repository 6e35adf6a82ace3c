"""Render the benchmark results into the book's appendix page.

Reads ``benchmarks/results/*.json`` (written by the ``bench_*.py`` scripts) and replaces
the text between each pair of marker comments in ``chapters/appendix_benchmarks.md``::

    <!-- results:NAME:start -->
    ... generated, do not edit ...
    <!-- results:NAME:end -->

with the markdown that :func:`render_blocks` makes from the JSON, for NAME in
``machine``, ``regression``, ``poisson_scaling``, ``unmixing``, ``minvol``, ``sliding``,
``crystallography``, ``markov``, ``outofcore`` and ``runtimes``.
Everything outside the markers is left as it is. ``run.sh`` (``make bench``) calls it
after the benchmarks; on its own::

    .venv/bin/python benchmarks/report.py            # rewrite the page's tables
    .venv/bin/python benchmarks/report.py --check    # exit 1 if the page is out of date

Standard library only, so that ``tests/book/test_benchmarks_page.py`` can check, without
running any benchmark, that the page holds exactly what the committed JSON renders to.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
PAGE = ROOT / "chapters" / "appendix_benchmarks.md"
BLOCKS = (
    "machine",
    "regression",
    "poisson_scaling",
    "unmixing",
    "minvol",
    "sliding",
    "crystallography",
    "markov",
    "outofcore",
    "runtimes",
)
MARKER = re.compile(
    r"<!-- results:(?P<name>[a-z_]+):start -->\n(?P<body>.*?)"
    r"<!-- results:(?P=name):end -->",
    re.S,
)


# ------------------------------------------------------------------------------- format


def ms(seconds):
    """A wall time: milliseconds below one second, seconds above."""
    if seconds < 1.0:
        return f"{1e3 * seconds:.1f} ms"
    return f"{seconds:.2f} s"


def ratio(x):
    return f"{x:.1f}×" if x < 100 else f"{x:.0f}×"


def sci(x):
    """2.5e-13, 8.8e-4: one decimal, no padded exponent."""
    if x == 0:
        return "0"
    mantissa, exponent = f"{x:.1e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def tol(x):
    """A tolerance: 1e-8, 1e-4."""
    mantissa, exponent = f"{x:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def met(ok):
    return "met" if ok else "**not met**"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def grouped(n):
    """16384 → '16 384'."""
    return f"{n:,}".replace(",", " ")


def mb(n):
    """Bytes as MB (10⁶ bytes)."""
    return f"{n / 1e6:.0f} MB" if n >= 1e8 else f"{n / 1e6:.1f} MB"


def times(x):
    """A ratio near 1: two decimals."""
    return f"{x:.2f}×"


def signed(x):
    """−266.9 with a minus sign."""
    return f"{x:.1f}".replace("-", "−")


def pct(x):
    return f"{100 * x:.1f} %"


# ------------------------------------------------------------------------------- blocks


def render_machine(results):
    any_result = next(iter(results.values()))
    m = any_result["machine"]
    threads = ", ".join(f"{k}={v}" for k, v in m["thread_env"].items())
    lines = [
        f"**Machine.** {m['cpu']}, {m['logical_cpus']} logical CPUs, {m['platform']}, "
        f"Python {m['python']}; {threads} and `threadpoolctl.threadpool_limits(1)`.",
        "",
    ]
    rows = []
    names = {
        "regression": "regression",
        "poisson_scaling": "Poisson scaling",
        "unmixing": "unmixing",
        "minvol": "minimum-volume unmixing",
        "sliding": "sliding FFT",
        "crystallography": "atom finding and refinement",
        "markov": "Markov state models",
        "outofcore": "out of core (1 GiB cube)",
        "runtimes": "chapter run times",
    }
    for key in BLOCKS[1:]:
        if key not in results:
            continue
        r = results[key]
        v = r["versions"]
        if key == "regression":
            peer = f"scipy {v['scipy']} (same venv)"
        elif key == "poisson_scaling":
            p = v["peer"]
            peer = f"HyperSpy {p['hyperspy']}, numpy {p['numpy']} (own venv)"
        elif key == "unmixing":
            p = v["peer"]
            peer = (
                f"pysptools {p['pysptools']}, numpy {p['numpy']}, scipy {p['scipy']}, "
                f"cvxopt {p['cvxopt']}, scikit-learn {p['sklearn']} (own venv)"
            )
        elif key == "minvol":
            p = v["peer"]
            peer = (
                f"SPICE-HSI {p['spice_hsi']}, numpy {p['numpy']}, scipy {p['scipy']}, "
                f"cvxopt {p['cvxopt']} (own venv)"
            )
        elif key == "runtimes":
            peer = "the same chapters without the set-up cell's one-thread default"
        elif key == "crystallography":
            p = v["peer"]
            peer = (
                f"atomap {p['atomap']}, HyperSpy {p['hyperspy']}, numpy {p['numpy']}, "
                f"scipy {p['scipy']} (own venv)"
            )
        elif key == "markov":
            p = v["peer"]
            peer = (
                f"deeptime {p['deeptime']}, numpy {p['numpy']}, scipy {p['scipy']} "
                "(own venv)"
            )
        elif key == "outofcore":
            peer = (
                f"lectlib's in-memory functions; dask {v['dask']}, distributed "
                f"{v['distributed']} (same venv)"
            )
        else:
            peer = f"scipy.fft {v['scipy']} (the floor, same venv); " + "; ".join(
                sliding_peer_versions(name, r["peers"][name])
                for name in ("pycroscopy", "atomai")
            )
        rows.append(
            [
                names[key],
                r["date"].replace("T", " ").replace("+00:00", " UTC"),
                v["lectlib"],
                v["numpy"],
                v["scipy"],
                v["sklearn"],
                peer,
            ]
        )
    lines.append(
        table(
            ["benchmark", "run", "lectlib", "numpy", "scipy", "scikit-learn", "peer"],
            rows,
        )
    )
    return "\n".join(lines)


def render_regression(r):
    t = r["targets"]
    rows = []
    for c in r["cases"]:
        ts, sp, d = c["time_s"], c["speedup"], c["max_abs_diff"]
        rows.append(
            [
                f"`{c['case']}`",
                f"{grouped(c['n_pixels'])} × {c['n_channels']}, {c['n_endmembers']}",
                f"{100 * c['active_constraint_fraction']:.1f} %",
                ms(ts["scipy_nnls_loop"]),
                ms(ts["fit_known_endmembers"]),
                f"**{ratio(sp['fit_known_endmembers'])}**",
                sci(d["fit_known_endmembers"]),
                ms(ts["nnls_batch"]),
                ratio(sp["nnls_batch"]),
                sci(d["nnls_batch"]),
            ]
        )
    header = [
        "case",
        "pixels × channels, k",
        "coefficients at bound",
        "scipy nnls loop",
        "`fit_known_endmembers`",
        "speed-up",
        "max abs diff",
        "`nnls_batch`",
        "speed-up",
        "max abs diff",
    ]
    tm = r["timing"]
    lines = [
        f"Best of {tm['lectlib_repeats']} (lectlib) and {tm['scipy_repeats']} (scipy) "
        "calls. Speed-up: scipy time / lectlib time.",
        "",
        table(header, rows),
        "",
        f"- Accuracy target, max |lectlib − scipy| ≤ {tol(t['max_abs_diff'])}: "
        + "; ".join(
            f"{met(c['accuracy_ok'])} in `{c['case']}` "
            f"({sci(c['max_abs_diff']['fit_known_endmembers'])})"
            for c in r["cases"]
        )
        + ".",
        f"- Speed target, scipy / lectlib ≥ {t['speedup']:g}× for "
        "`fit_known_endmembers`: "
        + "; ".join(
            f"{met(c['speed_target_met'])} in `{c['case']}` "
            f"({ratio(c['speedup']['fit_known_endmembers'])})"
            for c in r["cases"]
        )
        + ".",
    ]
    return "\n".join(lines)


def render_poisson(r):
    rows = []
    for c in r["cases"]:
        rows.append(
            [
                f"`{c['case']}`",
                " × ".join(str(n) for n in c["shape"]),
                ms(c["time_s"]["hyperspy"]),
                ms(c["time_s"]["lectlib"]),
                ratio(c["ratio_hyperspy_over_lectlib"]),
                sci(c["max_abs_diff"]),
                sci(c["max_rel_diff"]),
                "yes" if c["same_zeros"] else "**no**",
            ]
        )
    header = [
        "case",
        "shape (ny × nx × channels)",
        "HyperSpy",
        "lectlib",
        "HyperSpy / lectlib",
        "max abs diff",
        "max rel diff",
        "same zeros",
    ]
    lines = [
        f"Best of {r['timing']['repeats']} calls.",
        "",
        table(header, rows),
        "",
        "- Agreement target, relative difference ≤ "
        f"{tol(r['targets']['max_rel_diff'])} and the same zeros: "
        + "; ".join(f"{met(c['agreement_ok'])} in `{c['case']}`" for c in r["cases"])
        + ".",
        "- Speed: reported only (no target).",
    ]
    return "\n".join(lines)


def render_unmixing(r):
    nf, fc, refs, t, tm = (
        r["nfindr"],
        r["fcls"],
        r["references"],
        r["targets"],
        r["timing"],
    )
    data = r["data"]

    def angle_row(name, x):
        return [
            name,
            ms(x["time_s"]),
            ", ".join(f"{a:.2f}" for a in x["angles_deg"]),
            f"{x['max_angle_deg']:.2f}",
            f"{x['mean_angle_deg']:.2f}",
            str(x["n_iter"]),
        ]

    nf_rows = [
        angle_row("lectlib `NFINDR`", nf["lectlib"]),
        angle_row("pysptools `NFINDR`", nf["pysptools"]),
        angle_row("*reference:* scikit-learn `NMF`", refs["nmf"]),
        angle_row(
            "*reference:* scikit-learn `FastICA`"
            + ("" if refs["fastica"]["converged"] else " (not converged)"),
            refs["fastica"],
        ),
    ]
    nf_header = [
        "method",
        "time",
        "angle to each true endmember (°)",
        "max (°)",
        "mean (°)",
        "iterations",
    ]
    subset = f" ({fc['subset']})" if fc.get("subset") else ""
    fc_rows = [
        [
            "lectlib `fcls`",
            ms(fc["lectlib"]["time_s"]),
            "—",
            "—",
            sci(fc["lectlib"]["min_abundance"]),
            sci(fc["lectlib"]["max_abs_sum_minus_one"]),
        ],
        [
            "pysptools `FCLS` (cvxopt defaults)",
            ms(fc["pysptools"]["time_s"]),
            f"**{ratio(fc['ratio_pysptools_over_lectlib'])}**",
            sci(fc["max_abs_diff"]),
            sci(fc["pysptools"]["min_abundance"]),
            sci(fc["pysptools"]["max_abs_sum_minus_one"]),
        ],
        [
            f"pysptools `FCLS`, cvxopt tolerances "
            f"{tol(fc['pysptools_tight']['cvxopt_options']['abstol'])} (one run)",
            ms(fc["pysptools_tight"]["time_s"]),
            "—",
            sci(fc["max_abs_diff_tight"]),
            sci(fc["pysptools_tight"]["min_abundance"]),
            sci(fc["pysptools_tight"]["max_abs_sum_minus_one"]),
        ],
    ]
    fc_header = [
        "solver",
        "time",
        "pysptools / lectlib",
        "max abs diff to lectlib",
        "min abundance",
        "max abs(Σa − 1)",
    ]
    k = data["n_endmembers"]
    nmf_note = "" if refs["nmf"]["converged"] else " and did not converge"
    ica_note = (
        ""
        if refs["fastica"]["converged"]
        else ", and it stopped at max_iter unconverged"
    )
    ours_pure = nf["lectlib"]["found_the_pure_pixels"]
    theirs_pure = nf["pysptools"]["found_the_pure_pixels"]
    if nf["same_pixels"]:
        chosen = f"Both chose the same {k} pixels" + (
            ", the true pure pixels." if ours_pure else ", not all of them pure."
        )
    else:
        chosen = (
            f"They chose different pixels; lectlib's are "
            f"{'' if ours_pure else 'not '}the true pure pixels, pysptools' are "
            f"{'' if theirs_pure else 'not '}the true pure pixels."
        )
    lines = [
        f"Data: `{data['call']}`, {grouped(data['n_pixels'])} pixels × "
        f"{data['shape'][2]} channels. Best of {tm['lectlib_repeats']} calls "
        f"(lectlib), {tm['pysptools_repeats']} (pysptools) and "
        f"{tm['reference_repeats']} (NMF, FastICA).",
        "",
        "**Endmembers.** Angles between each found endmember and the true endmember it "
        "is matched to (`lectlib.metrics.match_components`; FastICA sign-invariantly).",
        "",
        table(nf_header, nf_rows),
        "",
        "NMF ran on the data clipped at 0 "
        f"({refs['nmf']['n_negative_values_clipped']} negative values, from the "
        f"noise){nmf_note}; FastICA's spectra are the columns of its mixing "
        f"matrix{ica_note}.",
        "",
        f"**Abundances.** FCLS with the true endmembers on {grouped(fc['n_pixels'])} "
        f"pixels{subset}.",
        "",
        table(fc_header, fc_rows),
        "",
        "- N-FINDR accuracy target, lectlib's max and mean angles no larger than "
        f"pysptools': {met(nf['accuracy_ok'])}. {chosen}",
        f"- N-FINDR speed target, pysptools / lectlib ≥ {t['nfindr_speedup']:g}×: "
        f"{met(nf['speed_target_met'])} ({ratio(nf['ratio_pysptools_over_lectlib'])}).",
        f"- FCLS agreement target, max abs diff ≤ {tol(t['fcls_max_abs_diff'])} to "
        f"pysptools run to convergence: {met(fc['accuracy_ok'])} "
        f"({sci(fc['max_abs_diff_tight'])}). As pysptools calls cvxopt (default "
        f"tolerances), the largest difference is {sci(fc['max_abs_diff'])}, and "
        f"{100 * fc['fraction_of_pixels_diff_above_tol']:.1f} % of the pixels differ "
        f"by more than {tol(t['fcls_max_abs_diff'])}. The residual sum of squares of "
        "pysptools' abundances exceeds lectlib's by up to "
        f"{sci(fc['max_rss_excess_pysptools'])}; lectlib's exceeds pysptools' by at "
        f"most {sci(fc['max_rss_excess_lectlib'])}.",
        f"- FCLS speed target, pysptools / lectlib ≥ {t['fcls_speedup']:g}×: "
        f"{met(fc['speed_target_met'])} ({ratio(fc['ratio_pysptools_over_lectlib'])}).",
    ]
    return "\n".join(lines)


def render_minvol(r):
    """The minimum-volume block, from ``results/minvol.json`` (``bench_minvol.py``
    writes the same text into the JSON and, with ``--page``, into the page)."""

    def ms(s):
        return f"{1e3 * s:.1f} ms" if s < 1 else f"{s:.2f} s"

    labels = dict(
        binary="binary mixtures, none purer than 80 %, no noise",
        binary_30db="binary mixtures, none purer than 80 %, 30 dB",
        pure_30db="one pure pixel per endmember, 30 dB",
        inside="all pixels deep inside (0.7 A + 0.1), no noise",
    )
    cases = list(r["cases"])
    loose = next(m for m in r["cases"][cases[0]] if m.startswith("MinimumVolume("))
    rho = loose.split("=")[1].rstrip(")")
    methods = (
        ("MinimumVolume", "lectlib `MinimumVolume`"),
        (loose, f"lectlib `MinimumVolume`, regularization {rho}"),
        ("NFINDR", "lectlib `NFINDR`"),
        ("SPICE", "SPICE-HSI (ICE)"),
    )
    lines = [
        f"Data: the endmembers of `make_mixture({r['data']['kwargs']})`, "
        f"{r['data']['n_pixels']} pixels × {r['data']['n_channels']} channels, with "
        "the abundances of each row below. Largest (mean) angle to the true "
        "endmembers in degrees, and the time of one fit (lectlib: best of "
        f"{r['timing']['lectlib_repeats']}; SPICE: one run).",
        "",
        "| data | " + " | ".join(name for _, name in methods) + " |",
        "|---|" + "---|" * len(methods),
    ]
    for case in cases:
        row = r["cases"][case]
        cells = []
        for key, _ in methods:
            x = row[key]
            angles = f"{x['max_angle_deg']:.2f}° ({x['mean_angle_deg']:.2f}°)"
            cells.append(f"{angles}, {ms(x['time_s'])}")
        lines.append(f"| {labels[case]} | " + " | ".join(cells) + " |")
    t = r["targets"]
    inside = r["cases"]["inside"]["MinimumVolume"]
    contracted = (1 - r["data"]["contraction"]) ** (r["data"]["n_endmembers"] - 1)
    default = r["spice_default_threshold"]
    lines += [
        "",
        "- Without pure pixels, `MinimumVolume`'s largest angle below "
        f"{t['angle_deg']:g}°: {'met' if t['angle_met'] else 'missed'} "
        f"({r['cases']['binary']['MinimumVolume']['max_angle_deg']:.2f}°); N-FINDR can "
        "only return pixels, none of which is purer than 80 %.",
        "- With pure pixels and noise, `MinimumVolume` within "
        f"{t['noise_angles']:g} noise angles ({t['noise_angle_deg']:.2f}° each) of "
        "the truth: "
        f"{'met' if t['pure_met'] else 'missed'}.",
        f"- Every `MinimumVolume` fit under {t['seconds']:g} s: "
        f"{'met' if t['speed_met'] else 'missed'} (slowest "
        f"{ms(t['slowest_s'])}).",
        "- Deep inside, `MinimumVolume` finds a triangle near the contracted one "
        f"({inside['to_contracted']['max_angle_deg']:.2f}° from its vertices; volume "
        f"{inside['volume_ratio_to_truth']:.2f} of the true one, the contracted "
        f"triangle's being {contracted:.2f}), as small as the pixels allow: the data "
        "fix no other vertices, and no method recovers the true ones.",
        f"- SPICE with its default stopping threshold (1e-4) on the first data set: "
        f"{default['max_angle_deg']:.2f}° after {default['n_iter']} iterations "
        f"({ms(default['time_s'])}).",
    ]
    return "\n".join(lines)


def sliding_peer_versions(name, p):
    if p["status"] != "ran":
        return f"{name}: {p['status']}"
    v = p["versions"]
    extra = (
        f", sidpy {v['sidpy']}, dask {v['dask']}"
        if name == "pycroscopy"
        else f", torch {v['torch']}"
    )
    return f"{name} {v[name]}, numpy {v['numpy']}, scipy {v['scipy']}{extra} (own venv)"


def render_sliding(r):
    d, tm, t = r["data"], r["timing"], r["targets"]
    floors, rows, acc, leak = r["floors"], r["lectlib"], r["accuracy"], r["leakage"]
    floor_rows = []
    for name in ("float64", "float32"):
        f = floors[name]
        variant = "whole stack" if f["floor_variant"] == "whole" else "row by row"
        floor_rows.append(
            [
                name,
                ms(f["whole_s"]),
                ms(f["rows_s"]),
                f"**{ms(f['floor_s'])}** ({variant})",
                mb(f["peak_bytes_whole"]),
                mb(f["peak_bytes_rows"]),
                ms(f["complete_rows_s"]),
            ]
        )
    lect_rows = []
    for x in rows:
        crop = "all" if x["crop"] is None else f"crop={x['crop']}"
        shape = " × ".join(str(n) for n in x["feature_shape"])
        ratio_cell = times(x["ratio_to_floor"])
        if x["speed_target_applies"]:
            ratio_cell = f"**{ratio_cell}**"
        lect_rows.append(
            [
                f"{x['dtype']}, {crop}",
                f"{grouped(x['n_features'])} ({shape})",
                ms(x["time_s"]),
                ratio_cell,
                times(x["ratio_to_float64_floor"]),
                mb(x["output_nbytes"]),
                mb(x["peak_bytes"]),
                times(x["peak_over_output"]),
            ]
        )
    header_floor = [
        "precision",
        "whole stack",
        "row by row",
        "floor",
        "peak memory, whole stack",
        "peak memory, row by row",
        r"*not the floor:* row by row + log(1 + \|F\|) into a kept output",
    ]
    header_lect = [
        "`SlidingFFT`",
        "features per window (k_y × k_x)",
        "time",
        "/ floor, same precision",
        "/ float64 floor",
        "output",
        "peak memory",
        "peak / output",
    ]
    targeted = [x for x in rows if x["speed_target_applies"]]
    lines = [
        f"Data: `{d['call']}`, {d['window']} × {d['window']} windows every {d['step']} "
        f"px: {d['grid'][0]} × {d['grid'][1]} = {grouped(d['n_windows'])} windows. "
        f"Best of {tm['repeats']} rounds (lectlib and the row-by-row floor), "
        f"{tm['whole_repeats']} (whole-stack floor); each round times every one of "
        "them once.",
        "",
        "**The floor**: Hann taper × window stack → `scipy.fft.rfft2(..., workers=1)`, "
        "the complex spectrum only (no magnitude, no log, no output array kept). The "
        "last column is the same row-by-row loop doing lectlib's whole job, for "
        "reference.",
        "",
        table(header_floor, floor_rows),
        "",
        "**lectlib**: `SlidingFFT(window=64, step=8, dtype=...)` with its defaults "
        "otherwise (Hann, `log=True`, `mask_center=1`), and with `crop=16`.",
        "",
        table(header_lect, lect_rows),
        "",
        f"- Speed target, lectlib / floor ≤ {t['speed_ratio_max']:g}× with the same "
        "precision (uncropped): "
        + "; ".join(
            f"{met(x['speed_target_met'])} in {x['dtype']} "
            f"({times(x['ratio_to_floor'])}; the medians of the "
            f"{tm['repeats']} rounds give "
            f"{times(x['ratio_of_medians_to_floor'])})"
            for x in targeted
        )
        + f". lectlib in float32 takes {times(targeted[0]['ratio_to_float64_floor'])} "
        "the float64 floor's time.",
        f"- Memory target, lectlib's peak ≤ {t['memory_ratio_max']:g}× its output: "
        + "; ".join(
            f"{met(x['memory_target_met'])} in {x['dtype']}"
            f"{'' if x['crop'] is None else ', crop=' + str(x['crop'])} "
            f"({times(x['peak_over_output'])})"
            for x in rows
        )
        + ".",
        "- Accuracy target, lectlib's magnitudes (`log=False, mask_center=0`) against "
        "the floor's |rfft2| in the order of `frequencies_`, and the timed outputs "
        "against log(1 + |rfft2|) except the "
        f"{len(acc['float32']['masked_bins[float32]'])} bins next to k = 0 that "
        "`mask_center=1` zeroes, relative to the largest value: "
        + "; ".join(
            f"{met(a['accuracy_ok'])} in {name} (≤ {tol(a['tolerance'])}: "
            + (
                f"{sci(a['rel_max_diff_magnitude_same_precision_floor'])} against the "
                f"{name} floor, "
                if name != "float64"
                else ""
            )
            + f"{sci(a['rel_max_diff_magnitude_float64_floor'])} against the float64 "
            "floor, "
            f"{sci(max(v for k, v in a.items() if k.startswith('rel_max_diff_log')))} "
            "for the log features)"
            for name, a in acc.items()
        )
        + ".",
    ]

    peers = r["peers"]
    ran = {n: p for n, p in peers.items() if p["status"] == "ran"}
    speed_rows, spectra_rows = (
        [],
        [
            [
                "lectlib `SlidingFFT`, Hann",
                "Hann ⊗ Hann, before the FFT",
                "—",
                "0",
                pct(leak["lectlib_hann_off_peak_power_median"]),
            ]
        ],
    )
    labels = {
        "pycroscopy": "pycroscopy{} `ImageWindowing`, `filter='hann'`",
        "atomai": "atomai{} `SlidingFFTNMF`",
    }
    lectlib_labels = {
        "untapered float64 |F|": "`taper=None, log=False, mask_center=0`, float64",
        "hamming float64 log": "`taper='hamming', mask_center=0`, float64",
    }
    for name, p in peers.items():
        if name not in ran:
            continue
        c, lc = p["comparison"], p["lectlib_closest"]
        speed_rows.append(
            [
                labels[name].format(" " + p["versions"][name]),
                ms(p["seconds"]),
                lectlib_labels[lc["label"]],
                ms(lc["time_s"]),
                f"**{ratio(p['ratio_to_lectlib_closest'])}**",
            ]
        )
        if name == "pycroscopy":
            taper = "none (`'hann'` is ignored)"
            same = (
                f"{sci(c['rel_max_diff_to_lectlib_taper_none'])} (lectlib, "
                "`taper=None`)"
            )
        else:
            taper = (
                "√(Hamming ⊗ Hamming), before the FFT, on the image rescaled to [0, 1]"
            )
            same = "— (lectlib has no √Hamming taper)"
        spectra_rows.append(
            [
                labels[name].format(""),
                taper,
                same,
                f"{c['vs_lectlib_hann_unit_spectrum_distance_median']:.2f} "
                f"(max {c['vs_lectlib_hann_unit_spectrum_distance_max']:.2f})",
                pct(c["vs_lectlib_hann_off_peak_power_median"]),
            ]
        )
    lines += [
        "",
        "**Peers**, each in its own venv, on the same image, window and step; "
        f"{tm['peer_repeats']} timed call{'s' if tm['peer_repeats'] > 1 else ''} each "
        "after an untimed one on a 128 × 128 crop.",
    ]
    if speed_rows:
        lines += [
            "",
            table(
                ["peer", "time", "lectlib, closest settings", "time", "peer / lectlib"],
                speed_rows,
            ),
            "",
            table(
                [
                    "spectra",
                    "taper",
                    "max rel diff to lectlib, same settings",
                    "distance to lectlib's Hann spectra, median (max)",
                    "off-peak power, median",
                ],
                spectra_rows,
            ),
            "",
            "Distance: between each window's two spectra, each scaled to unit norm "
            "(0: same shape, √2: nothing in common). Off-peak power: "
            f"{leak['measure']}; less is less leakage.",
        ]
    notes = []
    for name, p in peers.items():
        if name not in ran:
            reason = " ".join(p.get("reason", "").split())
            notes.append(f"- **{name}: {p['status']}.** {reason}")
            continue
        c = p["comparison"]
        if name == "pycroscopy":
            z = p["zoom_check"]
            notes.append(
                "- **pycroscopy** accepts `filter='hann'` but never builds the Hann "
                "matrix (it builds one only for the name `'hanning'`, which its own "
                "check of the parameter rejects), so its spectra are those of the "
                f"untapered windows: {sci(c['rel_max_diff_to_untapered_abs_fft'])} "
                "from |FFT| without taper. Its filter is used only with a zoom or "
                "interpolation factor other than 1, and then after the FFT, on the "
                "real part of the spectrum: with `filter='hamming', zoom_factor=2` "
                f"(checked on a {z['crop']} × {z['crop']} crop, {z['n_windows']} "
                "windows) the `'abs'` output is Re(F) × √(Hamming ⊗ Hamming) to "
                f"{sci(z['rel_max_diff_to_real_part_times_sqrt_hamming'])} "
                f"({z['output_dtype']}; numpy warns "
                f"`{z['warnings'][0].split(':')[0] if z['warnings'] else 'nothing'}`), "
                f"with values down to {signed(z['min_value'])}. Its window grid is "
                f"{c['window_order'].split(':')[0]}; one call builds a sidpy/dask "
                "slice per window."
            )
        else:
            notes.append(
                f"- **atomai**'s output is {c['recipe']}: recomputed here, the largest "
                f"difference is {sci(c['max_abs_diff_to_recipe_log'])}. It takes "
                "square windows only: with 64 × 32 it fails with "
                f"`{p['window_64x32'].strip()}`. Its defaults "
                "(`interpolation_factor=2, zoom_factor=2`) crop and resample the "
                "spectrum; both were set to 1."
            )
    lines += [""] + notes
    return "\n".join(lines)


def render_crystallography(r):
    d, tm, t, b = r["data"], r["timing"], r["targets"], r["bound"]
    ref, fnd, low = r["refinement"], r["finding"], r["low_dose"]
    ours, theirs = ref["lectlib"], ref["atomap"]

    def px(x):
        return f"{x:.4f}"

    def refine_row(name, x, speed=None):
        return [
            name,
            ms(x["time_s"]),
            "—" if speed is None else speed,
            px(x["rms_row"]),
            px(x["rms_col"]),
            px(x["rms_radial"]),
            times(x["ratio_to_bound_radial"]),
        ]

    refine_rows = [
        refine_row('lectlib `refine_positions(method="gaussian")`', ours["gaussian"]),
        refine_row(
            "atomap `refine_atom_positions_using_2d_gaussian`",
            theirs["gaussian"],
            f"**{ratio(ref['ratio_atomap_over_lectlib_gaussian'])}**",
        ),
        refine_row('lectlib `refine_positions(method="com")`', ours["com"]),
        refine_row(
            "atomap `refine_atom_positions_using_center_of_mass`",
            theirs["com"],
            ratio(ref["ratio_atomap_over_lectlib_com"]),
        ),
    ]
    refine_header = [
        "refinement",
        "time",
        "atomap / lectlib",
        "RMS error, row (px)",
        "col (px)",
        "radial (px)",
        "radial / bound",
    ]
    lo = d["low_dose"]
    normal = f"{d['peak_counts']:g} on {d['background_counts']:g} counts"
    dim = f"low dose, {lo['peak_counts']:g} on {lo['background_counts']:g} counts"

    def find_row(name, image, x, time="—"):
        return [
            name,
            image,
            time,
            grouped(x["n_found"]),
            f"{x['recall']:.4f}",
            f"{x['precision']:.4f}",
        ]

    find_rows = [
        find_row(
            "lectlib `find_atoms(refine=None)`",
            normal,
            fnd["lectlib"],
            ms(fnd["lectlib"]["time_s"]),
        ),
        find_row(
            "atomap `get_atom_positions`",
            normal,
            fnd["atomap"],
            ms(fnd["atomap"]["time_s"]),
        ),
        find_row("lectlib `find_atoms(refine=None)`", dim, low["lectlib"]),
        find_row(
            f"lectlib, `atom_size={d['atom_sigma_px']:g}` (the true width)",
            dim,
            low["lectlib_atom_size"],
        ),
        find_row("atomap `get_atom_positions`", dim, low["atomap"]),
        find_row("atomap, `pca=True`", dim, low["atomap_pca"]),
    ]
    find_header = ["finding", "image", "time", "found", "recall", "precision"]
    g_ours, g_theirs = ours["gaussian"], theirs["gaussian"]
    fell_back = g_theirs["n_fell_back_to_com"]
    nf, patch, eff = b["noise_free_fit"], b["patch_3_sigma"], b["rendered_width"]
    lines = [
        f"Data: {grouped(d['n_atoms'])} atoms of a square lattice (spacing "
        f"{d['spacing_px']:g} px, turned {d['angle_deg']:g}°) at random sub-pixel "
        f"positions on a {d['shape'][0]} × {d['shape'][1]} image, Gaussian atoms of "
        f"σ = {d['atom_sigma_px']:g} px drawn by `render_atoms`, "
        f"{d['peak_counts']:g} counts at an atom's peak on a background of "
        f"{d['background_counts']:g} counts ({grouped(round(d['counts_per_atom']))} "
        "counts per atom), Poisson noise. Best of "
        f"{tm['lectlib_repeats']} calls (lectlib), {tm['atomap_repeats']} (atomap's "
        f"finding and centre of mass) and {tm['atomap_gaussian_repeats']} (atomap's "
        "2-D Gaussian refinement).",
        "",
        "**Refinement**, every method from the same initial positions (the true ones "
        f"{d['initial_error']['rms_radial']:.2f} px RMS away), each with its "
        "defaults. Cramér–Rao bound (`position_crlb"
        f"({d['peak_counts']:g}, {d['atom_sigma_px']:g}, "
        f"{d['background_counts']:g})`): {px(b['row'])} px per coordinate, "
        f"{px(b['radial'])} px radially.",
        "",
        table(refine_header, refine_rows),
        "",
        f"**Finding**, `min_distance` (lectlib) and `separation` (atomap) "
        f"{t['min_distance_px']} px; a found position matches a true atom within "
        f"{t['match_tolerance_px']:g} px, one to one. Image: the counts at an atom's "
        "peak on the background's.",
        "",
        table(find_header, find_rows),
        "",
        f"- Accuracy target, lectlib's radial RMS error ≤ {t['crlb_ratio_max']:g}× "
        f"the bound: {met(ref['bound_ok'])} "
        f"({times(g_ours['ratio_to_bound_radial'])}; atomap's 2-D Gaussian fit: "
        f"{times(g_theirs['ratio_to_bound_radial'])}).",
        "- Accuracy target, lectlib's radial RMS error no larger than atomap's: "
        f"{met(ref['accuracy_vs_atomap_ok'])} ({px(g_ours['rms_radial'])} against "
        f"{px(g_theirs['rms_radial'])} px).",
        f"- Speed target, atomap / lectlib ≥ {t['gaussian_speedup']:g}× for the "
        f"Gaussian refinement: {met(ref['speed_target_met'])} "
        f"({ratio(ref['ratio_atomap_over_lectlib_gaussian'])}).",
        f"- Finding target, lectlib's recall and precision ≥ "
        f"{t['recall_precision_min']:g}: {met(fnd['target_met'])} "
        f"({fnd['lectlib']['recall']:.4f}, {fnd['lectlib']['precision']:.4f}).",
        "- What the bound leaves out: the Gaussian fit to the noise-free image is "
        f"{px(nf['rms_radial'])} px RMS from the truth (`render_atoms` splits each "
        "atom between four pixels, which widens it a little); the bound on the fit's "
        f"{patch['radius_px']:g} px patch alone is "
        f"{px(patch['radial'])} px radially, and for the rendered atoms' effective "
        f"width ({eff['sigma_mean']:.3f} px) {px(eff['radial'])} px.",
        f"- False peaks at {normal}: lectlib "
        f"{fnd['lectlib']['n_found'] - fnd['lectlib']['n_matched']}, atomap "
        f"{fnd['atomap']['n_found'] - fnd['atomap']['n_matched']}, of which "
        f"{fnd['atomap']['n_unmatched_in_empty_border']} lie in the "
        f"{d['border_px']:g} px band along the edges, where no atom was drawn"
        + (
            f"; atomap's default threshold, 2 % of the image's maximum "
            f"({0.02 * d['max_counts']:.1f} counts), lies below the background."
            if 0.02 * d["max_counts"] < d["background_counts"]
            else "."
        ),
        f"- atomap's 2-D Gaussian fit fell back to the centre of mass for "
        f"{fell_back} atom{'' if fell_back == 1 else 's'}; its centre of mass is one "
        "pass on the image as it is, lectlib's subtracts the background and is "
        "iterated.",
    ]
    return "\n".join(lines)


def render_markov(r):
    data, t, tol_, cases = r["data"], r["targets"], r["tolerances"], r["cases"]
    names = {
        "traj_10": "10 states, one trajectory",
        "traj_50": "50 states, one trajectory",
        "gapped": "10 states, short trajectories with gaps",
    }
    agree_rows = []
    for key, c in cases.items():
        d = data[key]
        frames = (
            f"{grouped(d['n_frames'])} frames"
            if key != "gapped"
            else f"{d['n_trajectories']} × 20–400 frames, "
            f"{grouped(d['n_missing'])} missing"
        )
        err = c["rev"]["max_abs_error_to_truth"]
        agree_rows.append(
            [
                names[key],
                frames,
                "equal"
                if c["counts_max_abs_diff"] == 0
                else sci(c["counts_max_abs_diff"]),
                sci(c["nonrev"]["T_max_abs_diff"]),
                sci(c["rev"]["T_max_abs_diff"]),
                sci(c["rev"]["pi_max_abs_diff"]),
                sci(c["rev"]["timescales_max_rel_diff"]),
                f"{err['lectlib']:.4f} / {err['deeptime']:.4f}",
            ]
        )
    agree_header = [
        "case",
        "data",
        "counts",
        "T, non-reversible",
        "T, reversible",
        "π (reversible)",
        "timescales (relative)",
        "max \\|T − true T\\|, reversible: lectlib / deeptime",
    ]
    time_rows = []
    for key, x in r["timing"].items():
        ours, theirs = x["lectlib"], x["deeptime"]
        time_rows.append(
            [
                names[key],
                ms(theirs["count"]),
                ms(theirs["count_and_reversible_default_maxerr"]),
                ms(theirs["count_and_reversible"]),
                ms(ours["count"]),
                ms(ours["count_and_reversible"]),
                f"**{times(x['ratio_deeptime_over_lectlib'])}**",
            ]
        )
    time_header = [
        "case",
        "deeptime counting",
        "deeptime counting + reversible (maxerr "
        f"{tol(tol_['deeptime_default_maxerr'])})",
        f"same, maxerr {tol(tol_['deeptime_maxerr'])}",
        "lectlib counting",
        "lectlib counting + reversible",
        "deeptime / lectlib",
    ]
    dc = r["disconnected"]
    rev_sets = dc["deeptime"]["rev"]["connected_sets"]
    nonrev_sets = dc["deeptime"]["nonrev"]["connected_sets"]

    def states(s):
        if len(s) > 2 and s[-1] - s[0] == len(s) - 1:
            return f"{s[0]}–{s[-1]}"
        return ", ".join(str(i) for i in s)

    def said(warns):
        if not warns:
            return "nothing"
        names = sorted({w.split(":")[0] for w in warns})
        return ", ".join(f"`{n}`" for n in names) + " (quoted below)"

    def rows(x):
        """lectlib's rows of the added states, in words."""
        parts = []
        for i, row in x["added_state_rows"].items():
            to = ", ".join(
                f"{p:.2g} to {'itself' if str(j) == i else j}" for j, p in row
            )
            parts.append(f"row {i}: {to}")
        return "; ".join(parts)

    log = "; ".join(f"`{m}`" for m in dc["deeptime_log"]) or (
        "nothing (no warning, no log message)"
    )
    disc_rows = [
        [
            "deeptime, reversible",
            f"states {states(dc['deeptime_rev_active_set'])} (the largest of "
            f"{len(rev_sets)} strongly connected sets)",
            sci(dc["lectlib_rev"]["T_max_abs_diff_on_deeptime_active_set"]),
            log,
        ],
        [
            "deeptime, non-reversible",
            f"states {states(dc['deeptime_nonrev_active_set'])} (the largest of "
            f"{len(nonrev_sets)} weakly connected sets)",
            sci(dc["lectlib_nonrev"]["T_max_abs_diff_on_deeptime_active_set"]),
            log,
        ],
        [
            "lectlib, reversible",
            f"all {dc['lectlib_rev']['shape'][0]} states ({rows(dc['lectlib_rev'])})",
            "—",
            said(dc["lectlib_rev"]["warnings"]),
        ],
        [
            "lectlib, non-reversible",
            f"all {dc['lectlib_nonrev']['shape'][0]} states "
            f"({rows(dc['lectlib_nonrev'])})",
            "—",
            said(dc["lectlib_nonrev"]["warnings"]),
        ],
    ]
    disc_header = ["estimate", "T covers", "max abs diff to lectlib there", "says"]
    pi_error = dc["lectlib_rev"]["stationary_distribution_error"]
    all_ok = all(c["agreement_ok"] for c in cases.values()) and dc["agreement_ok"]
    worst_nonrev = max(c["nonrev"]["T_max_abs_diff"] for c in cases.values())
    worst_rev = max(c["rev"]["T_max_abs_diff"] for c in cases.values())
    lines = [
        "Data: trajectories simulated from known reversible transition matrices with "
        "metastable groups of states (the 50-state one with "
        f"{100 * (1 - data['traj_50']['linked_pairs']):.0f} % zero entries); the short "
        f"trajectories have {grouped(data['gapped']['n_missing'])} frames marked `-1` "
        "(state unknown), which deeptime cannot mark: its side splits them there. Both "
        "libraries get the same arrays. lectlib's reversible estimate uses its "
        "defaults (`method=" + repr(tol_["lectlib_method"]) + "`, Newton's method, to "
        f"`tol={tol(tol_['lectlib_tol'])}`, the largest relative change of the "
        "stationary vector in one step); deeptime's, a fixed-point iteration, runs "
        f"to `maxerr={tol(tol_['deeptime_maxerr'])}` (its default is "
        f"{tol(tol_['deeptime_default_maxerr'])}; a norm of the relative changes of "
        f"the stationary vector). Best of {r['timing_settings']['repeats']} calls, "
        "with glibc's allocator thresholds fixed in both processes (as for the "
        "sliding FFT).",
        "",
        "**Agreement**: max |lectlib − deeptime| over the entries, each from its own "
        "counts of the same trajectories; the last column is each library's largest "
        "error against the true matrix, for scale.",
        "",
        table(agree_header, agree_rows),
        "",
        "**Time**, from the trajectory in memory to the reversible T: counting "
        '(deeptime `TransitionCountEstimator(lagtime=1, count_mode="sliding")`, '
        "lectlib `count_transitions`) and the estimate (`MaximumLikelihoodMSM"
        "(reversible=True)`, `transition_matrix(C, reversible=True)`).",
        "",
        table(time_header, time_rows),
        "",
        "**Disconnected states**: the counts of the 10-state trajectory with state 10 "
        "(left once for state 2, never entered) and state 11 (only stays) added, each "
        "library with its defaults.",
        "",
        table(disc_header, disc_rows),
        "",
        "- lectlib's warnings: "
        + "; ".join(
            f"{label}: “{w.split(': ', 1)[-1]}”"
            for label, key in (
                ("reversible", "lectlib_rev"),
                ("non-reversible", "lectlib_nonrev"),
            )
            for w in dc[key]["warnings"]
        )
        + "."
        + (
            " lectlib's `stationary_distribution` of the reversible T raises "
            f"`ValueError`: “{pi_error}”; deeptime gives the stationary distribution "
            "of its active set."
            if pi_error
            else ""
        ),
        f"- Agreement targets, max abs diff ≤ {tol(t['nonrev_max_abs_diff'])} "
        f"(non-reversible) and ≤ {tol(t['rev_max_abs_diff'])} (reversible), counts "
        f"equal: {met(all_ok)} (largest {sci(worst_nonrev)} and {sci(worst_rev)}).",
        f"- Speed target, deeptime / lectlib ≥ {t['speed_ratio']:g}× for counting + "
        "reversible estimation, deeptime at its default maxerr: "
        + "; ".join(
            f"{met(x['speed_target_met'])} with {x['n_states']} states "
            f"({times(x['ratio_deeptime_over_lectlib'])}; "
            f"{times(x['ratio_deeptime_tight_over_lectlib'])} against maxerr "
            f"{tol(tol_['deeptime_maxerr'])})"
            for x in r["timing"].values()
        )
        + ".",
    ]
    fp = [c["rev"]["fixed_point_method_T_max_abs_diff"] for c in cases.values()]
    res = [c["rev"]["fixed_point_residual"] for c in cases.values()]
    lines.append(
        "- Which is nearer the maximum-likelihood estimate: the largest relative "
        "residual of the likelihood's fixed-point equations is "
        f"{sci(max(x['lectlib'] for x in res))} for lectlib and "
        f"{sci(max(x['deeptime'] for x in res))} for deeptime. lectlib's "
        '`method="fixed-point"`, deeptime\'s algorithm, is within '
        f"{sci(max(x['to_deeptime'] for x in fp))} of deeptime and "
        f"{sci(max(x['to_newton'] for x in fp))} of lectlib's Newton estimate."
    )
    lines.append(
        "- Where the time goes: "
        + "; ".join(
            f"with {x['n_states']} states deeptime counts in "
            f"{ms(x['deeptime']['count'])} and estimates from the counts in "
            f"{ms(x['deeptime']['reversible_from_counts'])}, lectlib in "
            f"{ms(x['lectlib']['count'])} and "
            f"{ms(x['lectlib']['reversible_from_counts'])} (its fixed-point "
            f"iteration: {ms(x['lectlib']['reversible_from_counts_fixed_point'])})"
            for x in r["timing"].values()
        )
        + "."
    )
    p = r.get("posterior")
    if p:
        s = p["lectlib_seed_vs_seed"]

        def spread(x, name):
            y = x[name]
            return (
                f"{y['width_ratio_median']:.2f} ({y['width_ratio_min']:.2f}–"
                f"{y['width_ratio_max']:.2f})"
            )

        lines.append(
            f"- Posterior (reported only): {grouped(p['n_samples'])} samples of the "
            "non-reversible posterior of the 10-state counts from each library. The "
            "widths of the 95 % credible intervals, lectlib's over deeptime's, median "
            f"(range): {spread(p, 'T')} over the {p['T']['n_quantities']} non-zero "
            f"entries of T, {spread(p, 'pi')} over π, {spread(p, 'its')} over the "
            "timescales; between two seeds of lectlib alone, the spread that sampling "
            f"gives: {spread(s, 'T')}, {spread(s, 'pi')} and {spread(s, 'its')}. "
            f"Time: {ms(p['time_s']['lectlib'])} (lectlib, the samples of T), "
            f"{ms(p['time_s']['deeptime'])} (deeptime, which also fits the "
            "maximum-likelihood MSM and builds an MSM object for every sample)."
        )
    return "\n".join(lines)


def render_outofcore(r):
    d, ch, rd, w = r["data"], r["chunks"], r["read"], r["write"]
    ny, nx, c = d["shape"]
    names = {
        "regression": "regression (NNLS) + χ²",
        "fcls": "FCLS",
        "pca": "incremental PCA + projection",
        "projection": f"projection onto {d['n_components']} components",
        "pca_fit": "incremental PCA fit",
    }

    short = {"regression": "regression", "fcls": "FCLS", "pca": "PCA"}
    short.update(projection="projection", pca_fit="incremental fit")

    def size(n):
        return f"{n / 2**30:.0f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"

    def mib(n):
        return f"{n / 2**20:.0f} MiB"

    def cpu_of(x):
        return f"{x['cpu_user_s'] + x['cpu_sys_s']:.1f} s ({x['cpu_sys_s']:.1f} s)"

    by_size, t = r["by_size"], r["targets"]
    sizes = next(iter(by_size.values()))["sizes"]
    small, whole = size(sizes[0]["cube_bytes"]), size(sizes[-1]["cube_bytes"])
    header = (
        ["method", "run"]
        + [f"time, {size(s['cube_bytes'])}" for s in sizes]
        + [f"memory, {size(s['cube_bytes'])}" for s in sizes]
    )
    rows = []
    for method, m in by_size.items():
        for kind, run in (("out_of_core", "out of core"), ("in_memory", "in memory")):
            runs = [s.get(kind) for s in m["sizes"]]
            if any(runs):
                rows.append(
                    [names[method] if kind == "out_of_core" else "", run]
                    + [ms(x["seconds"]) if x else "—" for x in runs]
                    + [mib(x["rise"]) if x else "—" for x in runs]
                )
    base = [
        s["out_of_core"]["rss_before"] for m in by_size.values() for s in m["sizes"]
    ]
    eq, ip = r["equality"]["small"], r["equality"]["small"]["ipca_vs_exact_pca"]
    others = r["equality"]["whole_cube_against_local_one_thread"].values()
    in_memory = {
        k: m["sizes"][0]["in_memory"]["rise_over_cube"]
        for k, m in by_size.items()
        if "in_memory" in m["sizes"][0]
    }
    cold, warm, warm2 = rd["cold"], rd["warm"], rd["warm_2_threads"]
    lines = [
        f"Data: a {ny} × {nx} × {c} cube of Poisson counts in float32, "
        f"{size(d['cube_bytes'])} on disk ({d['n_endmembers']} endmembers, "
        f"{d['mean_expected_counts_per_channel']:.0f} counts per channel on average), "
        f"written by `write_cube` in {ms(w['seconds'])} while the writing process's "
        f"memory rose by {mib(w['rise'])} at most. Chunks: {ch['rows']} rows, "
        f"{grouped(ch['pixels'])} pixels × all channels, "
        f"{mib(ch['bytes_float64'])} in float64. One pass reading the whole file "
        f"took {ms(cold['seconds'])} from the disk ({cold['gib_per_s']:.1f} GiB/s) "
        f"and {ms(warm['seconds'])} from the page cache ({warm['gib_per_s']:.1f} "
        "GiB/s), where every run below found it. *Memory*: the rise of a process's "
        "resident memory during the run, above what it held before "
        f"({mib(min(base))}–{mib(max(base))}: Python, numpy, dask, scikit-learn). "
        f"Time: the best of {r['timing_settings']['repeats']} runs (regression, "
        f"FCLS) or {r['timing_settings']['pca_repeats']} (PCA), on one thread.",
        "",
        "**Time and memory against the cube's size** (the first "
        + ", ".join(str(s["rows"]) for s in sizes)
        + " rows of the file):",
        "",
        table(header, rows),
        "",
        f"- Bounded memory target, the peak on {whole} at most {t['flat_chunks']} "
        f"chunks ({mib(t['flat_chunks'] * ch['bytes_float64'])}) above the peak on "
        f"{small}: {met(all(m['flat_ok'] for m in by_size.values()))} ("
        + "; ".join(
            f"{short[k]} {signed(m['peak_growth_small_to_whole'] / 2**20)} MiB"
            for k, m in by_size.items()
        )
        + "). Out of core a run holds "
        + "; ".join(
            f"{m['sizes'][-1]['out_of_core']['rise_in_chunks']:.1f} chunks ({short[k]})"
            for k, m in by_size.items()
        )
        + f" at its peak, whatever the cube's size; in memory the rise on {small} "
        "is "
        + "; ".join(
            f"{v:.1f}× the cube on disk ({short[k]})" for k, v in in_memory.items()
        )
        + ", and it grows with the cube.",
        f"- Equality target, max |out of core − in memory| / max |in memory| ≤ "
        f"{tol(t['equal_max_rel'])} on the {small} cube: {met(r['equality_ok'])} "
        f"(coefficients {sci(eq['regression_coefficients']['max_rel'])}, χ² "
        f"{sci(eq['regression_chi2']['max_rel'])}, FCLS {sci(eq['fcls']['max_rel'])}, "
        f"projection {sci(eq['projection']['max_rel'])}); on the {whole} cube the "
        "2-thread and cluster results differ from the 1-thread ones by at most "
        + sci(max(v["max_rel"] for x in others for v in x.values()))
        + ".",
        "- CPU time per run, user + system (system alone in brackets), which a busy "
        "machine does not stretch as it does the wall time: out of core on "
        f"{whole}, "
        + "; ".join(
            f"{short[k]} {cpu_of(m['sizes'][-1]['out_of_core'])}"
            for k, m in by_size.items()
        )
        + f"; in memory on {small}, "
        + "; ".join(
            f"{short[k]} {cpu_of(m['sizes'][0]['in_memory'])}"
            for k, m in by_size.items()
            if "in_memory" in m["sizes"][0]
        )
        + ". The system time is mostly the kernel providing fresh memory, page by "
        "page, for the arrays a method allocates, and copying the file's pages.",
        "- The incremental PCA against the exact one (`decomposition.pca`, the SVD "
        f"of the {small} cube in memory): the {ip['signal_components']} components "
        "that carry the signal span the same space to "
        f"{sci(max(ip['principal_angles_deg']))}° (largest principal angle) and "
        f"their eigenvalues agree to {sci(max(ip['eigenvalue_rel_diff']))} "
        "(relative). FCLS on the whole cube is off the true abundances by "
        f"{r['recovery']['fcls_abundance_mae']:.4f} on average: the noise.",
    ]
    sc = r["scaling"]
    srows = []
    for method, x in sc.items():
        c1, c2 = x["cluster_1"], x["cluster_2"]
        threads = "threads_2" in x
        srows.append(
            [
                f"{names[method]} ({size(c2['cube_bytes'])})",
                ms(x["threads_1"]["seconds"]),
                ms(x["threads_2"]["seconds"]) if threads else "—",
                times(x["speedup_threads_1_to_2"]) if threads else "—",
                ms(c1["seconds"]),
                ms(c2["seconds"]),
                f"**{times(x['speedup_cluster_1_to_2'])}**",
                pct(c2["busy_fraction"]),
                mib(c2["worker_rise_max"]),
            ]
        )
    sheader = [
        "method (cube)",
        "1 thread",
        "2 threads",
        "1 → 2 threads",
        "1 worker",
        "2 workers",
        "1 → 2 workers",
        "2 workers busy",
        "memory per worker",
    ]
    loads = [
        v
        for x in sc.values()
        for e in x.values()
        if isinstance(e, dict)
        for v in e.get("load_1min", ())
    ]
    cpus = r["machine"]["logical_cpus"]

    def cpu(x):
        user = x.get("workers_cpu_user_s", x.get("cpu_user_s"))
        system = x.get("workers_cpu_sys_s", x.get("cpu_sys_s"))
        return f"{user + system:.1f} s ({system:.1f} s)"

    per_method = "; ".join(
        f"{short[k]}: {cpu(x['threads_1'])}, {cpu(x['cluster_1'])}, "
        f"{cpu(x['cluster_2'])}"
        for k, x in sc.items()
        if "cpu_user_s" in x["threads_1"]
    )
    busy = (
        f"above {cpus}: other processes shared the CPUs, which lowers the 2-worker "
        "speed-ups"
        if max(loads) > cpus
        else f"at most {cpus}"
    )
    lines += [
        "",
        f"**From one worker to two**, best of {r['timing_settings']['scaling_repeats']}"
        " runs: dask's threaded scheduler in one process, and a "
        "`dask.distributed.LocalCluster` of worker processes of one thread each on "
        "loopback (timed once it is running). *Busy*: the time the workers spent in "
        "tasks over the wall time × workers; *memory*: the largest rise of a "
        "worker's resident memory.",
        "",
        table(sheader, srows),
        "",
        f"- {cpus} logical CPUs; the 1-minute load average during these runs was "
        f"{min(loads):.1f}–{max(loads):.1f} ({busy}). The reading alone: a pass "
        f"over the {whole} file from the page cache takes {ms(warm['seconds'])} on "
        f"1 thread and {ms(warm2['seconds'])} on 2 "
        f"({times(warm['seconds'] / warm2['seconds'])}).",
        "- CPU time per run, user + system (system), on 1 thread, on 1 worker and "
        "on 2 workers together: "
        + per_method
        + ". Two workers halve the time only if this stays the same and each has a "
        "CPU of its own.",
    ]
    if "pca_fit" in sc:
        lines.append(
            "- The incremental fit does not spread: each `partial_fit` runs in the "
            "client, on one chunk after another, while the workers only read the "
            f"chunks (busy {pct(sc['pca_fit']['cluster_2']['busy_fraction'])} of the "
            "time)."
        )
    return "\n".join(lines)


def render_runtimes(r):
    chapters = r["chapters"]
    slow = [
        f"{name} ({k.removesuffix('_s')}, {t[k]:.1f} s)"
        for name, t in chapters.items()
        for k in ("quiet_s", "busy_s")
        if t[k] > r["budget_s"]
    ]
    verdict = (
        f"every chapter within {r['budget_s']:.0f} s, quiet and with one core busy"
        if not slow
        else "over budget: " + ", ".join(slow)
    )
    lines = [
        f"Each chapter executed top to bottom in a fresh kernel (`jupyter nbconvert "
        f"--execute`), wall time including the kernel's start, median of "
        f"{r['repeats']} run(s); {r['machine']['logical_cpus']} logical CPUs.",
        "",
        r["table_markdown"],
        "",
        f"- Target, at most {r['budget_s']:.0f} s with no thread variables set: "
        f"{'met' if not slow else 'missed'} ({verdict}).",
    ]
    if all("busy_unlimited_s" in t for t in chapters.values()):
        worst = max(
            chapters.values(), key=lambda t: t["busy_unlimited_s"] / t["busy_s"]
        )
        name = next(k for k, t in chapters.items() if t is worst)
        lines.append(
            "- Without the set-up cell's default (every variable set to the core "
            f"count), the chapter slowed most with one core busy is {name}: "
            f"{worst['busy_unlimited_s']:.1f} s against {worst['busy_s']:.1f} s "
            f"({worst['busy_unlimited_s'] / worst['busy_s']:.1f}×)."
        )
    return "\n".join(lines)


def render_blocks(results):
    """Markdown for every block, from the loaded results
    (a dict: JSON file stem → data)."""
    missing = [k for k in BLOCKS[1:] if k not in results]
    if missing:
        raise FileNotFoundError(
            f"no results for {missing} in benchmarks/results/; run make bench"
        )
    return dict(
        machine=render_machine(results),
        regression=render_regression(results["regression"]),
        poisson_scaling=render_poisson(results["poisson_scaling"]),
        unmixing=render_unmixing(results["unmixing"]),
        minvol=render_minvol(results["minvol"]),
        sliding=render_sliding(results["sliding"]),
        crystallography=render_crystallography(results["crystallography"]),
        markov=render_markov(results["markov"]),
        outofcore=render_outofcore(results["outofcore"]),
        runtimes=render_runtimes(results["runtimes"]),
    )


# --------------------------------------------------------------------------------- page


def load_results(directory=RESULTS):
    return {
        p.stem: json.loads(p.read_text())
        for p in sorted(Path(directory).glob("*.json"))
    }


def page_blocks(text):
    """The generated blocks currently in the page:
    name → markdown between its markers."""
    return {
        m.group("name"): m.group("body").rstrip("\n") for m in MARKER.finditer(text)
    }


def fill(text, blocks):
    """``text`` with the body of each marker pair replaced by ``blocks[name]``."""
    found = set(page_blocks(text))
    absent = [name for name in blocks if name not in found]
    if absent:
        raise ValueError(f"the page has no markers for {absent}")

    def sub(m):
        name = m.group("name")
        body = blocks.get(name, m.group("body").rstrip("\n"))
        return f"<!-- results:{name}:start -->\n{body}\n<!-- results:{name}:end -->"

    return MARKER.sub(sub, text)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--page", type=Path, default=PAGE)
    parser.add_argument(
        "--check",
        action="store_true",
        help="do not write; exit 1 if the page differs from the results",
    )
    args = parser.parse_args(argv)
    text = args.page.read_text()
    new = fill(text, render_blocks(load_results(args.results)))
    if args.check:
        if new != text:
            print(
                f"{args.page} is out of date; run benchmarks/report.py", file=sys.stderr
            )
            return 1
        print(f"{args.page} is up to date")
        return 0
    if new != text:
        args.page.write_text(new)
        print(f"updated the tables of {args.page}")
    else:
        print(f"{args.page} was already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
