"""The rule catalogue: one complete YAML per contract rule, and every example of every implemented
rule behaves (a `bad` example raises exactly its own code, a `good` one raises nothing)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import ROOT, implemented, run_cli_json
from mllint_deploy.catalogue import load_catalogue
from mllint_deploy.knowledge import knowledge

CONTRACT_CODES = (
    ["MLD001"]
    + [f"MLD10{i}" for i in range(1, 7)]
    + [f"MLD20{i}" for i in range(1, 6)]
    + [f"MLD30{i}" for i in range(1, 7)]
    + [f"MLD40{i}" for i in range(1, 6)]
)


def test_every_contract_rule_has_a_catalogue_entry():
    catalogue = load_catalogue()
    assert sorted(catalogue) == CONTRACT_CODES
    for doc in catalogue.values():
        assert doc.severity in ("error", "warning")
        assert doc.family in ("tool", "leakage", "reproducibility", "skew", "serving")
        assert doc.summary.strip() and doc.why.strip() and doc.fix.strip()
        assert doc.bad and doc.good


def test_rule_names_are_unique_kebab_case():
    names = [d.name for d in load_catalogue().values()]
    assert len(set(names)) == len(names)
    assert all(n == n.lower() and " " not in n for n in names)


def test_knowledge_gives_every_family_the_same_concepts():
    k = knowledge()
    scaler = k.concept("sklearn.preprocessing.StandardScaler")
    assert scaler.is_("transformer") and scaler.input == "numeric"
    forest = k.concept("sklearn.ensemble.RandomForestClassifier")
    assert forest.seed == "random_state"
    kfold = k.concept("sklearn.model_selection.KFold")
    assert kfold.is_("splitter") and kfold.shuffles == "when-shuffle-true"
    load = k.concept("joblib.load")
    assert load.is_("loader") and load.unpickles and load.path == (0, "filename")
    assert k.concept("numpy.random.rand").rng == "numpy"
    assert k.concept("my_project.utils.helper") is None


@pytest.mark.parametrize("old, new", [
    ("sklearn.cross_validation.train_test_split", "sklearn.model_selection.train_test_split"),
    ("sklearn.grid_search.GridSearchCV", "sklearn.model_selection.GridSearchCV"),
    ("sklearn.learning_curve.learning_curve", "sklearn.model_selection.learning_curve"),
    ("sklearn.externals.joblib.dump", "joblib.dump"),
    ("tensorflow.keras.layers.Dense", "keras.layers.Dense"),
    ("tensorflow.keras.preprocessing.text.Tokenizer", "keras.preprocessing.text.Tokenizer"),
    ("keras.layers.experimental.preprocessing.Normalization", "keras.layers.Normalization"),
    ("pytorch_lightning.seed_everything", "lightning.pytorch.seed_everything"),
    ("tensorflow.set_random_seed", "tensorflow.random.set_seed"),
    ("sklearn.ensemble.forest.RandomForestClassifier", "sklearn.ensemble.RandomForestClassifier"),
    ("sklearn.model_selection._split.KFold", "sklearn.model_selection.KFold"),
    ("xgboost.sklearn.XGBClassifier", "xgboost.XGBClassifier"),
])
def test_moved_and_deprecated_apis_resolve_to_todays_names(old, new):
    assert knowledge().canonical(old) == knowledge().canonical(new)
    assert knowledge().concept(old) is knowledge().concept(new) is not None


def test_old_imputer_is_a_transformer_unless_it_imputes_per_row():
    imputer = knowledge().concept("sklearn.preprocessing.Imputer")
    assert imputer.is_("transformer") and imputer.row_wise_when == (("axis", (1,)),)
    assert knowledge().method("fit_sample") == "fit_resample"


def test_each_fact_is_written_once(tmp_path, monkeypatch):
    """A name listed in two library files is an error, not a silent override."""
    import shutil

    from mllint_deploy import catalogue
    from mllint_deploy.catalogue import CatalogueError
    from mllint_deploy.knowledge import concepts

    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    data = rules / "knowledge" / "data.yaml"
    data.write_text(data.read_text() + '  joblib.load: {role: "loader"}\n', encoding="utf-8")
    monkeypatch.setattr(catalogue, "rules_dir", lambda: rules)
    concepts.knowledge.cache_clear()
    try:
        with pytest.raises(CatalogueError, match="joblib.load is listed twice"):
            concepts.knowledge()
    finally:
        monkeypatch.undo()
        concepts.knowledge.cache_clear()



def test_security_rules_carry_a_score_and_cwes_and_the_others_do_not():
    catalogue = load_catalogue()
    security = {code for code, doc in catalogue.items() if doc.is_security}
    assert security == {"MLD401", "MLD403"}
    assert catalogue["MLD403"].security_severity > 9.0  # remote code execution: critical
    assert 502 in catalogue["MLD403"].cwe
    assert 4.0 <= catalogue["MLD401"].security_severity < 7.0 and catalogue["MLD401"].cwe == (20,)
    for code, doc in catalogue.items():
        assert doc.tags == ((doc.family, "security") if code in security else (doc.family,))
        assert bool(doc.cwe) == doc.is_security
    assert "Security: critical (9.8), CWE-502" in catalogue["MLD403"].explain()
    assert "Security:" not in catalogue["MLD101"].explain()


@pytest.mark.parametrize("score, band", [(9.8, "critical"), (9.0, "high"), (7.0, "high"),
                                         (6.9, "medium"), (4.0, "medium"), (3.9, "low"), (0.1, "low")])
def test_security_band_follows_githubs_scale(score, band):
    from mllint_deploy.catalogue import security_band

    assert security_band(score) == band


@pytest.mark.parametrize("lines, message", [
    ("security_severity: high\n", "security_severity must be a number from 0.1 to 10.0"),
    ("security_severity: 11\n", "security_severity must be a number"),
    ("security_severity: 0.0\n", "security_severity must be a number"),
    ("security_severity: true\n", "security_severity must be a number"),
    ("security_severity: 7.25\n", "security_severity must be .* with at most one decimal"),
    ("cwe: [502]\n", "cwe is given but security_severity is not"),
    ("security_severity: 7.5\ncwe: CWE-502\n", "cwe must be a list of CWE numbers"),
    ("security_severity: 7.5\ncwe: []\n", "cwe must be a list of CWE numbers"),
])
def test_a_bad_security_fact_is_a_catalogue_error_naming_file_and_key(tmp_path, monkeypatch, lines, message):
    import shutil

    from mllint_deploy import catalogue
    from mllint_deploy.catalogue import CatalogueError

    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    rule = rules / "MLD402.yaml"
    rule.write_text(rule.read_text(encoding="utf-8") + lines, encoding="utf-8")
    monkeypatch.setattr(catalogue, "rules_dir", lambda: rules)
    load_catalogue.cache_clear()
    try:
        with pytest.raises(CatalogueError, match=f"^MLD402.yaml: {message}"):
            load_catalogue()
    finally:
        monkeypatch.undo()
        load_catalogue.cache_clear()



def test_the_parsed_snapshot_keeps_the_yaml_key_order(tmp_path, monkeypatch):
    """A run that reads the JSON snapshot sees a multi-file example's files in the order the YAML
    lists them, as a run that parses the YAML does (the rule pages and --explain depend on it)."""
    import shutil
    import sys

    from mllint_deploy import catalogue

    root = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", root)
    (tmp_path / "pkg").mkdir()
    monkeypatch.setattr(catalogue, "__file__", str(tmp_path / "pkg" / "catalogue.py"))
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    catalogue._parsed_rules.cache_clear()
    try:
        parsed = catalogue._parsed_rules(root)
        assert list((tmp_path / "pkg" / "__pycache__").glob("rules-*.json"))
        catalogue._parsed_rules.cache_clear()
        from_snapshot = catalogue._parsed_rules(root)
    finally:
        catalogue._parsed_rules.cache_clear()
    assert list(parsed["MLD303.yaml"]["bad"]) == ["pyproject.toml", "contract.yaml", "train.py", "serve.py"]
    assert list(from_snapshot["MLD303.yaml"]["bad"]) == list(parsed["MLD303.yaml"]["bad"])
    assert list(from_snapshot["MLD303.yaml"]) == list(parsed["MLD303.yaml"])


def _write_example(example, directory: Path) -> None:
    files = example if isinstance(example, dict) else {"example.py": example}
    for rel, source in files.items():
        target = directory / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source, encoding="utf-8")


def _examples():
    catalogue = load_catalogue()
    for code in sorted(implemented()):
        if code in catalogue:
            yield pytest.param(code, "bad", id=f"{code}-bad")
            yield pytest.param(code, "good", id=f"{code}-good")


@pytest.mark.parametrize("code,kind", list(_examples()))
def test_catalogue_example(code, kind, tmp_path):
    doc = load_catalogue()[code]
    _write_example(getattr(doc, kind), tmp_path)
    codes = {f["code"] for f in run_cli_json([str(tmp_path), "--select", "ALL"])}
    if kind == "bad":
        assert codes == {code}
    else:
        assert codes == set()
