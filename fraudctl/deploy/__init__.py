"""Deployment to AWS: the merge template, `make package` and checks of the bundle.

Offline tooling: never bundled into the Lambda functions.
"""
