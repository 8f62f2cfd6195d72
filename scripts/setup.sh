#!/usr/bin/env bash
# The set-up `make demo` and `make test` share: a virtual environment with torch pinned and lrfind_ext installed in
# editable mode with its dev extras. One line per step; the installers' output goes to $LOG, shown if a step fails.
# Settings come from the Makefile: PYTHON, VENV, TORCH_PINS.
set -uo pipefail
PYTHON=${PYTHON:-python3}; VENV=${VENV:-.venv}; TORCH_PINS=${TORCH_PINS:-torch==2.14.1 torchvision==0.29.1}
mkdir -p "$VENV"
LOG="$VENV/setup.log"
: > "$LOG"
step() { # step "what it does" command...
  local what=$1; shift
  local t0=$SECONDS
  printf 'setup: %s ... ' "$what"
  if "$@" >>"$LOG" 2>&1; then echo "done ($((SECONDS-t0)) s)"
  else
    echo "FAILED"
    echo "---- last 40 lines of $LOG ----"; tail -n 40 "$LOG"; echo "---- (the whole log: $LOG) ----"
    exit 1
  fi
}
PIP="$VENV/bin/python -m pip --disable-pip-version-check"
[ -x "$VENV/bin/python" ] || step "virtual environment in $VENV ($($PYTHON --version 2>&1))" "$PYTHON" -m venv "$VENV"
step "pip up to date" $PIP install -q --upgrade pip
# shellcheck disable=SC2086 # TORCH_PINS is a list of words on purpose
step "torch ($TORCH_PINS)" $PIP install -q $TORCH_PINS
step "lrfind_ext, editable, with its dev extras" $PIP install -q -e ".[dev]"
