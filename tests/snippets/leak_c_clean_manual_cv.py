import numpy as np
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler
from sklearn.linear_model import LogisticRegression
X = np.load("X.npy"); y = np.load("y.npy")
skf = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
for fold, (tr, te) in enumerate(skf.split(X, y)):
    sc = StandardScaler()
    X_tr = sc.fit_transform(X[tr])
    X_te = sc.transform(X[te])
    m = LogisticRegression().fit(X_tr, y[tr])
    print(fold, m.score(X_te, y[te]))
