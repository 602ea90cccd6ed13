import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
df = pd.read_csv("d.csv")
X = df.drop(columns=["y"])
y = df["y"]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=1)
sc = StandardScaler().fit(X)  # expect: MLD101
X_train = sc.transform(X_train)
X_test = sc.transform(X_test)
clf = SVC().fit(X_train, y_train)
print(clf.score(X_test, y_test))
final = SVC().fit(sc.transform(X), y)
