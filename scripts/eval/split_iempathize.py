#!/usr/bin/env python3
"""Splits iEmpathize into the half read while writing empathy lexicon 4 and
the half held out from it (docs/eval.md, "iEmpathize: one half read, one
half held out").

Reads `data/dataset.csv` of github.com/Mahhos/Empathy (Hosseini & Caragea,
AAAI 2021; Latin-1), keeps the sentences providing empathy (label 2) as 1
and those neither seeking nor providing it (label 0) as 0, and writes
`read.csv` and `held-out.csv` (columns id, text, label) into OUT_DIR. A
sentence is in the read half when the first hex digit of the SHA-1 of its
UTF-8 text is 0-7. Score either with

    callscore eval csv OUT_DIR/held-out.csv --text text --label label \\
        --criterion empathy --check empathic_responses

Not part of the build or the tests; the standard library only.

    scripts/eval/split_iempathize.py dataset.csv OUT_DIR
"""

import csv
import hashlib
import sys
from pathlib import Path

PROVIDING = "2"
NEITHER = "0"


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    source, out_dir = Path(sys.argv[1]), Path(sys.argv[2])
    try:
        with source.open(encoding="latin-1", newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        print(f"{source}: {e.strerror}", file=sys.stderr)
        return 1
    if not rows or not {"text", "label"} <= rows[0].keys():
        print(f"{source}: needs the columns text and label", file=sys.stderr)
        return 1
    halves = {"read": [], "held-out": []}
    for number, row in enumerate(rows, start=1):
        label = row["label"].strip()
        if label not in (PROVIDING, NEITHER):
            continue
        text = row["text"]
        digit = int(hashlib.sha1(text.encode("utf-8")).hexdigest()[0], 16)
        half = "read" if digit < 8 else "held-out"
        halves[half].append(
            {"id": number, "text": text, "label": 1 if label == PROVIDING else 0}
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    for half, items in halves.items():
        with (out_dir / f"{half}.csv").open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=["id", "text", "label"])
            writer.writeheader()
            writer.writerows(items)
        providing = sum(item["label"] for item in items)
        print(f"{half}: {len(items)} sentences, {providing} providing empathy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
