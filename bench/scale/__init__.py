"""The scale benchmark of issue 8: provisioning N meetings, for N up to 100,000, in every way side by side.

``python -m bench.scale --help`` (from the repository root), or ``bash bench/run`` from a fresh clone.
Each variant runs in its own subprocess against one local Daily emulator process (Daily's documented
rate limits, +100 ms per request, +1 ms per room on ``POST /batch/rooms``); the results go to
``bench/results/`` as Markdown, JSON and a PNG chart. See ``bench/README.md``.
"""

from __future__ import annotations
