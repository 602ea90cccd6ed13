"""Property-based tests (hypothesis, hypothesmith): no program and no byte string crashes the reader,
the parser guard or the analysis (issue 9).

Bounded for CI: a handful of examples per property, no deadline (the first libcst parse is slow);
the whole module runs in well under a minute. A failure prints the shrunk program to reproduce it.
"""

from __future__ import annotations

import ast

import hypothesmith
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mllint_deploy import registry
from mllint_deploy.pipeline.engine import lint_text
from mllint_deploy.project.modules import Project
from mllint_deploy.sources.source import UnreadableSource, decode

pytestmark = pytest.mark.filterwarnings("ignore::SyntaxWarning")  # hypothesmith compiles what it generates

ENABLED = frozenset(registry.implemented_codes())
FILE_CHECKS, PROJECT_CHECKS = registry.checks_for(ENABLED)

def bounded(examples: int) -> settings:
    """Few examples, no deadline, the same examples on every run (CI must not flake), no database."""
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


def lint(text: str, path: str = "generated.py"):
    """The per-file phase with every check, then the project pass over its facts, as a run does."""
    result = lint_text(path, text, FILE_CHECKS, ENABLED, "generated", PROJECT_CHECKS)
    assert not result.internal_errors, result.internal_errors
    project = Project([result], {path}, ENABLED)
    for check in PROJECT_CHECKS:
        check.check(project)
    lines = max(1, text.count("\n") + 1 + text.count("\r"))
    for f in [*result.findings, *project.findings]:
        assert f.code in ENABLED and f.message and f.path == path
        assert 1 <= f.line <= lines + 1, f
    return result


def python_accepts(text: str) -> bool:
    try:
        ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


@bounded(100)
@given(hypothesmith.from_grammar())
def test_programs_from_the_grammar_never_crash_the_analysis(source):
    result = lint(source)
    if python_accepts(source) and any(f.code == "MLD001" for f in result.findings):
        # libcst is stricter than CPython in a few corners; the finding must say so
        assert all("Python accepts this file" in f.message for f in result.findings if f.code == "MLD001")


@bounded(40)
@given(hypothesmith.from_node())
def test_programs_from_libcst_nodes_never_crash_the_analysis(source):
    lint(source)


# Statements that exercise every family's analysis: fits, splits, seeds, loads, predicts, saves.
ML_STATEMENTS = [
    "import numpy as np", "import pandas as pd", "import torch", "import joblib",
    "from sklearn.preprocessing import StandardScaler, MinMaxScaler",
    "from sklearn.model_selection import train_test_split, KFold, cross_val_score, GridSearchCV",
    "from sklearn.ensemble import RandomForestClassifier",
    "from sklearn.pipeline import make_pipeline",
    "df = pd.read_csv('data.csv')", "X = df.drop(columns=['y'])", "y = df['y']",
    "X = StandardScaler().fit_transform(X)", "scaler = MinMaxScaler()", "X = scaler.fit_transform(X)",
    "X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)",
    "X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)",
    "X_test = scaler.fit_transform(X_test)", "df['age'] = df['age'].fillna(df['age'].mean())",
    "model = RandomForestClassifier()", "model = RandomForestClassifier(random_state=1)",
    "model.fit(X_train, y_train)", "model.fit(X, y)", "pred = model.predict(X_test)",
    "scores = cross_val_score(model, X, y, cv=5)", "cv = KFold(n_splits=5, shuffle=True)",
    "search = GridSearchCV(model, {'n_estimators': [10, 50]})", "search.fit(X, y)",
    "np.random.seed(42)", "torch.manual_seed(0)", "rng = np.random.default_rng()", "noise = np.random.rand(3)",
    "joblib.dump(model, 'model.joblib')", "model = joblib.load('model.joblib')",
    "pipe = make_pipeline(StandardScaler(), model)", "X, y = y, X", "del X", "X = X[:100]",
    "train, test = df[:800], df[800:]", "features = [c for c in df.columns if c != 'y']",
]
NAMES = ["X", "y", "df", "model", "scaler", "X_train", "X_test", "data", "m"]


def _blocks(statements):
    """Wrap runs of statements in the compound statements real scripts use."""
    headers = ["def run(X, y):", "if __name__ == '__main__':", "for fold in range(5):", "with open('log') as fh:",
               "try:", "class Trainer:\n    def fit(self, X, y):", "while False:", "async def serve(request):"]
    return st.tuples(st.sampled_from(headers), statements).map(lambda pair: _indent(*pair))


def _indent(header: str, body: list[str]) -> str:
    depth = "        " if "\n" in header else "    "
    text = header + "\n" + "".join(depth + line + "\n" for line in (body or ["pass"]))
    if header == "try:":
        text += "except Exception:\n    pass\n"
    return text


ml_statement = st.one_of(
    st.sampled_from(ML_STATEMENTS),
    st.tuples(st.sampled_from(ML_STATEMENTS), st.sampled_from(NAMES), st.sampled_from(NAMES)).map(
        lambda t: t[0].replace(t[1], t[2], 1)),
)
ml_program = st.lists(
    st.one_of(ml_statement, _blocks(st.lists(ml_statement, max_size=6))), min_size=1, max_size=30
).map("\n".join)


@bounded(300)
@given(ml_program)
def test_ml_statement_soup_never_crashes_the_analysis(source):
    result = lint(source)
    if python_accepts(source):
        assert not [f for f in result.findings if f.code == "MLD001"], result.findings


@bounded(600)
@given(st.one_of(st.binary(max_size=3000), st.text(max_size=2000).map(str.encode)))
def test_random_bytes_never_crash_the_reader(data):
    try:
        text = decode(data)
    except UnreadableSource as exc:
        assert str(exc) and exc.line >= 1 and "\n" not in str(exc)
        return
    lint(text)


@bounded(400)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=2000))
def test_random_text_never_crashes_the_analysis(text):
    lint(text)


@bounded(300)
@given(st.lists(st.sampled_from(ML_STATEMENTS[:20] + ["(", ")", "[", "]", ":", "def f(", "'", "\\", "\t",
                                                    "lambda:", "if x", "else", "@", "print 'x'"]), max_size=40))
def test_broken_ml_code_never_crashes_the_analysis(parts):
    lint("\n".join(parts))


@pytest.mark.parametrize("prefix", [b"", b"\xef\xbb\xbf", b"# -*- coding: latin-1 -*-\n", b"# coding: cp1252\n"])
@bounded(40)
@given(data=st.binary(max_size=500))
def test_random_bytes_after_an_encoding_declaration(prefix, data):
    try:
        text = decode(prefix + data)
    except UnreadableSource:
        return
    lint(text)
