"""HTTP routes grouped by domain as Chalice blueprints, registered by ``app.py``."""
