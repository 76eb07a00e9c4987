"""`python -m qa.cli`: the `qa` command (as `python -m qa`)."""

import sys

from qa.cli import main

sys.exit(main())
