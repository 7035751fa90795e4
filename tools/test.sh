#!/usr/bin/env bash
# The whole test pass (called by `make test`, which .ci/run calls): sync checks, nbdev-test, pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)

snapshot() { find gmwidgets nbs README.md -type f -not -path '*/__pycache__/*' -not -name '.last_checked' -print0 | sort -z | xargs -0 sha1sum; }
check_unchanged() {  # $1: what ran; fails when it changed any file
  local after; after=$(snapshot)
  if [ "$before" != "$after" ]; then
    echo "FAIL: $1 changed files (the notebooks and gmwidgets/ are out of sync; run 'make sync' and commit):"
    diff <(echo "$before") <(echo "$after") | grep '^[<>]' | awk '{print $3}' | sort -u
    exit 1
  fi
}

echo "== nbdev-export leaves gmwidgets/ (and README.md) unchanged"
before=$(snapshot); nbdev-export; python tools/readme.py
check_unchanged "nbdev-export (or tools/readme.py)"
echo "== nbdev-clean leaves nbs/ unchanged"
before=$(snapshot); nbdev-clean; check_unchanged nbdev-clean
echo "== lint-imports: the layers data -> models -> run -> views -> extension ([tool.importlinter] in pyproject.toml)"
lint-imports --no-cache
echo "== ruff check: lines <= 120 characters in nbs/, tests/, tools/; pyflakes on the package ([tool.ruff] in pyproject.toml)"
ruff check
echo "== nbdev-test (notebook checks; slow and browser cells skipped)"
nbdev-test --n-workers 2
echo "== pytest (unit, kernel and browser tiers)"
python -m pytest -ra "$@"
echo "== test command took $(( $(date +%s) - start )) s"
