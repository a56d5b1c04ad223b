"""Demand forecasts for many daily series at once (numpy, one pass over time, every series
in each step).

Two methods, both producing one-step-ahead forecasts so that their errors can be measured
the same way:

- ``weekly``: additive exponential smoothing with a day-of-week seasonal component (a
  Holt-Winters model without trend), for regular sellers with a weekly pattern;
- ``intermittent``: Croston's method with the Syntetos-Boylan bias correction (SBA), for
  slow sellers with many zero days.

``forecast`` picks, per series, ``intermittent`` when the average interval between
demands exceeds 1.32 days (Syntetos-Boylan-Croston classification) and ``weekly``
otherwise, and reports the spread (root mean square) of the chosen method's one-step
errors: safety stock is sized from forecast errors, not from raw demand.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]
ADI_CUTOFF = 1.32
SEASON = 7


@dataclass(frozen=True, slots=True)
class Forecast:
    """Per series: the method, the daily forecast for each day of the week (index 0 is the
    weekday of the day after the history), and the one-step error spread."""

    method: npt.NDArray[np.str_]
    daily: Array  # (n, 7): forecast for the next 7 days, then repeating
    sigma: Array  # (n,): root mean square one-step error per day
    mean: Array  # (n,): mean daily demand over the history


def weekly_smoothing(
    y: Array, alpha: float = 0.15, gamma: float = 0.2, warmup: int = 14
) -> tuple[Array, Array]:
    """One-step forecasts (n, t) and the next week's forecasts (n, 7) of additive weekly
    exponential smoothing, initialised from the first ``warmup`` days."""
    n, t = y.shape
    w = min(warmup, t)
    level = y[:, :w].mean(axis=1) if w else np.zeros(n)
    season = np.zeros((n, SEASON))
    if w >= SEASON:
        for d in range(SEASON):
            season[:, d] = y[:, d:w:SEASON].mean(axis=1) - level
    fitted = np.empty((n, t))
    for i in range(t):
        d = i % SEASON
        fitted[:, i] = level + season[:, d]
        err = y[:, i] - fitted[:, i]
        level = level + alpha * err
        season[:, d] += gamma * (1 - alpha) * err
    ahead = np.stack([level + season[:, (t + k) % SEASON] for k in range(SEASON)], axis=1)
    return fitted, np.maximum(ahead, 0.0)


def croston_sba(y: Array, alpha: float = 0.1) -> tuple[Array, Array]:
    """One-step forecasts (n, t) and the per-day rate (n,) of Croston's method with the
    Syntetos-Boylan correction."""
    n, t = y.shape
    first = np.argmax(y > 0, axis=1)
    has = (y > 0).any(axis=1)
    size = np.where(has, y[np.arange(n), first], 0.0)
    interval = np.where(has, first + 1.0, float(t) + 1.0)
    since = np.zeros(n)
    fitted = np.empty((n, t))
    factor = 1 - alpha / 2
    for i in range(t):
        fitted[:, i] = factor * size / interval
        since += 1
        demand = y[:, i] > 0
        size = np.where(demand, size + alpha * (y[:, i] - size), size)
        interval = np.where(demand, interval + alpha * (since - interval), interval)
        since = np.where(demand, 0.0, since)
    return fitted, factor * size / interval


def forecast(y: Array, error_window: int = 28) -> Forecast:
    """Forecast every row of ``y`` (series by day, oldest first)."""
    n, t = y.shape
    if t == 0:
        zeros = np.zeros(n)
        return Forecast(np.full(n, "weekly"), np.zeros((n, SEASON)), zeros, zeros)
    hw_fit, hw_next = weekly_smoothing(y)
    cr_fit, cr_rate = croston_sba(y)
    nonzero = (y > 0).sum(axis=1)
    # Average demand interval over the days since the first sale (a new line is not slow).
    active = t - np.argmax(y > 0, axis=1)
    adi = np.where(nonzero > 0, active / np.maximum(nonzero, 1), np.inf)
    slow = adi > ADI_CUTOFF
    fitted = np.where(slow[:, None], cr_fit, hw_fit)
    daily = np.where(slow[:, None], np.repeat(cr_rate[:, None], SEASON, axis=1), hw_next)
    start = max(min(14, t - 1), t - error_window)
    errors = y[:, start:] - fitted[:, start:]
    sigma = np.sqrt((errors**2).mean(axis=1))
    method = np.where(slow, "intermittent", "weekly")
    return Forecast(method, daily, sigma, y.mean(axis=1))


def naive_seasonal_error(y: Array, horizon: int = 7) -> float:
    """Mean absolute error of last week's same day as the forecast, over the last
    ``horizon`` days (the baseline a forecast must beat)."""
    return float(np.abs(y[:, -horizon:] - y[:, -horizon - SEASON : -SEASON]).mean())


def demand_over(f: Forecast, days: int) -> Array:
    """Forecast demand over the next ``days`` days (n,)."""
    full, rest = divmod(days, SEASON)
    total: Array = f.daily.sum(axis=1) * full + f.daily[:, :rest].sum(axis=1)
    return total


def demand_within(f: Forecast, days: npt.NDArray[np.int_]) -> Array:
    """Forecast demand over the next ``days[i]`` days for each series i (n,)."""
    n = f.daily.shape[0]
    if n == 0:
        return np.zeros(0)
    horizon = int(days.max())
    reps = -(-horizon // SEASON) or 1
    cum = np.concatenate(
        [np.zeros((n, 1)), np.cumsum(np.tile(f.daily, reps)[:, :horizon], axis=1)], axis=1
    )
    total: Array = cum[np.arange(n), days]
    return total
