#!/usr/bin/env bash
# Build the docs (Sphinx + MyST) into docs/_build/html. Fails on any warning, a broken internal link
# or a missing include (sphinx-build -W --keep-going -n: every problem is listed, then it fails).
# Needs the `docs` extra in .venv; `bash docs/build.sh --install` installs it first (pinned by
# constraints.txt, as .ci/setup does). Other arguments go to sphinx-build.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--install" ]; then
  shift
  PY=${PYTHON:-python3}
  "$PY" -m uv --version >/dev/null 2>&1 || "$PY" -m pip install --quiet --disable-pip-version-check uv
  "$PY" -m uv pip install --quiet --python .venv/bin/python -c constraints.txt -e '.[docs]'
fi
rm -rf docs/_build/html docs/_build/doctrees
echo "=== docs: sphinx-build -W --keep-going -n -b html docs docs/_build/html"
.venv/bin/python -m sphinx -W --keep-going -n -q -b html -d docs/_build/doctrees "$@" docs docs/_build/html
echo "=== docs: built docs/_build/html/index.html"
