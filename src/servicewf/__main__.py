"""``python -m servicewf``: the ``servicewf`` command."""

import sys

from servicewf.cli import main

sys.exit(main())
