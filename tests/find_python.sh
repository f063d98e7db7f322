#!/usr/bin/env bash
# Print the path of a Python interpreter of version $1 (for example 3.13):
# $PYTHON313 when set, else the newest pyenv install of that version, else pythonX.Y on PATH.
# Prints nothing and exits 1 when there is none.
set -u
version=$1
var="PYTHON${version/./}"
candidate=${!var:-}
if [ -n "$candidate" ] && [ -x "$candidate" ]; then echo "$candidate"; exit 0; fi
if command -v pyenv >/dev/null 2>&1; then
  root=$(pyenv root)
  for dir in $(ls -d "$root"/versions/"$version".* 2>/dev/null | sort -V -r); do
    [ -x "$dir/bin/python$version" ] && { echo "$dir/bin/python$version"; exit 0; }
  done
fi
command -v "python$version" 2>/dev/null && exit 0
exit 1
