"""Offline (vectorised) computations over transaction files."""
