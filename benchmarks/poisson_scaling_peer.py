"""The HyperSpy side of ``bench_poisson_scaling.py``,
run in ``benchmarks/.venv-hyperspy``.

Loads each cube that ``bench_poisson_scaling.py`` hands over, times
``hs.signals.Signal1D(cube).normalize_poissonian_noise()`` (the method call only, on a
signal built from a fresh copy of the cube before each call) and hands back the scaled
cube, the timing and the versions. Imports numpy, HyperSpy and the harness, never
lectlib. ::

    .venv-hyperspy/bin/python poisson_scaling_peer.py DIRECTORY --repeats 7
"""

from __future__ import annotations

import sys

import numpy as np

import harness  # beside this script: Python puts the script's folder first on the path


def normalize_poissonian_noise(cube, repeats):
    """Best time of HyperSpy's two-way scaling of ``cube``; (info, {"scaled": cube})."""
    import hyperspy
    import hyperspy.api as hs

    def make_signal():
        return hs.signals.Signal1D(cube.copy())

    def normalize(signal):
        signal.normalize_poissonian_noise()  # replaces signal.data; returns None
        return signal

    seconds, signals = harness.best_time(normalize, repeats, setup=make_signal)
    signal = signals[-1]
    scaled = np.asarray(signal.data)
    info = dict(
        seconds=seconds,
        repeats=repeats,
        shape=list(scaled.shape),
        dtype=str(scaled.dtype),
        signal_class=f"{type(signal).__module__}.{type(signal).__name__}",
        versions=dict(hyperspy=hyperspy.__version__, numpy=np.__version__),
    )
    return info, dict(scaled=scaled)


def main(argv=None):
    args = harness.peer_parser(__doc__).parse_args(argv)
    cube = harness.load_inputs(args.directory)["cube"]
    info, outputs = normalize_poissonian_noise(cube, args.repeats)
    harness.save_outputs(args.directory, info, outputs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
