"""`python -m playground` runs the `txplay` command."""

import sys

from playground.cli import main

sys.exit(main())
