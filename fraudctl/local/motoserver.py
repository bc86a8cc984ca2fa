"""``python -m fraudctl.local.motoserver``: moto's server with ``moto_patches`` installed.

Takes moto's own arguments (``-H host -p port``).
"""

from __future__ import annotations

import sys

from moto.server import main as moto_main

from fraudctl.local import moto_patches


def main(argv: list[str] | None = None) -> None:
    moto_patches.install()
    moto_main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
