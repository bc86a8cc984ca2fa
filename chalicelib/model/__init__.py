"""Models at run time: the numpy-only compiled scorer, artifact verification, the S3 registry."""
