"""Derive EMHAssist's per-level healthy cord table from PAM50-normalized-metrics (whole-spine).

Each subject's CSV holds per-slice cord metrics in PAM50 template space with the vertebral level
of every slice. For each level we first average each subject's slices (so subjects weigh the same
whatever the level's slice count), then take the mean and SD across subjects. Slices of a level
that participants.tsv lists as mildly compressed in that subject (a disc "T5-T6" touches T5 and T6)
are left out for that subject, so the table describes uncompressed healthy cords.

    python tools/derive_normative_cord.py ../shared/data/PAM50-normalized-metrics \
        EMHAssist/EMHAssistLib/data/normative_cord.json
"""

import argparse
import csv
import json
import math
import sys
from pathlib import Path

METRICS = {"area_mm2": "MEAN(area)", "ap_mm": "MEAN(diameter_AP)", "rl_mm": "MEAN(diameter_RL)"}
DATASET = Path("spinal_cord") / "whole-spine"
LEVEL_OFFSETS = {"C": 0, "T": 7, "L": 19, "S": 24}
# How the normalised MSCC's interval is read from the table (spine/normative.py).
INTERVAL = {
    "z": 1.96,
    "reason": "The normalised MSCC's interval is that of the healthy means it divides by: each level's mean AP moved by 1.96 standard errors "
              "(SD / sqrt(subjects), a 95 % confidence interval of the mean), the narrowest slice's level one way and the reference windows' the other, "
              "which bounds the ratio. It is the uncertainty of the healthy reference, not the spread between healthy individuals.",
}


def level_code(name: str) -> int:
    return LEVEL_OFFSETS[name[0]] + int(name[1:])


def compressed_levels(participants: Path) -> dict[str, set[int]]:
    """Level codes next to each subject's listed compressed discs ("T5-T6" -> {12, 13})."""
    found: dict[str, set[int]] = {}
    with open(participants, encoding="utf-8", newline="") as stream:
        for row in csv.DictReader(stream, delimiter="\t"):
            codes: set[int] = set()
            for disc in row.get("stenosis", "n/a").replace('"', "").split(","):
                disc = disc.strip()
                if disc and disc != "n/a":
                    codes.update(level_code(part) for part in disc.split("-"))
            found[row["participant_id"]] = codes
    return found


def subject_level_means(path: Path, excluded: set[int]) -> dict[int, dict[str, float]]:
    sums: dict[int, dict[str, list[float]]] = {}
    with open(path, encoding="utf-8", newline="") as stream:
        for row in csv.DictReader(stream):
            if not row["VertLevel"]:
                continue
            level = int(float(row["VertLevel"]))
            values = {key: row[column] for key, column in METRICS.items()}
            if level in excluded or any(value in ("", "nan") for value in values.values()):
                continue
            per_level = sums.setdefault(level, {key: [] for key in METRICS})
            for key, value in values.items():
                per_level[key].append(float(value))
    return {level: {key: sum(v) / len(v) for key, v in by_key.items()} for level, by_key in sums.items()}


def derive(root: Path) -> dict:
    folder = root / DATASET
    compressed = compressed_levels(folder / "participants.tsv")
    per_level: dict[int, dict[str, list[float]]] = {}
    files = sorted(folder.glob("sub-*_T2w_PAM50.csv"))
    for path in files:
        subject = path.name.split("_")[0]
        for level, means in subject_level_means(path, compressed.get(subject, set())).items():
            collected = per_level.setdefault(level, {key: [] for key in METRICS})
            for key, value in means.items():
                collected[key].append(value)
    levels = {}
    for level in sorted(per_level):
        entry = {"subjects": len(per_level[level]["area_mm2"])}
        for key, values in per_level[level].items():
            mean = sum(values) / len(values)
            sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
            entry[key] = {"mean": round(mean, 3), "sd": round(sd, 3)}
        levels[str(level)] = entry
    return {
        "version": 1,
        "source": "PAM50-normalized-metrics, spinal_cord/whole-spine (58 healthy adults, T2w, 1 mm; MIT licence; Valosek, Bedard et al., Imaging Neuroscience 2024)",
        "method": "per subject, mean of the slices of each vertebral level (PAM50 space); then mean and sample SD across subjects; levels listed as compressed in participants.tsv left out for that subject",
        "subjects": len(files),
        "interval": INTERVAL,
        "levels": levels,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.splitlines()[0])
    parser.add_argument("metrics_root", type=Path, help="folder of PAM50-normalized-metrics")
    parser.add_argument("output", type=Path, help="JSON table to write")
    arguments = parser.parse_args(argv)
    table = derive(arguments.metrics_root)
    arguments.output.write_text(json.dumps(table, indent=1) + "\n", encoding="utf-8")
    print(f"{arguments.output}: {len(table['levels'])} levels from {table['subjects']} subjects")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
