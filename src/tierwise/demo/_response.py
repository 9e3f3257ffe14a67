"""The demo's planted response to contact: what visits, calls and e-mails are worth.

A company's expected yearly revenue from effort e (effective contacts per year, a visit
counting 1.0, a call and an e-mail their :data:`EFFECTIVENESS`) follows CALLPLAN's response
(Lodish 1971, "CALLPLAN: an interactive salesman's call planning system", Management Science
18(4)):

    revenue(e) = wallet × (s0 + (s1 − s0) · e^c / (d^c + e^c))

s0 is the share of its wallet a company buys with no contact at all, s1 the share it would
buy with unlimited contact, d the effort that earns half of the difference, c the shape
(above 1 an S-curve: a few contacts do little; at or below 1 concave: the first contact is
worth the most). Its true contribution at contact rates (visits, calls, e-mails per year) is
true_margin_rate × revenue(e) − Σ cost per contact × contacts.

The parameters of each company are drawn here from their own random stream (seeded from the
demo seed), so the rest of the demo's draws do not depend on them:

- s1 = the company's base share of wallet (the Beta draw of the demo) × 1.4, at most 0.95;
  s0 = s1 × a ratio between 0.25 and 0.8 (the lower, the more contact moves the company);
- c: S-shaped (1.5-3.5) for 60% of companies, concave (0.5-1.0) for the rest;
- d: about 4 effective contacts a year for a median company, more for bigger ones;
- the planted costly companies hardly respond (s0 ≥ 0.85 s1, d 1-3, c = 1): their many
  legacy visits earn next to nothing.

Prospects respond too, from s0 = 0 (no contact, no purchases), S-shaped and needing more
effort (d about 6), so a plan that spends hours on prospects can be judged against truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "CAPACITY_USE",
    "COST_PER_CONTACT",
    "EFFECTIVENESS",
    "MINUTES_PER_CONTACT",
    "TRAVEL_MINUTES_PER_KM",
    "Response",
    "coverage_truth",
    "draw_prospect_response",
    "draw_response",
    "effort",
    "response_share",
]

#: Effect of one contact relative to a visit.
EFFECTIVENESS: dict[str, float] = {"visit": 1.0, "call": 0.25, "email": 0.05}
#: Cost of one contact (currency units): the profitability stage's default rates.
COST_PER_CONTACT: dict[str, float] = {"visit": 150.0, "call": 10.0, "email": 3.0}
#: Minutes of a rep's time per contact, travel excluded (the activities' mean durations).
MINUTES_PER_CONTACT: dict[str, float] = {"visit": 75.0, "call": 8.0, "email": 5.0}
#: Travel minutes per visit for each km (straight line) between the rep's home and the
#: customer: one way at about 50 km/h on roads 1.3 times the straight line (visits are
#: chained into rounds, so a visit does not cost the whole round trip).
TRAVEL_MINUTES_PER_KM = 1.5
#: The legacy contacts of a rep use at most this share of its hours per year.
CAPACITY_USE = 0.9

#: Mixed into the demo seed for the response's own generator.
SALT = 0xC0FFEE5


@dataclass(frozen=True)
class Response:
    """Response parameters per company (arrays of one length)."""

    s0: np.ndarray
    s1: np.ndarray
    c: np.ndarray
    d: np.ndarray


def effort(visits: np.ndarray, calls: np.ndarray, emails: np.ndarray) -> np.ndarray:
    """Effective contacts per year: Σ effectiveness × contacts per year.

    Examples
    --------
    >>> float(effort(np.array([4.0]), np.array([4.0]), np.array([20.0]))[0])
    6.0
    """
    e = EFFECTIVENESS
    return e["visit"] * visits + e["call"] * calls + e["email"] * emails


def response_share(r: Response, e: np.ndarray) -> np.ndarray:
    """Share of wallet bought at effort e: s0 + (s1 − s0) · e^c / (d^c + e^c).

    Examples
    --------
    >>> one = np.array([1.0])
    >>> r = Response(s0=0.1 * one, s1=0.5 * one, c=2 * one, d=4 * one)
    >>> [round(float(response_share(r, np.array([x]))[0]), 3) for x in (0.0, 4.0, 1e9)]
    [0.1, 0.3, 0.5]
    """
    e = np.maximum(np.asarray(e, dtype=np.float64), 0.0)
    # e^c / (d^c + e^c) = 1 / (1 + (d / e)^c), written to stay finite at e = 0
    with np.errstate(divide="ignore", over="ignore"):
        h = np.where(e > 0, 1.0 / (1.0 + (r.d / np.where(e > 0, e, 1.0)) ** r.c), 0.0)
    return r.s0 + (r.s1 - r.s0) * h


def draw_response(
    rng: np.random.Generator, base_share: np.ndarray, wallet: np.ndarray, costly: np.ndarray
) -> Response:
    """The response parameters of the customers (see the module docstring)."""
    n = len(wallet)
    s1 = np.minimum(base_share * 1.4, 0.95)
    ratio = rng.uniform(0.25, 0.8, n)
    s_shaped = rng.random(n) < 0.6
    c = np.where(s_shaped, rng.uniform(1.5, 3.5, n), rng.uniform(0.5, 1.0, n))
    size = (wallet / np.median(wallet)) ** 0.2
    d = np.clip(4.0 * size * np.exp(rng.normal(0.0, 0.4, n)), 0.5, 30.0)
    ratio = np.where(costly, rng.uniform(0.85, 0.95, n), ratio)
    d = np.where(costly, rng.uniform(1.0, 3.0, n), d)
    c = np.where(costly, 1.0, c)
    return Response(s0=s1 * ratio, s1=s1, c=c, d=d)


def draw_prospect_response(rng: np.random.Generator, wallet: np.ndarray) -> Response:
    """Prospects: nothing without contact (s0 = 0), S-shaped, and more effort to win."""
    n = len(wallet)
    s1 = np.clip(rng.beta(1.8, 4.2, n) * 1.4, 0.02, 0.95)
    c = rng.uniform(2.0, 4.0, n)
    size = (wallet / np.median(wallet)) ** 0.2 if n else wallet
    d = np.clip(6.0 * size * np.exp(rng.normal(0.0, 0.4, n)), 1.0, 40.0)
    return Response(s0=np.zeros(n), s1=s1, c=c, d=d)


def coverage_truth(split_date: str) -> dict[str, Any]:
    """What the demo's response used, as written to ``truth_coverage.json``.

    Examples
    --------
    >>> coverage_truth("2024-07-02")["effectiveness"]["visit"]
    1.0
    """
    return {
        "effectiveness": dict(EFFECTIVENESS),
        "cost_per_contact": dict(COST_PER_CONTACT),
        "minutes_per_contact": dict(MINUTES_PER_CONTACT),
        "travel_minutes_per_km": TRAVEL_MINUTES_PER_KM,
        "legacy_capacity_use": CAPACITY_USE,
        "response": "wallet * (s0 + (s1 - s0) * e**c / (d**c + e**c)), "
        "e = sum of effectiveness x contacts per year",
        "contribution": "true_margin_rate * response - sum of cost_per_contact x contacts",
        "legacy_from": split_date,
        "history": "contacts before legacy_from ran at early_effort_factor times the legacy "
        "rates, and revenue followed the response at that effort",
    }
