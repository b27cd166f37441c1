#!/usr/bin/env bash
# Installs code-server (real VS Code in the browser) for the end-to-end tests, offline
# from the npm registry only, into the git-ignored cache folder $REPO/.cache/code-server.
#
#   scripts/install-code-server.sh          # install, or exit 0 at once if already complete
#   scripts/install-code-server.sh --force  # wipe the cache folder and reinstall
#
# Recipe: docs/TOOLING.md ("code-server 4.100.3 offline"). code-server's own postinstall
# downloads nothing we can reach, so everything is installed with --ignore-scripts and the
# native modules (argon2, node-pty, @parcel/watcher, spdlog, kerberos, ...) are then built
# from source against the local Node headers (nodedir=/usr).
#
# Needs (installed by the CI script, not here): node 20, npm, and the Debian packages
#   build-essential python3 pkg-config libkrb5-dev ripgrep chromium
# The finished install is marked by $DEST/.complete-<version>; the tests only look at that.
set -euo pipefail

VERSION="4.100.3"
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$SCRIPT_DIR/.." && pwd)"
DEST="${UNETLENS_CODE_SERVER_DIR:-$REPO/.cache/code-server}"
MARKER="$DEST/.complete-$VERSION"
FORCE=0
[[ "${1:-}" == "--force" ]] && FORCE=1

log() { printf '[install-code-server] %s\n' "$*" >&2; }
die() { printf '[install-code-server] ERROR: %s\n' "$*" >&2; exit 1; }

if [[ $FORCE == 0 && -f "$MARKER" ]]; then
  log "code-server $VERSION already installed in $DEST"
  exit 0
fi

# ---- prerequisites (fail clearly instead of half-way through a 5-minute build) ----------
missing=()
need_cmd() { command -v "$1" >/dev/null 2>&1 || missing+=("$2 (command '$1')"); }
need_cmd node        "node 20"
need_cmd npm         "npm"
need_cmd make        "build-essential"
need_cmd cc          "build-essential"
need_cmd c++         "build-essential"
need_cmd python3     "python3"
need_cmd pkg-config  "pkg-config"
need_cmd krb5-config "libkrb5-dev"
need_cmd rg          "ripgrep"
[[ -x /usr/bin/chromium ]] || missing+=("chromium (/usr/bin/chromium, used by the tests)")
[[ -f /usr/include/gssapi/gssapi.h ]] || missing+=("libkrb5-dev (/usr/include/gssapi/gssapi.h)")
if (( ${#missing[@]} )); then
  die "missing prerequisites: ${missing[*]}
  install them with: apt-get install -y --no-install-recommends build-essential python3 pkg-config libkrb5-dev ripgrep chromium"
fi
NODE_MAJOR="$(node -p 'process.versions.node.split(".")[0]')"
[[ "$NODE_MAJOR" == "20" ]] || die "code-server $VERSION needs Node 20 (found $(node -v))"
# node-gyp must compile against the installed headers; with any other nodedir it tries to
# download them from nodejs.org, which is unreachable here.
NODEDIR=/usr
[[ -f "$NODEDIR/include/node/node.h" ]] \
  || die "Node headers not found at $NODEDIR/include/node/node.h (Debian/NodeSource node ships them)"

# ---- one installer at a time (parallel test runs) ---------------------------------------
mkdir -p "$(dirname "$DEST")"
exec 9>"$(dirname "$DEST")/.code-server-install.lock"
flock 9
if [[ $FORCE == 0 && -f "$MARKER" ]]; then
  log "code-server $VERSION was installed by another process meanwhile"
  exit 0
fi

# An incomplete earlier attempt is thrown away: npm is quick with a warm cache and a
# half-built tree is harder to reason about than a fresh one.
case "$DEST" in
  */.cache/code-server|*/code-server) ;;
  *) die "refusing to wipe unexpected install folder $DEST" ;;
esac
rm -rf "$DEST"
mkdir -p "$DEST"

export npm_config_nodedir="$NODEDIR"
export npm_config_yes=true              # node-pty's postinstall runs `npx`
export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
export npm_config_loglevel="${npm_config_loglevel:-warn}"
export npm_config_progress=false
# Scripts are run explicitly below with `npm rebuild`; make sure no stricter global policy
# (strict-allow-scripts) turns npm 11's advisory allowScripts notice into a hard error.
export npm_config_strict_allow_scripts=false
export npm_config_ignore_scripts=false   # the explicit --ignore-scripts flags below still win
NPM_FLAGS=(--no-audit --no-fund)
# Packages whose install scripts must run (native builds; ripgrep's only says "bin/ exists").
VSCODE_NATIVE=(kerberos native-watchdog node-pty @parcel/watcher @vscode/deviceid @vscode/spdlog
  @vscode/ripgrep @vscode/windows-process-tree @vscode/windows-registry)
EXTENSIONS_NATIVE=(@parcel/watcher esbuild)
# Adds name-only allowScripts entries to ./package.json.
allow_scripts() {
  node -e '
    const fs = require("fs");
    const pj = JSON.parse(fs.readFileSync("package.json", "utf8"));
    pj.allowScripts = Object.assign({}, pj.allowScripts,
      Object.fromEntries(process.argv.slice(1).map((n) => [n, true])));
    fs.writeFileSync("package.json", JSON.stringify(pj, null, 2) + "\n");' "$@"
}
start=$SECONDS
step() { log "[$((SECONDS - start))s] $*"; }

cd "$DEST"
# A private project so npm's prefix is this folder (and not the repo with its .npmrc).
# allowScripts records the install scripts we mean to run (npm 11 review policy).
cat > package.json <<EOF
{
  "name": "unetlens-e2e-code-server",
  "private": true,
  "description": "code-server for the UNet Lens end-to-end tests (generated by scripts/install-code-server.sh)",
  "dependencies": { "code-server": "$VERSION" },
  "allowScripts": { "argon2": true, "code-server": false }
}
EOF

step "npm install code-server@$VERSION --ignore-scripts"
npm install --ignore-scripts "${NPM_FLAGS[@]}"

step "npm rebuild argon2 (source build; its prebuilt download is unreachable)"
npm rebuild argon2 --foreground-scripts

CS="$DEST/node_modules/code-server"
VSC="$CS/lib/vscode"
[[ -d "$VSC" ]] || die "unexpected code-server layout: $VSC missing"

cd "$VSC"
step "npm install (lib/vscode, production deps) --ignore-scripts"
npm install --omit=dev --ignore-scripts "${NPM_FLAGS[@]}"

# @vscode/ripgrep's postinstall downloads rg from GitHub; use Debian's instead.
mkdir -p node_modules/@vscode/ripgrep/bin
ln -sf "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg

# npm 11 reviews dependency install scripts against package.json#allowScripts. The npm
# here (11.19) only warns about unreviewed ones and runs them anyway, but a stricter npm
# (strict-allow-scripts, or the announced block-by-default) would skip them silently:
# record the ones the recipe needs (checked with npm_config_strict_allow_scripts=true).
allow_scripts "${VSCODE_NATIVE[@]}"

step "npm rebuild (lib/vscode native modules, compiled from source; the slow part)"
npm rebuild --foreground-scripts

ln -sfn node_modules node_modules.asar
(cd bin/remote-cli && ln -sfn code-linux.sh code-server)
(cd bin/helpers && ln -sfn browser-linux.sh browser.sh)

step "npm install (lib/vscode/extensions, built-in extensions' deps)"
(cd extensions && allow_scripts "${EXTENSIONS_NATIVE[@]}" \
  && npm install --omit=dev "${NPM_FLAGS[@]}" --foreground-scripts)

# ---- smoke checks: the native modules the server needs must load -------------------------
step "checking native modules"
cd "$VSC"
node -e '
  for (const m of ["node-pty", "@parcel/watcher", "@vscode/spdlog", "native-watchdog", "kerberos"]) {
    try { require(m); } catch (e) { console.error("cannot load " + m + ": " + e.message); process.exitCode = 1; }
  }'
cd "$CS"
node -e 'require("argon2")'
[[ -x "$CS/out/node/entry.js" || -f "$CS/out/node/entry.js" ]] || die "code-server entry missing"
"$DEST/node_modules/.bin/code-server" --version >/dev/null

date -u +%FT%TZ > "$MARKER"
step "code-server $VERSION installed in $DEST"
