"""Errors of the command line, shown to the user as a message (exit code 2)."""

from __future__ import annotations


class CommandError(Exception):
    """A command cannot do what was asked; the message is shown to the user as is."""
