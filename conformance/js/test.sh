#!/usr/bin/env bash
# Runs the independent JavaScript verifier over the conformance kit (conformance/*.json).
# Needs Node.js 20 and npm (the npm registry is the only network it may use, through npm ci).
# Usage: conformance/js/test.sh [--kit DIR] [--verbose]
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v node >/dev/null 2>&1; then
  echo "conformance/js: node not found (Node.js 20 is required)" >&2
  exit 1
fi
npm ci --no-audit --no-fund --loglevel=error
exec node run.mjs "$@"
