#!/usr/bin/env bash
# Vendor the JavaScript, CSS, images and fonts that folium maps load, so maps
# render with no internet access.
#
# Every file comes from the npm registry through `npm pack` (whatever registry
# npm is configured for, so a mirror such as npmmirror works), is checked
# against the sha512 integrity pinned below, and is unpacked into
# static/vendor/<package>@<version>/ keeping the package's own layout, so the
# relative url(...) references inside the CSS (fonts, images) keep working.
# The one exception is folium's small "rotate" stylesheet, which is not
# published on npm; it is a list of generated rules and is generated here.
#
# static/vendor/manifest.json maps each CDN URL folium references to the local
# copy (path relative to static/vendor); geo/mapview.py reads it.
#
# Idempotent: packages already unpacked with the pinned integrity are kept, and
# when the manifest was written by this exact script and every file is present
# the script only touches the manifest and exits.
#
# Usage: scripts/fetch_map_assets.sh [--force]
#   --force             fetch and unpack every package again
#   WANGGE_VENDOR_DIR   unpack somewhere else than static/vendor

set -euo pipefail
shopt -s nullglob

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
DEST=${WANGGE_VENDOR_DIR:-$ROOT/static/vendor}
MANIFEST=$DEST/manifest.json
SELF_SHA=$(sha256sum -- "${BASH_SOURCE[0]}" | cut -c1-64)

FORCE=0
case "${1:-}" in
    "") ;;
    --force) FORCE=1 ;;
    -h|--help) sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "fetch_map_assets: unknown argument: $1 (try --help)" >&2; exit 2 ;;
esac

# package spec | pinned dist.integrity | paths to keep (relative to the
# package root; a trailing / keeps a whole folder). License files are kept too.
PACKAGES=(
    "leaflet@1.9.4|sha512-nxS1ynzJOmOlHp+iL3FyWqK89GtNL8U8rvlMOsQdTTssxZwCXh8N2NB3GDQOL+YR3XnWyZAxwQixURb+FA74PA==|dist/leaflet.js dist/leaflet.css dist/images/"
    "jquery@3.7.1|sha512-m4avr8yL8kmFN8psrbFFFmB/If14iN5o9nw/NgnnM+kybDJpRsAynV2BsfpTYrTRysYUdADVD7CkUUizgkpLfg==|dist/jquery.min.js"
    "bootstrap@5.2.2|sha512-dEtzMTV71n6Fhmbg4fYJzQsw1N29hJKO1js5ackCgIpDcGid2ETMGC6zwSYw09v05Y+oRdQ9loC54zB1La3hHQ==|dist/js/bootstrap.bundle.min.js dist/css/bootstrap.min.css"
    "@fortawesome/fontawesome-free@6.2.0|sha512-CNR7qRIfCwWHNN7FnKUniva94edPdyQzil/zCwk3v6k4R6rR2Fr8i4s3PM7n/lyfPA6Zfko9z5WDzFxG9SW1uQ==|css/all.min.css webfonts/"
    "leaflet.awesome-markers@2.0.5|sha512-Ne/xDjkGyaujwNVVkv2tyXQUV0ZW7gZ0Mo0FuQY4jp2qWrvXi0hwDBvmZyF/8YOvybyMabTMM/mFWCTd1jZIQA==|dist/leaflet.awesome-markers.js dist/leaflet.awesome-markers.css dist/images/"
    "glyphicons-only-bootstrap@1.0.1|sha512-A1zP7yDUC/3+GUFbVTaTw9X2xZWNPLMp0BOsAmkLoWmo1KaNpG1qGdPYo8JnzwGueJ2HQAYvlP9S9OcmcObzHA==|css/bootstrap.min.css fonts/"
    "leaflet-draw@1.0.4|sha512-rsQ6saQO5ST5Aj6XRFylr5zvarWgzWnrg46zQ1MEOEIHsppdC/8hnN8qMoFvACsPvTioAuysya/TVtog15tyAQ==|dist/leaflet.draw.js dist/leaflet.draw.css dist/images/"
    "leaflet.fullscreen@3.0.0|sha512-81wWSUXz1ZtdneR0v5eJDWXUSx+Zo5J50WXWeydG/UcILfIEAgz/iOjZSi3p00Z9MJ/FC/P5i3CgdYuEAos0yQ==|Control.FullScreen.js Control.FullScreen.css icon-fullscreen.svg"
)

# CDN URL referenced by folium 0.20 (Map, GeoJson, tooltips, popups,
# LayerControl, plugins.Draw, plugins.Fullscreen) | local path under DEST.
# Some map to a close version: leaflet 1.9.3 -> 1.9.4 (bug-fix release),
# awesome-markers 2.0.2 -> 2.0.5 and leaflet.draw 1.0.2 -> 1.0.4 (the versions
# on npm), fullscreen's .min.js -> the unminified file (the only one on npm),
# bootstrap 3.0.0 glyphicons -> glyphicons-only-bootstrap (Bootstrap 3.3.7
# glyphicon rules only, so it cannot clash with Bootstrap 5).
LF=leaflet@1.9.4/dist
ASSETS=(
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js|$LF/leaflet.js"
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css|$LF/leaflet.css"
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet.js|$LF/leaflet.js"
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet.css|$LF/leaflet.css"
    "https://code.jquery.com/jquery-3.7.1.min.js|jquery@3.7.1/dist/jquery.min.js"
    "https://cdnjs.cloudflare.com/ajax/libs/jquery/3.7.1/jquery.min.js|jquery@3.7.1/dist/jquery.min.js"
    "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/js/bootstrap.bundle.min.js|bootstrap@5.2.2/dist/js/bootstrap.bundle.min.js"
    "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/css/bootstrap.min.css|bootstrap@5.2.2/dist/css/bootstrap.min.css"
    "https://netdna.bootstrapcdn.com/bootstrap/3.0.0/css/bootstrap-glyphicons.css|glyphicons-only-bootstrap@1.0.1/css/bootstrap.min.css"
    "https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@6.2.0/css/all.min.css|fontawesome-free@6.2.0/css/all.min.css"
    "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.js|leaflet.awesome-markers@2.0.5/dist/leaflet.awesome-markers.js"
    "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.css|leaflet.awesome-markers@2.0.5/dist/leaflet.awesome-markers.css"
    "https://cdn.jsdelivr.net/gh/python-visualization/folium/folium/templates/leaflet.awesome.rotate.min.css|folium/leaflet.awesome.rotate.min.css"
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.draw/1.0.2/leaflet.draw.js|leaflet-draw@1.0.4/dist/leaflet.draw.js"
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.draw/1.0.2/leaflet.draw.css|leaflet-draw@1.0.4/dist/leaflet.draw.css"
    "https://cdn.jsdelivr.net/npm/leaflet.fullscreen@3.0.0/Control.FullScreen.min.js|leaflet.fullscreen@3.0.0/Control.FullScreen.js"
    "https://cdn.jsdelivr.net/npm/leaflet.fullscreen@3.0.0/Control.FullScreen.css|leaflet.fullscreen@3.0.0/Control.FullScreen.css"
)

say() { printf 'fetch_map_assets: %s\n' "$*"; }
die() { printf 'fetch_map_assets: error: %s\n' "$*" >&2; exit 1; }

all_assets_present() {
    local entry
    for entry in "${ASSETS[@]}"; do
        [[ -f "$DEST/${entry#*|}" ]] || return 1
    done
}

# Fast path: manifest written by this very script and every file in place.
if [[ $FORCE -eq 0 && -f $MANIFEST ]] \
    && grep -q "\"script_sha256\": \"$SELF_SHA\"" "$MANIFEST" \
    && all_assets_present; then
    touch -- "$MANIFEST"
    say "map assets up to date in ${DEST#"$ROOT"/} (${#ASSETS[@]} URLs); nothing to do"
    exit 0
fi

command -v npm >/dev/null || die "npm not found; install Node.js and npm (e.g. apt-get install npm)"
command -v node >/dev/null || die "node not found; install Node.js"

mkdir -p -- "$DEST"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/wangge-assets.XXXXXX")
trap 'rm -rf -- "$WORK"' EXIT

sha512_of() {
    node -e 'const c=require("crypto"),fs=require("fs");process.stdout.write("sha512-"+c.createHash("sha512").update(fs.readFileSync(process.argv[1])).digest("base64"))' "$1"
}

fetched=0
kept=0
for entry in "${PACKAGES[@]}"; do
    IFS='|' read -r spec integrity paths <<<"$entry"
    dir=${spec##*/}                       # @fortawesome/fontawesome-free@6.2.0 -> fontawesome-free@6.2.0
    target=$DEST/$dir
    if [[ $FORCE -eq 0 && -f $target/.integrity && "$(<"$target/.integrity")" == "$integrity" ]]; then
        kept=$((kept + 1))
        say "kept    $spec (already in ${target#"$ROOT"/})"
        continue
    fi
    pack=$WORK/pack-$dir
    mkdir -p -- "$pack"
    (cd -- "$pack" && npm pack --silent --ignore-scripts "$spec" >/dev/null) \
        || die "npm pack $spec failed; is the npm registry reachable (npm config get registry)?"
    tgz=("$pack"/*.tgz)
    [[ ${#tgz[@]} -eq 1 ]] || die "npm pack $spec produced ${#tgz[@]} tarballs"
    actual=$(sha512_of "${tgz[0]}")
    [[ "$actual" == "$integrity" ]] || die "$spec: integrity mismatch (expected $integrity, got $actual)"
    tar -xzf "${tgz[0]}" -C "$pack"
    src=$pack/package
    stage=$DEST/.$dir.partial
    rm -rf -- "$stage"
    mkdir -p -- "$stage"
    for p in $paths; do
        if [[ $p == */ ]]; then
            [[ -d $src/$p ]] || die "$spec has no folder $p"
            mkdir -p -- "$stage/$p"
            cp -R -- "$src/$p." "$stage/$p"
        else
            [[ -f $src/$p ]] || die "$spec has no file $p"
            mkdir -p -- "$stage/$(dirname -- "$p")"
            cp -- "$src/$p" "$stage/$p"
        fi
    done
    for lic in "$src"/LICEN[CS]E* "$src"/license* "$src"/README*; do
        cp -- "$lic" "$stage/"
    done
    printf '%s' "$integrity" >"$stage/.integrity"
    rm -rf -- "$target"
    mv -- "$stage" "$target"
    fetched=$((fetched + 1))
    say "fetched $spec from the npm registry (integrity ok) -> ${target#"$ROOT"/}"
done

# folium's rotate stylesheet: .fa-rotate-0 ... .fa-rotate-359 (not on npm).
rotate=$DEST/folium/leaflet.awesome.rotate.min.css
mkdir -p -- "$(dirname -- "$rotate")"
{
    for ((deg = 0; deg < 360; deg++)); do
        printf '.fa-rotate-%d{-ms-transform:rotate(%ddeg);-webkit-transform:rotate(%ddeg);transform:rotate(%ddeg)}\n' \
            "$deg" "$deg" "$deg" "$deg"
    done
} >"$rotate.partial"
mv -- "$rotate.partial" "$rotate"
say "generated folium/leaflet.awesome.rotate.min.css"

for entry in "${ASSETS[@]}"; do
    [[ -f "$DEST/${entry#*|}" ]] || die "manifest entry ${entry%%|*} points at missing file ${entry#*|}"
done

# All values are fixed ASCII strings without quotes or backslashes, so plain
# printf yields valid JSON.
{
    printf '{\n'
    printf '  "generated_by": "scripts/fetch_map_assets.sh",\n'
    printf '  "script_sha256": "%s",\n' "$SELF_SHA"
    printf '  "packages": {\n'
    n=${#PACKAGES[@]}
    for i in "${!PACKAGES[@]}"; do
        IFS='|' read -r spec integrity _ <<<"${PACKAGES[$i]}"
        sep=,; [[ $((i + 1)) -eq $n ]] && sep=
        printf '    "%s": {"dir": "%s", "integrity": "%s"}%s\n' "$spec" "${spec##*/}" "$integrity" "$sep"
    done
    printf '  },\n'
    printf '  "assets": {\n'
    n=${#ASSETS[@]}
    for i in "${!ASSETS[@]}"; do
        sep=,; [[ $((i + 1)) -eq $n ]] && sep=
        printf '    "%s": "%s"%s\n' "${ASSETS[$i]%%|*}" "${ASSETS[$i]#*|}" "$sep"
    done
    printf '  }\n'
    printf '}\n'
} >"$MANIFEST.partial"
node -e 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))' "$MANIFEST.partial" \
    || die "generated manifest is not valid JSON"
mv -- "$MANIFEST.partial" "$MANIFEST"

say "fetched $fetched package(s), kept $kept; wrote ${MANIFEST#"$ROOT"/} (${#ASSETS[@]} CDN URLs mapped)"
say "total size: $(du -sh -- "$DEST" | cut -f1)"
