"""Run by the census venv's python (tests/models/census/test_dfe_ingest.py): for each return
given, the validator's own reading (`validator_tables`) beside ours (`linear_tables`), both as
the rules receive them (`process_data`), compared with pandas' own frame comparison: values,
dtypes, column order and index. Prints one JSON line per return: each table's row count and
"identical" or the first difference.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pandas as pd
from cin_validator import cin_validator

RULES = Path(__file__).resolve().parents[3] / "models" / "census" / "dfe_rules.py"


def main(paths: list[str]) -> None:
    spec = importlib.util.spec_from_file_location("dfe_rules", RULES)
    assert spec is not None and spec.loader is not None
    dfe_rules = importlib.util.module_from_spec(spec)
    sys.modules["dfe_rules"] = dfe_rules
    spec.loader.exec_module(dfe_rules)
    for path in paths:
        theirs = cin_validator.process_data(dfe_rules.validator_tables(path))
        ours = cin_validator.process_data(dfe_rules.linear_tables(path))
        result: dict[str, object] = {"order": list(theirs) == list(ours), "tables": {}}
        for name, table in theirs.items():
            try:
                pd.testing.assert_frame_equal(table, ours[name], check_exact=True)
                verdict = "identical"
            except AssertionError as e:
                verdict = str(e).splitlines()[0] + " " + " ".join(str(e).split())[:300]
            result["tables"][name] = [len(table), verdict]  # type: ignore[index]
        sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
