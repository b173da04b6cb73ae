#!/usr/bin/env bash
# Print the path of a Python 3.12+ interpreter, or explain what to install and fail.
# Looks at: $PYTHON, the version in .python-version through pyenv, python3.13/python3.12 on
# PATH, pyenv's installed versions, and plain python3.
set -u

ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; }

candidates=()
[ -n "${PYTHON:-}" ] && candidates+=("$PYTHON")
if command -v pyenv >/dev/null 2>&1 && [ -f .python-version ]; then
  want=$(tr -d '[:space:]' < .python-version)
  for dir in "$(pyenv root)"/versions/"$want"*; do
    [ -x "$dir/bin/python" ] && candidates+=("$dir/bin/python")
  done
fi
for name in python3.14 python3.13 python3.12; do
  command -v "$name" >/dev/null 2>&1 && candidates+=("$(command -v "$name")")
done
for dir in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[2-9]* /usr/local/bin /usr/bin; do
  for exe in "$dir"/bin/python3 "$dir"/python3.1[2-9]; do
    [ -x "$exe" ] && candidates+=("$exe")
  done
done
command -v python3 >/dev/null 2>&1 && candidates+=("$(command -v python3)")

for exe in "${candidates[@]}"; do
  if ok "$exe"; then echo "$exe"; exit 0; fi
done
echo "error: the geoportal needs Python 3.12 or newer and none was found." >&2
echo "  Install one (e.g. 'apt-get install python3.12 python3.12-venv', or 'pyenv install 3.12')," >&2
echo "  or point PYTHON=/path/to/python3.12 at it: 'make run PYTHON=/opt/python3.12/bin/python3'." >&2
exit 1
