"""Model assessment: the Fraud Detection Handbook's protocol, its metrics and folds."""
