import numpy as np
from sklearn.model_selection import KFold
from sklearn.preprocessing import MinMaxScaler
from sklearn.ensemble import RandomForestClassifier
X = np.load("X.npy"); y = np.load("y.npy")
Xs = MinMaxScaler().fit_transform(X)  # expect: MLD101
kf = KFold(n_splits=5, shuffle=True, random_state=0)
for tr, te in kf.split(Xs):
    m = RandomForestClassifier(random_state=0).fit(Xs[tr], y[tr])
    print(m.score(Xs[te], y[te]))
