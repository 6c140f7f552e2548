"""Rewrite the report's and the comparison's published JSON Schemas (EMHAssistLib/data/schema/) from the report model.

Run it after a change to EMHAssistLib/report_model.py; Testing/test_report_schema.py fails until the
file matches the model. Research and teaching use only.

    PYTHONPATH=$PWD/EMHAssist .venv/bin/python tools/update_report_schema.py
"""

import sys

from EMHAssistLib.outputs.comparison import COMPARISON_SCHEMA_FILE, comparison_schema
from EMHAssistLib.outputs.report_schema import SCHEMA_FILE, schema_text


def main() -> int:
    SCHEMA_FILE.parent.mkdir(parents=True, exist_ok=True)
    SCHEMA_FILE.write_text(schema_text(), encoding="utf-8")
    COMPARISON_SCHEMA_FILE.write_text(schema_text(comparison_schema()), encoding="utf-8")
    print(SCHEMA_FILE, COMPARISON_SCHEMA_FILE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
