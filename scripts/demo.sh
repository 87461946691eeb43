#!/usr/bin/env bash
# Install tracker into .venv and run it on a demo repository built from .tracker-example/.
set -euo pipefail
cd "$(dirname "$0")/.."
project=$(pwd)
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
echo "installing tracker into .venv ..."
if ! { .venv/bin/python -m pip install -q --upgrade pip &&
       .venv/bin/python -m pip install -q -e '.[all,test]'; } > .venv/install.log 2>&1; then
  cat .venv/install.log
  exit 1
fi

demo=${TRACKER_DEMO_DIR:-"$project/demo-repo"}
rm -rf "$demo"
mkdir -p "$demo"
cp -r .tracker-example "$demo/.tracker"
cd "$demo"
git init -q -b main
git -c user.name=demo -c user.email=demo@example.com add -A
git -c user.name=demo -c user.email=demo@example.com commit -q -m "Demo tracker from .tracker-example"
tracker="$project/.venv/bin/tracker"

export TRACKER_ACTOR=demo
echo "== tracker validate   (demo repository: $demo)"
"$tracker" validate
item=$(grep -l '^status: active' .tracker/items/*.yaml | xargs grep -l '^type: task' | head -1 | xargs basename | sed 's/\.yaml$//')
echo
echo "== tracker ready --limit 5"
"$tracker" ready --limit 5
echo
echo "== tracker list --type session"
"$tracker" list --type session
echo
echo "== tracker tree --depth 1"
"$tracker" tree --depth 1
echo
echo "== tracker vendor list --status broken"
"$tracker" vendor list --status broken
echo
echo "== tracker show $item"
"$tracker" show "$item"
echo
echo "== tracker set $item priority=1 labels+=demo"
"$tracker" set "$item" priority=1 labels+=demo
echo
echo "== tracker history $item"
"$tracker" history "$item"
echo
echo "== tracker vendor set alpine-trust status=operational"
"$tracker" vendor set alpine-trust status=operational
echo
echo "== git log --oneline -3"
git log --oneline -3
