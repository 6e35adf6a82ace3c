"""Times and peak memory of lectlib's ``SlidingFFT`` and of the batched ``rfft2`` floor.

The part of ``bench_sliding.py`` that runs with the stopwatch: every method is called
once untimed, then timed in interleaved rounds (``harness.rounds``), and its peak memory
is measured over one more call. The floor computes the complex spectrum of the
Hann-tapered windows only, two ways (the whole stack in one ``rfft2``, or one grid row
per call); lectlib's variants are those of :func:`sliding_case.lectlib_variants`, plus
the settings closest to each peer.
"""

from __future__ import annotations

import gc
import os
import tracemalloc

import numpy as np
from scipy import fft as sp_fft

from lectlib.sliding import SlidingFFT

import harness
from sliding_case import (
    CLOSEST_SETTINGS,
    STEP,
    WINDOW,
    hann_taper,
    lectlib_variants,
    window_stack,
)

SPEED_TARGET = 1.25  # lectlib / floor, at most
MEMORY_TARGET = 2.0  # lectlib's peak / output nbytes, at most


def peak_memory(func):
    """(peak bytes allocated during one call above the level before it, result).

    ``tracemalloc`` sees numpy's buffers, which numpy reports to it.
    """
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        result = func()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    return int(peak), result


def timed_methods(image):
    """name → callable for every method timed, and label → fitted lectlib model.

    The insertion order is the order of the first timing round.
    """
    windows = window_stack(image)

    def floor_whole(dtype, taper):
        return lambda: sp_fft.rfft2(np.multiply(windows, taper, dtype=dtype), workers=1)

    def floor_rows(dtype, taper):
        def run():
            for r in range(windows.shape[0]):
                sp_fft.rfft2(np.multiply(windows[r], taper, dtype=dtype), workers=1)

        return run

    def complete_rows(dtype, taper):
        # not the floor: the same loop doing lectlib's whole job (log(1 + |F|) into an
        # output array kept to the end), for reference
        n_rows, n_cols = windows.shape[:2]

        def run():
            out = np.empty((n_rows * n_cols, WINDOW * (WINDOW // 2 + 1)), dtype=dtype)
            for r in range(n_rows):
                spectrum = sp_fft.rfft2(
                    np.multiply(windows[r], taper, dtype=dtype), workers=1
                )
                dest = out[r * n_cols : (r + 1) * n_cols].reshape(spectrum.shape)
                np.abs(spectrum, out=dest)
                np.log1p(dest, out=dest)
            return out

        return run

    funcs, models = {}, {}
    for name in ("float64", "float32"):
        taper = hann_taper(name)
        funcs[f"floor whole {name}"] = floor_whole(name, taper)
        funcs[f"floor rows {name}"] = floor_rows(name, taper)
        funcs[f"complete rows {name}"] = complete_rows(name, taper)
    settings = [(label, kwargs) for label, (kwargs, _, _) in lectlib_variants().items()]
    settings += list(CLOSEST_SETTINGS.values())
    for label, kwargs in settings:
        model = SlidingFFT(window=WINDOW, step=STEP, **kwargs).fit(image)
        models[label] = model
        funcs[f"lectlib {label}"] = (lambda m: lambda: m.transform(image))(model)
    return funcs, models


def measure(image, repeats, whole_repeats):
    """Floors and lectlib: times, ratios,
    peak memory (and the load average around the timing).

    Returns
    -------
    floors : dict
        Per precision: both variants' times and peaks, the floor (the faster).
    rows : list of dict
        One per lectlib variant: time, ratios to the floors, memory.
    peer_configs : dict
        Label → time and memory of the lectlib settings closest to a peer.
    load : list
        [1-minute load average before the timing, after it].
    """
    funcs, models = timed_methods(image)
    for func in funcs.values():  # untimed first call of everything
        harness.timed(func)
    whole = {k: v for k, v in funcs.items() if k.startswith("floor whole")}
    rest = {k: v for k, v in funcs.items() if k not in whole}
    load = [os.getloadavg()[0]]
    all_times = harness.rounds(rest, repeats)
    all_times.update(harness.rounds(whole, whole_repeats))
    load.append(os.getloadavg()[0])
    times = {name: min(t) for name, t in all_times.items()}
    medians = {name: float(np.median(t)) for name, t in all_times.items()}

    memory = {}
    for name, func in funcs.items():
        if name.startswith(("lectlib", "floor", "complete")):
            peak, result = peak_memory(func)
            memory[name] = dict(
                peak_bytes=peak,
                output_nbytes=int(result.nbytes) if result is not None else 0,
            )
            del result

    floors = {}
    for name in ("float64", "float32"):
        w, r = times[f"floor whole {name}"], times[f"floor rows {name}"]
        variant = "whole" if w <= r else "rows"
        floors[name] = dict(
            whole_s=w,
            rows_s=r,
            floor_s=min(w, r),
            floor_variant=variant,
            floor_median_s=medians[f"floor {variant} {name}"],
            whole_all_s=all_times[f"floor whole {name}"],
            rows_all_s=all_times[f"floor rows {name}"],
            peak_bytes_whole=memory[f"floor whole {name}"]["peak_bytes"],
            peak_bytes_rows=memory[f"floor rows {name}"]["peak_bytes"],
            whole_repeats=whole_repeats,
            rows_repeats=repeats,
            complete_rows_s=times[f"complete rows {name}"],
            complete_rows_peak_bytes=memory[f"complete rows {name}"]["peak_bytes"],
        )
    rows = []
    for label, (kwargs, dname, target) in lectlib_variants().items():
        t = times[f"lectlib {label}"]
        mem = memory[f"lectlib {label}"]
        model = models[label]
        ratio = t / floors[dname]["floor_s"]
        rows.append(
            dict(
                label=label,
                dtype=dname,
                crop=kwargs.get("crop"),
                log=True,
                mask_center=1,
                n_features=int(np.prod(model.feature_shape_)),
                feature_shape=list(model.feature_shape_),
                time_s=t,
                repeats=repeats,
                floor_dtype=dname,
                ratio_to_floor=ratio,
                all_s=all_times[f"lectlib {label}"],
                ratio_of_medians_to_floor=(
                    medians[f"lectlib {label}"] / floors[dname]["floor_median_s"]
                ),
                ratio_to_float64_floor=t / floors["float64"]["floor_s"],
                speed_target_applies=target,
                speed_target_met=bool(ratio <= SPEED_TARGET) if target else None,
                output_nbytes=mem["output_nbytes"],
                peak_bytes=mem["peak_bytes"],
                peak_over_output=mem["peak_bytes"] / mem["output_nbytes"],
                memory_target_met=bool(
                    mem["peak_bytes"] <= MEMORY_TARGET * mem["output_nbytes"]
                ),
                ratio_to_complete_rows=t / floors[dname]["complete_rows_s"],
            )
        )
    peer_configs = {
        label: dict(
            time_s=times[f"lectlib {label}"],
            peak_bytes=memory[f"lectlib {label}"]["peak_bytes"],
            output_nbytes=memory[f"lectlib {label}"]["output_nbytes"],
        )
        for label, _ in CLOSEST_SETTINGS.values()
    }
    return floors, rows, peer_configs, load
