import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

def make_splits(X, y):
    return train_test_split(X, y, test_size=0.2, random_state=1)

def main():
    df = pd.read_csv("x.csv")
    X = df.drop(columns=["label"])
    y = df["label"]
    X = StandardScaler().fit_transform(X)  # expect: MLD101
    X_tr, X_te, y_tr, y_te = make_splits(X, y)
    return X_tr
