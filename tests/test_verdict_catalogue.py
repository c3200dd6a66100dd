"""The verdict model as data: it loads, it covers every exercise, it agrees with
the pack manifests, and a typo in any file is caught at load time."""

from __future__ import annotations

import shutil

import pytest
import yaml

from dlverify import paths
from dlverify.packs.registry import EXERCISE_IDS
from dlverify.verdict.catalogue import DATA_DIR, CatalogueError, load_catalogue


def test_catalogue_loads_with_both_roles_and_four_bands():
    cat = load_catalogue()
    assert set(cat.roles) == {"engineer", "researcher"}
    assert [b.id for b in cat.bands] == ["QUALIFIED_NOW", "NEARLY_QUALIFIED", "SIGNIFICANT_GAPS", "NOT_CURRENTLY_VIABLE"]
    assert [b.min_match for b in cat.bands] == [75, 50, 25, 0]
    assert cat.evidence.unverified_factor < 1


def test_every_registered_exercise_verifies_some_skill():
    cat = load_catalogue()
    assert set(cat.exercises()) == set(EXERCISE_IDS)


def test_pack_manifest_skills_resolve_to_catalogue_skills_that_list_the_exercise():
    """exercise.toml `skills` must name catalogue skills (or their tags) that this exercise verifies."""
    from dlverify.packs.manifest import ManifestError, load_manifest

    cat = load_catalogue()
    checked = 0
    for exercise_id in EXERCISE_IDS:
        try:
            manifest = load_manifest(exercise_id)
        except (ManifestError, FileNotFoundError):
            continue   # a pack still being written
        for tag in manifest.skills:
            skills = cat.skills_for_tag(tag)
            assert skills, f"{exercise_id}: skill {tag!r} is not in skills.yaml (id or tag)"
            assert any(exercise_id in s.exercises for s in skills), \
                f"{exercise_id}: no skill in skills.yaml for {tag!r} ({[s.id for s in skills]}) lists it"
        checked += 1
    assert checked >= 3


def test_engineer_profile_has_the_issue_criteria():
    role = load_catalogue().roles["engineer"]
    kinds = {c.kind for c in role.criteria}
    assert kinds == {"must", "advantage", "differentiator"}
    assert sum(c.weight for c in role.criteria if c.kind == "must") > 50
    assert set(role.must_verify) == {"backpropagation", "attention", "pytorch"}


def test_researcher_weighs_theory_more_and_production_less():
    roles = load_catalogue().roles
    eng = {c.id: c.weight for c in roles["engineer"].criteria}
    res = {c.id: c.weight for c in roles["researcher"].criteria}
    assert res["mathematics"] > eng["mathematics"]
    assert res["production-deployment"] < eng["production-deployment"]
    assert "publications" in res


def _broken(tmp_path, filename, edit):
    folder = tmp_path / "data"
    shutil.copytree(DATA_DIR, folder)
    data = yaml.safe_load((folder / filename).read_text())
    edit(data)
    (folder / filename).write_text(yaml.safe_dump(data, sort_keys=False))
    return folder


BROKEN = [
    ("skills.yaml", lambda d: d["skills"][0]["claims"].append({"answer": "fundamentals.cnnn", "weight": 1}),
     "unknown answer 'fundamentals.cnnn'"),
    ("skills.yaml", lambda d: d["skills"][0].update(area="music"), "unknown area 'music'"),
    ("skills.yaml", lambda d: d["skills"][0].update(colour="red"), "unknown keys ['colour']"),
    ("skills.yaml", lambda d: d["skills"][0]["claims"].append({"answer": "goals.location", "weight": 1}),
     "is not a rating, level or yes/no"),
    ("skills.yaml", lambda d: d["specialisations"].pop(), "catch-all"),
    ("roles.yaml", lambda d: d["roles"]["engineer"]["criteria"][1]["skills"].update({"telepathy": 1}),
     "unknown skill 'telepathy'"),
    ("roles.yaml", lambda d: d["roles"]["engineer"]["criteria"][0].update(fact="horoscope"), "unknown fact 'horoscope'"),
    # a must-verify skill whose exercises are taken away (every skill may have one by now)
    ("skills.yaml", lambda d: next(s for s in d["skills"] if s["id"] == "pytorch").update(exercises=[]),
     "must_verify 'pytorch' is not a skill an exercise checks"),
    ("resources.yaml", lambda d: d["gaps"]["cnn"]["resources"].append("nonexistent"), "unknown resource 'nonexistent'"),
    ("resources.yaml", lambda d: d["gaps"].pop("mlops"), "no gap entry for ['mlops']"),
    ("resources.yaml", lambda d: d["resources"]["cs231n"].update(price=0), "unknown keys ['price']"),
    ("verdict.yaml", lambda d: d["bands"].reverse(), "highest min_match down to 0"),
    ("verdict.yaml", lambda d: d["evidence"].pop("failed_cap"), "failed_cap"),
]


@pytest.mark.parametrize("filename,edit,expected", BROKEN, ids=[b[2][:40] for b in BROKEN])
def test_a_typo_in_the_data_fails_at_load_time(tmp_path, filename, edit, expected):
    folder = _broken(tmp_path, filename, edit)
    with pytest.raises(CatalogueError) as info:
        load_catalogue(folder)
    assert expected in str(info.value)


def test_a_new_pack_is_one_line_of_yaml(tmp_path):
    """Adding an exercise to a skill makes it evidence for that skill, with no code change."""
    from dlverify.verdict.answers import Answers
    from dlverify.verdict.results import results_from_dicts
    from dlverify.verdict.scoring import score_skills

    from verdict_helpers import answers_dict, result_doc

    folder = _broken(tmp_path, "skills.yaml",
                     lambda d: next(s for s in d["skills"] if s["id"] == "cnn")["exercises"].append("attention"))
    cat = load_catalogue(folder)
    results = results_from_dicts([("r", result_doc("attention"))])
    skills = score_skills(Answers.from_dict(answers_dict()), results, cat)
    assert skills["cnn"].evidence == "verified"
    assert score_skills(Answers.from_dict(answers_dict()), results, load_catalogue())["cnn"].evidence == "unverified"


def test_each_readme_shows_the_skills_its_exercise_verifies():
    cat = load_catalogue()
    for exercise_id in EXERCISE_IDS:
        titles = "; ".join(s.title for s in cat.verified_by(exercise_id))
        text = (paths.exercises_dir() / exercise_id / "README.md").read_text()
        assert f"**Skills a pass verifies** (`dlverify verdict`): {titles}." in text, exercise_id


def test_deriving_backprop_is_evidence_of_the_mathematics():
    assert "backprop_mlp" in load_catalogue().skills["mathematics"].exercises
