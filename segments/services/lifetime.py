"""BG/NBD and Gamma-Gamma, fitted by maximum likelihood with scipy (Fader, Hardie & Lee 2005a, 2005b).

BG/NBD: while alive a customer buys at a Poisson rate λ ~ Gamma(r, α); after each purchase they drop out with
probability p ~ Beta(a, b). From a customer's repeat purchases x (distinct purchase days after the first, as the
literature counts them), the time of the last one t_x and the age T (both from the first purchase, in the time unit),
it gives the expected purchases over the next t and the probability of being alive.

Gamma-Gamma: spend per purchase ~ Gamma(p, ν) with ν ~ Gamma(q, γ), independent of the purchase process; from the
number of purchases and their mean value it gives the expected spend per future purchase.

The likelihoods are summed over distinct (x, t_x, T) triples with their counts, so a fit over a million customers
costs about as much as one over the distinct triples. Parameters are optimised on their logarithms (all positive).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln, gammaln, hyp2f1

TIME_UNIT = "week"
DAYS_PER_UNIT = 7.0


@dataclass(frozen=True)
class BgNbd:
    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float = 0.0

    def as_dict(self) -> dict:
        return {"r": self.r, "alpha": self.alpha, "a": self.a, "b": self.b}


@dataclass(frozen=True)
class GammaGamma:
    p: float
    q: float
    gamma: float
    log_likelihood: float = 0.0

    def as_dict(self) -> dict:
        return {"p": self.p, "q": self.q, "gamma": self.gamma}


def _bgnbd_ll(params: np.ndarray, x: np.ndarray, tx: np.ndarray, t: np.ndarray, weights: np.ndarray) -> float:
    r, alpha, a, b = np.exp(params)
    ln_a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    ln_a2 = betaln(a, b + x) - betaln(a, b)
    ln_a3 = -(r + x) * np.log(alpha + t)
    with np.errstate(divide="ignore"):
        ln_a4 = np.where(
            x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-12)) - (r + x) * np.log(alpha + tx), -np.inf
        )
    ll = ln_a1 + ln_a2 + np.logaddexp(ln_a3, ln_a4)
    return -float(np.sum(weights * ll))


def _compress(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    stacked = np.column_stack(columns)
    unique, counts = np.unique(stacked, axis=0, return_counts=True)
    return [unique[:, i] for i in range(unique.shape[1])], counts.astype(float)


def bgnbd_fit(x: np.ndarray, tx: np.ndarray, t: np.ndarray) -> BgNbd:
    """Maximum-likelihood BG/NBD on repeat purchases `x`, last-purchase times `tx` and ages `t` (one time unit)."""
    (ux, utx, ut), weights = _compress(np.asarray(x, float), np.asarray(tx, float), np.asarray(t, float))
    scale = max(float(np.average(ut, weights=weights)), 1e-6)
    start = np.log([1.0, scale, 1.0, 1.0])
    best = None
    for method in ("L-BFGS-B", "Nelder-Mead"):
        result = minimize(_bgnbd_ll, start, args=(ux, utx, ut, weights), method=method, options={"maxiter": 5000})
        if best is None or (np.isfinite(result.fun) and result.fun < best.fun):
            best = result
        if result.success:
            break
    r, alpha, a, b = np.exp(best.x)
    return BgNbd(float(r), float(alpha), float(a), float(b), -float(best.fun))


def bgnbd_expected(model: BgNbd, horizon: float | np.ndarray, x, tx, t) -> np.ndarray:
    """E[X(horizon) | x, t_x, T]: expected purchases over the next `horizon` time units."""
    r, alpha, a, b = model.r, model.alpha, model.a, model.b
    x, tx, t = (np.asarray(v, float) for v in (x, tx, t))
    horizon = np.asarray(horizon, float)
    z = horizon / (alpha + t + horizon)
    hyp = hyp2f1(r + x, b + x, a + b + x - 1, z)
    first = (a + b + x - 1) / (a - 1) * (1 - ((alpha + t) / (alpha + t + horizon)) ** (r + x) * hyp)
    return first / _alive_denominator(model, x, tx, t)


def _alive_denominator(model: BgNbd, x, tx, t) -> np.ndarray:
    r, alpha, a, b = model.r, model.alpha, model.a, model.b
    ratio = np.exp((r + x) * (np.log(alpha + t) - np.log(alpha + tx)))
    return 1 + np.where(x > 0, a / np.maximum(b + x - 1, 1e-12) * ratio, 0.0)


def bgnbd_p_alive(model: BgNbd, x, tx, t) -> np.ndarray:
    x, tx, t = (np.asarray(v, float) for v in (x, tx, t))
    return 1 / _alive_denominator(model, x, tx, t)


def bgnbd_p_none(model: BgNbd, horizon: float, x, tx, t) -> np.ndarray:
    """P(X(horizon) = 0 | x, t_x, T): no purchase over the next `horizon` units (dropped out, or alive and waiting)."""
    x, tx, t = (np.asarray(v, float) for v in (x, tx, t))
    alive = bgnbd_p_alive(model, x, tx, t)
    return 1 - alive + alive * ((model.alpha + t) / (model.alpha + t + horizon)) ** (model.r + x)


def bgnbd_simulate(model: BgNbd, customers: int, t: float, seed: int = 0) -> tuple[np.ndarray, ...]:
    """(x, t_x, T) of customers drawn from the model, each observed for `t` units from their first purchase."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(model.r, 1 / model.alpha, customers)
    p = rng.beta(model.a, model.b, customers)
    x = np.zeros(customers)
    tx = np.zeros(customers)
    alive = np.ones(customers, bool)
    now = np.zeros(customers)
    while alive.any():
        idx = np.flatnonzero(alive)
        wait = rng.exponential(1 / lam[idx])
        now[idx] += wait
        bought = now[idx] < t
        done = idx[~bought]
        alive[done] = False
        went = idx[bought]
        x[went] += 1
        tx[went] = now[went]
        dropped = went[rng.random(len(went)) < p[went]]
        alive[dropped] = False
    return x, tx, np.full(customers, float(t))


def _gg_ll(params: np.ndarray, x: np.ndarray, m: np.ndarray, weights: np.ndarray) -> float:
    p, q, gamma = np.exp(params)
    ll = (
        gammaln(p * x + q)
        - gammaln(p * x)
        - gammaln(q)
        + q * np.log(gamma)
        + (p * x - 1) * np.log(m)
        + p * x * np.log(x)
        - (p * x + q) * np.log(gamma + m * x)
    )
    return -float(np.sum(weights * ll))


def gamma_gamma_fit(x: np.ndarray, m: np.ndarray) -> GammaGamma:
    """Maximum-likelihood Gamma-Gamma on the number of purchases `x` (≥ 1) and their mean value `m` (> 0)."""
    x, m = np.asarray(x, float), np.asarray(m, float)
    keep = (x > 0) & (m > 0)
    (ux, um), weights = _compress(x[keep], m[keep])
    start = np.log([1.0, 1.0, max(float(np.median(um)), 1e-3)])
    best = None
    for method in ("L-BFGS-B", "Nelder-Mead"):
        result = minimize(_gg_ll, start, args=(ux, um, weights), method=method, options={"maxiter": 5000})
        if best is None or (np.isfinite(result.fun) and result.fun < best.fun):
            best = result
        if result.success:
            break
    p, q, gamma = np.exp(best.x)
    return GammaGamma(float(p), float(q), float(gamma), -float(best.fun))


def gamma_gamma_expected(model: GammaGamma, x, m) -> np.ndarray:
    """E[M | x, m_x]: expected spend per purchase (the population mean for customers without purchases)."""
    x, m = np.asarray(x, float), np.asarray(m, float)
    population = model.p * model.gamma / max(model.q - 1, 1e-9)
    weighted = (model.gamma + m * x) * model.p / np.maximum(model.p * x + model.q - 1, 1e-9)
    return np.where(x > 0, weighted, population)


def clv(
    bgnbd: BgNbd,
    gg: GammaGamma,
    x,
    tx,
    t,
    n,
    m,
    *,
    horizon: float,
    annual_discount_rate: float,
    units_per_year: float,
) -> np.ndarray:
    """Discounted value over `horizon` units: each month's expected purchases (BG/NBD on x, t_x, T) × the expected
    spend per purchase (Gamma-Gamma on n purchases of mean value m; n = 0: the population's mean), discounted."""
    step = units_per_year / 12
    spend = gamma_gamma_expected(gg, n, m)
    monthly_rate = (1 + annual_discount_rate) ** (1 / 12) - 1
    total = np.zeros(len(np.atleast_1d(x)))
    previous = np.zeros_like(total)
    elapsed, month = 0.0, 0
    while elapsed < horizon - 1e-9:
        month += 1
        elapsed = min(horizon, elapsed + step)
        cumulative = bgnbd_expected(bgnbd, elapsed, x, tx, t)
        total += (cumulative - previous) * spend / (1 + monthly_rate) ** month
        previous = cumulative
    return total
