"""Markov state models: transition matrices, their error bars and what they predict.

A **Markov state model** describes a system that hops between a few discrete states
(here the local configurations of a dopant atom) by a matrix ``T`` of shape
``(n_states, n_states)``: ``T[i, j]`` is the probability of being in state ``j`` one
lag time after being in state ``i``, whatever happened before. Everything else follows
from ``T``: the stationary distribution ``π`` (``πT = π``), the implied timescales of
the slow processes (from the eigenvalues), mean first-passage times, simulated paths.
It is estimated from observed **trajectories**, integer state sequences in which ``-1``
marks a frame whose state is unknown (a missed detection, an atom out of view).

The estimate starts from the **transition counts** ``C[i, j]``: the number of times
state ``j`` was seen one lag after state ``i``, **pooled over all trajectories**
(:func:`count_transitions`). The maximum-likelihood ``T`` is then the row-normalised
count matrix, or, imposing detailed balance ``π_i T_ij = π_j T_ji`` (a system at
equilibrium), the reversible estimate (:func:`transition_matrix`). Pooling is not a
detail: averaging the row-normalised matrices of separate trajectories weighs a short
trajectory as much as a long one, so the average is biased towards the few transitions
a short trajectory happens to make and stops improving as trajectories are added, and a
state that a trajectory never visits leaves a row 0/0 = NaN in its matrix. Pooled
counts weigh every observed transition once.

The uncertainty of ``T`` comes from its posterior: with a Dirichlet prior, each row of
``T`` is Dirichlet-distributed given the counts of that row, and samples of ``T`` give
credible intervals for ``T`` itself and for anything computed from it
(:func:`posterior_samples`). The Chapman–Kolmogorov test (:func:`chapman_kolmogorov`)
checks the Markov assumption: ``T(lag)^k`` must predict ``T(k·lag)``.

States are the integers ``0 … n_states-1``; a count matrix and a transition matrix
have rows "from" and columns "to". A transition matrix passed to a function must have
entries >= 0 and rows summing to 1 within 1e-6 (it is then renormalised, so that a
matrix rounded to float32 passes and a mistaken one does not); functions that take one
accept a stack ``(..., n, n)`` where it makes sense (posterior samples).

References
----------
J.-H. Prinz, H. Wu, M. Sarich, B. Keller, M. Senne, M. Held, J. D. Chodera,
C. Schütte and F. Noé, J. Chem. Phys. 134, 174105 (2011): Markov models, their
estimation and validation.
G. R. Bowman, K. A. Beauchamp, G. Boxer and V. S. Pande, J. Chem. Phys. 131, 124101
(2009): the fixed point of the reversible maximum-likelihood estimate.
F. Noé, J. Chem. Phys. 128, 244103 (2008); B. Trendelkamp-Schroer, H. Wu, F. Paul and
F. Noé, J. Chem. Phys. 143, 174101 (2015): posterior sampling of transition matrices.
W. K. Grassmann, M. I. Taksar and D. P. Heyman, Oper. Res. 33, 1107 (1985): the
stationary distribution without subtractions.
"""

from __future__ import annotations

import numbers
import warnings
from bisect import bisect_right
from itertools import accumulate

import numpy as np
import scipy.linalg
from scipy.linalg import LinAlgWarning
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import breadth_first_order, connected_components
from scipy.special import log_expit, logsumexp
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import Bunch

from ._validation import (
    MAX_ELEMENTS,
    as_float_array,
    check_magnitude,
    check_option,
    check_random_state,
    check_scalar,
    check_size,
)

__all__ = [
    "DisconnectedStatesWarning",
    "count_transitions",
    "transition_matrix",
    "stationary_distribution",
    "implied_timescales",
    "mean_first_passage_time",
    "sample_path",
    "dwell_times",
    "posterior_samples",
    "chapman_kolmogorov",
]

#: A transition matrix's rows must sum to 1 within this tolerance, and its entries be
#: at least its negative (entries between it and 0 count as 0); such a matrix is then
#: renormalised. Rounding passes (a matrix stored in float32 too), mistakes do not.
STOCHASTIC_TOL = 1e-6
#: The most states a count matrix may have (``n²`` stays within MAX_ELEMENTS).
MAX_STATES = int(np.sqrt(MAX_ELEMENTS))
#: Newton steps, and fixed-point sweeps, of the reversible estimate when ``max_iter``
#: is None.
_MAX_ITER = {"newton": 100, "fixed-point": 1_000_000}
#: Counts below this fraction of the largest count are taken as 0: the reversible
#: estimate multiplies such ratios, which would leave float64's range.
_NEGLIGIBLE = 1e-50
#: The largest change of ``log λ`` in one step of the reversible estimate's Newton
#: iteration.
_MAX_STEP = 50.0
#: How many states a warning or an error lists before it counts the rest.
_LISTED = 20
#: |λ| this close to 1 counts as 1 in :func:`implied_timescales` (a second closed set
#: or a periodic chain): float64 eigenvalues of a stochastic matrix are that accurate.
_UNIT_TOL = 1e-12


class DisconnectedStatesWarning(UserWarning):
    """The count graph falls apart into several strongly connected sets.

    States ``i`` and ``j`` are strongly connected when the counts lead from ``i`` to
    ``j`` and back; the largest such set (most states, then most counts) is where a
    Markov model is well determined. A state outside it was never visited, never left,
    or visited only on the way into or out of the largest set, with no counts leading
    back: its row of ``T`` rests on few counts or none, and a stationary distribution
    or a timescale that involves it says little. :func:`transition_matrix` keeps such
    states (it never drops one silently), makes rows with no counts absorbing, and says
    so with this warning, whose message names the states outside the largest set.

    Parameters
    ----------
    message : str
        What was found and what was done.

    Attributes
    ----------
    states : ndarray of int
        The states outside the largest strongly connected set (set by the functions
        that warn; empty for a warning made by hand).
    sets : list of ndarray of int
        Every strongly connected set, largest first.

    See Also
    --------
    transition_matrix : warns with it, and says how each set was estimated.
    chapman_kolmogorov : warns with it once for all the lags it estimates.

    Notes
    -----
    The sets are the strongly connected components of the directed graph with an edge
    ``i → j`` wherever ``C[i, j] > 0`` (``scipy.sparse.csgraph.connected_components``).
    Turn the warning into an error with
    ``warnings.simplefilter("error", DisconnectedStatesWarning)``, or silence it
    where the disconnected states are known and wanted.

    Examples
    --------
    >>> import warnings
    >>> from lectlib.markov import DisconnectedStatesWarning, transition_matrix
    >>> counts = [[5, 1, 0], [2, 4, 0], [0, 0, 0]]  # state 2 never visited
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     T = transition_matrix(counts)
    >>> caught[0].category is DisconnectedStatesWarning
    True
    >>> caught[0].message.states.tolist()
    [2]
    """

    def __init__(self, message):
        super().__init__(message)
        self.states = np.zeros(0, dtype=np.int64)
        self.sets = []


# ------------------------------------------------------------------------- validation


def _is_sequence(item):
    if isinstance(item, (str, bytes)):
        return False
    if isinstance(item, np.ndarray):
        return item.ndim > 0
    return hasattr(item, "__len__")


def _as_states(x, name):
    """One trajectory as an int64 array (states >= -1), or raise naming ``name``."""
    if isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must hold integer states, got {type(x).__name__}")
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged nested lists and the like
        raise ValueError(f"{name} could not be converted to an array: {exc}") from None
    if arr.dtype.kind in "USVaMm":
        raise TypeError(f"{name} must hold integer states, got dtype {arr.dtype}")
    if arr.dtype.kind == "O":
        arr = as_float_array(arr, name, allow_empty=True)
    if arr.dtype.kind == "c":
        raise TypeError(f"{name} must hold integer states, got complex {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(
            f"{name} must be a 1-D sequence of states, got shape {arr.shape}"
        )
    if arr.dtype.kind == "b":
        return arr.astype(np.int64)
    if arr.dtype.kind == "f" and arr.size:
        check_magnitude(arr, name)  # NaN, inf and absurd values
        fractional = arr != np.floor(arr)
        if fractional.any():
            bad = arr[fractional][0]
            raise ValueError(
                f"{name} must hold integer states, got {int(fractional.sum())} "
                f"non-integral value(s) (e.g. {bad.item()!r})"
            )
    if arr.size:
        low, high = arr.min(), arr.max()
        if low < -1:
            raise ValueError(
                f"{name} holds {low.item()!r}: states are 0 … n_states-1 and -1 "
                "marks a frame whose state is unknown"
            )
        if high >= MAX_STATES:
            raise ValueError(
                f"{name} holds state {high.item()!r}: a count matrix for it would "
                f"have more than {MAX_STATES} states, beyond lectlib's limit "
                "(renumber the states 0 … n_states-1)"
            )
    return arr.astype(np.int64, copy=False)


def _as_trajectories(trajectories, name="trajectories"):
    """A list of int64 trajectories from one trajectory or a list of them."""
    if isinstance(trajectories, (str, bytes)):
        raise TypeError(
            f"{name} must be a sequence of integer states or a list of them, "
            f"got {type(trajectories).__name__}"
        )
    if isinstance(trajectories, np.ndarray) and trajectories.dtype != object:
        if trajectories.ndim == 2:
            raise ValueError(
                f"{name} is a 2-D array of shape {trajectories.shape}: pass one 1-D "
                f"trajectory or a list of them, e.g. list({name}) when each row is a "
                f"trajectory or list({name}.T) when each column is"
            )
        items = [trajectories]
    elif isinstance(trajectories, (list, tuple, np.ndarray)):
        if isinstance(trajectories, np.ndarray) and trajectories.ndim != 1:
            raise ValueError(
                f"{name} must be one trajectory or a list of them, got an object "
                f"array of shape {trajectories.shape}"
            )
        kinds = {_is_sequence(t) for t in trajectories}
        if kinds == {True, False}:
            raise ValueError(
                f"{name} mixes numbers and sequences: pass one trajectory (a sequence "
                "of integer states) or a list of trajectories"
            )
        items = list(trajectories) if kinds == {True} else [trajectories]
    else:  # a range, a pandas Series, ...
        items = [trajectories]
    if len(items) == 1:
        arrays = [_as_states(items[0], name)]
    else:
        arrays = [_as_states(t, f"{name}[{i}]") for i, t in enumerate(items)]
    if sum(a.size for a in arrays) == 0:
        raise ValueError(f"{name} is empty: no frame to count")
    return arrays


def _check_n_states(n_states, arrays, name="trajectories"):
    high = max(int(a.max()) if a.size else -1 for a in arrays)
    if n_states is None:
        if high < 0:
            raise ValueError(
                f"every frame of {name} is -1 (unknown): give n_states to count nothing"
            )
        return high + 1
    n_states = check_scalar(n_states, "n_states", integer=True, low=1)
    if n_states > MAX_STATES:
        raise ValueError(
            f"n_states must be at most {MAX_STATES} (a count matrix of "
            f"{n_states}² entries is beyond lectlib's limit), got {n_states}"
        )
    if high >= n_states:
        raise ValueError(
            f"{name} holds state {high} but n_states is {n_states}: states must be "
            f"0 … {n_states - 1}"
        )
    return n_states


def _as_counts(counts, name="counts"):
    C = as_float_array(counts, name, ndim=2)
    if C.shape[0] != C.shape[1]:
        raise ValueError(
            f"{name} must be a square (n_states, n_states) matrix, got shape {C.shape}"
        )
    if C.shape[0] > MAX_STATES:
        raise ValueError(f"{name} has {C.shape[0]} states, more than {MAX_STATES}")
    if np.any(C < 0):
        raise ValueError(
            f"{name} must be non-negative (numbers of transitions), got "
            f"{int(np.sum(C < 0))} negative value(s), e.g. {C[C < 0][0].item()!r}"
        )
    return C


def _as_transition_matrix(T, name="T", *, stack=True):
    """A row-stochastic matrix (or a stack of them) as float64, entries >= 0."""
    P = as_float_array(T, name, min_ndim=2, max_ndim=None if stack else 2)
    if P.shape[-1] != P.shape[-2]:
        raise ValueError(
            f"{name} must be square (n_states, n_states)"
            + (" or a stack of such matrices" if stack else "")
            + f", got shape {P.shape}"
        )
    if P.shape[-1] > MAX_STATES:
        raise ValueError(f"{name} has {P.shape[-1]} states, more than {MAX_STATES}")
    low = P.min()
    if low < -STOCHASTIC_TOL:
        raise ValueError(
            f"{name} must be a transition matrix (entries >= 0, rows summing to 1), "
            f"got an entry {low.item()!r}"
        )
    error = np.abs(P.sum(axis=-1) - 1.0)
    worst = np.unravel_index(np.argmax(error), error.shape)
    if error[worst] > STOCHASTIC_TOL:
        row = worst[-1]
        index = tuple(int(i) for i in worst[:-1])
        where = f"row {row}" if P.ndim == 2 else f"row {row} of matrix {index}"
        raise ValueError(
            f"{name} must be row-stochastic (rows summing to 1 within "
            f"{STOCHASTIC_TOL:g}), but {where} sums to "
            f"{P.sum(axis=-1)[worst].item()!r}"
        )
    if low < 0:
        P = np.maximum(P, 0.0)
    return P / P.sum(axis=-1, keepdims=True)


def _listed(states):
    states = [int(s) for s in states]
    if len(states) <= _LISTED:
        return str(states)
    return str(states[:_LISTED])[:-1] + f", … ({len(states)} states)]"


# ------------------------------------------------------------------- count structure


def _strong_sets(positive):
    """The number of strongly connected sets of the graph ``i → j`` where
    ``positive[i, j]``, and the label of each state's set."""
    n_sets, labels = connected_components(
        csr_matrix(positive), directed=True, connection="strong"
    )
    return n_sets, labels


def _sets_by_size(labels, n_sets, weight):
    """The states of each set, largest first: most states, then most weight."""
    size = np.bincount(labels, minlength=n_sets)
    mass = np.bincount(labels, weights=weight, minlength=n_sets)
    order = np.lexsort((np.arange(n_sets), -mass, -size))
    return [np.flatnonzero(labels == k) for k in order]


def _closed_sets(positive, labels, n_sets):
    """Labels of the closed strongly connected sets (no edge leaves them)."""
    rows, cols = np.nonzero(positive)
    leaving = labels[rows] != labels[cols]
    open_ = np.zeros(n_sets, dtype=bool)
    open_[labels[rows[leaving]]] = True
    return np.flatnonzero(~open_)


def _by_pattern(P):
    """Group a stack ``(N, n, n)`` of matrices by their pattern of positive entries:
    yields (indices into the stack, the pattern)."""
    positive = P > 0
    if len(P) == 1:
        yield np.arange(1), positive[0]
        return
    packed = np.packbits(positive.reshape(len(P), -1), axis=1)
    _, first, inverse = np.unique(
        packed, axis=0, return_index=True, return_inverse=True
    )
    inverse = inverse.ravel()
    for k, f in enumerate(first):
        yield np.flatnonzero(inverse == k), positive[f]


# --------------------------------------------------------------------------- counting


def _count(arrays, n, lag):
    codes = []
    for x in arrays:
        if x.size <= lag:
            continue
        a, b = x[:-lag], x[lag:]
        code = a * n + b
        if x.min() < 0:  # unknown frames: drop the windows that touch one
            code = code[(a >= 0) & (b >= 0)]
        codes.append(code)
    if not codes:
        return np.zeros((n, n), dtype=np.int64)
    code = codes[0] if len(codes) == 1 else np.concatenate(codes)
    return np.bincount(code, minlength=n * n).astype(np.int64, copy=False).reshape(n, n)


def count_transitions(trajectories, n_states=None, *, lag=1):
    """Transition counts at a lag, pooled over trajectories.

    Parameters
    ----------
    trajectories : array-like of int, or a list of them
        One trajectory (a 1-D sequence of states ``0 … n_states-1``, one per frame) or
        a list of trajectories of any lengths. ``-1`` marks a frame whose state is
        unknown. Floats holding whole numbers are accepted. A 2-D array is refused
        (are its rows or its columns the trajectories?): pass ``list(a)`` or
        ``list(a.T)``.
    n_states : int, optional
        The number of states; by default the largest state seen plus one.
    lag : int, default=1
        The lag in frames.

    Returns
    -------
    counts : ndarray of shape (n_states, n_states), int64
        ``counts[i, j]`` is the number of frames ``t``, over all trajectories, with
        state ``i`` at ``t`` and state ``j`` at ``t + lag``.

    See Also
    --------
    transition_matrix : the maximum-likelihood transition matrix of the counts.
    dwell_times : how long each stay in a state lasts, from the same trajectories.
    chapman_kolmogorov : counts at multiples of the lag, to test the Markov property.

    Notes
    -----
    Sliding-window counting: every frame ``t`` starts a window ``(t, t + lag)``, so a
    trajectory of ``L`` frames gives ``L - lag`` transitions. At lag 1 they are the
    chain's steps and the likelihood of ``T`` is exact; at longer lags consecutive
    windows overlap: the maximum-likelihood estimate stays consistent, but posterior
    intervals from such counts are too narrow, by about √lag. A window with ``-1`` at
    either end is not counted: the state there is unknown, and nothing is guessed.
    The counts of all trajectories are added (pooled); their row-normalised sum is the
    maximum-likelihood estimate of ``T`` from all the data (Prinz et al., J. Chem.
    Phys. 134, 174105 (2011)), which averaging the row-normalised matrices of separate
    trajectories is not. One ``numpy.bincount`` of the codes ``i·n + j`` counts every
    window at once.

    Examples
    --------
    >>> from lectlib.markov import count_transitions
    >>> count_transitions([0, 0, 1, 1, 0]).tolist()
    [[1, 1], [1, 1]]
    >>> count_transitions([[0, 1, -1, 1, 2], [2, 2]], n_states=3).tolist()
    [[0, 1, 0], [0, 0, 1], [0, 0, 1]]
    >>> count_transitions([0, 1, 0, 1, 0], lag=2).tolist()
    [[2, 0], [0, 1]]
    """
    arrays = _as_trajectories(trajectories)
    n = _check_n_states(n_states, arrays)
    lag = check_scalar(lag, "lag", integer=True, low=1)
    return _count(arrays, n, lag)


# ------------------------------------------------------------------------ estimation


def _row_normalise(C):
    """Row-normalised counts; rows without counts absorbing."""
    row = C.sum(axis=1)
    empty = row == 0
    T = C / np.where(empty, 1.0, row)[:, None]
    T[empty, empty] = 1.0  # (fancy indexing: the diagonal entries of empty rows)
    return T


def _log_pi(u, log_c):
    lp = log_c - u
    return lp - logsumexp(lp)


def _solve_positive(M, g):
    """Solve ``My = g`` for a symmetric positive definite ``M``; where it is singular
    to working precision (sets of states joined by counts many orders of magnitude
    below the others), the least-squares solution over its well-determined part."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", LinAlgWarning)
            return scipy.linalg.solve(M, g, assume_a="pos", check_finite=False)
    except (np.linalg.LinAlgError, LinAlgWarning):
        w, V = np.linalg.eigh(M)
        keep = w > 1e-12 * w.max()
        return V[:, keep] @ ((V[:, keep].T @ g) / w[keep])


def _gain(A, log_S, u):
    """The rise of ``h`` from the point with ``log_S`` to ``u``, summed term by term
    (so that terms with small counts are not lost next to large ones), and its
    rounding error."""
    log_S_new = log_expit(u[:, None] - u[None, :])
    diff = log_S_new - log_S
    gain = np.sum(A * diff)
    size = np.where(diff != 0, np.maximum(np.abs(log_S), np.abs(log_S_new)), 0.0)
    return log_S_new, gain, 8 * np.finfo(float).eps * np.sum(A * size)


def _newton(A, c, u, tol, max_iter):
    """Maximise ``h(u) = Σ_{i≠j} A_ij log σ(u_i - u_j)`` by Newton's method with a
    backtracking line search; ``A`` the off-diagonal counts (diagonal zero).

    The Hessian is minus the Laplacian ``L = diag(d) - W`` of the weights
    ``W_ij = (A_ij + A_ji) σ(u_i - u_j) σ(u_j - u_i)``, which may span hundreds of
    orders of magnitude: the step solves the normalised system
    ``D^-1/2 L D^-1/2`` (unit diagonal), built in logs.
    """
    m = len(c)
    with np.errstate(divide="ignore"):
        log_A = np.log(A)  # -inf where there are no counts
        log_Cs = np.log(A + A.T)
    log_c = np.log(c)
    log_S = log_expit(u[:, None] - u[None, :])  # log σ(u_i - u_j)
    lp = _log_pi(u, log_c)
    previous = np.inf
    for iteration in range(1, max_iter + 1):
        log_W = log_Cs + log_S + log_S.T
        half = 0.5 * logsumexp(log_W, axis=1)  # log √d
        # the gradient g_i = Σ_j A_ij σ(u_j - u_i) - A_ji σ(u_i - u_j), over √d
        with np.errstate(over="ignore", invalid="ignore"):
            g = np.exp(logsumexp(log_A + log_S.T, axis=1) - half) - np.exp(
                logsumexp(log_A.T + log_S, axis=1) - half
            )
        if not np.all(np.isfinite(g)):  # (counts over hundreds of decades)
            return u, iteration, False
        # the null vector of the normalised Laplacian, √d (the free scale of u),
        # added as vvᵀ: the step is unchanged, since g is orthogonal to it
        v = np.exp(half - 0.5 * logsumexp(2 * half))
        M = np.outer(v, v) - np.exp(log_W - half[:, None] - half[None, :])
        M[np.diag_indices(m)] += 1.0
        y = _solve_positive(M, g)
        # the step y / √d, at most _MAX_STEP in size (in logs: √d may be tiny)
        with np.errstate(divide="ignore"):
            log_size = np.log(np.abs(y)) - half
        shrink = min(0.0, np.log(_MAX_STEP) - np.max(log_size))
        step = np.sign(y) * np.exp(log_size + shrink)
        slope = (g @ y) * np.exp(shrink)  # h's rise per unit of t
        t = 1.0
        while True:
            log_S_trial, gain, noise = _gain(A, log_S, u + t * step)
            if gain >= 1e-4 * t * slope - noise:
                break
            t *= 0.5
            if t < 1e-10:
                # no step along Newton's direction raises h in float64: u is the
                # maximum as far as rounding lets anything tell
                return u, iteration, True
        if t == 1.0 and np.array_equal(log_S_trial, log_S):
            return u, iteration, True  # a step below rounding: converged
        if t == 1.0 and gain > 0.6 * slope:
            # h rose by more than its quadratic model's slope / 2 (on an exponential
            # tail, 0.63 slope): far out on the logistic tails Newton's steps are
            # short, so go further while that pays
            while 2 * t * np.max(np.abs(step)) <= _MAX_STEP:
                log_S_longer, longer_gain, noise = _gain(A, log_S, u + 2 * t * step)
                if not longer_gain > gain + noise:
                    break
                t, log_S_trial, gain = 2 * t, log_S_longer, longer_gain
        u, log_S = u + t * step, log_S_trial
        lp_new = _log_pi(u, log_c)
        with np.errstate(over="ignore", invalid="ignore"):
            change = float(np.max(np.abs(np.expm1(lp_new - lp))))
        lp = lp_new
        if t == 1.0:  # (a damped step may be small far from the optimum)
            if change <= tol:
                return u, iteration, True
            # Newton converges quadratically: a change below 1e-8 that no longer
            # shrinks is rounding, the closest float64 gets.
            if change < 1e-8 and change > 0.5 * previous:
                return u, iteration, True
        previous = change
    return u, max_iter, False


def _fixed_point(C, c, u, tol, max_iter):
    """Bowman et al.'s fixed-point iteration on the stationary vector."""
    Cs = C + C.T
    x = np.exp(_log_pi(u, np.log(c)))
    for iteration in range(1, max_iter + 1):
        q = c / x
        x_new = np.sum(Cs / (q[:, None] + q[None, :]), axis=1)
        x_new /= x_new.sum()
        change = float(np.max(np.abs(x_new / x - 1.0)))
        x = x_new
        if change <= max(tol, 4 * np.finfo(float).eps):
            return np.log(c / x), iteration, True
    return np.log(c / x), max_iter, False


def _reversible_set(C, tol, max_iter, method):
    """The reversible MLE of one strongly connected set (``C`` its counts, m >= 2)."""
    C = C / C.sum()
    c = C.sum(axis=1)
    A = C.copy()
    np.fill_diagonal(A, 0.0)
    Cs = A + A.T
    # start from the stationary vector of the symmetrised counts
    u = np.log(c) - np.log(C.sum(axis=1) + C.sum(axis=0))
    if method == "newton":
        u, n_iter, converged = _newton(A, c, u, tol, max_iter)
    else:
        u, n_iter, converged = _fixed_point(C, c, u, tol, max_iter)
    # T_ij = X_ij / x_i with X_ij = Cs_ij / (λ_i + λ_j), x_i = c_i / λ_i, λ = exp(u)
    with np.errstate(divide="ignore"):
        log_T = np.log(Cs) + log_expit(u[:, None] - u[None, :]) - np.log(c)[:, None]
        log_T[np.diag_indices_from(log_T)] = np.log(np.diag(C)) - np.log(c)
    # (rows sum to 1 at the optimum; normalised in logs, where nothing underflows)
    T = np.exp(log_T - logsumexp(log_T, axis=1, keepdims=True))
    return T, n_iter, converged


def _estimate(counts, reversible, tol, max_iter, method):
    """The estimate and what was found: (T, info)."""
    n = len(counts)
    top = counts.max()
    C = counts / top if top > 0 else counts
    C = np.where(C < _NEGLIGIBLE, 0.0, C)
    positive = C > 0
    n_sets, labels = _strong_sets(positive)
    row = C.sum(axis=1)
    info = Bunch(
        n_sets=n_sets,
        sets=_sets_by_size(labels, n_sets, row),
        empty=np.flatnonzero(row == 0),
        unused=0.0,
        n_iter=0,
        converged=True,
    )
    if not reversible:
        return _row_normalise(C), info
    T = np.zeros((n, n))
    within = labels[:, None] == labels[None, :]
    info.unused = float(counts[~within & positive].sum())
    for states in info.sets:
        block = C[np.ix_(states, states)]
        if len(states) == 1 or not block.any():
            T[states, states] = 1.0  # a state alone: absorbing
            continue
        Tb, n_iter, converged = _reversible_set(block, tol, max_iter, method)
        T[np.ix_(states, states)] = Tb
        info.n_iter = max(info.n_iter, n_iter)
        info.converged &= converged
    return T, info


def _disconnected_message(info, reversible):
    largest, outside = info.sets[0], np.concatenate(info.sets[1:])
    outside.sort()
    text = (
        f"the count graph has {info.n_sets} strongly connected sets of states: "
        f"states {_listed(outside)} lie outside the largest, {_listed(largest)}"
    )
    if len(info.empty):
        text += (
            f"; states {_listed(info.empty)} have no counts out of them (never "
            "left, or never visited): their rows are absorbing (T[i, i] = 1)"
        )
    if reversible:
        text += (
            f". The reversible estimate was made for each set on its own: the "
            f"{info.unused:g} counts between sets were not used, each set is closed "
            "in T, and T has no unique stationary distribution"
        )
    else:
        text += (
            ". Every state is kept, with the row-normalised counts; the stationary "
            "distribution is zero outside the closed sets"
        )
    return text


def _warn_disconnected(message, info, states=None, stacklevel=3):
    warning = DisconnectedStatesWarning(message)
    if states is None:
        states = np.concatenate(info.sets[1:])
    warning.states = np.sort(np.asarray(states, dtype=np.int64))
    warning.sets = [s.astype(np.int64) for s in info.sets]
    warnings.warn(warning, stacklevel=stacklevel)


def _check_estimation(reversible, tol, max_iter, method):
    if not isinstance(reversible, (bool, np.bool_)):
        raise TypeError(
            f"reversible must be True or False, got {reversible!r} "
            f"({type(reversible).__name__})"
        )
    tol = check_scalar(tol, "tol", low=0.0, high=1.0, low_inclusive=False)
    method = check_option(method, "method", ("newton", "fixed-point"))
    if max_iter is None:
        max_iter = _MAX_ITER[method]
    max_iter = check_scalar(max_iter, "max_iter", integer=True, low=1)
    return bool(reversible), tol, max_iter, method


def transition_matrix(
    counts, *, reversible=False, tol=1e-12, max_iter=None, method="newton"
):
    """The maximum-likelihood transition matrix of transition counts.

    Parameters
    ----------
    counts : array-like of shape (n_states, n_states)
        Transition counts (:func:`count_transitions`), non-negative; they need not be
        whole numbers (weighted or effective counts).
    reversible : bool, default=False
        Impose detailed balance ``π_i T_ij = π_j T_ji`` (a system at equilibrium).
    tol : float, default=1e-12
        The reversible estimate iterates until the largest relative change of the
        stationary vector in one step is below ``tol`` (or, for Newton's method, no
        longer shrinks below 1e-8: float64 rounding), in (0, 1).
    max_iter : int, optional
        The most iterations of the reversible estimate: by default 100 Newton steps
        or 1,000,000 fixed-point sweeps. A ``ConvergenceWarning`` says when they
        were not enough.
    method : {"newton", "fixed-point"}, default="newton"
        How the reversible estimate's equations are solved (the same equations, the
        same answer): Newton's method, a few steps, or the classic fixed-point
        iteration, many cheap sweeps that slow down for metastable systems.

    Returns
    -------
    T : ndarray of shape (n_states, n_states)
        Row-stochastic: ``T[i, j]`` the probability of state ``j`` one lag after
        state ``i``. A row with no counts (a state never left, or never visited) is
        absorbing, ``T[i, i] = 1``.

    Warns
    -----
    DisconnectedStatesWarning
        When the count graph has more than one strongly connected set: it names the
        states outside the largest and says what was done.
    ConvergenceWarning
        When the reversible estimate did not converge within ``max_iter``.

    See Also
    --------
    count_transitions : the counts this estimates from.
    posterior_samples : samples of T from its posterior, for error bars.
    stationary_distribution : π of the result.

    Notes
    -----
    The likelihood of ``T`` given counts ``C`` is ``Π_ij T_ij^C_ij``. Without
    constraints its maximum is ``T_ij = C_ij / Σ_k C_ik``.

    With detailed balance (Bowman et al., J. Chem. Phys. 131, 124101 (2009); Prinz
    et al., J. Chem. Phys. 134, 174105 (2011)), write ``X_ij = π_i T_ij``
    (symmetric) and ``c_i = Σ_j C_ij``; the maximum satisfies the fixed-point
    equations ``X_ij = (C_ij + C_ji) / (c_i/x_i + c_j/x_j)`` with
    ``x_i = Σ_j X_ij``. Bowman et al. iterate them as they stand
    (``method="fixed-point"``, vectorised over all pairs here); that iteration
    converges linearly, and slowly when few counts join metastable sets. With
    ``λ_i = c_i / x_i = exp(u_i)`` the equations are the stationarity conditions of
    the concave function ``h(u) = Σ_{i≠j} C_ij log σ(u_i - u_j)`` (σ the logistic
    function; the log-likelihood of a Bradley–Terry model), whose Hessian is minus a
    weighted graph Laplacian. Newton's method on ``u``, with a backtracking line
    search, reaches the fixed point in a handful of steps whatever the metastability
    (``method="newton"``, the default: counts of trajectories take 3–10 steps, while
    made-up counts whose flows in and out of a state differ by many decades may need
    more than ``max_iter``, which a ``ConvergenceWarning`` says). Then
    ``T_ij = (C_ij + C_ji) σ(u_i - u_j) / c_i`` off the diagonal and
    ``T_ii = C_ii / c_i``.

    Nothing is dropped silently. The count graph (an edge ``i → j`` where
    ``C_ij > 0``) is split into its strongly connected sets
    (``scipy.sparse.csgraph``); with more than one, a
    :class:`DisconnectedStatesWarning` names the states outside the largest. The
    non-reversible estimate keeps every count. The reversible estimate is made for
    each set on its own, from the counts within it (detailed balance cannot hold for
    counts that lead out of a set and never back): each set becomes closed in ``T``.
    Counts below 1e-50 of the largest count are taken as zero (the estimate multiplies
    such ratios along paths of the graph, which would leave float64's range).

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.markov import stationary_distribution, transition_matrix
    >>> counts = np.array([[90, 10, 0], [5, 80, 15], [2, 8, 40]])
    >>> transition_matrix(counts).round(3)
    array([[0.9 , 0.1 , 0.  ],
           [0.05, 0.8 , 0.15],
           [0.04, 0.16, 0.8 ]])
    >>> T = transition_matrix(counts, reversible=True)
    >>> pi = stationary_distribution(T)
    >>> bool(np.allclose(pi[:, None] * T, (pi[:, None] * T).T))  # detailed balance
    True
    """
    reversible, tol, max_iter, method = _check_estimation(
        reversible, tol, max_iter, method
    )
    C = _as_counts(counts)
    T, info = _estimate(C, reversible, tol, max_iter, method)
    if info.n_sets > 1:
        _warn_disconnected(_disconnected_message(info, reversible), info)
    if not info.converged:
        warnings.warn(
            f"the reversible estimate did not converge in {max_iter} iterations "
            f"(method={method!r}, tol={tol:g}): increase max_iter"
            + (' or use method="newton"' if method == "fixed-point" else ""),
            ConvergenceWarning,
            stacklevel=2,
        )
    return T


# ------------------------------------------------------------ properties of a matrix


def _gth(P):
    """Stationary vectors of a stack ``(N, m, m)`` of irreducible stochastic
    matrices, by the Grassmann–Taksar–Heyman elimination (no subtractions)."""
    A = P.copy()
    m = A.shape[-1]
    for k in range(m - 1, 0, -1):
        s = A[:, k, :k].sum(axis=1)
        A[:, :k, k] /= s[:, None]
        A[:, :k, :k] += A[:, :k, k, None] * A[:, k, None, :k]
    x = np.zeros(A.shape[:2])
    x[:, 0] = 1.0
    for k in range(1, m):
        x[:, k] = np.einsum("ni,ni->n", x[:, :k], A[:, :k, k])
    return x / x.sum(axis=1, keepdims=True)


def stationary_distribution(T):
    """The stationary distribution π of a transition matrix: ``πT = π``, ``Σπ = 1``.

    Parameters
    ----------
    T : array-like of shape (..., n_states, n_states)
        A row-stochastic matrix (entries >= 0, rows summing to 1 within 1e-6), or a
        stack of them (e.g. :func:`posterior_samples`).

    Returns
    -------
    pi : ndarray of shape (..., n_states)
        Non-negative, summing to 1; zero on transient states (those that the chain
        leaves for good).

    Raises
    ------
    ValueError
        When π is not unique: the chain has more than one closed set of states (a
        set it never leaves), each with its own stationary distribution.

    See Also
    --------
    transition_matrix : the matrix estimated from counts.
    implied_timescales : how fast the chain approaches π.
    sample_path : a simulated path, whose occupancy approaches π.

    Notes
    -----
    The closed sets are the strongly connected components of the graph of ``T``'s
    positive entries that no edge leaves; π is unique exactly when there is one, and
    is zero outside it. On that set π is computed by the Grassmann–Taksar–Heyman
    elimination (Grassmann, Taksar and Heyman, Oper. Res. 33, 1107 (1985)): Gaussian
    elimination in which every pivot is a sum of probabilities, so no subtraction
    loses digits and small probabilities keep their relative accuracy even in
    nearly decomposable chains. A stack is processed at once, grouped by pattern of
    positive entries.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.markov import stationary_distribution
    >>> T = np.array([[0.9, 0.1], [0.3, 0.7]])
    >>> stationary_distribution(T)
    array([0.75, 0.25])
    >>> stationary_distribution(np.stack([T, T[::-1, ::-1]])).round(2)
    array([[0.75, 0.25],
           [0.25, 0.75]])
    """
    P = _as_transition_matrix(T)
    shape = P.shape
    n = shape[-1]
    P = P.reshape(-1, n, n)
    pi = np.zeros(P.shape[:2])
    for idx, positive in _by_pattern(P):
        n_sets, labels = _strong_sets(positive)
        closed = _closed_sets(positive, labels, n_sets)
        if len(closed) > 1:
            sets = [np.flatnonzero(labels == k).tolist() for k in closed]
            first = np.unravel_index(idx[0], shape[:-2])
            where = "" if len(P) == 1 else f" (matrix {tuple(int(i) for i in first)})"
            raise ValueError(
                f"T{where} has {len(closed)} closed sets of states, "
                f"{', '.join(_listed(s) for s in sets[:5])}: each has its own "
                "stationary distribution, so π is not unique"
            )
        states = np.flatnonzero(labels == closed[0])
        pi[np.ix_(idx, states)] = _gth(P[np.ix_(idx, states, states)])
    return pi.reshape(shape[:-1])


def implied_timescales(T, lag=1):
    """The implied timescales of a transition matrix, from its eigenvalues.

    Parameters
    ----------
    T : array-like of shape (..., n_states, n_states)
        A row-stochastic matrix at lag ``lag``, or a stack of them.
    lag : float, default=1
        The lag of ``T``, in the unit the timescales are wanted in (frames, or
        seconds: ``lag=frame_time``).

    Returns
    -------
    timescales : ndarray of shape (..., n_states - 1)
        ``t_k = -lag / ln|λ_k|`` for the eigenvalues after the first, longest first.
        An eigenvalue 0 gives 0. ``|λ| = 1`` (within 1e-12: a second closed set, or a
        periodic chain) gives ``inf``: a process that never relaxes.

    See Also
    --------
    stationary_distribution : the distribution the processes relax to.
    chapman_kolmogorov : a test of the Markov model at several lags.
    mean_first_passage_time : times to reach given states, not relaxation times.

    Notes
    -----
    ``T^k`` decays towards its stationary part as ``λ_k^k = exp(-k·lag / t_k)``, so
    each eigenvalue after the leading ``λ = 1`` is a relaxation process with timescale
    ``t_k`` (Prinz et al., J. Chem. Phys. 134, 174105 (2011)). Complex eigenvalues
    (a non-reversible ``T``) enter by their modulus; a negative real one (an
    oscillation from lag to lag) too. For a Markov system the timescales do not depend
    on the lag ``T`` is estimated at; their drift with the lag is the usual test of a
    model.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.markov import implied_timescales
    >>> T = np.array([[0.9, 0.1], [0.3, 0.7]])  # eigenvalues 1 and 0.6
    >>> implied_timescales(T).round(4)
    array([1.9576])
    >>> implied_timescales(T, lag=0.5).round(4)  # lag 0.5 s: timescale in s
    array([0.9788])
    """
    P = _as_transition_matrix(T)
    lag = check_scalar(lag, "lag", low=0.0, low_inclusive=False)
    modulus = np.abs(np.linalg.eigvals(P))
    modulus = -np.sort(-modulus, axis=-1)[..., 1:]
    with np.errstate(divide="ignore"):
        times = -lag / np.log(np.minimum(modulus, 1.0))
    times[modulus >= 1.0 - _UNIT_TOL] = np.inf
    times[modulus == 0.0] = 0.0
    return times


def _check_target(target, n):
    if isinstance(target, numbers.Integral) and not isinstance(
        target, (bool, np.bool_)
    ):
        states = np.array([int(target)])
    else:
        if not _is_sequence(target) or np.asarray(target).dtype.kind == "b":
            raise TypeError(
                "target must be a state (int) or a sequence of states, got "
                f"{target!r} ({type(target).__name__})"
            )
        states = _as_states(target, "target")
        if states.size == 0:
            raise ValueError("target is empty: give at least one state")
    if states.min() < 0 or states.max() >= n:
        raise ValueError(f"target states must be in 0 … {n - 1}, got {target!r}")
    return np.unique(states)


def _reach(positive, sources):
    """Boolean mask of the states from which a state of ``sources`` (mask) can be
    reached along the edges of ``positive``."""
    n = len(positive)
    rows, cols = np.nonzero(positive)
    # reversed edges, plus a virtual node n linked to every source
    src = np.flatnonzero(sources)
    graph = csr_matrix(
        (
            np.ones(len(rows) + len(src)),
            (np.concatenate([cols, np.full(len(src), n)]), np.concatenate([rows, src])),
        ),
        shape=(n + 1, n + 1),
    )
    found = breadth_first_order(graph, n, directed=True, return_predecessors=False)
    mask = np.zeros(n + 1, dtype=bool)
    mask[found] = True
    return mask[:n]


def mean_first_passage_time(T, target):
    """Expected number of lags to first reach a state, or a set of states.

    Parameters
    ----------
    T : array-like of shape (..., n_states, n_states)
        A row-stochastic matrix, or a stack of them.
    target : int or sequence of int
        The state, or the set of states, to reach.

    Returns
    -------
    mfpt : ndarray of shape (..., n_states)
        From each state, the expected number of steps (lags of ``T``) until the chain
        is first in ``target``: 0 on the target, ``inf`` from a state whence the
        chain may never get there (the target cannot be reached, or the chain can be
        trapped elsewhere on the way).

    See Also
    --------
    implied_timescales : relaxation times of the whole chain, not of one passage.
    dwell_times : observed stays, whose mean is the passage time out of a state.
    sample_path : simulate paths, to see passages happen.

    Notes
    -----
    With ``A`` the target and ``m_i`` the expected passage time,
    ``m_i = 0`` on ``A`` and ``m_i = 1 + Σ_j T_ij m_j`` elsewhere (Kemeny and Snell,
    *Finite Markov Chains*, 1960): one linear solve ``(I - T_FF) m_F = 1`` on the
    states ``F`` with a finite answer. These are found on the graph of ``T``'s
    positive entries: a state has a finite passage time when every state it can
    reach without passing through ``A`` can itself reach ``A``.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.markov import mean_first_passage_time
    >>> T = np.array([[0.9, 0.1, 0.0], [0.1, 0.8, 0.1], [0.0, 0.5, 0.5]])
    >>> mean_first_passage_time(T, 2)
    array([30., 20.,  0.])
    >>> mean_first_passage_time(T, [1, 2])  # a set of states: 1 / T[0, 1] from 0
    array([10.,  0.,  0.])
    >>> T[2] = [0.0, 0.0, 1.0]  # state 2 now absorbs: from 1, 0 may never be reached
    >>> mean_first_passage_time(T, 0)
    array([ 0., inf, inf])
    """
    P = _as_transition_matrix(T)
    shape = P.shape
    n = shape[-1]
    A = _check_target(target, n)
    P = P.reshape(-1, n, n)
    in_target = np.zeros(n, dtype=bool)
    in_target[A] = True
    out = np.zeros(P.shape[:2])
    for idx, positive in _by_pattern(P):
        moves = positive & ~in_target[:, None]  # the chain stops in the target
        can_reach = _reach(moves, in_target)
        trapped = _reach(moves, ~can_reach) & ~in_target
        finite = ~in_target & ~trapped
        out[np.ix_(idx, trapped)] = np.inf
        F = np.flatnonzero(finite)
        if len(F):
            M = np.eye(len(F)) - P[np.ix_(idx, F, F)]
            ones = np.ones((len(idx), len(F), 1))
            out[np.ix_(idx, F)] = np.linalg.solve(M, ones)[..., 0]
    return out.reshape(shape[:-1])


def sample_path(T, n_steps, *, start=None, random_state=None):
    """A simulated trajectory of a Markov chain.

    Parameters
    ----------
    T : array-like of shape (n_states, n_states)
        A row-stochastic matrix.
    n_steps : int
        The length of the path, in frames (the start included).
    start : int, optional
        The first state; by default drawn from the stationary distribution (which
        must then be unique).
    random_state : None, int, SeedSequence or Generator, optional
        The randomness (see :mod:`lectlib`).

    Returns
    -------
    path : ndarray of shape (n_steps,), int64
        The states, one per lag of ``T``.

    See Also
    --------
    count_transitions : counts of the path, which approach ``T`` row by row.
    stationary_distribution : the distribution of the start (by default) and of the
        path's occupancy.
    posterior_samples : draws matrices, not paths.

    Notes
    -----
    Inverse-transform sampling: one uniform number per step is compared with the
    cumulative probabilities of the current row (``bisect`` on a Python list), each
    step a few hundred nanoseconds, about 0.3 s for a million steps. Zero-probability
    transitions are never taken, even where the row sums to 1 only within rounding.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.markov import count_transitions, sample_path, transition_matrix
    >>> T = np.array([[0.9, 0.1], [0.3, 0.7]])
    >>> path = sample_path(T, 100_000, start=0, random_state=0)
    >>> path.shape, path.dtype
    ((100000,), dtype('int64'))
    >>> transition_matrix(count_transitions(path)).round(2)
    array([[0.9, 0.1],
           [0.3, 0.7]])
    """
    P = _as_transition_matrix(T, stack=False)
    n = len(P)
    n_steps = check_scalar(n_steps, "n_steps", integer=True, low=1)
    check_size(n_steps, "the path")
    rng = check_random_state(random_state)
    if start is None:
        try:
            pi = stationary_distribution(P)
        except ValueError as exc:
            raise ValueError(f"{exc}: give the first state (start=...)") from None
        start = min(int(np.searchsorted(np.cumsum(pi), rng.random(), "right")), n - 1)
        while pi[start] == 0:  # (the sum of π can end a rounding below 1)
            start -= 1
    else:
        start = check_scalar(start, "start", integer=True, low=0)
        if start >= n:
            raise ValueError(f"start must be a state 0 … {n - 1}, got {start}")
    cumulative = np.cumsum(P, axis=1)
    last = n - 1 - np.argmax(P[:, ::-1] > 0, axis=1)  # the last possible state
    cumulative[np.arange(n)[None, :] >= last[:, None]] = 2.0
    rows = cumulative.tolist()
    uniforms = rng.random(n_steps - 1).tolist()
    path = accumulate(
        uniforms, lambda state, u: bisect_right(rows[state], u), initial=start
    )
    return np.fromiter(path, dtype=np.int64, count=n_steps)


def dwell_times(trajectories, n_states=None):
    """How long each completed stay in each state lasted, in frames.

    Parameters
    ----------
    trajectories : array-like of int, or a list of them
        As in :func:`count_transitions` (``-1`` marks a frame whose state is unknown).
    n_states : int, optional
        The number of states; by default the largest state seen plus one.

    Returns
    -------
    dwell : list of n_states ndarrays of int64
        ``dwell[i]`` holds the length of every completed stay in state ``i``, in the
        order they occur.

    See Also
    --------
    count_transitions : transitions, from which ``T_ii`` and the expected stay come.
    mean_first_passage_time : expected passage times from a model.

    Notes
    -----
    A stay is a run of equal states; it is complete when a known state precedes and a
    known other state follows it. A stay cut by the start or the end of a trajectory,
    or by a ``-1`` frame, is **censored**: its true length is unknown (only a lower
    bound) and it is left out. Leaving censored stays out biases the mean towards
    short stays when stays are not short against the trajectories; for a Markov chain
    the stays in state ``i`` are geometric with mean ``1 / (1 - T_ii)`` frames, and
    ``T_ii`` estimated from counts uses the censored stays too.

    Examples
    --------
    >>> from lectlib.markov import dwell_times
    >>> [d.tolist() for d in dwell_times([0, 0, 1, 1, 1, 0, 0, 2, -1, 2, 0])]
    [[2], [3], []]
    """
    arrays = _as_trajectories(trajectories)
    n = _check_n_states(n_states, arrays)
    gap = np.array([-1], dtype=np.int64)
    x = np.concatenate([gap] + [p for a in arrays for p in (a, gap)])
    starts = np.flatnonzero(np.diff(x)) + 1  # the first frame of each run but the first
    bounds = np.concatenate([[0], starts, [len(x)]])
    state = x[bounds[:-1]]
    length = np.diff(bounds)
    complete = np.zeros(len(state), dtype=bool)
    complete[1:-1] = (state[1:-1] >= 0) & (state[:-2] >= 0) & (state[2:] >= 0)
    state, length = state[complete], length[complete]
    order = np.argsort(state, kind="stable")
    split = np.searchsorted(state[order], np.arange(1, n))
    return [part.astype(np.int64) for part in np.split(length[order], split)]


def _dirichlet_rows(alpha, n_samples, rng):
    """Samples ``(n_samples, n, n)`` of rows ~ Dirichlet(alpha[i]); zero parameters
    give zeros, a row of zeros is absorbing. Gamma variates in logs
    (``Gamma(a) = Gamma(a + 1)·U^(1/a)``) so that tiny parameters do not underflow."""
    n = len(alpha)
    shape = (n_samples, n, n)
    positive = alpha > 0
    # (parameters below 1e-300 are as good as 1e-300: the row is then one-hot)
    a = np.where(positive, np.maximum(alpha, 1e-300), 1.0)
    with np.errstate(divide="ignore"):
        log_g = (
            np.log(rng.standard_gamma(a + 1.0, size=shape))
            + np.log(rng.random(shape)) / a
        )
    log_g = np.where(positive, log_g, -np.inf)
    empty = ~positive.any(axis=1)
    log_g[:, empty, :] = 0.0  # (replaced below)
    log_g -= log_g.max(axis=2, keepdims=True)
    samples = np.exp(log_g)
    samples /= samples.sum(axis=2, keepdims=True)
    samples[:, empty, :] = 0.0
    samples[:, empty, empty] = 1.0
    return samples


def posterior_samples(counts, n_samples=1000, *, prior=0.0, random_state=None):
    """Samples of the transition matrix from its posterior given the counts.

    Parameters
    ----------
    counts : array-like of shape (n_states, n_states)
        Transition counts, non-negative.
    n_samples : int, default=1000
        How many matrices to draw.
    prior : float or array-like of shape (n_states, n_states), default=0.0
        Pseudo-counts of the Dirichlet prior, added to the counts: 0 (the default)
        lets only observed transitions happen; 1 is the uniform prior on each row;
        an array gives each entry its own.
    random_state : None, int, SeedSequence or Generator, optional
        The randomness (see :mod:`lectlib`).

    Returns
    -------
    samples : ndarray of shape (n_samples, n_states, n_states)
        Row-stochastic matrices. An entry with ``counts + prior = 0`` is exactly 0 in
        every sample; a row whose counts and prior are all zero is absorbing
        (``T[i, i] = 1``, as in :func:`transition_matrix`).

    See Also
    --------
    transition_matrix : the single most likely matrix, with or without detailed
        balance.
    stationary_distribution : applied to the samples, the posterior of π.
    implied_timescales : applied to the samples, the posterior of the timescales.

    Notes
    -----
    The rows of ``T`` are independent given the counts, and with a Dirichlet prior
    each row's posterior is ``Dirichlet(C_i + prior_i)`` (Noé, J. Chem. Phys. 128,
    244103 (2008)): the non-reversible posterior, drawn exactly (no Markov chain Monte
    Carlo), as normalised Gamma variates. Its mean ``(C_ij + prior_ij) / Σ_k (C_ik +
    prior_ik)`` approaches the maximum-likelihood estimate as counts grow. Credible
    intervals: ``numpy.quantile(samples, [0.025, 0.975], axis=0)``, and the same over
    ``stationary_distribution(samples)`` or ``implied_timescales(samples)``. Sampling
    under detailed balance needs a Markov chain Monte Carlo sampler
    (Trendelkamp-Schroer et al., J. Chem. Phys. 143, 174101 (2015)) and is not done
    here. Counts at lags longer than the correlation time of the frames are
    independent; at shorter lags (overlapping windows) the intervals are too narrow.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.markov import posterior_samples
    >>> counts = np.array([[90, 10], [30, 70]])
    >>> samples = posterior_samples(counts, 4000, random_state=0)
    >>> samples.shape
    (4000, 2, 2)
    >>> np.quantile(samples[:, 0, 1], [0.025, 0.975]).round(2)
    array([0.05, 0.16])
    """
    C = _as_counts(counts)
    n = len(C)
    n_samples = check_scalar(n_samples, "n_samples", integer=True, low=1)
    check_size(n_samples * n * n, "the samples")
    if isinstance(prior, (bool, np.bool_)) or prior is None:
        raise TypeError(
            "prior must be a number or an (n_states, n_states) array of "
            f"pseudo-counts, got {prior!r}"
        )
    if isinstance(prior, numbers.Real):
        prior = check_scalar(prior, "prior", low=0.0)
    else:
        prior = as_float_array(prior, "prior")
        if prior.shape != C.shape:
            raise ValueError(
                f"prior must be a number or an array of the counts' shape {C.shape}, "
                f"got shape {prior.shape}"
            )
        if np.any(prior < 0):
            raise ValueError("prior must be non-negative (pseudo-counts)")
    rng = check_random_state(random_state)
    return _dirichlet_rows(C + prior, n_samples, rng)


def chapman_kolmogorov(
    trajectories, n_states=None, *, lag=1, n_steps=4, reversible=False
):
    """The Chapman–Kolmogorov test: does ``T(lag)^k`` predict ``T(k·lag)``?

    Parameters
    ----------
    trajectories : array-like of int, or a list of them
        As in :func:`count_transitions` (``-1`` marks a frame whose state is unknown).
    n_states : int, optional
        The number of states; by default the largest state seen plus one.
    lag : int, default=1
        The lag of the model, in frames.
    n_steps : int, default=4
        Test the multiples ``k = 1 … n_steps`` of the lag.
    reversible : bool, default=False
        Estimate every matrix with detailed balance.

    Returns
    -------
    result : Bunch
        ``lags`` (n_steps,) int64: ``k·lag`` in frames; ``predicted`` (n_steps, n, n):
        ``T(lag)^k``; ``estimated`` (n_steps, n, n): ``T(k·lag)`` estimated from the
        counts at lag ``k·lag``; ``estimated_std`` (n_steps, n, n): the posterior
        standard deviation of each entry of ``estimated`` (Dirichlet posterior of its
        counts), ``inf`` for a row without counts at that lag (nothing is known).

    Warns
    -----
    DisconnectedStatesWarning
        Once, when the count graph at some lag has more than one strongly connected
        set.

    See Also
    --------
    implied_timescales : the other test of a Markov model, the timescales' lag
        dependence.
    transition_matrix : the estimate at each lag.
    count_transitions : the counts at each lag.

    Notes
    -----
    For a Markov chain ``T(k·lag) = T(lag)^k`` (the Chapman–Kolmogorov equation).
    Estimated at ``lag`` and predicted forward, a model of a system that is not
    Markovian in the chosen states (a hidden state that the observed states lump
    together, a memory of the past) departs from the matrix estimated directly at the
    longer lag (Prinz et al., J. Chem. Phys. 134, 174105 (2011), Sec. IV). Compare
    ``|predicted - estimated|`` with a few ``estimated_std``: the standard deviation
    is that of ``Dirichlet(C_i)``, ``sqrt(p(1 - p) / (c_i + 1))``, and ignores the
    uncertainty of the prediction itself and the overlap of sliding windows, so
    allow a margin.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.markov import chapman_kolmogorov, sample_path
    >>> T = np.array([[0.9, 0.1], [0.3, 0.7]])
    >>> path = sample_path(T, 50_000, random_state=1)
    >>> ck = chapman_kolmogorov(path, lag=1, n_steps=3)
    >>> ck.lags.tolist()
    [1, 2, 3]
    >>> z = np.abs(ck.predicted - ck.estimated) / ck.estimated_std
    >>> bool(z.max() < 4)
    True
    """
    arrays = _as_trajectories(trajectories)
    n = _check_n_states(n_states, arrays)
    lag = check_scalar(lag, "lag", integer=True, low=1)
    n_steps = check_scalar(n_steps, "n_steps", integer=True, low=1)
    check_size(n_steps * n * n, "the test's matrices")
    reversible, tol, max_iter, method = _check_estimation(
        reversible, 1e-12, None, "newton"
    )
    lags = lag * np.arange(1, n_steps + 1, dtype=np.int64)
    estimated = np.empty((n_steps, n, n))
    std = np.empty((n_steps, n, n))
    disconnected = []
    converged = True
    for k, tau in enumerate(lags):
        C = _count(arrays, n, int(tau)).astype(float)
        estimated[k], info = _estimate(C, reversible, tol, max_iter, method)
        converged &= info.converged
        if info.n_sets > 1:
            disconnected.append((int(tau), info))
        total = C.sum(axis=1, keepdims=True)
        p = C / np.where(total > 0, total, 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            std[k] = np.where(total > 0, np.sqrt(p * (1.0 - p) / (total + 1.0)), np.inf)
    predicted = np.empty_like(estimated)
    predicted[0] = estimated[0]
    for k in range(1, n_steps):
        predicted[k] = predicted[k - 1] @ estimated[0]
    if disconnected:
        states = sorted(
            {int(s) for _, info in disconnected for s in np.concatenate(info.sets[1:])}
        )
        tau, info = disconnected[0]
        message = (
            f"at lags {[t for t, _ in disconnected]} the count graph falls apart: "
            f"states {_listed(states)} lie outside its largest strongly connected set "
            f"(at lag {tau}: " + _disconnected_message(info, reversible) + ")"
        )
        _warn_disconnected(message, info, states)
    if not converged:
        warnings.warn(
            "the reversible estimate did not converge at every lag",
            ConvergenceWarning,
            stacklevel=2,
        )
    return Bunch(lags=lags, predicted=predicted, estimated=estimated, estimated_std=std)
