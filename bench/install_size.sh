#!/bin/bash
# Install size and time of the base install and of [all], each into a fresh venv after torch==2.13.0
# (as the Makefile does), from this checkout:   bash bench/install_size.sh   (EXTRAS="base all" by default)
set -e
cd "$(dirname "$0")/.."
for extra in ${EXTRAS:-base all}; do
  venv=$(mktemp -d)/venv
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip
  "$venv/bin/python" -m pip install --quiet torch==2.13.0
  before=$(du -sm "$venv" | cut -f1)
  spec="."; [ "$extra" = all ] && spec=".[all]"
  start=$(date +%s)
  "$venv/bin/python" -m pip install --quiet -c constraints.txt "$spec"
  end=$(date +%s)
  after=$(du -sm "$venv" | cut -f1)
  echo "$extra: $((end-start)) s, $((after-before)) MB beyond torch, $("$venv/bin/python" -m pip list 2>/dev/null | tail -n +3 | wc -l) packages"
  rm -rf "$(dirname "$venv")"
done
