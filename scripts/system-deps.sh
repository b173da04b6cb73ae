#!/usr/bin/env bash
# Make sure the system packages the geoportal needs are present: the PostgreSQL server with
# PostGIS 3, the GDAL command-line tools (ogrinfo, ogr2ogr: the tests use GDAL as an OGC
# API client) and Node.js/npm (the viewer's browser libraries); with the arguments `chromium
# chromium-driver` also the headless browser of the viewer's end-to-end tests, with `nginx` the
# web server whose example configuration (config/nginx-geoportal.conf) the suite checks. As root on Debian/Ubuntu they are installed with apt-get; otherwise this
# script says exactly what to install and fails.
set -eu

pg_major() { ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -n 1; }

missing() {
  local major; major=$(pg_major)
  local out=()
  if [ -z "$major" ] || [ ! -x "/usr/lib/postgresql/$major/bin/postgres" ]; then
    out+=(postgresql)
  fi
  if [ -z "$major" ] || [ ! -f "/usr/share/postgresql/$major/extension/postgis.control" ]; then
    out+=("postgresql-${major:-15}-postgis-3")
  fi
  command -v ogrinfo >/dev/null 2>&1 || out+=(gdal-bin)
  # Node.js and npm install the map viewer's browser libraries (browser-libs/package-lock.json).
  command -v node >/dev/null 2>&1 || out+=(nodejs)
  command -v npm >/dev/null 2>&1 || out+=(npm)
  # The Unicode font of the cadastral plans (Cyrillic names and addresses in the PDF).
  [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || out+=(fonts-dejavu-core)
  for extra in "$@"; do
    case "$extra" in
      chromium) command -v chromium >/dev/null 2>&1 || out+=(chromium) ;;
      chromium-driver) command -v chromedriver >/dev/null 2>&1 || out+=(chromium-driver) ;;
      nginx) command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || out+=(nginx) ;;
    esac
  done
  echo "${out[@]:-}"
}

need=$(missing "$@")
[ -z "$need" ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "error: missing system packages: $need" >&2
  echo "  On Debian/Ubuntu: sudo apt-get install $need" >&2
  echo "  (or set GEOPORTAL_DATABASE_URL to an existing PostgreSQL 15+ server with PostGIS 3)." >&2
  exit 1
fi

echo "installing system packages: $need"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# The server first: the PostGIS package name depends on its major version.
case " $need " in *" postgresql "*) apt-get install -y -qq postgresql >/dev/null ;; esac
need=$(missing "$@")
[ -n "$need" ] && apt-get install -y -qq $need >/dev/null
left=$(missing "$@")
if [ -n "$left" ]; then
  echo "error: still missing after apt-get: $left" >&2
  exit 1
fi
