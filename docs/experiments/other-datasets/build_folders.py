"""Throw-away: S3-Rec's public sequence files (RUCAIBox/CIKM2020-S3Rec, data/<Name>.txt and <Name>_item2attributes.json,
the same source as ../shared/data/amazon_beauty_2014's Beauty.txt) written as the package's amazon-beauty layout, so
that the beauty-full protocol can run on them with `--data`. The data stay outside the repository.

    python docs/experiments/other-datasets/build_folders.py S3REC_DATA_DIR OUT_DIR Toys_and_Games:toys ...

For each NAME:SHORT it writes OUT_DIR/SHORT/sequences.txt (the file unchanged: one line per user, chronological) and
OUT_DIR/SHORT-attr/ with the same sequences plus items.jsonl, each item's attribute ids (S3-Rec keeps brand and category
ids seen at least 5 times; their names are not published) as its description text: "attr12 attr2 attr40". No titles,
categories or brands, so the codes are semantic-ID digits only, over the attribute text and training co-occurrence.
"""

import json
import pathlib
import shutil
import sys

source, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
for pair in sys.argv[3:]:
    name, short = pair.split(":")
    sequences = source / f"{name}.txt"
    attributes = json.loads((source / f"{name}_item2attributes.json").read_text())
    items = sorted({int(token) for line in sequences.read_text().splitlines() for token in line.split()[1:]})
    for folder in (out / short, out / f"{short}-attr"):
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(sequences, folder / "sequences.txt")
    with open(out / f"{short}-attr" / "items.jsonl", "w") as handle:
        for item in items:
            text = " ".join(f"attr{attribute}" for attribute in attributes.get(str(item), []))
            handle.write(json.dumps({"item_id": item, "description": text}) + "\n")
    print(short, len(items), "items")
