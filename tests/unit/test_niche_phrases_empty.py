"""Niche phrases over a feature no member of a niche has (every value missing): no numpy
warning on the console, and the feature says nothing about that niche."""

from __future__ import annotations

import warnings

import numpy as np

from tierwise.segments.niches import NicheDesign, niche_phrases


def test_a_feature_missing_for_every_member_gives_no_warning_and_no_phrase() -> None:
    # customers 0-2 form niche 0 with no tenure; 3-5 niche 1 with one; revenue known to all
    tenure = [np.nan, np.nan, np.nan, 1.0, 2.0, 9.0]
    revenue = [9.0, 8.0, 9.5, 1.0, 1.5, 1.2]
    design = NicheDesign(
        numeric_names=["tenure_years", "revenue"],
        numeric=np.array([tenure, revenue]).T,
        raw=np.array([tenure, revenue]).T,
        logged=[False, False],
        category_names=[],
        codes=np.zeros((6, 0), dtype=np.int64),
        categories=[],
    )
    rows = np.arange(6)
    labels = np.array([0, 0, 0, 1, 1, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        phrases = niche_phrases(design, rows, labels, 2, rows, min_effect=0.5)
        # a reference with no value of a feature at all
        no_tenure = niche_phrases(design, rows[:3], labels[:3], 1, rows[:3], min_effect=0.5)
    assert len(phrases) == 2 and phrases[0] and not any("tenure" in p for p in phrases[0])
    assert not any("tenure" in p for p in no_tenure[0])
