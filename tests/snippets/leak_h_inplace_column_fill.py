import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.ensemble import RandomForestClassifier
train = pd.read_csv("train.csv")
train["Age"].fillna(train["Age"].median(), inplace=True)  # expect: MLD101
X = train.drop("Survived", axis=1)
y = train["Survived"]
X_tr, X_te, y_tr, y_te = train_test_split(X, y, random_state=0)
m = RandomForestClassifier(random_state=0)
m.fit(X, y)
print(m.feature_importances_)
m.fit(X_tr, y_tr)
print(m.score(X_te, y_te))
