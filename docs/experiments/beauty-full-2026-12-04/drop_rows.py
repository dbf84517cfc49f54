"""Copy a benchmark result file without some of its rows, so that a part whose rows were re-run can be merged.

    python docs/experiments/beauty-full-2026-12-04/drop_rows.py IN.json OUT.json ROW [ROW ...]

Used for docs/results/beauty-full.*: the GPU parts' DeftRec rows (the published design, replaced by the fix)
and the DeftRec fix's popularity row (already in the GPU parts) are left out before the merge.
"""

import json
import sys
from pathlib import Path

source, target, *dropped = sys.argv[1:]
result = json.loads(Path(source).read_text(encoding="utf-8"))
unknown = sorted(set(dropped) - set(result["models"]))
if unknown:
    raise SystemExit(f"{source} has no row(s) {unknown}; its rows are {result['models']}")
result["models"] = [row for row in result["models"] if row not in dropped]
result["runs"] = [run for run in result["runs"] if run["model"] not in dropped]
result["summary"] = [row for row in result["summary"] if row["model"] not in dropped]
result["dropped_rows"] = {"from": source, "rows": dropped}
Path(target).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
