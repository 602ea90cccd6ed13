"""Train/serve skew (MLD301-MLD305): small projects written to a temporary directory, each file carrying
its expected findings as `# expect:` annotations, linted with the real CLI; plus the feature contract
(format, errors, nested configs), `--write-contract`, and the pre-commit style run on one file."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import pytest

from conftest import expected_findings, run_cli_json
from mllint_deploy.analysis.columns import artifact_key, path_segments, resolve_spec
from mllint_deploy.cli import run_cli
from mllint_deploy.project.contract import ContractError, load_contract, parse_contract

SKEW = {"MLD301", "MLD302", "MLD303", "MLD304", "MLD305"}


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, source in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source).lstrip("\n"), encoding="utf-8")
    return root


def findings(root: Path, *args: str) -> set[tuple[str, int, str]]:
    rows = run_cli_json([str(root), "--select", "MLD3", *args])
    return {(Path(f["path"]).resolve().relative_to(root.resolve()).as_posix(), f["line"], f["code"]) for f in rows}


def check(root: Path, files: dict[str, str]) -> None:
    write(root, files)
    expected = expected_findings(root, SKEW)
    reported = findings(root)
    assert sorted(reported - expected) == [] and sorted(expected - reported) == [], (
        f"false alarms: {sorted(reported - expected)}\nmissed: {sorted(expected - reported)}")


def messages(root: Path, code: str, *args: str) -> list[str]:
    return [f["message"] for f in run_cli_json([str(root), "--select", code, *args])]


TRAIN = '''
import joblib
import pandas as pd
from sklearn.ensemble import RandomForestClassifier

FEATURES = {features}

df = pd.read_csv("data/train.csv")
model = RandomForestClassifier(n_estimators=200, random_state=0)
model.fit(df[FEATURES], df["label"])
joblib.dump(model, {path})
'''

SERVE = '''
import joblib
import pandas as pd
from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()
model = joblib.load({path})


class Payload(BaseModel):
    age: float
    income: float
    city: str


@app.post("/predict")
def predict(p: Payload):
    row = pd.DataFrame([p.model_dump()], columns={columns})
    return {{"label": int(model.predict(row)[0])}}{expect}
'''


def _train(features, path='"model.joblib"') -> str:
    return TRAIN.format(features=features, path=path)


def _serve(columns, path='"model.joblib"', expect="") -> str:
    return SERVE.format(columns=columns, path=path, expect=f"  # expect: {expect}" if expect else "")


# ------------------------------------------------------------------------------------------------
# MLD301: pairing by artifact path


def test_missing_column_reported_at_predict_naming_both_sides(tmp_path):
    check(tmp_path, {
        "train.py": _train('["age", "income", "city"]'),
        "serve/app.py": _serve('["age", "income"]', expect="MLD301"),
    })
    (msg,) = messages(tmp_path, "MLD301")
    assert "serving builds the row from ['age', 'income'] (" in msg and "serve/app.py:" in msg
    assert "but the model was fitted on ['age', 'income', 'city'] (" in msg and "train.py:9" in msg
    assert "'city' is missing" in msg


def test_same_columns_in_another_order_is_clean_for_frames(tmp_path):
    check(tmp_path, {
        "train.py": _train('["age", "income", "city"]'),
        "serve/app.py": _serve('["city", "age", "income"]'),
    })


def test_pairing_through_os_path_join_and_pathlib_spellings(tmp_path):
    check(tmp_path, {
        "training/train.py": _train('["age", "income", "city"]',
                                    path='Path(__file__).resolve().parent.parent / "artifacts" / "rf_v2.joblib"')
        .replace("import joblib", "from pathlib import Path\n\nimport joblib"),
        "serve/app.py": _serve('["age", "income"]', path='os.path.join(MODEL_DIR, "rf_v2.joblib")',
                               expect="MLD301").replace("import joblib", 'import os\n\nimport joblib\n\n'
                                                                          'MODEL_DIR = "artifacts"'),
    })


def test_pairing_through_a_constant_imported_from_a_config_module(tmp_path):
    check(tmp_path, {
        "settings.py": 'import os\n\nMODEL_DIR = "artifacts"\nMODEL_PATH = os.path.join(MODEL_DIR, "churn.pkl")\n',
        "train.py": _train('["age", "income", "city"]', path="MODEL_PATH")
        .replace("import joblib", "import joblib\nfrom settings import MODEL_PATH"),
        "app.py": _serve('["age", "city"]', path="settings.MODEL_PATH", expect="MLD301")
        .replace("import joblib", "import joblib\nimport settings"),
    })


def test_feature_list_imported_from_a_shared_module_is_clean(tmp_path):
    check(tmp_path, {
        "features.py": 'NUMERIC = ["age", "income"]\nFEATURES = NUMERIC + ["city"]\n',
        "train.py": _train("F.FEATURES").replace("import joblib", "import features as F\nimport joblib"),
        "app.py": _serve("FEATURES").replace("import joblib", "from features import FEATURES\nimport joblib"),
    })


def test_feature_list_imported_on_one_side_only_is_compared(tmp_path):
    check(tmp_path, {
        "features.py": 'FEATURES = ["age", "income", "city"]\n',
        "train.py": _train("FEATURES").replace("import joblib", "from features import FEATURES\nimport joblib"),
        "app.py": _serve('["age", "income", "city", "zip"]', expect="MLD301"),
    })


def test_two_models_each_paired_with_its_own_artifact(tmp_path):
    check(tmp_path, {
        "train_churn.py": _train('["age", "income", "city"]', path='"churn.joblib"'),
        "train_ltv.py": _train('["age", "income"]', path='"ltv.joblib"'),
        "serve_churn.py": _serve('["age", "income", "city"]', path='"churn.joblib"'),
        "serve_ltv.py": _serve('["age", "income", "city"]', path='"ltv.joblib"', expect="MLD301"),
    })


def test_same_file_name_in_two_projects_pairs_with_the_nearest(tmp_path):
    check(tmp_path, {
        "proj_a/train.py": _train('["age", "income", "city"]'),
        "proj_a/app.py": _serve('["age", "income", "city"]'),
        "proj_b/train.py": _train('["age", "income"]'),
        "proj_b/app.py": _serve('["age", "income", "city"]', expect="MLD301"),
    })


def test_only_training_serving_pair_is_paired_without_a_literal_path(tmp_path):
    check(tmp_path, {
        "train.py": _train('["age", "income", "city"]', path="args.out")
        .replace("import joblib", "import argparse\n\nimport joblib")
        .replace('df = pd.read_csv', 'args = argparse.ArgumentParser().parse_args()\ndf = pd.read_csv'),
        "app.py": _serve('["age", "income"]', path='os.environ["MODEL_PATH"]', expect="MLD301")
        .replace("import joblib", "import os\n\nimport joblib"),
    })


def test_no_pairing_when_two_training_scripts_write_unknown_paths(tmp_path):
    check(tmp_path, {
        "train_a.py": _train('["age", "income", "city"]', path="OUT"),
        "train_b.py": _train('["age"]', path="OUT"),
        "app.py": _serve('["age", "income"]', path='os.environ["MODEL_PATH"]')
        .replace("import joblib", "import os\n\nimport joblib"),
    })


def test_different_literal_artifacts_are_not_paired(tmp_path):
    check(tmp_path, {
        "train.py": _train('["age", "income", "city"]', path='"forest.joblib"'),
        "app.py": _serve('["age"]', path='"other_model.joblib"'),
    })


def test_mlflow_registered_model_pairs_with_models_uri(tmp_path):
    check(tmp_path, {
        "train.py": '''
            import mlflow
            import mlflow.sklearn
            import pandas as pd
            from mlflow.models import infer_signature
            from sklearn.linear_model import LogisticRegression

            FEATURES = ["tenure", "plan", "seats"]
            df = pd.read_csv("subs.csv")
            clf = LogisticRegression(max_iter=500, random_state=0)
            clf.fit(df[FEATURES], df["churned"])
            mlflow.sklearn.log_model(clf, artifact_path="model", registered_model_name="churn",
                                     signature=infer_signature(df[FEATURES]))
        ''',
        "app.py": '''
            import mlflow.pyfunc
            import pandas as pd
            from fastapi import FastAPI
            from pydantic import BaseModel

            app = FastAPI()
            model = mlflow.pyfunc.load_model("models:/churn@champion")


            class Sub(BaseModel):
                tenure: int
                plan: str


            @app.post("/churn")
            def churn(s: Sub):
                frame = pd.DataFrame([s.model_dump()])[["tenure", "plan"]]
                return {"churn": int(model.predict(frame)[0])}  # expect: MLD301
        ''',
    })


# ------------------------------------------------------------------------------------------------
# MLD301: how serving rows are built


def test_dict_row_assembled_key_by_key(tmp_path):
    check(tmp_path, {
        "train.py": _train('["age", "income", "city"]'),
        "app.py": '''
            import joblib
            import pandas as pd
            from flask import Flask, jsonify, request
            from pydantic import BaseModel

            app = Flask(__name__)
            model = joblib.load("model.joblib")


            class Payload(BaseModel):
                age: float
                income: float


            @app.post("/predict")
            def predict():
                p = Payload.model_validate(request.get_json())
                row = {"age": p.age}
                row["income"] = p.income
                row["segment"] = "retail"
                return jsonify(label=int(model.predict(pd.DataFrame([row]))[0]))  # expect: MLD301
        ''',
    })
    (msg,) = messages(tmp_path, "MLD301")
    assert "'city' is missing and 'segment' is extra" in msg


def test_reindex_and_selection_of_the_training_columns_is_clean(tmp_path):
    check(tmp_path, {
        "train.py": _train('["age", "income", "city"]'),
        "app.py": '''
            import joblib
            import pandas as pd
            from fastapi import FastAPI
            from pydantic import BaseModel

            FEATURES = ["age", "income", "city"]
            app = FastAPI()
            model = joblib.load("model.joblib")


            class Payload(BaseModel):
                request_id: str
                age: float
                income: float
                city: str


            @app.post("/a")
            def a(p: Payload):
                df = pd.DataFrame([p.model_dump()]).reindex(columns=FEATURES)
                return {"label": int(model.predict(df)[0])}


            @app.post("/b")
            def b(p: Payload):
                df = pd.DataFrame([p.model_dump()])
                df = df.drop(columns=["request_id"])
                return {"label": int(model.predict(df[FEATURES])[0])}


            @app.post("/c")
            def c(p: Payload):
                df = pd.DataFrame([p.model_dump()])
                df["income_k"] = df["income"] / 1000
                return {"label": int(model.predict(df.loc[:, FEATURES])[0])}
        ''',
    })


def test_unknown_serving_columns_stay_quiet(tmp_path):
    check(tmp_path, {
        "train.py": _train('["age", "income", "city"]'),
        "app.py": '''
            import joblib
            import numpy as np
            import pandas as pd
            from fastapi import FastAPI
            from pydantic import BaseModel

            app = FastAPI()
            model = joblib.load("model.joblib")


            class Payload(BaseModel):
                features: list[float]
                age: float
                income: float
                city: str


            @app.post("/a")
            def a(p: Payload):
                return {"label": int(model.predict(pd.DataFrame([p.model_dump()]))[0])}


            @app.post("/b")
            def b(p: Payload):
                return {"label": int(model.predict(np.array([p.features]).reshape(1, -1))[0])}


            @app.post("/c")
            def c(p: Payload):
                return {"label": int(model.predict([[*p.features, p.age]])[0])}


            @app.post("/d")
            def d(p: Payload):
                frame = add_features(pd.DataFrame([p.model_dump()]))
                return {"label": int(model.predict(frame)[0])}


            def add_features(frame):
                return frame
        ''',
    })


SCHEMA_SERVE = '''
import joblib
import pandas as pd
from flask import Flask, jsonify, request
from pydantic import BaseModel, Field

app = Flask(__name__)
model = joblib.load("model.joblib")


class Base(BaseModel):
    request_id: str


class Payload(Base):
    age: float = Field(ge=0)
    income: float
{more}

@app.post("/predict")
def predict():
    p = Payload.model_validate(request.get_json())
    row = pd.DataFrame([p.model_dump({dump})])
    return jsonify(label=int(model.predict(row)[0])){expect}
'''


@pytest.mark.parametrize("more,dump,expect", [
    ("", "", "MLD301"),  # the schema has no 'city'
    ("    city: str\n", "", ""),  # 'request_id' is extra, which says nothing
    ("    city: str\n", 'exclude={"request_id"}', ""),
    ("    city: str\n", 'include={"age", "income"}', "MLD301"),
])
def test_rows_from_the_request_schema_fields(tmp_path, more, dump, expect):
    check(tmp_path, {
        "train.py": _train('["age", "income", "city"]'),
        "app.py": SCHEMA_SERVE.format(more=more, dump=dump, expect=f"  # expect: {expect}" if expect else ""),
    })


def test_unknown_training_columns_stay_quiet(tmp_path):
    check(tmp_path, {
        "train.py": '''
            import joblib
            import pandas as pd
            from sklearn.linear_model import LogisticRegression

            df = pd.read_csv("data.csv")
            X = df.drop(columns=["label"])
            model = LogisticRegression(max_iter=300, random_state=0).fit(X, df["label"])
            joblib.dump(model, "model.joblib")
        ''',
        "app.py": _serve('["age", "income"]'),
    })


def test_drop_from_a_known_schema_gives_the_training_columns(tmp_path):
    check(tmp_path, {
        "train.py": '''
            import joblib
            import pandas as pd
            from sklearn.linear_model import LogisticRegression

            df = pd.read_csv("data.csv", usecols=["age", "income", "city", "label"])
            X = df.drop(columns=["label"])
            model = LogisticRegression(max_iter=300, random_state=0)
            model.fit(X, df["label"])
            joblib.dump(model, "model.joblib")
        ''',
        "app.py": _serve('["age", "income"]', expect="MLD301"),
    })


NUMPY_SERVE = '''
import joblib
import numpy as np
from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()
clf = joblib.load("fraud.joblib")


class Txn(BaseModel):
    amount: float
    hour: int
    merchant_risk: float


@app.post("/score")
def score(t: Txn):
    x = np.array([[{elements}]])
    return {{"p": float(clf.predict_proba(x)[0, 1])}}{expect}
'''

NUMPY_TRAIN = '''
import joblib
import pandas as pd
from sklearn.linear_model import LogisticRegression

FEATURES = ["amount", "merchant_risk", "hour"]
df = pd.read_parquet("txns.parquet")
clf = LogisticRegression(max_iter=1000, random_state=0)
clf.fit(df[FEATURES].to_numpy(), df["is_fraud"].to_numpy())
joblib.dump(clf, "fraud.joblib")
'''


@pytest.mark.parametrize("elements,expect", [
    ("t.amount, t.hour, t.merchant_risk", "MLD301"),
    ("t.amount, t.merchant_risk, t.hour", ""),
    ("float(t.amount), float(t.merchant_risk), float(t.hour)", ""),
    ("t.amount, t.merchant_risk", "MLD301"),
    ("t.amount_usd, t.risk, t.hour_of_day", ""),  # request field names need not be column names
])
def test_numpy_row_order(tmp_path, elements, expect):
    check(tmp_path, {
        "train.py": NUMPY_TRAIN,
        "app.py": NUMPY_SERVE.format(elements=elements, expect=f"  # expect: {expect}" if expect else ""),
    })


def test_reordered_numpy_message_names_the_position(tmp_path):
    write(tmp_path, {"train.py": NUMPY_TRAIN,
                     "app.py": NUMPY_SERVE.format(elements="t.amount, t.hour, t.merchant_risk", expect="")})
    (msg,) = messages(tmp_path, "MLD301")
    assert "different order (position 2 holds 'hour' where the model expects 'merchant_risk')" in msg


def test_frame_in_another_order_for_a_model_fitted_on_an_array(tmp_path):
    check(tmp_path, {
        "train.py": NUMPY_TRAIN,
        "app.py": NUMPY_SERVE.format(elements="t.amount, t.merchant_risk, t.hour", expect="").replace(
            "    x = np.array([[t.amount, t.merchant_risk, t.hour]])",
            '    x = pd.DataFrame([t.model_dump()])[["hour", "amount", "merchant_risk"]]').replace(
            '    return {"p": float(clf.predict_proba(x)[0, 1])}',
            '    return {"p": float(clf.predict_proba(x)[0, 1])}  # expect: MLD301').replace(
            "import numpy as np", "import pandas as pd"),
    })


def test_array_from_frame_values_keeps_the_column_order(tmp_path):
    check(tmp_path, {
        "train.py": NUMPY_TRAIN,
        "app.py": NUMPY_SERVE.format(elements="t.amount", expect="").replace(
            "    x = np.array([[t.amount]])",
            '    x = pd.DataFrame([t.model_dump()])[["hour", "amount", "merchant_risk"]].values').replace(
            '    return {"p": float(clf.predict_proba(x)[0, 1])}',
            '    return {"p": float(clf.predict_proba(x)[0, 1])}  # expect: MLD301').replace(
            "import numpy as np", "import pandas as pd"),
    })


# ------------------------------------------------------------------------------------------------
# MLD302


SCALED_SERVE = '''
import joblib
import pandas as pd
from fastapi import FastAPI
from pydantic import BaseModel

FEATURES = ["tenure", "charges", "calls"]
app = FastAPI()
model = joblib.load("churn.joblib")


class Customer(BaseModel):
    tenure: int
    charges: float
    calls: int


@app.post("/churn")
def churn(c: Customer):
    row = pd.DataFrame([c.model_dump()], columns=FEATURES)
    return {{"p": float(model.predict_proba(row)[0, 1])}}{expect}
'''


def _scaled_train(persist: str) -> str:
    return f'''
import joblib
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

FEATURES = ["tenure", "charges", "calls"]
df = pd.read_csv("churn.csv")
X_train, X_test, y_train, y_test = train_test_split(df[FEATURES], df["churned"], random_state=0)
scaler = StandardScaler()
X_train_s = scaler.fit_transform(X_train)
model = LogisticRegression(max_iter=500, random_state=0)
model.fit(X_train_s, y_train)
{persist}
'''


@pytest.mark.parametrize("persist,expect", [
    ('joblib.dump(model, "churn.joblib")', "MLD302"),
    ('joblib.dump({"scaler": scaler, "model": model}, "churn.joblib")', ""),
    ('joblib.dump(model, "churn.joblib")\njoblib.dump(scaler, "scaler.joblib")', ""),
    ('bundle = (scaler, model)\njoblib.dump(bundle, "churn.joblib")', ""),
])
def test_separately_fitted_scaler_must_be_persisted(tmp_path, persist, expect):
    check(tmp_path, {
        "train.py": _scaled_train(persist),
        "serve.py": SCALED_SERVE.format(expect=f"  # expect: {expect}" if expect else ""),
    })


def test_persisted_pipeline_is_clean(tmp_path):
    check(tmp_path, {
        "train.py": '''
            import joblib
            import pandas as pd
            from sklearn.linear_model import LogisticRegression
            from sklearn.pipeline import make_pipeline
            from sklearn.preprocessing import StandardScaler

            FEATURES = ["tenure", "charges", "calls"]
            df = pd.read_csv("churn.csv")
            model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500, random_state=0))
            model.fit(df[FEATURES], df["churned"])
            joblib.dump(model, "churn.joblib")
        ''',
        "serve.py": SCALED_SERVE.format(expect=""),
    })


def test_serving_that_applies_a_loaded_scaler_is_clean(tmp_path):
    check(tmp_path, {
        "train.py": _scaled_train('joblib.dump(model, "churn.joblib")'),
        "serve.py": SCALED_SERVE.format(expect="").replace(
            'model = joblib.load("churn.joblib")',
            'model = joblib.load("churn.joblib")\nscaler = joblib.load("scaler.joblib")').replace(
            "model.predict_proba(row)", "model.predict_proba(scaler.transform(row))"),
    })


def test_label_encoded_target_is_not_preprocessing(tmp_path):
    check(tmp_path, {
        "train.py": '''
            import joblib
            import pandas as pd
            from sklearn.ensemble import RandomForestClassifier
            from sklearn.preprocessing import LabelEncoder

            FEATURES = ["tenure", "charges", "calls"]
            df = pd.read_csv("churn.csv")
            le = LabelEncoder()
            df["segment"] = le.fit_transform(df["segment"])
            model = RandomForestClassifier(random_state=0)
            model.fit(df[FEATURES], df["segment"])
            joblib.dump(model, "churn.joblib")
        ''',
        "serve.py": SCALED_SERVE.format(expect=""),
    })


# ------------------------------------------------------------------------------------------------
# MLD304


def test_vectorizer_fitted_on_request_texts(tmp_path):
    check(tmp_path, {
        "app.py": '''
            import joblib
            from fastapi import FastAPI
            from pydantic import BaseModel
            from sklearn.feature_extraction.text import TfidfVectorizer

            app = FastAPI()
            clf = joblib.load("spam_nb.joblib")


            class Message(BaseModel):
                text: str


            @app.post("/spam")
            def spam(m: Message):
                features = TfidfVectorizer().fit_transform([m.text])  # expect: MLD304
                return {"spam": bool(clf.predict(features)[0])}
        ''',
    })


def test_normalising_request_batch_with_its_own_statistics(tmp_path):
    check(tmp_path, {
        "app.py": '''
            import joblib
            import pandas as pd
            from fastapi import FastAPI
            from pydantic import BaseModel

            app = FastAPI()
            model = joblib.load("model.joblib")


            class Rows(BaseModel):
                rows: list[dict]


            def standardise(frame):
                return (frame - frame.mean()) / frame.std()  # expect: MLD304


            @app.post("/batch")
            def batch(body: Rows):
                frame = pd.DataFrame(body.rows)
                return {"y": model.predict(standardise(frame)).tolist()}
        ''',
    })


def test_fits_on_reference_data_or_literals_in_serving_are_not_request_data(tmp_path):
    check(tmp_path, {
        "app.py": '''
            import joblib
            import pandas as pd
            from fastapi import FastAPI
            from pydantic import BaseModel
            from sklearn.preprocessing import LabelEncoder, StandardScaler

            app = FastAPI()
            model = joblib.load("model.joblib")
            REFERENCE = pd.read_csv("reference.csv")


            def build_scaler(reference):
                return StandardScaler().fit(reference)


            scaler = build_scaler(REFERENCE)
            plans = LabelEncoder()


            class Row(BaseModel):
                a: float
                plan: str


            @app.post("/p")
            def p(row: Row):
                plans.fit(["basic", "pro"])
                frame = pd.DataFrame([row.model_dump()])
                frame["plan"] = plans.transform(frame["plan"])
                drift = frame.mean()
                return {"y": model.predict(scaler.transform(frame)).tolist(), "drift": drift.to_dict()}
        ''',
    })


def test_training_code_fitting_is_not_serving(tmp_path):
    check(tmp_path, {"train.py": _scaled_train('joblib.dump(model, "churn.joblib")')})


# ------------------------------------------------------------------------------------------------
# MLD305


def _feature_fn(body: str, doc: str = "") -> str:
    return f'''
def add_features(df):{doc}
    df = df.copy()
{textwrap.indent(textwrap.dedent(body).strip(), "    ")}
    return df
'''


def _fn_project(train_body: str, serve_body: str, expect: str = "", doc: str = "") -> dict[str, str]:
    train = '''
import joblib
import numpy as np
import pandas as pd
from sklearn.ensemble import GradientBoostingRegressor

FEATURES = ["log_sqft", "rooms"]
''' + _feature_fn(train_body) + '''

data = add_features(pd.read_csv("listings.csv"))
model = GradientBoostingRegressor(random_state=0)
model.fit(data[FEATURES], data["price"])
joblib.dump(model, "price.joblib")
'''
    serve = '''
import joblib
import numpy as np
import pandas as pd
from fastapi import FastAPI
from pydantic import BaseModel

FEATURES = ["log_sqft", "rooms"]
app = FastAPI()
model = joblib.load("price.joblib")


class Listing(BaseModel):
    sqft: float
    rooms: int

''' + _feature_fn(serve_body, doc).replace("def add_features(df):", "def add_features(df):" + (
        f"  # expect: {expect}" if expect else "")) + '''

@app.post("/price")
def price(listing: Listing):
    row = add_features(pd.DataFrame([listing.model_dump()]))
    return {"price": float(model.predict(row[FEATURES])[0])}
'''
    return {"train.py": train, "serve.py": serve}


def test_drifted_copy_of_a_feature_function(tmp_path):
    check(tmp_path, _fn_project('df["log_sqft"] = np.log1p(df["sqft"])', 'df["log_sqft"] = np.log(df["sqft"])',
                                expect="MLD305"))
    (msg,) = messages(tmp_path, "MLD305")
    assert "add_features() is defined here and in the training code (" in msg and "train.py:8)" in msg
    assert "first difference: line 19 here vs " in msg and "train.py:10)" in msg


def test_identical_copies_differing_only_in_comments_and_docstrings_are_clean(tmp_path):
    check(tmp_path, _fn_project('df["log_sqft"] = np.log1p(df["sqft"])',
                                '# same as training\ndf["log_sqft"] = np.log1p( df["sqft"] )',
                                doc='\n    """Copied from train.py."""'))


def test_function_copies_in_unpaired_projects_are_not_compared(tmp_path):
    files = _fn_project('df["log_sqft"] = np.log1p(df["sqft"])', 'df["log_sqft"] = np.log(df["sqft"])')
    files["serve.py"] = files["serve.py"].replace('"price.joblib"', '"other.joblib"')
    check(tmp_path, files)


# ------------------------------------------------------------------------------------------------
# MLD303 and the contract


CONTRACT = """
features:
  - {name: age, type: float, min: 18, max: 100}
  - {name: income, type: float, min: 0}
  - {name: city, type: str, values: [paris, lyon]}
  - {name: coupon, type: str, required: false}
target: label
"""


def _contract_project(train_features: str, serve_columns: str, train_expect="", serve_expect="") -> dict:
    train = _train(train_features)
    if train_expect:
        train = train.replace('model.fit(df[FEATURES], df["label"])',
                              f'model.fit(df[FEATURES], df["label"])  # expect: {train_expect}')
    return {
        "pyproject.toml": '[tool.mllint-deploy]\ncontract = "contract.yaml"\n',
        "contract.yaml": CONTRACT,
        "train.py": train,
        "app.py": _serve(serve_columns, expect=serve_expect),
    }


def test_contract_kept_on_both_sides(tmp_path):
    check(tmp_path, _contract_project('["age", "income", "city"]', '["age", "income", "city"]'))


def test_contract_violations_on_both_sides(tmp_path):
    check(tmp_path, _contract_project('["age", "income", "city", "tenure"]', '["age", "income"]',
                                      train_expect="MLD303", serve_expect="MLD301, MLD303"))
    msgs = messages(tmp_path, "MLD303")
    assert any("'tenure' is not declared in the feature contract " in m and "contract.yaml" in m for m in msgs)
    assert any("the contract requires 'city', which the serving row leaves out" in m for m in msgs)


def test_contract_target_mismatch_on_the_training_side(tmp_path):
    files = _contract_project('["age", "income", "city"]', '["age", "income", "city"]')
    files["contract.yaml"] = CONTRACT.replace("target: label", "target: churned")
    files["train.py"] = files["train.py"].replace('model.fit(df[FEATURES], df["label"])',
                                                  'model.fit(df[FEATURES], df["label"])  # expect: MLD303')
    check(tmp_path, files)


def test_contract_in_toml(tmp_path):
    files = _contract_project('["age", "income"]', '["age", "income"]', train_expect="MLD303",
                              serve_expect="MLD303")
    files["pyproject.toml"] = '[tool.mllint-deploy]\ncontract = "features.toml"\n'
    files["features.toml"] = 'target = "label"\n\n[[features]]\nname = "age"\ntype = "float"\n\n' \
                             '[[features]]\nname = "income"\ntype = "float"\n\n[[features]]\nname = "city"\n'
    del files["contract.yaml"]
    check(tmp_path, files)


def test_nested_project_contracts_apply_to_their_own_files(tmp_path):
    a = _contract_project('["age", "income", "city"]', '["age", "income", "city"]')
    b = _contract_project('["age", "income"]', '["age", "income"]', train_expect="MLD303", serve_expect="MLD303")
    files = {f"a/{k}": v for k, v in a.items()}
    files.update({f"b/{k}": v for k, v in b.items()})
    files["b/train.py"] = files["b/train.py"].replace('"model.joblib"', '"model_b.joblib"')
    files["b/app.py"] = files["b/app.py"].replace('"model.joblib"', '"model_b.joblib"')
    files["c/train.py"] = _train('["anything"]', path='"c.joblib"')  # no contract above it
    check(tmp_path, files)


@pytest.mark.parametrize("text,needle", [
    ("features: []\n", "'features' must be a non-empty list"),
    ("features:\n  - {name: age, type: int, min: ten}\n", "'min' must be a number"),
    ("features:\n  - {name: age, type: int, min: 5, max: 1}\n", "'min' (5) is greater than 'max' (1)"),
    ("features:\n  - {name: age}\n  - {name: age}\n", "feature 'age': declared twice"),
    ("features:\n  - {name: age}\ntarget: age\n", "the target 'age' is also listed as a feature"),
    ("features: [\n", "invalid YAML"),
    ("- just a list\n", "a contract must be a mapping"),
    ("features:\n  - !!python/object/apply:os.system ['echo hi']\n", "invalid YAML"),
])
def test_malformed_contract_is_exit_2_with_one_line(tmp_path, cli, text, needle):
    write(tmp_path, {"pyproject.toml": '[tool.mllint-deploy]\ncontract = "contract.yaml"\n',
                     "contract.yaml": text, "train.py": _train('["age"]')})
    rc, out, err = cli(str(tmp_path))
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("mllint-deploy: error: ") and needle in err, err


def test_contract_notes_unknown_types_and_target_mapping_are_tolerated(tmp_path, cli):
    """Teams write contracts by hand: extra keys are notes, an unmodelled type is `any`, and the
    target may be a mapping; none of these should stop a CI run."""
    text = ("version: 2\nowner: risk-team\nfeatures:\n  - {name: age, type: decimal128, unit: years}\n"
            "target: {name: label, type: int}\n")
    write(tmp_path, {"pyproject.toml": '[tool.mllint-deploy]\ncontract = "contract.yaml"\n',
                     "contract.yaml": text, "train.py": _train('["age"]')})
    rc, out, err = cli(str(tmp_path), "--select", "MLD303")
    assert rc == 0 and err == "", err


def test_missing_contract_file_and_bad_key_type(tmp_path, cli):
    write(tmp_path, {"pyproject.toml": '[tool.mllint-deploy]\ncontract = "nope.yaml"\n', "a.py": "x = 1\n"})
    rc, _, err = cli(str(tmp_path))
    assert rc == 2 and "contract file not found: " in err and "nope.yaml" in err
    write(tmp_path, {"pyproject.toml": "[tool.mllint-deploy]\ncontract = 3\n"})
    rc, _, err = cli(str(tmp_path))
    assert rc == 2 and "'contract' must be a path" in err


def test_malformed_nested_contract_is_exit_2(tmp_path, cli):
    write(tmp_path, {"sub/pyproject.toml": '[tool.mllint-deploy]\ncontract = "c.yaml"\n',
                     "sub/c.yaml": "features: 3\n", "sub/train.py": _train('["age"]')})
    rc, _, err = cli(str(tmp_path))
    assert rc == 2 and "c.yaml: 'features' must be a non-empty list" in err


def test_contract_parsing_accepts_the_documented_forms(tmp_path):
    c = parse_contract({"features": ["age", {"name": "city", "type": "category", "values": ["a"]},
                                     {"name": "x", "type": "float", "min": 0, "max": 1.5, "required": False}],
                        "target": "y", "version": 2}, "c.yaml")
    assert c.names == ("age", "city", "x") and c.required == ("age", "city") and c.target == "y"
    assert c.features[0].type == "any" and c.features[1].values == ("a",)
    mapped = parse_contract({"features": {"age": {"dtype": "integer", "range": [0, 120]}, "city": "string",
                                          "note": None}, "label": "y"}, "c.yaml")
    assert [(f.name, f.type, f.min, f.max) for f in mapped.features] == [
        ("age", "int", 0, 120), ("city", "str", None, None), ("note", "any", None, None)]
    assert mapped.target == "y"
    with pytest.raises(ContractError, match="'range' must be"):
        parse_contract({"features": {"age": {"range": 5}}}, "c.yaml")
    with pytest.raises(ContractError):
        load_contract(tmp_path / "absent.yaml")


# ------------------------------------------------------------------------------------------------
# --write-contract


def test_write_contract_round_trip(tmp_path, cli):
    write(tmp_path, {
        "train.py": '''
            import joblib
            import pandas as pd
            from sklearn.compose import ColumnTransformer
            from sklearn.ensemble import RandomForestClassifier
            from sklearn.pipeline import Pipeline
            from sklearn.preprocessing import OneHotEncoder

            FEATURES = ["age", "income", "city", "tenure"]
            df = pd.read_csv("data.csv", dtype={"tenure": "int64"})
            pipe = Pipeline([
                ("prep", ColumnTransformer([("city", OneHotEncoder(handle_unknown="ignore"), ["city"])],
                                           remainder="passthrough")),
                ("rf", RandomForestClassifier(random_state=0)),
            ])
            pipe.fit(df[FEATURES], df["churned"])
            joblib.dump(pipe, "model.joblib")
        ''',
        "app.py": '''
            import joblib
            import pandas as pd
            from fastapi import FastAPI
            from pydantic import BaseModel, Field

            app = FastAPI()
            model = joblib.load("model.joblib")


            class Customer(BaseModel):
                age: int = Field(ge=18, le=100)
                income: float = Field(ge=0)


            @app.post("/churn")
            def churn(c: Customer):
                row = pd.DataFrame([c.model_dump()], columns=["age", "income", "city", "tenure"])
                return {"churn": int(model.predict(row)[0])}
        ''',
    })
    target = tmp_path / "contract.yaml"
    rc, out, err = cli("--write-contract", str(target), str(tmp_path))
    assert rc == 0 and "Wrote a contract of 4 feature(s) (4 typed)" in err
    contract = load_contract(target)
    assert contract.names == ("age", "income", "city", "tenure") and contract.target == "churned"
    by_name = {f.name: f for f in contract.features}
    assert (by_name["age"].type, by_name["age"].min, by_name["age"].max) == ("int", 18, 100)
    assert by_name["income"].type == "float" and by_name["city"].type == "str" and by_name["tenure"].type == "int"
    (tmp_path / "pyproject.toml").write_text('[tool.mllint-deploy]\ncontract = "contract.yaml"\n')
    assert findings(tmp_path, "--select", "MLD303") == set()
    # the written file is stable: writing again gives the same bytes
    first = target.read_bytes()
    assert cli("--write-contract", str(target), str(tmp_path))[0] == 0 and target.read_bytes() == first


def test_write_contract_without_training_code_is_exit_2(tmp_path, cli):
    write(tmp_path, {"app.py": _serve('["age"]')})
    rc, out, err = cli("--write-contract", str(tmp_path / "c.yaml"), str(tmp_path))
    assert rc == 2 and "cannot infer a contract" in err and not (tmp_path / "c.yaml").exists()


def test_write_contract_with_two_different_models_is_exit_2(tmp_path, cli):
    write(tmp_path, {"a.py": _train('["age"]', path='"a.joblib"'), "b.py": _train('["city"]', path='"b.joblib"')})
    rc, _, err = cli("--write-contract", str(tmp_path / "c.yaml"), str(tmp_path))
    assert rc == 2 and "different columns" in err


def test_write_contract_describes_the_training_file_named_in_a_repository_with_others(tmp_path, cli):
    """Files named on the command line are the training code to describe; the rest of the repository
    is read for the constants it imports, not as more training code."""
    write(tmp_path, {"a.py": _train('["age"]', path='"a.joblib"'), "b.py": _train('["city"]', path='"b.joblib"')})
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    target = tmp_path / "c.yaml"
    rc, _, err = cli("--write-contract", str(target), str(tmp_path / "b.py"))
    assert rc == 0, err
    assert load_contract(target).names == ("city",)


# ------------------------------------------------------------------------------------------------
# whole-project behaviour


def test_pre_commit_style_run_on_the_serving_file_reads_training_for_context(tmp_path, cli):
    write(tmp_path, {
        "training/train.py": _train('["age", "income", "city"]'),
        "serve/app.py": _serve('["age", "income"]', expect="MLD301"),
    })
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    rc, out, err = cli("--select", "MLD3", "--format", "json", str(tmp_path / "serve" / "app.py"))
    rows = json.loads(out)
    assert rc == 1 and [(Path(r["path"]).name, r["code"]) for r in rows] == [("app.py", "MLD301")]
    assert "train.py:9" in rows[0]["message"]
    # and named the other way round, the training file is read but nothing is reported on the serving file
    rc, out, _ = cli("--select", "MLD3", "--format", "json", str(tmp_path / "training" / "train.py"))
    assert rc == 0 and json.loads(out) == []


def test_notebook_training_is_named_by_cell(tmp_path):
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Churn model\n"]},
        {"cell_type": "code", "metadata": {}, "execution_count": 1, "outputs": [],
         "source": ["import joblib\n", "import pandas as pd\n", "from sklearn.linear_model import LogisticRegression\n"]},
        {"cell_type": "code", "metadata": {}, "execution_count": 2, "outputs": [],
         "source": ['FEATURES = ["age", "income", "city"]\n', 'df = pd.read_csv("d.csv")\n',
                    "clf = LogisticRegression(random_state=0)\n", 'clf.fit(df[FEATURES], df["label"])\n',
                    'joblib.dump(clf, "model.joblib")\n']},
    ]
    nb = {"cells": cells, "metadata": {"kernelspec": {"language": "python", "name": "python3"}},
          "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "train.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    write(tmp_path, {"app.py": _serve('["age", "income"]', expect="MLD301")})
    (msg,) = messages(tmp_path, "MLD301")
    assert "train.ipynb cell 3, line 4" in msg


def test_skew_rules_are_quiet_on_every_other_fixture_family():
    root = Path(__file__).resolve().parent.parent / "fixtures"
    for family in ("core", "leakage", "reproducibility", "serving", "notebooks"):
        assert findings(root / family) == set(), family


# ------------------------------------------------------------------------------------------------
# helpers


def test_artifact_keys():
    assert artifact_key("artifacts/model.joblib") == "model.joblib"
    assert artifact_key("\0/artifacts/model.joblib") == "model.joblib"
    assert artifact_key("models:/churn/Production") == artifact_key("models:/churn@champion") == "models:/churn"
    assert artifact_key("runs:/abc/model") is None and artifact_key("s3://bucket/m/model.pkl") == "model.pkl"
    assert artifact_key("models/\0.joblib") is None and artifact_key(None) is None
    assert path_segments("./a/../b\\c.pkl") == ("a", "..", "b", "c.pkl")


def test_column_specs_resolve_through_references():
    table = {"m.A": ("lit", ("a", "b")), "m.T": ("lit", ("t",))}
    spec = ("drop", ("cat", ("ref", "m.A"), ("lit", ("c", "t"))), ("one", "m.T"))
    assert resolve_spec(spec, table.get) == ("a", "b", "c")
    assert resolve_spec(("one", "m.A"), table.get) is None
    assert resolve_spec(("ref", "m.unknown"), table.get) is None


def test_facts_are_small_and_picklable():
    import pickle

    from mllint_deploy.checks.skew import SkewFacts, TrainServeSkew
    from mllint_deploy.pipeline.engine import lint_path

    root = Path(__file__).resolve().parent.parent / "fixtures" / "skew"
    check = TrainServeSkew()
    for path in sorted(root.rglob("*.py")):
        result = lint_path(path, str(path), [], frozenset(check.codes), [check])
        facts = result.facts["TrainServeSkew"]
        assert isinstance(facts, SkewFacts) and not result.internal_errors
        assert pickle.loads(pickle.dumps(facts)) == facts
