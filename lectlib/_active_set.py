"""Lawson–Hanson active-set least squares for many pixels at once.

Minimises ½ aᵀ G a − hᵀ a subject to a ≥ 0 (non-negative least squares, from the normal
equations G = Eᵀ E, h = Eᵀ x) and optionally 1ᵀ a = 1 (fully constrained least squares),
for every row of ``rhs`` together. Each row keeps its own passive set (the variables
free to be positive); rows that share a passive set and a Gram matrix solve the same
small system, so it is factorised once for all of them.

KKT conditions at the optimum: G a − h + μ 1 − ν = 0 with ν ≥ 0 and ν_i a_i = 0 (μ = 0
without the sum-to-one constraint). The "gradient" w = h − G a − μ 1 = −ν is zero on the
passive set, and the algorithm frees the variable with the largest positive w until none
is left.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from ._validation import check_scalar

_EPS = np.finfo(float).eps
#: The most outer iterations a call may ask for.
MAX_ITERATIONS = 1_000_000


class _PatternSolver:
    """Solve the passive-set subproblem with one shared Gram matrix,
    grouped by passive set.

    Without the sum-to-one constraint the subproblem is G_PP a_P = h_P; with it, the
    bordered system [[G_PP, 1], [1ᵀ, 0]] [a_P; μ] = [h_P; 1]. Each distinct passive set
    is factorised once (and remembered) and applied to all its rows in one matrix
    product.
    """

    def __init__(self, gram, sum_to_one):
        self.gram = gram
        self.sum_to_one = sum_to_one
        self.k = gram.shape[0]
        self.bits = 1 << np.arange(self.k, dtype=np.int64)
        self.cache = {}

    def _inverse(self, code, mask):
        inv = self.cache.get(code)
        if inv is None:
            m = int(mask.sum())
            if self.sum_to_one:
                system = np.ones((m + 1, m + 1))
                system[:m, :m] = self.gram[np.ix_(mask, mask)]
                system[m, m] = 0.0
            else:
                system = self.gram[np.ix_(mask, mask)]
            inv = np.linalg.solve(system, np.eye(system.shape[0]))
            self.cache[code] = inv
        return inv

    def __call__(self, rhs, passive):
        out = np.zeros_like(rhs)
        mu = np.zeros(rhs.shape[0])
        codes = passive.astype(np.int64) @ self.bits
        order = np.argsort(codes, kind="stable")
        sorted_codes = codes[order]
        starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
        for lo, hi in zip(starts, np.r_[starts[1:], codes.size]):
            rows = order[lo:hi]
            mask = passive[rows[0]]
            if not mask.any():
                continue
            inv = self._inverse(int(sorted_codes[lo]), mask)
            sub = rhs[np.ix_(rows, mask)]
            if self.sum_to_one:
                sol = (
                    np.hstack([sub, np.ones((rows.size, 1))]) @ inv
                )  # inv is symmetric
                out[np.ix_(rows, mask)] = sol[:, :-1]
                mu[rows] = sol[:, -1]
            else:
                out[np.ix_(rows, mask)] = sub @ inv
        return out, mu


def _solve_each_row(gram, rhs, passive):
    """Passive-set solves with one Gram matrix per row,
    in one batched call (no sum-to-one)."""
    k = rhs.shape[1]
    outer = passive[:, :, None] & passive[:, None, :]
    system = np.where(outer, gram, 0.0) + np.eye(k) * (~passive)[:, :, None]
    sol = np.linalg.solve(system, np.where(passive, rhs, 0.0)[..., None])[..., 0]
    return np.where(passive, sol, 0.0), np.zeros(rhs.shape[0])


def active_set(gram, rhs, *, sum_to_one=False, max_iter=None, caller="active_set"):
    """Solve all rows' constrained least-squares problems; return ``(a, n_iter)``.

    ``gram`` is (k, k) shared by all rows or (n, k, k),
    one per row (not with ``sum_to_one``).
    """
    n, k = rhs.shape
    shared = gram.ndim == 2
    if sum_to_one and not shared:
        raise ValueError("sum_to_one needs one Gram matrix shared by all rows")
    if max_iter is None:
        max_iter = 3 * k
    max_iter = check_scalar(
        max_iter, "max_iter", low=1, high=MAX_ITERATIONS, integer=True
    )
    if shared:
        pattern_solve = _PatternSolver(gram, sum_to_one)
        scale = np.full(n, np.abs(np.diagonal(gram)).max())
    else:
        scale = np.abs(np.diagonal(gram, axis1=1, axis2=2)).max(axis=1)

    def gradient(rows, x, mu):
        if shared:
            return rhs[rows] - x @ gram - mu[:, None]
        return rhs[rows] - np.einsum("nij,nj->ni", gram[rows], x)

    def solve(rows, passive):
        if shared:
            return pattern_solve(rhs[rows], passive)
        return _solve_each_row(gram[rows], rhs[rows], passive)

    x = np.zeros((n, k))
    passive = np.zeros((n, k), dtype=bool)
    mu = np.zeros(n)
    if sum_to_one:
        # Start from the best single vertex, a feasible point: max 2 h_j − G_jj.
        start = np.argmax(2 * rhs - np.diagonal(gram), axis=1)
        passive[np.arange(n), start] = True
        x[np.arange(n), start] = 1.0
        mu = rhs[np.arange(n), start] - np.diagonal(gram)[start]
    todo = np.arange(n)
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        xt, pt, mt = x[todo], passive[todo], mu[todo]
        grad = gradient(todo, xt, mt)
        tol = (
            10
            * _EPS
            * k
            * (
                scale[todo] * np.abs(xt).max(axis=1, initial=0.0)
                + np.abs(rhs[todo]).max(axis=1)
                + np.abs(mt)
            )
        )
        candidates = ~pt & (grad > tol[:, None])
        busy = candidates.any(axis=1)
        if not busy.any():
            n_iter -= 1
            break
        todo, xt, pt, mt = todo[busy], xt[busy], pt[busy], mt[busy]
        grad, candidates = grad[busy], candidates[busy]
        pick = np.argmax(np.where(candidates, grad, -np.inf), axis=1)
        pt[np.arange(todo.size), pick] = True
        inner = np.arange(todo.size)  # rows still stepping back to feasibility
        for _ in range(k + 1):
            s, m = solve(todo[inner], pt[inner])
            bad = pt[inner] & (s <= 0)
            stuck = bad.any(axis=1)
            done = inner[~stuck]
            xt[done], mt[done] = s[~stuck], m[~stuck]
            if not stuck.any():
                break
            inner, s, bad = inner[stuck], s[stuck], bad[stuck]
            x_in = xt[inner]
            # Step from x towards s only as far as the first free
            # variable that reaches zero.
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(bad, x_in / (x_in - s), np.inf)
            alpha = np.clip(ratio.min(axis=1), 0.0, 1.0)
            x_in = x_in + alpha[:, None] * (s - x_in)
            p_in = pt[inner] & (
                x_in > 10 * _EPS * np.abs(x_in).max(axis=1, keepdims=True)
            )
            pt[inner] = p_in
            xt[inner] = np.where(p_in, x_in, 0.0)
        x[todo], passive[todo], mu[todo] = xt, pt, mt
    else:
        grad = gradient(todo, x[todo], mu[todo])
        if np.any(~passive[todo] & (grad > 1e-9 * np.abs(rhs[todo]).max(initial=1.0))):
            warnings.warn(
                f"{caller} stopped after max_iter={max_iter} outer iterations",
                ConvergenceWarning,
                stacklevel=3,
            )
    if sum_to_one:
        # Remove the rounding drift of the interpolation steps.
        x /= x.sum(axis=1, keepdims=True)
    return x, n_iter
