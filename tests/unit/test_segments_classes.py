"""The classing rule and its settings: the grid, thin history, hard to serve, the French ABCD."""

from __future__ import annotations

import numpy as np
import pytest

from tierwise.errors import SettingsError
from tierwise.segments.classes import (
    RULE_GRID,
    RULE_HARD,
    RULE_POTENTIAL,
    ClassRule,
    money_text,
    percent_text,
)
from tierwise.settings import Settings, settings_from_dict
from tierwise.settings.segments import SegmentSettings


def _classes(rule: ClassRule, codes: np.ndarray) -> list[str]:
    return [rule.names[c] for c in codes]


def test_default_grid_reads_value_rows_and_potential_columns() -> None:
    rule = ClassRule.from_settings(SegmentSettings())
    # every (value level, potential level) pair; level 2 is high
    v, p = np.meshgrid(np.arange(3), np.arange(3), indexing="ij")
    v, p = v.ravel().astype(np.int8), p.ravel().astype(np.int8)
    no = np.zeros(9, dtype=bool)
    codes, how = rule.classify(v, p, p, no, no)
    got = dict(zip(zip(v.tolist(), p.tolist(), strict=True), _classes(rule, codes), strict=True))
    # the settings' grid, rows high → low value, columns high → low potential:
    # [["A","A","A"], ["B","C","C"], ["B","C","D"]]
    assert got[(2, 2)] == got[(2, 1)] == got[(2, 0)] == "A"
    assert (got[(1, 2)], got[(1, 1)], got[(1, 0)]) == ("B", "C", "C")
    assert (got[(0, 2)], got[(0, 1)], got[(0, 0)]) == ("B", "C", "D")
    assert (how == RULE_GRID).all()


def test_thin_history_is_classed_on_potential_alone() -> None:
    rule = ClassRule.from_settings(SegmentSettings())
    thin = np.ones(3, dtype=bool)
    v = np.array([0, 0, 0], dtype=np.int8)  # no value above the cuts
    p = np.array([2, 1, 0], dtype=np.int8)
    codes, how = rule.classify(v, p, p, thin, np.ones(3, dtype=bool))
    assert _classes(rule, codes) == ["B", "C", "D"]  # potential_only
    assert (how == RULE_POTENTIAL).all()


def test_thin_history_with_value_above_the_cuts_is_classed_on_that_value() -> None:
    rule = ClassRule.from_settings(SegmentSettings())
    thin = np.ones(4, dtype=bool)
    # a new customer at the top value level is A whatever its potential (never D for lack
    # of headroom); at the middle level with low potential, C (grid) beats D (potential
    # alone); with high potential both say B, and potential alone is the reason given
    v = np.array([2, 2, 1, 1], dtype=np.int8)
    p = np.array([0, 2, 0, 2], dtype=np.int8)
    codes, how = rule.classify(v, p, p, thin, np.ones(4, dtype=bool))
    assert _classes(rule, codes) == ["A", "A", "C", "B"]
    assert how.tolist() == [RULE_GRID, RULE_GRID, RULE_GRID, RULE_POTENTIAL]


def test_unprofitable_and_hard_to_serve_is_d_whatever_the_potential() -> None:
    rule = ClassRule.from_settings(SegmentSettings())
    p = np.array([2, 2], dtype=np.int8)
    v = np.zeros(2, dtype=np.int8)
    hard = np.array([True, False])
    codes, how = rule.classify(v, p, p, np.zeros(2, dtype=bool), hard)
    assert _classes(rule, codes) == ["D", "B"]
    assert how.tolist() == [RULE_HARD, RULE_GRID]
    off = ClassRule.from_settings(SegmentSettings(hard_to_serve_class=""))
    codes, _ = off.classify(v, p, p, np.zeros(2, dtype=bool), hard)
    assert _classes(off, codes) == ["B", "B"]


def test_profit_ease_scheme_reads_profit_rows_and_ease_columns() -> None:
    s = SegmentSettings(scheme="profit_ease")
    rule = ClassRule.from_settings(s)
    ease = rule.ease_levels(np.array([80.0, 20.0, 80.0, 20.0, np.nan]))
    assert ease.tolist() == [1, 0, 1, 0, 0]  # cut at 50; a missing score is the middle (0 of 1)
    v = np.array([1, 1, 0, 0], dtype=np.int8)
    no = np.zeros(4, dtype=bool)
    codes, _ = rule.classify(v, ease[:4], np.zeros(4, dtype=np.int8), no, no)
    # profitable & easy A, profitable & hard B, less profitable & easy C, and hard D
    assert _classes(rule, codes) == ["A", "B", "C", "D"]


def test_settings_refuse_a_grid_where_more_value_moves_a_customer_down() -> None:
    with pytest.raises(SettingsError, match=r"\[segments\]: grid: more value would move"):
        settings_from_dict(
            {"segments": {"grid": [["B", "A", "A"], ["A", "C", "C"], ["B", "C", "D"]]}}
        )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"grid": [["A", "X", "A"], ["B", "C", "C"], ["B", "C", "D"]]}, "'X', which is not among"),
        ({"classes": {"A": "a", "B": "b", "C": "c", "D": "d", "E": "e"}}, "no tier for class 'E'"),
        ({"tiers": {"A": "platinum", "B": "silver", "C": "bronze", "D": "bronze"}}, "no programme"),
        ({"potential_only": ["B", "C"]}, "one class per potential level"),
        ({"grid": [["A", "A", "A", "A"]] * 4, "potential_only": ["B", "C", "D", "D"]},
         "at most three levels"),
        ({"method": "quantiles", "quantiles": [0.5]}, "at least 2 cut shares"),
        ({"pareto_shares": [0.95, 0.8]}, "increasing fractions"),
        ({"ease_cuts": [40.0, 60.0]}, "ease_cuts"),
    ],
)  # fmt: skip
def test_settings_refuse_inconsistent_sections(fields: dict[str, object], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        settings_from_dict({"segments": fields})


def test_programmes_refuse_an_inverted_visit_band() -> None:
    good = {"service_level": "x", "channels": ["web"]}
    bad = {"service_level": "x", "channels": ["web"], "visits_min": 4, "visits_max": 2}
    programmes = {"gold": bad, "silver": good, "bronze": good}
    with pytest.raises(SettingsError, match=r"programmes\] gold: visits_max \(2.0\) is below"):
        settings_from_dict({"segments": {"programmes": programmes}})


def test_segments_section_has_its_defaults_in_the_settings_model() -> None:
    s = Settings().segments
    assert s.method == "computed_abc"
    assert s.stability_resamples == 50
    assert s.programmes["gold"].visits_max == 12.0
    assert s.tiers["D"] == "bronze"


def test_money_and_percent_text() -> None:
    got = money_text(np.array([0.0, 48213.0, -1250.0, 999_700.0, 2.5e9]), "$").to_pylist()
    assert got == ["$0", "$48k", "-$1.2k", "$1M", "$2.5bn"]
    assert percent_text(np.array([0.605, 1.0])).to_pylist() == ["60%", "100%"]
