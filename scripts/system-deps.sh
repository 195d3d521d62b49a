#!/usr/bin/env bash
# Installs the Debian packages the tests need (Chromium for e2e, Tesseract for OCR, the PostgreSQL client for
# backups, HAProxy for `leadmaster cluster`) when missing; with --bench also the load generator the benchmarks use (wrk).
# Without root (or passwordless sudo) it says exactly what to install and fails.
set -euo pipefail

missing=()
if [ "${1:-}" = "--bench" ]; then command -v wrk >/dev/null 2>&1 || missing+=(wrk); fi
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v tesseract >/dev/null 2>&1 || missing+=(tesseract-ocr)
# Backups of PostgreSQL (services/backups.py): pg_dump / pg_restore of the server's major version or newer.
command -v pg_dump >/dev/null 2>&1 && command -v pg_restore >/dev/null 2>&1 || missing+=(postgresql-client)
# The load balancer in front of several web processes (app/commands/cluster.py, SPEC O6).
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
if ! ls /usr/share/tesseract-ocr/*/tessdata/spa.traineddata >/dev/null 2>&1; then missing+=(tesseract-ocr-spa); fi

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo=(sudo -n)
else
  echo "missing system packages: ${missing[*]}" >&2
  echo "install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "missing system packages: ${missing[*]} (no apt-get here; install them with your package manager)" >&2
  exit 1
fi
echo "installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q >/dev/null
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
