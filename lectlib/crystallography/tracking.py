"""Tracking: the same atom from frame to frame of a movie.

Positions found frame by frame carry no identity. Linking them into tracks is an
assignment problem between consecutive frames: each track's last known position
against the detections of the next frame, solved for the smallest total distance
(:func:`scipy.optimize.linear_sum_assignment`). A link longer than ``max_distance``
is not allowed, a track may miss up to ``max_gap`` frames (a dopant that was not
detected) and a detection that no track takes starts a new track.
"""

from __future__ import annotations

import numbers

import numpy as np
from scipy.optimize import linear_sum_assignment

from .._validation import as_float_array, check_scalar, check_size

__all__ = ["link_positions"]


def _check_frames(positions):
    if isinstance(positions, (str, bytes, dict)) or positions is None:
        raise TypeError(
            "positions must be a list of (n_f, 2) arrays, one per frame, "
            f"got {type(positions).__name__}"
        )
    if isinstance(positions, np.ndarray):
        if positions.ndim != 3:
            raise ValueError(
                "positions must be a list of (n_f, 2) arrays, one per frame, or an "
                f"array (n_frames, n, 2); got an array of shape {positions.shape}"
            )
        positions = list(positions)
    elif isinstance(positions, numbers.Number) or not hasattr(positions, "__len__"):
        raise TypeError(
            "positions must be a list of (n_f, 2) arrays, one per frame, "
            f"got {type(positions).__name__}"
        )
    if len(positions) == 0:
        raise ValueError("positions holds no frames")
    frames = []
    for f, p in enumerate(positions):
        name = f"positions[{f}]"
        arr = as_float_array(p, name, ndim=2, allow_empty=True)
        if arr.shape[1:] != (2,) and arr.size:
            raise ValueError(
                f"{name} must have shape (n, 2) of (row, col) positions, "
                f"got shape {arr.shape}"
            )
        frames.append(arr.reshape(-1, 2))
    return frames


def link_positions(positions, max_distance, *, max_gap=2):
    """Link positions found frame by frame into tracks.

    Parameters
    ----------
    positions : list of array-like of shape (n_f, 2)
        One array per frame, ``(row, col)`` in pixels; a frame may hold no positions
        (shape (0, 2)). An array of shape (n_frames, n, 2) is taken frame by frame.
    max_distance : float
        The longest step allowed between a track's last known position and its next
        detection, in pixels (> 0).
    max_gap : int, default=2
        How many frames in a row a track may miss (>= 0) and still be continued.

    Returns
    -------
    tracks : ndarray of shape (n_tracks, n_frames), int
        ``tracks[t, f]`` is the row of ``positions[f]`` that track ``t`` holds in
        frame ``f``, or ``-1`` where it holds none. Tracks are sorted by the frame
        they start in, then by their first row there. Every detection belongs to
        exactly one track.

    Raises
    ------
    ValueError
        No frames, a frame not of shape (n, 2), NaN or infinite positions,
        ``max_distance <= 0``, ``max_gap < 0``.
    TypeError
        ``positions`` not a sequence of arrays (a string, a number, None).

    See Also
    --------
    lectlib.crystallography.neighbor_vectors : the nearest atoms within one frame,
        where this follows one atom across frames.
    lectlib.crystallography.descriptors.polar_descriptors : describes each tracked
        site, frame by frame.

    Notes
    -----
    Frame by frame, the live tracks (those that missed at most ``max_gap`` frames
    since their last detection) are matched to the new detections by
    :func:`scipy.optimize.linear_sum_assignment` on the Euclidean distances from
    each track's last known position. Links longer than ``max_distance`` are
    forbidden: they cost more than any set of allowed links together, so the
    assignment first makes as many allowed links as it can and then the shortest
    ones, and a forbidden pair left in the solution is dropped. Unmatched
    detections start new tracks. This is the frame-to-frame step of particle
    tracking (Jaqaman et al., Nat. Methods 5, 695 (2008), without their second,
    gap-closing assignment; here a gap is bridged because a track stays live).
    There is no motion model: ``max_distance`` must exceed the largest step
    between frames (drift included) over ``max_gap + 1`` frames, and stay below
    half the distance between two tracked atoms.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.crystallography.tracking import link_positions
    >>> frames = [np.array([[10.0, 10.0], [50.0, 50.0]]),
    ...           np.array([[51.0, 50.0], [10.0, 11.0]]),  # listed the other way
    ...           np.zeros((0, 2)),                         # nothing detected
    ...           np.array([[10.0, 12.0], [52.0, 50.0], [90.0, 90.0]])]
    >>> link_positions(frames, max_distance=5.0).tolist()
    [[0, 1, -1, 0], [1, 0, -1, 1], [-1, -1, -1, 2]]
    """
    frames = _check_frames(positions)
    max_distance = check_scalar(
        max_distance, "max_distance", low=0.0, low_inclusive=False
    )
    max_gap = check_scalar(max_gap, "max_gap", low=0, integer=True)
    n_frames = len(frames)
    check_size(sum(len(p) for p in frames) * n_frames, "the track table")

    rows = []  # per track: {frame: row}
    last_pos = np.zeros((0, 2))
    last_frame = np.zeros(0, dtype=np.int64)
    for f, detected in enumerate(frames):
        live = np.flatnonzero(f - last_frame - 1 <= max_gap)
        taken = np.zeros(len(detected), dtype=bool)
        if len(live) and len(detected):
            with np.errstate(over="ignore"):
                diff = last_pos[live][:, None, :] - detected[None, :, :]
                dist = np.hypot(diff[..., 0], diff[..., 1])
            allowed = dist <= max_distance
            if allowed.any():
                # forbidden links cost more than all allowed links together
                big = (min(dist.shape) + 1.0) * max_distance * 2.0
                cost = np.where(allowed, dist, big)
                r, c = linear_sum_assignment(cost)
                ok = allowed[r, c]
                for t, j in zip(live[r[ok]].tolist(), c[ok].tolist()):
                    rows[t][f] = j
                last_pos[live[r[ok]]] = detected[c[ok]]
                last_frame[live[r[ok]]] = f
                taken[c[ok]] = True
        new = np.flatnonzero(~taken)
        rows.extend({f: int(j)} for j in new)
        last_pos = np.concatenate([last_pos, detected[new]])
        last_frame = np.concatenate([last_frame, np.full(len(new), f)])
    tracks = np.full((len(rows), n_frames), -1, dtype=np.int64)
    for t, held in enumerate(rows):
        tracks[t, list(held)] = list(held.values())
    return tracks
