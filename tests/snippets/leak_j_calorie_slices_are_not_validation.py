# Food-diary regression: `cal_` names calories, not a calibration set. The statistics of the slices
# are an exploration; the real split comes later and its validation part is only transformed.
import pandas as pd
from sklearn.linear_model import Ridge
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

meals = pd.read_csv("data/meals.csv")
cal_clean = meals[meals["calories"] > 0]
high = cal_clean["calories"].quantile(0.99)
cal_clean = cal_clean[cal_clean["calories"] <= 3000]
X = cal_clean[["protein_g", "fat_g", "carbs_g"]]
y = cal_clean["calories"]
X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.2, random_state=1)
scaler = StandardScaler().fit(X_train)
model = Ridge().fit(scaler.transform(X_train), y_train)
print(high, model.score(scaler.transform(X_val), y_val))
X_val_scaled = StandardScaler().fit_transform(X_val)  # expect: MLD102
