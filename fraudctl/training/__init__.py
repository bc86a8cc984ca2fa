"""Model training: fitting scikit-learn estimators offline and compiling them for the runtime."""
