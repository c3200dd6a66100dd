"""The salary reality check: the band for the candidate's level, location-adjusted.

Figures and assumptions come from data/salary.yaml and are shown with the
result, so a reader can see what the numbers rest on. Integer arithmetic
throughout, rounded to the nearest $1,000, so reports are byte-stable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SalaryCheck:
    level_id: str
    level_title: str
    years: float
    base_low: int
    base_high: int
    location: str                 # as answered
    region: str | None            # the premium region it matched, if any
    premium_pct: int
    low: int                      # location-adjusted
    high: int
    top_tier_low: int
    top_tier_high: int
    top_tier_pct: tuple[int, int]
    open_ended: bool              # the band has no ceiling (staff and above)
    currency: str
    as_of: str
    assumptions: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level_id, "level_title": self.level_title, "years_experience": self.years,
            "currency": self.currency, "as_of": self.as_of,
            "national": [self.base_low, self.base_high],
            "location": self.location, "region": self.region, "location_premium_percent": self.premium_pct,
            "expected": [self.low, self.high],
            "top_tier": [self.top_tier_low, self.top_tier_high],
            "top_tier_premium_percent": list(self.top_tier_pct),
            "open_ended": self.open_ended,
            "assumptions": list(self.assumptions),
        }

    def range_text(self, low: int | None = None, high: int | None = None) -> str:
        low = self.low if low is None else low
        high = self.high if high is None else high
        return f"{money(low)}-{money(high)}{'+' if self.open_ended else ''}"


def money(amount: int) -> str:
    return f"${amount // 1000:,}K" if amount % 1000 == 0 else f"${amount:,}"


def _round_k(amount: int) -> int:
    return (amount + 500) // 1000 * 1000


def _uplift(amount: int, pct: int) -> int:
    return _round_k(amount * (100 + pct) // 100)


def find_region(location: str, table: dict[str, Any]) -> dict[str, Any] | None:
    text = location.lower()
    for region in table["locations"]:
        for term in region["match"]:
            # whole words: "sf" must not match "Sfax", nor "nyc" a longer word
            if re.search(r"(?<![a-z0-9])" + re.escape(term) + r"(?![a-z0-9])", text):
                return region
    return None


def pick_level(years: float, table: dict[str, Any]) -> dict[str, Any]:
    for level in table["levels"]:
        top = level["max_years"]
        if years >= level["min_years"] and (top is None or years < top):
            return level
    return table["levels"][-1]


def salary_check(years: float, location: str, table: dict[str, Any]) -> SalaryCheck:
    level = pick_level(years, table)
    region = find_region(location, table)
    pct = int(region["premium_pct"]) if region else 0
    low, high = _uplift(int(level["low"]), pct), _uplift(int(level["high"]), pct)
    tt = (int(table["top_tier"]["low_pct"]), int(table["top_tier"]["high_pct"]))
    return SalaryCheck(
        level_id=level["id"], level_title=level["title"], years=years,
        base_low=int(level["low"]), base_high=int(level["high"]),
        location=location, region=region["title"] if region else None, premium_pct=pct,
        low=low, high=high, top_tier_low=_uplift(low, tt[0]), top_tier_high=_uplift(high, tt[1]),
        top_tier_pct=tt, open_ended=bool(level.get("open_ended", False)),
        currency=str(table["currency"]), as_of=str(table.get("as_of", "")),
        assumptions=tuple(table["assumptions"]),
    )
