"""Velocity features: one definition for online scoring (DynamoDB state) and offline files."""
