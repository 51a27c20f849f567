#!/usr/bin/env bash
# Vendor the JavaScript, CSS, images and fonts that folium maps load, so maps
# render with no internet access: fills static/vendor/ (or $WANGGE_VENDOR_DIR)
# from the npm registry, each package checked against its pinned sha512.
#
# The work is done by geo/maps/assets.py (`python -m geo.maps.assets`), which also fills
# a per-user cache on first use when wangge is installed as a package; the
# package list, pinned integrities and CDN URL map live there.
#
# Usage: scripts/fetch_map_assets.sh [--force]
#   --force             fetch and unpack every package again
#   WANGGE_VENDOR_DIR   unpack somewhere else than static/vendor
set -euo pipefail
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
PY=${PYTHON:-$ROOT/.venv/bin/python}
[[ -x $PY ]] || PY=python3
DEST=${WANGGE_VENDOR_DIR:-$ROOT/static/vendor}
cd -- "$ROOT"
exec "$PY" -m geo.maps.assets "$DEST" "$@"
