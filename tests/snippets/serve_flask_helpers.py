import joblib
import numpy as np
from flask import Flask, request, jsonify, abort

app = Flask(__name__)
model = joblib.load("model.joblib")
_cache = {}

def get_model(name):
    if name not in _cache:
        _cache[name] = joblib.load(f"models/{name}.joblib")  # expect: MLD403
    return _cache[name]

def make_prediction(values):
    arr = np.array(values).reshape(1, -1)
    return model.predict(arr)[0]  # expect: MLD401

@app.route("/predict", methods=["POST"])
def predict():
    data = request.get_json()
    if data is None:
        abort(400)
    feats = [data["a"], data["b"], data["c"]]
    return jsonify(prediction=float(make_prediction(feats)))

@app.route("/predict2", methods=["POST"])
def predict2():
    data = request.get_json(force=True)
    if "features" not in data or len(data["features"]) != 3:
        return jsonify(error="bad"), 400
    return jsonify(prediction=float(model.predict([data["features"]])[0]))

@app.get("/health")
def health():
    return {"ok": True}

@app.post("/score/<name>")
def score(name):
    m = get_model(name)
    return jsonify(m.predict([request.json["x"]]).tolist())  # expect: MLD401
