"""The atomap side of ``bench_crystallography.py``, run in ``benchmarks/.venv-atomap``.

Loads the image (counts), the initial positions and the low-dose image that
``bench_crystallography.py`` hands over, then runs and times atomap 0.4.2:

* finding: ``atomap.atom_finding_refining.get_atom_positions(Signal2D(image),
  separation=S)`` with its other defaults (``threshold_rel=0.02``, no PCA, no background
  subtraction), best of ``--repeats`` calls; on the low-dose image once with the
  defaults and once with ``pca=True``, atomap's option for noisy images (untimed);
* refinement, every method from the same initial positions: a fresh
  ``Sublattice(initial[:, ::-1], image)`` (atomap takes (x, y) = (col, row)) and
  ``find_nearest_neighbors()`` (untimed), then
  ``refine_atom_positions_using_2d_gaussian(show_progressbar=False)`` with its defaults
  (``percent_to_nn=0.4``, ``rotation_enabled=True``), timed over ``--gaussian-repeats``
  calls (1: it takes tens of seconds), and
  ``refine_atom_positions_using_center_of_mass(show_progressbar=False)`` with its
  defaults (``percent_to_nn=0.25``, one pass), best of ``--repeats``.

Hands back the positions as (row, col), atomap's fitted widths, amplitudes and
rotations, which atoms fell back to the centre of mass after ten failed fits, and the
timings and versions. Imports numpy, threadpoolctl, HyperSpy, atomap and the harness,
never lectlib. ::

    .venv-atomap/bin/python crystallography_peer.py DIRECTORY --separation 6 \\
        --repeats 3 --gaussian-repeats 1
"""

from __future__ import annotations

import io
import sys
import warnings
from contextlib import redirect_stderr, redirect_stdout

import numpy as np

import harness  # beside this script: Python puts the script's folder first on the path

GAUSSIAN_CALL = (
    "Sublattice(initial[:, ::-1], image); find_nearest_neighbors(); "
    "refine_atom_positions_using_2d_gaussian(show_progressbar=False)  "
    "# percent_to_nn=0.4, rotation_enabled=True"
)
COM_CALL = (
    "Sublattice(initial[:, ::-1], image); find_nearest_neighbors(); "
    "refine_atom_positions_using_center_of_mass(show_progressbar=False)  "
    "# percent_to_nn=0.25, one pass"
)


def run_atomap(
    image, initial, low_dose, separation, repeats, gaussian_repeats, warmup_atoms=16
):
    """atomap's finding and refinements on ``image``: (info, outputs)."""
    import scipy
    import sklearn
    import threadpoolctl
    from threadpoolctl import threadpool_limits

    chatter = io.StringIO()
    with warnings.catch_warnings(record=True) as import_warnings:
        # HyperSpy 2.5 warns about its own deprecated imports when atomap imports it
        warnings.simplefilter("always")
        import atomap
        import atomap.api as am  # atomap's modules import each other: through its api
        import hyperspy
        import hyperspy.api as hs
        from atomap.atom_finding_refining import get_atom_positions

    def find(signal, **kwargs):
        # atomap returns (x, y) = (col, row); back to (row, col)
        xy = np.asarray(get_atom_positions(signal, separation=separation, **kwargs))
        return xy.reshape(-1, 2)[:, ::-1].astype(np.float64)

    def sublattice(positions):
        sub = am.Sublattice(positions[:, ::-1].copy(), image)
        sub.find_nearest_neighbors()
        return sub

    def gaussian(sub):
        sub.refine_atom_positions_using_2d_gaussian(show_progressbar=False)
        return sub

    def com(sub):
        sub.refine_atom_positions_using_center_of_mass(show_progressbar=False)
        return sub

    with (
        threadpool_limits(limits=1),
        warnings.catch_warnings(record=True) as caught,
        redirect_stdout(chatter),
        redirect_stderr(chatter),
    ):
        warnings.simplefilter("always")
        signal = hs.signals.Signal2D(image)
        found = find(signal)  # untimed first call
        find_seconds, _ = harness.best_time(lambda: find(signal), repeats)

        # warm-up (imports, HyperSpy's first model) on a few atoms, untimed
        gaussian(sublattice(initial[:warmup_atoms]))
        com(sublattice(initial[:warmup_atoms]))

        gauss_seconds, gauss_runs = harness.best_time(
            gaussian, gaussian_repeats, setup=lambda: sublattice(initial)
        )
        com_seconds, com_runs = harness.best_time(
            com, repeats, setup=lambda: sublattice(initial)
        )
        pools = harness.thread_pools(filepath=False)

        low = {}
        if low_dose is not None:
            low["default"] = find(hs.signals.Signal2D(low_dose))
            low["pca"] = find(hs.signals.Signal2D(low_dose), pca=True)

    sub_g, sub_c = gauss_runs[-1], com_runs[-1]
    amplitude = np.asarray(sub_g.atom_amplitude_gaussian2d, dtype=np.float64)
    # after ten failed fits atomap puts the atom at its centre of mass and sets its
    # amplitude to 0
    fell_back = amplitude == 0.0
    outputs = dict(
        found=found,
        gaussian_positions=sub_g.atom_positions[:, ::-1].astype(np.float64),
        gaussian_sigma_row=np.asarray(sub_g.sigma_y, dtype=np.float64),
        gaussian_sigma_col=np.asarray(sub_g.sigma_x, dtype=np.float64),
        gaussian_amplitude=amplitude,
        gaussian_rotation=np.asarray(sub_g.rotation, dtype=np.float64),
        gaussian_fell_back_to_com=fell_back,
        com_positions=sub_c.atom_positions[:, ::-1].astype(np.float64),
    )
    for name, positions in low.items():
        outputs[f"low_dose_found_{name}"] = positions
    messages = sorted(
        {
            f"{w.category.__name__}: {str(w.message)[:160]}"
            for w in [*import_warnings, *caught]
        }
    )
    info = dict(
        find=dict(
            seconds=find_seconds,
            repeats=repeats,
            n_found=int(len(found)),
            call=(
                f"get_atom_positions(Signal2D(image), separation={separation})  "
                "# threshold_rel=0.02, pca=False, subtract_background=False, "
                "normalize_intensity=False, remove_too_close_atoms=True"
            ),
        ),
        gaussian=dict(
            seconds=gauss_seconds,
            repeats=gaussian_repeats,
            call=GAUSSIAN_CALL,
            n_fell_back_to_com=int(fell_back.sum()),
            timed="the refinement call only (Sublattice and its neighbour lists are "
            "built outside the timed region)",
        ),
        com=dict(
            seconds=com_seconds,
            repeats=repeats,
            call=COM_CALL,
            timed="the refinement call only",
        ),
        low_dose=dict(
            calls=dict(
                default=f"get_atom_positions(Signal2D(low_dose), "
                f"separation={separation})",
                pca=f"get_atom_positions(Signal2D(low_dose), separation={separation}, "
                "pca=True)",
            ),
            n_found={name: int(len(p)) for name, p in low.items()},
        )
        if low
        else None,
        warmup=f"one untimed find; both refinements on the first {warmup_atoms} atoms",
        warnings=messages,
        printed=chatter.getvalue()[-2000:],
        versions=dict(
            atomap=getattr(atomap, "__version__", None) or _dist_version("atomap"),
            hyperspy=hyperspy.__version__,
            numpy=np.__version__,
            scipy=scipy.__version__,
            sklearn=sklearn.__version__,
            threadpoolctl=threadpoolctl.__version__,
        ),
        blas_pools_during_timing=pools,
    )
    return info, outputs


def _dist_version(name):
    from importlib.metadata import version

    return version(name)


def main(argv=None):
    parser = harness.peer_parser(__doc__)
    parser.add_argument(
        "--separation",
        type=int,
        required=True,
        help="get_atom_positions' separation (px)",
    )
    parser.add_argument(
        "--gaussian-repeats",
        type=int,
        default=1,
        help="timed calls of the 2-D Gaussian refinement",
    )
    args = parser.parse_args(argv)
    inputs = harness.load_inputs(args.directory)
    info, outputs = run_atomap(
        inputs["image"],
        inputs["initial"],
        inputs.get("low_dose"),
        args.separation,
        args.repeats,
        args.gaussian_repeats,
    )
    harness.save_outputs(args.directory, info, outputs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
