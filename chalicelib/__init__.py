"""Runtime package of the fraud-detection service (bundled into the Lambda functions).

Pure domain modules (``transaction``, ``features``, ``model``, ``decisions``, ``rules``)
never import botocore or chalice; adapters (``aws``, ``stores``, ``alerts``) sit at the edge.
"""
