#!/usr/bin/env bash
# Run a command in a virtualenv of Python $1 with Django $2 and the project's test extras:
#   tests/with_python.sh 3.13 'django>=6.1,<6.2' .venv-py313 pytest -q
# The venv is made (or refreshed when pyproject.toml changes) on first use. The interpreter is
# found by tests/find_python.sh; when there is none, this fails under CI=true and, elsewhere,
# warns and skips the pass (exit 0).
set -euo pipefail
version=$1 django=$2 venv=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
if ! python=$("$here/find_python.sh" "$version"); then
  message="Python $version not found (pyenv install $version, or set PYTHON${version/./})"
  if [ "${CI:-}" = "true" ]; then
    echo "error: $message: the pass with $django cannot run." >&2
    exit 1
  fi
  echo "warning: $message: skipping the pass with $django." >&2
  exit 0
fi
stamp="$venv/.installed"
# Two passes may share a venv and start at once (make -j2): one makes it, the other waits.
exec 9>"$venv.lock"
flock 9
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip
  "$venv/bin/python" -m pip install --quiet "$django" -e '.[test]'
  touch "$stamp"
fi
flock -u 9
echo "Python $("$venv/bin/python" -c 'import platform; print(platform.python_version())'), Django $("$venv/bin/python" -m django --version)" >&2
PATH="$PWD/$venv/bin:$PATH" exec "$@"
