"""Makes the helper scripts in tests/integration/scripts importable by name.

The same files run as subprocesses (workers, planners, writers), where their own folder is
first on ``sys.path``; putting it there for the test modules too lets both import them
the same way (``import harness``), with ``--import-mode=importlib``.
"""

from __future__ import annotations

import sys
from pathlib import Path

SCRIPTS = Path(__file__).parent / "scripts"
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))
