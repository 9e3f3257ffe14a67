r"""The potential stage: wallets, share of wallet, headroom, market and prospects.

For each customer, with spend :math:`s` (revenue over the last 12 months) and cross-fitted
wallet estimate :math:`\hat w` (a high quantile of comparable customers' spend, Perlich et
al., KDD 2007):

- ``wallet_model`` = :math:`\hat w`, the model's estimate, which never saw :math:`s`;
- ``wallet`` = :math:`\max(\hat w, s)`: a customer cannot spend more than its wallet, so a
  customer already above its estimate has a wallet of at least what it spends;
- ``wallet_low``, ``wallet_high``: the band. The look-alikes' spend at
  ``band_low_quantile`` and ``band_high_quantile`` relative to their ``quantile``, applied
  as a ratio to the wallet (on the log scale), widened by ``missing_band_widening`` per
  missing model column; ``wallet_low`` is at least the spend. It says how far the wallet
  would move were comparable customers' spend read at a lower or higher quantile, not a
  sampling interval; on the demo's planted wallets the default band [0.75, 0.99] held the
  true wallet for about 70% of companies (tested in ``tests/validation``);
- ``share_of_wallet`` = :math:`s / \text{wallet}` (in [0, 1]; empty when the wallet is 0);
- ``headroom`` = wallet − :math:`s`;
- ``wallet_planning`` = wallet × :math:`(1 + g)^{T}` with the market growth :math:`g`
  (see :mod:`~tierwise.potential.market`) and ``T = planning_years``;
- ``growth_potential`` = wallet_planning − :math:`s`: what could be gained next year;
- ``missing_inputs``: the model columns that were missing for the customer and were
  imputed (comma-separated; empty when complete).

The models are fitted on the customers who bought in the window (``fit_on_buyers_only``):
a lapsed customer's zero says that it did not buy from us, not how large its need is, so
its wallet comes from the buyers it resembles. Every customer is estimated; none is dropped.
With ``method = "auto"`` all models are cross-fitted and the one with the lowest
cross-validated pinball loss on log(1 + spend) is used (``manifest["models"]`` has every
model's loss and coverage, the share of buyers at or below their estimate, which should be
near ``quantile``). Every loss is measured on out-of-fold estimates, so a model that
memorises spend gains nothing; the blend is a fixed equal-weight mean, nothing fitted. The
choice is one global decision (one bit drawn from all customers' spend); each customer's
estimate still comes from models that never saw its spend.

Whether the wallet tells customers apart is measured too (:func:`wallet_skill`): the
chosen model's out-of-fold pinball loss against that of one wallet for all, cross-fitted on
the same folds. Below ``min_wallet_skill`` a warning says that wallets differ by little
more than noise, and the segments stage classes on value alone.

Cross-fitting: the folds are ``fold_ids(n_customers, n_folds, seed)``. A customer's
``wallet_model`` and band come only from models fitted on the other folds, so its own spend
reaches its outputs only through the floors above (``wallet`` and ``wallet_low`` at least
the spend, ``wallet_high`` at least ``wallet``).
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
from sklearn.base import clone

from .._threads import in_background, limit, pool
from ..errors import InputError, ModelError
from ..settings.potential import PotentialSettings
from ._design import as_frame
from .crossfit import crossfit_predict, fold_ids
from .market import _KEYS, customer_growth_rates, penetration_table
from .models import GBMQuantileWallet, LookalikeWallet
from .prospects import ideal_customer_profile, lookalike_score, top_class
from .quantile import LinearQuantileWallet, WalletModel, log_spend, mean_pinball_loss

__all__ = [
    "PotentialResult",
    "model_columns",
    "no_wallet_reason",
    "potential_stage",
    "skill_warning",
    "wallet_skill",
]

_METHODS = ("gbm", "linear", "lookalike")

T = TypeVar("T")


@dataclass
class PotentialResult:
    """What the potential stage returns.

    Attributes
    ----------
    customers
        Keyed by customer_id, input order: wallet, wallet_low, wallet_high, wallet_model,
        wallet_planning, share_of_wallet, headroom, growth_potential, growth_rate,
        missing_inputs, method.
    prospects
        Keyed by customer_id (empty when no prospects were given): wallet, wallet_low,
        wallet_high, wallet_planning, growth_rate, lookalike_score, missing_inputs, method.
    icp
        The ideal customer profile table (see
        :func:`~tierwise.potential.ideal_customer_profile`).
    icp_sentences
        The profile in plain sentences.
    market_penetration
        Revenue, wallets, market size, potential and penetration per industry, region,
        cell and in total (see :func:`~tierwise.potential.penetration_table`).
    manifest
        Headline figures and model diagnostics for manifest.json; ``wallet_skill`` says
        whether the wallet tells customers apart (see :func:`wallet_skill`).
    warnings
        What the user should know about the wallets, each naming the setting that changes
        it (a wallet that tells customers apart no better than one figure for all).
    """

    customers: pa.Table
    prospects: pa.Table
    icp: pa.Table
    icp_sentences: list[str]
    market_penetration: pa.Table
    manifest: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def tells_customers_apart(self) -> bool:
        """Whether the wallet's skill reaches ``[potential] min_wallet_skill``."""
        return bool(self.manifest.get("wallet_skill", {}).get("tells_customers_apart", True))


def model_columns(table: Any, settings: PotentialSettings) -> list[str]:
    """The configured firmographic columns that the table has and that are not all empty.

    Examples
    --------
    >>> import pyarrow as pa
    >>> t = pa.table({"customer_id": ["1"], "industry": ["food"], "region": pa.nulls(1)})
    >>> model_columns(t, PotentialSettings())
    ['industry']
    """
    df = as_frame(table)
    wanted = list(dict.fromkeys([*settings.feature_columns, *settings.extra_feature_columns]))
    return [c for c in wanted if c in df.columns and df[c].notna().any()]


def _spend(df: pd.DataFrame, spend_column: str) -> np.ndarray:
    return np.maximum(
        pd.to_numeric(df[spend_column], errors="coerce").fillna(0.0).to_numpy("float64"), 0.0
    )


def no_wallet_reason(
    table: Any, settings: PotentialSettings, *, spend_column: str = "revenue_12m"
) -> str | None:
    """Why wallets cannot be estimated for these customers, naming the setting or input that
    changes it; ``None`` when they can. The stage refuses with this reason, and the segments
    stage repeats it when it classes on value alone.

    Examples
    --------
    >>> import pyarrow as pa
    >>> t = pa.table({"customer_id": ["1", "2"], "industry": ["food", "metal"],
    ...               "revenue_12m": [10.0, 0.0]})
    >>> print(no_wallet_reason(t, PotentialSettings()))
    2 customers are too few to estimate wallets (at least 30 needed: [potential] min_customers)
    >>> print(no_wallet_reason(t.drop(["industry"]), PotentialSettings()))  # doctest: +ELLIPSIS
    no firmographic columns to estimate wallets from (looked for industry, ...
    """
    df = (
        table
        if isinstance(table, pd.DataFrame)
        else _frame(
            table,
            {
                "customer_id",
                spend_column,
                *settings.feature_columns,
                *settings.extra_feature_columns,
            },
        )
    )
    cols = model_columns(df, settings)
    if not cols:
        wanted = list(dict.fromkeys([*settings.feature_columns, *settings.extra_feature_columns]))
        return (
            "no firmographic columns to estimate wallets from (looked for "
            f"{', '.join(wanted)}); map them in [customers.columns] or set "
            "[potential] feature_columns"
        )
    need = max(settings.min_customers, settings.n_folds)
    setting = (
        "[potential] min_customers"
        if settings.min_customers >= settings.n_folds
        else ("[potential] n_folds")
    )
    n = len(df)
    if n < need:
        return f"{n} customers are too few to estimate wallets (at least {need} needed: {setting})"
    if spend_column in df.columns and settings.fit_on_buyers_only:
        buyers = int((_spend(df, spend_column) > 0).sum())
        if buyers < need:
            return (
                f"{buyers} customers with spend in '{spend_column}' are too few to estimate "
                f"wallets (at least {need} needed: {setting})"
            )
    return None


def wallet_skill(
    ly: np.ndarray, pred: np.ndarray, folds: np.ndarray, rows: np.ndarray, quantile: float
) -> dict[str, Any]:
    r"""How much better the wallet model predicts the quantile of spend than one wallet for
    every customer, out of fold.

    The skill is :math:`1 - L / L_0`, Koenker and Machado's :math:`R^1` ("Goodness of fit
    and related inference processes for quantile regression", JASA 94, 1999), with
    :math:`L` the mean pinball loss of the model's cross-fitted estimates of
    :math:`\log(1 + s)` and :math:`L_0` that of the constant model cross-fitted on the same
    folds: the ``quantile``-quantile of the other folds' log spend. Both are measured on
    ``rows`` (the customers the models were fitted on). Near 0 or below, the model's
    wallets differ between customers by noise: headroom is then about one figure minus
    each customer's spend, and ranks customers by how little they buy.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ly = rng.normal(5, 1, 400)
    >>> folds, rows = np.arange(400) % 5, np.ones(400, bool)
    >>> noise = np.quantile(ly, 0.9) + rng.normal(0, 0.5, 400)  # wallets that differ by noise
    >>> wallet_skill(ly, noise, folds, rows, 0.9)["skill"] < 0
    True
    >>> wallet_skill(ly, ly + 0.1, folds, rows, 0.9)["skill"] > 0.8
    True
    """
    const = np.empty(len(ly))
    for f in np.unique(folds):
        train = rows & (folds != f)
        const[folds == f] = np.quantile(ly[train], quantile) if train.any() else np.nan
    loss = mean_pinball_loss(ly[rows], pred[rows], quantile)
    base = mean_pinball_loss(ly[rows], const[rows], quantile)
    skill = 1.0 - loss / base if base > 0 else 0.0
    return {
        "skill": float(skill),
        "pinball_loss_log": float(loss),
        "constant_pinball_loss_log": float(base),
        "customers": int(rows.sum()),
    }


def skill_warning(skill: dict[str, Any], method: str, cols: list[str], minimum: float) -> str:
    """The warning for a wallet that does not tell customers apart."""
    return (
        f"the wallet model ({method}, on {', '.join(cols)}) predicts what comparable "
        f"customers spend no better than one wallet for all: skill {skill['skill']:.2f} "
        f"(Koenker-Machado R1 out of fold, under [potential] min_wallet_skill = {minimum:g}); "
        "wallets barely differ between customers, so headroom is about one figure minus what "
        "each spends and ranks customers by how little they buy; read wallet, headroom and "
        "share_of_wallet as rough, and give firmographics that set customers apart "
        "(employees, annual_revenue in [customers.columns])"
    )


def _estimators(settings: PotentialSettings, cols: list[str], seed: int) -> dict[str, WalletModel]:
    common: dict[str, Any] = {
        "columns": cols,
        "impute_within": settings.impute_within,
        "log_numeric": settings.log_numeric,
    }
    return {
        "gbm": GBMQuantileWallet(
            settings.quantile,
            n_estimators=settings.gbm_n_estimators,
            learning_rate=settings.gbm_learning_rate,
            num_leaves=settings.gbm_num_leaves,
            min_child_samples=settings.gbm_min_child_samples,
            # never more than the run's [run] threads
            n_threads=min(settings.n_threads, limit() or settings.n_threads),
            random_state=seed,
            **common,
        ),
        "linear": LinearQuantileWallet(
            settings.quantile,
            alpha=settings.linear_alpha,
            max_rows=settings.linear_max_rows,
            random_state=seed,
            **common,
        ),
        "lookalike": LookalikeWallet(
            settings.quantile,
            n_neighbors=settings.neighbours,
            **common,
        ),
    }


def _frame(table: Any, used: set[str]) -> pd.DataFrame:
    """The customer table as pandas, with only the ``used`` columns of an Arrow table (the
    pipeline's customer table carries every stage's columns; text columns cost the most
    memory in pandas)."""
    if isinstance(table, pa.Table):
        return as_frame(table.select([c for c in table.column_names if c in used]))
    return as_frame(table)


def _missing_text(missing: np.ndarray, names: list[str]) -> np.ndarray:
    """Comma-separated names of the missing columns per row ('' when none), vectorised by
    missing pattern."""
    n = missing.shape[0]
    if missing.shape[1] == 0 or n == 0:
        return np.full(n, "", dtype=object)
    code = missing.astype("int64") @ (1 << np.arange(missing.shape[1], dtype="int64"))
    uniq, inv = np.unique(code, return_inverse=True)
    text = np.array(
        [",".join(nm for j, nm in enumerate(names) if (u >> j) & 1) for u in uniq], dtype=object
    )
    return text[inv]


def _band(
    pred_log: np.ndarray, lk: np.ndarray, n_missing: np.ndarray, widening: float
) -> tuple[np.ndarray, np.ndarray]:
    """Band edges on the log scale: the look-alikes' spread around their own wallet."""
    widen = 1.0 + widening * n_missing
    low = pred_log + np.minimum(lk[:, 1] - lk[:, 0], 0.0) * widen
    high = pred_log + np.maximum(lk[:, 2] - lk[:, 0], 0.0) * widen
    return low, high


def _metrics(ly: np.ndarray, pred_log: np.ndarray, q: float) -> dict[str, float]:
    spend = np.expm1(ly)
    return {
        "pinball_loss_log": mean_pinball_loss(ly, pred_log, q),
        "pinball_loss": mean_pinball_loss(spend, np.maximum(np.expm1(pred_log), 0.0), q),
        "coverage": float(np.mean(ly <= pred_log + 1e-12)),
    }


def potential_stage(
    customers: Any,
    *,
    spend_column: str = "revenue_12m",
    prospects: Any | None = None,
    market: Any | None = None,
    profit_column: str | None = None,
    segment_column: str | None = None,
    settings: PotentialSettings,
    seed: int,
) -> PotentialResult:
    """Estimate wallets, share of wallet and headroom; score prospects; describe the ICP.

    Parameters
    ----------
    customers
        One row per customer: ``customer_id``, the spend column and the firmographic
        columns of ``settings.feature_columns`` (+ ``extra_feature_columns``); columns that
        are absent or entirely empty are skipped.
    spend_column
        Revenue over the last 12 months per customer; missing counts as 0, net returns
        below 0 count as 0.
    prospects
        Companies without transactions (``customer_id`` + firmographics), optional.
    market
        Market table (industry and/or region, market_size, growth_rate), optional.
    profit_column
        Customer column with net profit: ranks the top class of the ICP (else spend ranks).
    segment_column
        Customer column with a segment, for per-segment rows of the market table.
    settings
        The ``[potential]`` section.
    seed
        Seed for the folds, the linear model's sample and LightGBM.

    Returns
    -------
    PotentialResult

    Raises
    ------
    InputError
        A required column is missing or customer ids repeat.
    ModelError
        No firmographic column, or fewer than ``min_customers`` customers.

    Examples
    --------
    >>> import numpy as np, pyarrow as pa
    >>> rng = np.random.default_rng(0)
    >>> n = 200
    >>> emp = rng.lognormal(3, 1, n)
    >>> t = pa.table({"customer_id": [str(i) for i in range(n)], "employees": emp,
    ...               "industry": rng.choice(["food", "metal"], n),
    ...               "revenue_12m": emp * rng.uniform(0, 100, n)})
    >>> res = potential_stage(t, settings=PotentialSettings(method="linear"), seed=1)
    >>> res.customers.column_names[:4]
    ['customer_id', 'wallet', 'wallet_low', 'wallet_high']
    >>> bool(np.all(np.asarray(res.customers["share_of_wallet"]) <= 1))
    True
    """
    used = {
        "customer_id",
        spend_column,
        *settings.feature_columns,
        *settings.extra_feature_columns,
        *(c for c in (profit_column, segment_column, settings.impute_within) if c is not None),
        *_KEYS,
    }
    df = _frame(customers, used)
    for col in ("customer_id", spend_column):
        if col not in df.columns:
            raise InputError(f"customers table has no {col!r} column", column=col)
    if df["customer_id"].duplicated().any():
        dup = df.loc[df["customer_id"].duplicated(), "customer_id"].iloc[0]
        raise InputError(f"customer_id {dup!s} appears more than once", column="customer_id")
    why_not = no_wallet_reason(df, settings, spend_column=spend_column)
    if why_not is not None:
        raise ModelError(why_not)
    cols = model_columns(df, settings)
    wanted = list(dict.fromkeys([*settings.feature_columns, *settings.extra_feature_columns]))
    n = len(df)
    q = settings.quantile
    spend = _spend(df, spend_column)
    ly = log_spend(spend)
    X = df[cols]
    folds = fold_ids(n, settings.n_folds, seed)
    buyers = spend > 0
    fit_rows = buyers if settings.fit_on_buyers_only else np.ones(n, dtype=bool)
    ests = _estimators(settings, cols, seed)

    wanted_models = {
        "gbm": ["gbm"],
        "linear": ["linear"],
        "lookalike": [],
        "blend": ["gbm", "linear"],
        "auto": ["gbm", "linear"],
    }[settings.method]
    # the look-alike model always runs: its spread gives every method's band
    bandq = [q, settings.band_low_quantile, settings.band_high_quantile]
    # the models' cross-fits are independent of each other: each runs in a thread of its own
    # (the fits and searches run outside Python's lock), the look-alike first
    # (one per core the run may use: [run] threads)
    with pool(1 + len(wanted_models), "tierwise-potential") as fits:
        lk_job = fits.submit(
            crossfit_predict,
            ests["lookalike"],
            X,
            spend,
            folds=folds,
            train_mask=fit_rows,
            method="predict_quantiles",
            quantiles=bandq,
        )
        jobs = {
            name: fits.submit(
                crossfit_predict,
                ests[name],
                X,
                spend,
                folds=folds,
                train_mask=fit_rows,
                method="predict_log",
            )
            for name in wanted_models
        }
        lk = lk_job.result()
        oof: dict[str, np.ndarray] = {"lookalike": lk[:, 0]}
        for name, job in jobs.items():
            oof[name] = job.result()
    if settings.method in ("blend", "auto"):
        oof["blend"] = np.mean([oof[m] for m in _METHODS], axis=0)
    # losses are measured where the models are fitted (the buyers, by default)
    metrics = {name: _metrics(ly[fit_rows], p[fit_rows], q) for name, p in oof.items()}
    if settings.method == "auto":
        chosen = min(metrics, key=lambda m: (metrics[m]["pinball_loss_log"], m))
    else:
        chosen = settings.method
    pred = oof[chosen]
    skill = wallet_skill(ly, pred, folds, fit_rows, q)
    warnings: list[str] = []
    if skill["skill"] < settings.min_wallet_skill:
        warnings.append(skill_warning(skill, chosen, cols, settings.min_wallet_skill))

    # the look-alike model on all customers: its encoder flags missing inputs, and it
    # finds the prospects' look-alikes
    X_fit, spend_fit = X[fit_rows], spend[fit_rows]
    # the prospects' models on all customers, fitted in the background meanwhile
    prospect_fits = (
        {
            name: in_background(clone(ests[name]).fit, X_fit, spend_fit, name="tierwise-prospects")
            for name in (list(_METHODS) if chosen == "blend" else [chosen])
            if name != "lookalike"
        }
        if prospects is not None
        else {}
    )
    full_lk = clone(ests["lookalike"]).fit(X_fit, spend_fit)
    enc = full_lk.encoder_
    missing = enc.transform(X).missing
    n_missing = missing.sum(axis=1)
    low_log, high_log = _band(pred, lk, n_missing, settings.missing_band_widening)

    growth = customer_growth_rates(df, market, settings)
    grow = (1.0 + growth) ** settings.planning_years
    wallet_model = np.maximum(np.expm1(pred), 0.0)
    wallet = np.maximum(wallet_model, spend)
    wallet_low = np.minimum(np.maximum(np.expm1(low_log), spend), wallet)
    wallet_high = np.maximum(np.expm1(high_log), wallet)
    with np.errstate(divide="ignore", invalid="ignore"):
        sow = np.where(wallet > 0, spend / np.where(wallet > 0, wallet, 1.0), np.nan)
    wallet_planning = wallet * grow
    missing_text = _missing_text(missing, enc.column_order_)
    cust = pa.table(
        {
            "customer_id": pa.array(
                df["customer_id"].astype("string").to_numpy(dtype=object), pa.string()
            ),
            "wallet": wallet,
            "wallet_low": wallet_low,
            "wallet_high": wallet_high,
            "wallet_model": wallet_model,
            "wallet_planning": wallet_planning,
            "share_of_wallet": pa.array(sow, pa.float64(), from_pandas=True),
            "headroom": wallet - spend,
            "growth_potential": wallet_planning - spend,
            "growth_rate": growth,
            "missing_inputs": pa.array(missing_text, pa.string()),
            "method": pa.array(np.full(n, chosen, dtype=object), pa.string()),
        }
    )

    # ideal customer profile: top class by profit if given, else by spend
    ranked_by = "spend"
    rank_values = spend
    if profit_column is not None:
        if profit_column not in df.columns:
            raise InputError(
                f"customers table has no {profit_column!r} column", column=profit_column
            )
        rank_values = pd.to_numeric(df[profit_column], errors="coerce").to_numpy("float64")
        ranked_by = "net profit"
    is_top = top_class(rank_values, settings.icp_top_share)
    icp, sentences = ideal_customer_profile(
        df, is_top, columns=cols, settings=settings, ranked_by=ranked_by
    )

    pros_table, pros_frame = _prospects(
        prospects,
        X_fit,
        prospect_fits,
        full_lk,
        chosen,
        is_top[fit_rows],
        settings,
        market,
        bandq,
    )

    frame = df[[c for c in ("industry", "region") if c in df.columns]].copy()
    if segment_column is not None:
        if segment_column not in df.columns:
            raise InputError(
                f"customers table has no {segment_column!r} column", column=segment_column
            )
        frame[segment_column] = df[segment_column]
    frame["spend"] = spend
    frame["wallet"] = wallet
    frame["wallet_planning"] = wallet_planning
    frame["headroom"] = wallet - spend
    pen = penetration_table(
        frame, prospects=pros_frame, market=market, segment_column=segment_column, settings=settings
    )

    # the most customers any fold's models were fitted on (those outside the fold that
    # are allowed into fits)
    fold_fit_rows = int(
        (fit_rows.sum() - np.bincount(folds[fit_rows], minlength=settings.n_folds)).max()
    )
    per_col_missing = {
        c: int(m) for c, m in zip(enc.column_order_, missing.sum(axis=0), strict=True)
    }
    manifest: dict[str, Any] = {
        "method": chosen,
        "method_setting": settings.method,
        "quantile": q,
        "n_folds": settings.n_folds,
        "neighbours": int(full_lk.k_),
        "n_customers": n,
        "n_prospects": int(pros_table.num_rows),
        "n_prospects_missing_inputs": int(
            np.sum(np.asarray(pros_table["missing_inputs"].to_numpy(zero_copy_only=False)) != "")
        ),
        "spend_column": spend_column,
        "features_used": cols,
        "features_absent": [c for c in wanted if c not in cols],
        "n_customers_missing_inputs": int((n_missing > 0).sum()),
        "missing_by_column": per_col_missing,
        "models": metrics,
        "wallet_skill": {
            **skill,
            "min_wallet_skill": settings.min_wallet_skill,
            "tells_customers_apart": bool(skill["skill"] >= settings.min_wallet_skill),
        },
        "linear_fit_rows_per_fold": int(min(settings.linear_max_rows, fold_fit_rows))
        if "linear" in oof
        else None,
        "total_spend": float(spend.sum()),
        "total_wallet": float(wallet.sum()),
        "total_headroom": float((wallet - spend).sum()),
        "median_share_of_wallet": float(np.nanmedian(sow)) if np.isfinite(sow).any() else None,
        "n_floored_at_spend": int((spend > wallet_model).sum()),
        "icp_ranked_by": ranked_by,
        "market_given": market is not None,
    }
    return PotentialResult(cust, pros_table, icp, sentences, pen, manifest, warnings)


def _prospects(
    prospects: Any | None,
    X_customers: pd.DataFrame,
    fits: dict[str, Future[WalletModel]],
    full_lk: LookalikeWallet,
    chosen: str,
    is_top: np.ndarray,
    settings: PotentialSettings,
    market: Any | None,
    bandq: list[float],
) -> tuple[pa.Table, pd.DataFrame | None]:
    empty = pa.table(
        {
            "customer_id": pa.array([], pa.string()),
            **{
                c: pa.array([], pa.float64())
                for c in (
                    "wallet",
                    "wallet_low",
                    "wallet_high",
                    "wallet_planning",
                    "growth_rate",
                    "lookalike_score",
                )
            },
            "missing_inputs": pa.array([], pa.string()),
            "method": pa.array([], pa.string()),
        }
    )
    if prospects is None:
        return empty, None
    p = as_frame(prospects).copy()
    if "customer_id" not in p.columns:
        raise InputError(
            "prospects table has no 'customer_id' column", file="prospects", column="customer_id"
        )
    cols = list(X_customers.columns)
    for c in cols:
        if c not in p.columns:
            p[c] = pd.NA
    if len(p) == 0:
        return empty, None
    X = p[cols]
    idx = full_lk.kneighbors(X)
    lk = full_lk.quantiles_from_neighbours(idx, bandq)
    score = lookalike_score(idx, is_top)
    preds: dict[str, np.ndarray] = {"lookalike": lk[:, 0]}
    need = list(_METHODS) if chosen == "blend" else [chosen]
    for name in need:
        if name == "lookalike":
            continue
        preds[name] = fits[name].result().predict_log(X)
    pred = np.mean([preds[m] for m in _METHODS], axis=0) if chosen == "blend" else preds[chosen]
    missing = full_lk.encoder_.transform(X).missing
    low_log, high_log = _band(pred, lk, missing.sum(axis=1), settings.missing_band_widening)
    growth = customer_growth_rates(p, market, settings)
    wallet = np.maximum(np.expm1(pred), 0.0)
    planning = wallet * (1.0 + growth) ** settings.planning_years
    table = pa.table(
        {
            "customer_id": pa.array(
                p["customer_id"].astype("string").to_numpy(dtype=object), pa.string()
            ),
            "wallet": wallet,
            "wallet_low": np.minimum(np.maximum(np.expm1(low_log), 0.0), wallet),
            "wallet_high": np.maximum(np.expm1(high_log), wallet),
            "wallet_planning": planning,
            "growth_rate": growth,
            "lookalike_score": score,
            "missing_inputs": pa.array(
                _missing_text(missing, full_lk.encoder_.column_order_), pa.string()
            ),
            "method": pa.array(np.full(len(p), chosen, dtype=object), pa.string()),
        }
    )
    frame = p[[c for c in ("industry", "region") if c in p.columns]].copy()
    frame["wallet"] = wallet
    frame["wallet_planning"] = planning
    return table, frame
