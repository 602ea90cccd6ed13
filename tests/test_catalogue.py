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
