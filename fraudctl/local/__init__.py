"""The local stack: moto server, provisioning from infra/, chalice local, the SQS worker."""
