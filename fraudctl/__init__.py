"""Offline tooling and the ``fraudctl`` command line (never bundled into the Lambda functions).

Simulation, training, evaluation, offline features, the local stack and operator commands
live here, so that the runtime package ``chalicelib`` carries none of their dependencies
(scikit-learn, pandas, moto).
"""
