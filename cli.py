#!/usr/bin/env python3
"""Run the evidence command from a checkout, like Django's manage.py.

``python cli.py query --condition "restless legs"`` is the same as the
installed ``evidence`` command; the application lives in ``evidence.cli``.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from evidence.cli import main

if __name__ == "__main__":
    main()
