"""``python -m servicewf``: the ``servicewf`` command."""

import sys

from servicewf.cli import main

if __name__ == "__main__":
    sys.exit(main())
