"""`python tests/fake_cli.py ARGS...` is `qa ARGS...` with the fake encoder registered (for subprocess tests)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fakes import register  # noqa: E402

from qa.cli import main  # noqa: E402

if __name__ == "__main__":
    register()
    sys.exit(main())
