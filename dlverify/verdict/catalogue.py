"""The verdict model as data: data/*.yaml read into typed, cross-checked dataclasses.

Everything the verdict depends on that is not arithmetic - which answers claim
which skill, which exercise checks it, what a role weighs, what to study for a
gap, what the role pays - lives in those files. Loading checks every cross
reference (an answer path, a skill id, a resource id) so a typo fails loudly at
load time rather than silently scoring zero.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from . import answers as answers_mod
from .datafile import read_data_file

DATA_DIR = Path(__file__).resolve().parent / "data"
FACTS = ("education", "portfolio", "mentions", "specialisation")
COMBINES = ("mean", "max", "min")
KINDS = ("must", "advantage", "differentiator")


class CatalogueError(ValueError):
    """A data file of the verdict model is inconsistent."""


@dataclass(frozen=True)
class Claim:
    answer: str      # section.field of the answers file
    weight: float


@dataclass(frozen=True)
class Skill:
    id: str
    title: str
    area: str
    claims: tuple[Claim, ...]
    exercises: tuple[str, ...]
    combine: str = "mean"
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Area:
    id: str
    title: str


@dataclass(frozen=True)
class Specialisation:
    id: str
    title: str
    match: tuple[str, ...]
    skills: tuple[str, ...]


@dataclass(frozen=True)
class Criterion:
    id: str
    title: str
    kind: str
    weight: float
    interview_focus: str
    skills: tuple[tuple[str, float], ...] = ()   # (skill id, weight) in file order
    combine: str = "mean"
    fact: str | None = None
    params: dict[str, Any] | None = None

    @property
    def gap_keys(self) -> tuple[str, ...]:
        return (self.id,) if self.fact else tuple(s for s, _ in self.skills)


@dataclass(frozen=True)
class Role:
    id: str
    title: str
    must_verify: tuple[str, ...]
    criteria: tuple[Criterion, ...]
    strategies: dict[str, Any]


@dataclass(frozen=True)
class Resource:
    id: str
    title: str
    kind: str
    provider: str
    cost: str
    url: str


@dataclass(frozen=True)
class Gap:
    id: str
    now: str
    goal: str
    milestone: str
    resources: tuple[str, ...]


@dataclass(frozen=True)
class Band:
    id: str
    title: str
    min_match: float
    timeline: str
    summary: str
    milestone: str         # the 6-12-month milestone every roadmap in this band ends with


@dataclass(frozen=True)
class EvidenceRules:
    unverified_factor: float
    pass_level: float
    throughput_bonus: float
    failed_cap: float
    calibration_tolerance: float


@dataclass(frozen=True)
class Catalogue:
    levels: dict[str, float]
    areas: tuple[Area, ...]
    skills: dict[str, Skill]               # in file order
    specialisations: tuple[Specialisation, ...]
    roles: dict[str, Role]
    resources: dict[str, Resource]
    gaps: dict[str, Gap]
    bands: tuple[Band, ...]                # highest first
    evidence: EvidenceRules
    paths_by_degree: dict[str, str]
    salary: dict[str, Any]                 # read by salary.py, checked here

    def exercises(self) -> tuple[str, ...]:
        """Every exercise id some skill names, in catalogue order."""
        seen: dict[str, None] = {}
        for skill in self.skills.values():
            for ex in skill.exercises:
                seen.setdefault(ex)
        return tuple(seen)

    def verified_by(self, exercise: str) -> list[Skill]:
        """The skills a pass in `exercise` verifies, in catalogue order (each README lists them)."""
        return [s for s in self.skills.values() if exercise in s.exercises]

    def skills_for_tag(self, tag: str) -> list[Skill]:
        """Skills an exercise manifest may mean by `tag` (a skill id or one of its tags)."""
        return [s for s in self.skills.values() if tag == s.id or tag in s.tags]


def _build(cls, raw: Any, where: str, **overrides):
    """Make a dataclass from a mapping, refusing unknown and missing keys."""
    if not isinstance(raw, dict):
        raise CatalogueError(f"{where}: expected a mapping, got {type(raw).__name__}")
    names = {f.name for f in fields(cls)}
    unknown = set(raw) - names
    if unknown:
        raise CatalogueError(f"{where}: unknown keys {sorted(unknown)}")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
    values.update(overrides)
    try:
        return cls(**values)
    except TypeError as exc:
        raise CatalogueError(f"{where}: {exc}") from None


def _load_skills(raw: dict) -> tuple[dict[str, float], tuple[Area, ...], dict[str, Skill], tuple[Specialisation, ...]]:
    levels = {str(k): float(v) for k, v in raw["levels"].items()}
    if set(levels) != set(answers_mod.LEVELS):
        raise CatalogueError(f"skills.yaml: levels must be exactly {answers_mod.LEVELS}")
    areas = tuple(_build(Area, a, f"skills.yaml: area {i}") for i, a in enumerate(raw["areas"]))
    area_ids = {a.id for a in areas}
    skills: dict[str, Skill] = {}
    for i, s in enumerate(raw["skills"]):
        where = f"skills.yaml: skill {s.get('id', i)!r}"
        claims = tuple(_build(Claim, c, f"{where}: claim") for c in s.get("claims", ()))
        skill = _build(Skill, s, where, claims=claims, exercises=tuple(s.get("exercises", ())))
        if skill.id in skills:
            raise CatalogueError(f"{where}: duplicate id")
        if skill.area not in area_ids:
            raise CatalogueError(f"{where}: unknown area {skill.area!r}")
        if skill.combine not in ("mean", "max"):
            raise CatalogueError(f"{where}: combine must be mean or max")
        if not claims:
            raise CatalogueError(f"{where}: no claims")
        for c in claims:
            if c.answer not in answers_mod.FIELD_PATHS:
                raise CatalogueError(f"{where}: unknown answer {c.answer!r}")
            if answers_mod.field_at(c.answer).kind not in ("rating", "level", "bool"):
                raise CatalogueError(f"{where}: answer {c.answer!r} is not a rating, level or yes/no")
            if c.weight <= 0:
                raise CatalogueError(f"{where}: claim weights must be positive")
        skills[skill.id] = skill
    for area in areas:
        if not any(s.area == area.id for s in skills.values()):
            raise CatalogueError(f"skills.yaml: area {area.id!r} has no skills")
    specs = tuple(_build(Specialisation, s, f"skills.yaml: specialisation {s.get('id')!r}")
                  for s in raw["specialisations"])
    if not specs or specs[-1].match != ("*",):
        raise CatalogueError('skills.yaml: the last specialisation must be the catch-all (match: ["*"])')
    for spec in specs:
        for sid in spec.skills:
            if sid not in skills:
                raise CatalogueError(f"skills.yaml: specialisation {spec.id!r}: unknown skill {sid!r}")
    return levels, areas, skills, specs


def _load_roles(raw: dict, skills: dict[str, Skill]) -> dict[str, Role]:
    roles: dict[str, Role] = {}
    for rid, r in raw["roles"].items():
        where = f"roles.yaml: role {rid!r}"
        criteria = []
        for c in r["criteria"]:
            cw = f"{where}: criterion {c.get('id')!r}"
            skill_weights = tuple((str(k), float(v)) for k, v in (c.get("skills") or {}).items())
            crit = _build(Criterion, c, cw, skills=skill_weights, params=c.get("params"))
            if crit.kind not in KINDS:
                raise CatalogueError(f"{cw}: kind must be one of {KINDS}")
            if crit.combine not in COMBINES:
                raise CatalogueError(f"{cw}: combine must be one of {COMBINES}")
            if bool(crit.fact) == bool(crit.skills):
                raise CatalogueError(f"{cw}: give either skills or a fact, not both or neither")
            if crit.fact and crit.fact not in FACTS:
                raise CatalogueError(f"{cw}: unknown fact {crit.fact!r}; known: {FACTS}")
            for sid, w in crit.skills:
                if sid not in skills:
                    raise CatalogueError(f"{cw}: unknown skill {sid!r}")
                if w <= 0:
                    raise CatalogueError(f"{cw}: skill weights must be positive")
            if crit.weight < 0:
                raise CatalogueError(f"{cw}: negative weight")
            for path in (crit.params or {}).get("fields", ()):
                if path not in answers_mod.FIELD_PATHS:
                    raise CatalogueError(f"{cw}: unknown answer {path!r}")
            criteria.append(crit)
        ids = [c.id for c in criteria]
        if len(set(ids)) != len(ids):
            raise CatalogueError(f"{where}: duplicate criterion ids")
        for sid in r["must_verify"]:
            if sid not in skills or not skills[sid].exercises:
                raise CatalogueError(f"{where}: must_verify {sid!r} is not a skill an exercise checks")
        for key in ("company_tiers", "bridge", "entry", "foundation", "alternatives", "prerequisites"):
            if key not in r["strategies"]:
                raise CatalogueError(f"{where}: strategies.{key} missing")
        roles[rid] = Role(rid, r["title"], tuple(r["must_verify"]), tuple(criteria), r["strategies"])
    return roles


def _load_resources(raw: dict, skills: dict[str, Skill], roles: dict[str, Role]):
    resources = {rid: _build(Resource, r, f"resources.yaml: resource {rid!r}", id=rid)
                 for rid, r in raw["resources"].items()}
    gaps = {gid: _build(Gap, g, f"resources.yaml: gap {gid!r}", id=gid) for gid, g in raw["gaps"].items()}
    for gap in gaps.values():
        for res in gap.resources:
            if res not in resources:
                raise CatalogueError(f"resources.yaml: gap {gap.id!r}: unknown resource {res!r}")
    needed = set(skills)
    for role in roles.values():
        needed |= {c.id for c in role.criteria if c.fact}
    missing = sorted(needed - set(gaps))
    if missing:
        raise CatalogueError(f"resources.yaml: no gap entry for {missing}")
    return resources, gaps


def load_catalogue(data_dir: Path | None = None) -> Catalogue:
    folder = data_dir or DATA_DIR
    skills_raw = read_data_file(folder / "skills.yaml")
    levels, areas, skills, specs = _load_skills(skills_raw)
    roles = _load_roles(read_data_file(folder / "roles.yaml"), skills)
    resources, gaps = _load_resources(read_data_file(folder / "resources.yaml"), skills, roles)
    verdict = read_data_file(folder / "verdict.yaml")
    evidence = _build(EvidenceRules, verdict["evidence"], "verdict.yaml: evidence")
    bands = tuple(_build(Band, b, f"verdict.yaml: band {b.get('id')!r}") for b in verdict["bands"])
    if [b.min_match for b in bands] != sorted((b.min_match for b in bands), reverse=True) or bands[-1].min_match != 0:
        raise CatalogueError("verdict.yaml: bands must run from the highest min_match down to 0")
    paths_by_degree = verdict["paths_by_degree"]
    if set(paths_by_degree) != set(answers_mod.DEGREES):
        raise CatalogueError(f"verdict.yaml: paths_by_degree must cover {answers_mod.DEGREES}")
    salary = read_data_file(folder / "salary.yaml")
    for key in ("currency", "levels", "top_tier", "locations", "assumptions"):
        if key not in salary:
            raise CatalogueError(f"salary.yaml: {key} missing")
    return Catalogue(levels, areas, skills, specs, roles, resources, gaps, bands, evidence,
                     paths_by_degree, salary)


@functools.lru_cache(maxsize=1)
def default_catalogue() -> Catalogue:
    return load_catalogue()
