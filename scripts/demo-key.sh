#!/usr/bin/env bash
# Gives `make run` an admin key for the tenant "demo", created once and kept
# in data/demo-admin.key (the database keeps only its hash).
set -euo pipefail
binary=$1
key_file=data/demo-admin.key
mkdir -p data
if [ ! -s "$key_file" ] || [ ! -f data/callscore.db ]; then
  "$binary" keys create --tenant demo --role admin --label "make run" > "$key_file"
  chmod 600 "$key_file"
fi
echo "admin key for tenant demo (in $key_file): $(cat "$key_file")" >&2
