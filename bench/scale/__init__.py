"""The scale benchmark of issue 8: provisioning N meetings, for N up to 100,000, in every way side by side
(``python -m bench.scale --help``; ``bench/README.md``). Imports nothing.
"""

from __future__ import annotations
