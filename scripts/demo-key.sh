#!/usr/bin/env bash
# Gives `make run` API keys for the tenant "demo": an admin key (the demo's
# own client), and a reviewer's and a coach's for the QA console. Created once
# and kept in data/demo-ROLE.key (the database keeps only their hashes).
set -euo pipefail
binary=$1
mkdir -p data
fresh_database=0
[ -f data/callscore.db ] || fresh_database=1
for role in admin reviewer coach; do
  key_file=data/demo-$role.key
  if [ ! -s "$key_file" ] || [ "$fresh_database" = 1 ]; then
    "$binary" keys create --tenant demo --role "$role" --label "make run $role" > "$key_file"
    chmod 600 "$key_file"
  fi
done
echo "admin key for tenant demo (in data/demo-admin.key): $(cat data/demo-admin.key)" >&2
