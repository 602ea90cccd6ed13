from typing import List
import pandas as pd
import joblib
from fastapi import FastAPI, Request
from pydantic import BaseModel

app = FastAPI()
pipe = joblib.load("pipe.joblib")

class Row(BaseModel):
    age: float
    income: float

@app.post("/predict")
def predict(row: Row):
    X = pd.DataFrame([row.model_dump()])
    return {"y": float(pipe.predict(X)[0])}

@app.post("/batch")
def batch(rows: List[Row]):
    X = pd.DataFrame([r.model_dump() for r in rows])
    return {"y": pipe.predict(X).tolist()}

@app.post("/raw")
async def raw(request: Request):
    body = await request.json()
    X = pd.DataFrame(body["rows"])
    return {"y": pipe.predict(X).tolist()}  # expect: MLD401

@app.get("/q")
def q(age: float, income: float):
    return {"y": float(pipe.predict([[age, income]])[0])}
