import pandas as pd
from sklearn.preprocessing import StandardScaler
from sklearn.linear_model import LogisticRegression
df = pd.read_csv("data.csv")
X = df.drop(columns=["y"]).values
y = df["y"].values
X = StandardScaler().fit_transform(X)  # expect: MLD101
X_train, X_test = X[:800], X[800:]
y_train, y_test = y[:800], y[800:]
clf = LogisticRegression().fit(X_train, y_train)
print(clf.score(X_test, y_test))
