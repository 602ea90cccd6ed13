import pandas as pd
from sklearn.preprocessing import StandardScaler
train = pd.read_csv("../input/train.csv")
test = pd.read_csv("../input/test.csv")
ntrain = len(train)
y = train["SalePrice"]
all_data = pd.concat([train.drop("SalePrice", axis=1), test])
all_data = pd.get_dummies(all_data)
all_data = all_data.fillna(all_data.mean())  # expect: MLD101
train_x = all_data[:ntrain]
test_x = all_data[ntrain:]
