"""`python -m townhall` runs the `townhall` command."""

import sys

from townhall.cli import main

sys.exit(main())
