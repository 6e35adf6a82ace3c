"""Linking positions frame to frame: identities kept through permutations, gaps and
drift; a gap longer than allowed or a step longer than max_distance starts a track."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lectlib.crystallography.tracking import link_positions


def _grid_points(n=5, spacing=20.0):
    r, c = np.mgrid[0:n, 0:n] * spacing + 10.0
    return np.column_stack([r.ravel(), c.ravel()])


def _positions_of(tracks, frames):
    """(n_tracks, n_frames, 2) positions of each track, NaN where it has none."""
    out = np.full(tracks.shape + (2,), np.nan)
    for t, row in enumerate(tracks):
        for f, j in enumerate(row):
            if j >= 0:
                out[t, f] = frames[f][j]
    return out


def test_static_points_give_one_track_each():
    points = _grid_points()
    tracks = link_positions([points] * 6, max_distance=3.0)
    assert tracks.shape == (25, 6) and tracks.dtype == np.int64
    assert np.array_equal(tracks, np.repeat(np.arange(25)[:, None], 6, axis=1))


def test_permuted_and_noisy_detections_keep_their_identity():
    rng = np.random.default_rng(0)
    points = _grid_points()
    frames, orders = [], []
    for _ in range(8):
        order = rng.permutation(len(points))
        frames.append(points[order] + rng.normal(0.0, 0.5, points.shape))
        orders.append(order)
    tracks = link_positions(frames, max_distance=5.0)
    assert tracks.shape == (25, 8)
    # track t follows the point frames[0] lists in row t, whatever its row later
    for f, order in enumerate(orders):
        assert np.array_equal(order[tracks[:, f]], orders[0])


@pytest.mark.parametrize("gap", [1, 2, 3])
def test_a_gap_up_to_max_gap_is_bridged_and_a_longer_one_splits(gap):
    points = np.array([[10.0, 10.0], [50.0, 50.0]])
    frames = [points] * 3 + [points[1:]] * gap + [points] * 2
    tracks = link_positions(frames, max_distance=3.0, max_gap=2)
    n = len(frames)
    if gap <= 2:
        assert tracks.shape == (2, n)
        assert tracks[0].tolist() == [0] * 3 + [-1] * gap + [0] * 2
        assert tracks[1].tolist() == [1] * 3 + [0] * gap + [1] * 2
    else:  # the first point's track ends; its return starts a new one
        assert tracks.shape == (3, n)
        assert tracks[0].tolist() == [0] * 3 + [-1] * (gap + 2)
        assert tracks[2].tolist() == [-1] * (3 + gap) + [0] * 2
    assert link_positions(frames, 3.0, max_gap=0).shape[0] == 3


def test_two_moving_particles_with_drift_are_followed():
    n = 40
    t = np.arange(n, dtype=float)
    drift = np.column_stack([0.3 * t, 0.1 * t + 2.0 * np.sin(t / 7)])
    a = np.column_stack([20 + 0.8 * t, 20 + 0.5 * t]) + drift
    b = np.column_stack([60 - 0.5 * t, 80 + 0.2 * t]) + drift
    rng = np.random.default_rng(1)
    frames = []
    for f in range(n):
        pair = np.stack([a[f], b[f]]) + rng.normal(0.0, 0.3, (2, 2))
        frames.append(pair[::-1] if f % 3 == 1 else pair)  # listed either way
    tracks = link_positions(frames, max_distance=4.0)
    assert tracks.shape == (2, n)
    path = _positions_of(tracks, frames)
    assert np.abs(path[0] - a).max() < 2.0 and np.abs(path[1] - b).max() < 2.0


def test_new_particles_start_tracks_sorted_by_first_appearance():
    frames = [
        np.array([[10.0, 10.0]]),
        np.array([[80.0, 80.0], [10.0, 10.5]]),
        np.array([[10.0, 11.0], [80.0, 80.0], [40.0, 40.0]]),
    ]
    tracks = link_positions(frames, max_distance=3.0)
    assert tracks.tolist() == [[0, 1, 0], [-1, 0, 1], [-1, -1, 2]]


def test_a_step_longer_than_max_distance_is_not_a_link():
    frames = [np.array([[10.0, 10.0]]), np.array([[10.0, 20.0]])]
    assert link_positions(frames, max_distance=5.0).tolist() == [[0, -1], [-1, 0]]
    assert link_positions(frames, max_distance=10.0).tolist() == [[0, 0]]


def test_the_assignment_is_global_not_greedy():
    # greedy nearest-first would give the 0.9 link to track 0 and leave track 1
    # without a partner within max_distance; the optimal assignment links both
    frames = [np.array([[0.0, 0.0], [0.0, 2.0]]), np.array([[0.0, 0.9], [0.0, -1.0]])]
    tracks = link_positions(frames, max_distance=1.5)
    assert tracks.tolist() == [[0, 1], [1, 0]]


def test_empty_frames_and_three_d_input():
    empty = np.zeros((0, 2))
    assert link_positions([empty, empty], 2.0).shape == (0, 2)
    tracks = link_positions([empty, [[1.0, 1.0]], empty, [[1.0, 1.5]]], 2.0)
    assert tracks.tolist() == [[-1, 0, -1, 0]]
    stack = np.stack([_grid_points(3)] * 4)
    assert np.array_equal(link_positions(stack, 2.0), link_positions(list(stack), 2.0))


@settings(max_examples=50, deadline=None)
@given(
    counts=st.lists(st.integers(0, 6), min_size=1, max_size=8),
    seed=st.integers(0, 10_000),
    max_gap=st.integers(0, 3),
)
def test_every_detection_is_in_exactly_one_track(counts, seed, max_gap):
    rng = np.random.default_rng(seed)
    frames = [rng.uniform(0, 30, (n, 2)) for n in counts]
    tracks = link_positions(frames, max_distance=6.0, max_gap=max_gap)
    for f, n in enumerate(counts):
        held = tracks[:, f][tracks[:, f] >= 0]
        assert sorted(held.tolist()) == list(range(n))
    # no link longer than max_distance, no gap longer than max_gap
    path = _positions_of(tracks, frames)
    for row, p in zip(tracks, path):
        seen = np.flatnonzero(row >= 0)
        assert len(seen) >= 1
        steps = np.hypot(*(p[seen[1:]] - p[seen[:-1]]).T)
        assert np.all(steps <= 6.0) and np.all(np.diff(seen) - 1 <= max_gap)
    first = [np.flatnonzero(row >= 0)[0] for row in tracks]
    assert first == sorted(first)


def test_link_positions_bad_input_raises_and_input_is_kept():
    frames = [_grid_points(2), _grid_points(2) + 0.5]
    before = [f.copy() for f in frames]
    link_positions(frames, 2.0)
    assert all(np.array_equal(a, b) for a, b in zip(frames, before))
    nan = [frames[0], frames[1].copy()]
    nan[1][0, 0] = np.nan
    for args, error in [
        (([], 2.0), "no frames"),
        (([np.ones((3, 3))], 2.0), "shape"),
        ((nan, 2.0), "NaN"),
        ((frames, 0.0), "max_distance"),
        ((frames, np.inf), "finite"),
        ((np.ones((4, 2)), 2.0), "list of"),
    ]:
        with pytest.raises(ValueError, match=error):
            link_positions(*args)
    with pytest.raises(ValueError, match="max_gap"):
        link_positions(frames, 2.0, max_gap=-1)
    for args in [("frames", 2.0), (None, 2.0), (3.0, 2.0), (frames, "2")]:
        with pytest.raises(TypeError):
            link_positions(*args)
    with pytest.raises(TypeError):
        link_positions(frames, 2.0, max_gap=1.5)
