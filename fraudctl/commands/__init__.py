"""Sub-commands of ``fraudctl`` (one module each, see ``fraudctl.cli.COMMANDS``)."""
