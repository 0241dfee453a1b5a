#!/usr/bin/env bash
# The project's checks, as CI runs them: set up, lint, type-check, test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
.venv/bin/ruff check src tests benchmarks examples
.venv/bin/ruff format --check src tests benchmarks examples
.venv/bin/mypy
ONCEFORALL_REQUIRE_REFERENCE=1 .venv/bin/python -m pytest "$@"
