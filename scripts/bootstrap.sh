# Sourced by scripts/run and scripts/test: a virtual environment in .venv with exactly the versions of uv.lock.
# Needs only Python 3.11+ on the PATH (as python3, or $PYTHON).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
UV_VERSION="0.13.8"
PYTHON="${PYTHON:-python3}"
VENV="$ROOT/.venv"
TOOLS="$ROOT/.venv-tools"
if [ ! -x "$TOOLS/bin/uv" ] || [ "$("$TOOLS/bin/uv" --version 2>/dev/null | cut -d' ' -f2)" != "$UV_VERSION" ]; then
    echo "newsmon: installing uv $UV_VERSION into $TOOLS" >&2
    "$PYTHON" -m venv "$TOOLS"
    "$TOOLS/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
fi
export UV_PROJECT_ENVIRONMENT="$VENV"
# --frozen: install what uv.lock says, never re-resolve; --quiet keeps the job's own output readable.
# --compile-bytecode, and compileall for newsmon's own modules: with PYTHONDONTWRITEBYTECODE set (as on this
# project's machines) Python never caches what it compiles, and every process compiled every module it imported
# from source: `import prefect` took 2.3 s instead of 1.1 s, each extraction worker's start ~1 s more (py-spy).
"$TOOLS/bin/uv" sync --frozen --quiet --compile-bytecode --project "$ROOT" --python "$PYTHON" ${NEWSMON_SYNC_ARGS:-}
"$VENV/bin/python" -m compileall -q "$ROOT/flows" "$ROOT/warehouse" "$ROOT/extractors" >/dev/null
