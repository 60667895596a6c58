"""Identity resolution on person files shaped otherwise than the demo retailer's (``cdp.demo.people``), at real size.

1. Write each shape with its truth (people with their own names, streets and four-digit postcodes, not the demo's):
   - one source with internal duplicates and no e-mail: 10,000 records (names, birth date, address, postcode, town)
     of 6,250 people, up to four records each, every copy after the first with the slips real exports hold;
   - two sources linked: 5,000 people once in each of two sources, the second copy with such slips.
2. For each, in a fresh SQLite database: `import_customers` every file, then `resolve_identities --export-clusters`
   (fresh processes, as a user runs them).
3. Compare the exported clusters with the truth: pairwise precision, recall over all true pairs and over the linkable
   ones, F1 and B-cubed F1, beside a naive exact match on (first name, last name, birth date).

`.venv/bin/python -m benchmarks.identity_shapes` prints the table alone.
"""

from __future__ import annotations

import csv
import tempfile
import time
from pathlib import Path

from benchmarks.identity_bench import (
    _manage,
    _setup_django,
    linkable_truth,
    naive_clusters,
    parsed_file,
    records_of,
)

DEDUPE_RECORDS = 10_000
DEDUPE_PEOPLE = 6_250  # 1.6 records per person
LINKED_PEOPLE = 5_000
SEED = 13
SHAPES = {
    "dedupe": "one source with internal duplicates, no e-mail: 10,000 records of 6,250 people",
    "linked": "two sources linked: 5,000 people in each",
}
# The model before the restated goal (commit f7a7441) on the same files: shape -> (precision, recall, linkable recall,
# F1, B-cubed F1, linked pairs, true pairs).
PREVIOUS_COMMIT = "f7a7441"
PREVIOUS = {
    "dedupe": (0.9995, 0.8988, 0.9082, 0.9465, 0.9828, 4_356, 4_844),
    "linked": (1.0000, 0.9347, 0.9421, 0.9663, 0.9834, 4_667, 4_993),
}


def write_shape(shape: str, folder: Path) -> list:
    """The shape's files (cdp.demo.people.PeopleFile, with their records and truth)."""
    from cdp.demo import people

    if shape == "dedupe":
        persons = people.make_people(DEDUPE_PEOPLE, seed=SEED)
        records = people.one_source_with_duplicates(persons, records=DEDUPE_RECORDS, seed=SEED)
        return [people.write_file(folder / "crm.csv", "crm", records, people.DEFAULT_COLUMNS)]
    persons = people.make_people(LINKED_PEOPLE, seed=SEED)
    left, right = people.linked_sources(persons, seed=SEED)
    return [
        people.write_file(folder / "shop.csv", "shop", left, people.DEFAULT_COLUMNS),
        people.write_file(folder / "loyalty.csv", "loyalty", right, people.DEFAULT_COLUMNS),
    ]


def run_shape(shape: str) -> dict:
    from cdp.demo import people
    from cdp.identity.metrics import clustering_quality

    with tempfile.TemporaryDirectory(prefix=f"identity-shape-{shape}-") as tmp:
        folder = Path(tmp)
        files = write_shape(shape, folder)
        url = f"sqlite:///{folder}/shape.sqlite3"
        _manage(url, "migrate", "--no-input")
        import_seconds = 0.0
        for file in files:
            seconds, _ = _manage(url, "import_customers", str(file.path), "--source", file.source)
            import_seconds += seconds
        export = folder / "clusters.csv"
        resolve_seconds, summary = _manage(url, "resolve_identities", "--export-clusters", str(export))
        with export.open(encoding="utf-8", newline="") as handle:
            predicted = {(row["source"], row["external_id"]): row["customer_id"] for row in csv.DictReader(handle)}
        truth = people.truth(files)
        records = records_of((row for file in files for row in parsed_file(file.path, file.source)), truth)
    linkable = linkable_truth(records)
    naive = naive_clusters(records)
    return {
        "shape": shape,
        "records": len(predicted),
        "import_seconds": import_seconds,
        "resolve_seconds": resolve_seconds,
        "summary": summary,
        "quality": clustering_quality(predicted, truth),
        "linkable": clustering_quality(predicted, linkable),
        "naive": clustering_quality(naive, truth),
        "naive_linkable": clustering_quality(naive, linkable),
    }


def run_all() -> list[dict]:
    return [run_shape(shape) for shape in SHAPES]


def _row(label: str, q, linkable) -> str:
    return (
        f"| {label} | {q.precision:.4f} | {q.recall:.4f} | {linkable.recall:.4f} | {q.f1:.4f} | {q.bcubed_f1:.4f} | "
        f"{q.predicted_pairs:,} / {q.true_pairs:,} |"
    )


def report(results: list[dict]) -> list[str]:
    lines = [
        "Files of other shapes (`cdp.demo.people`: another country's names, streets and four-digit postcodes; slips "
        "in every copy after the first: typos, swapped names, missing or mistyped birth dates, old or otherwise "
        f"written addresses; seed {SEED}), each imported and resolved in a fresh database:",
        "",
        "| shape · method | pairwise precision | recall, all true pairs | recall, linkable pairs | pairwise F1 | "
        "B-cubed F1 | linked pairs / true |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(_row(f"{SHAPES[r['shape']]} · resolve_identities", r["quality"], r["linkable"]))
        if r["shape"] in PREVIOUS:
            precision, recall, linkable, f1, bcubed, predicted, true = PREVIOUS[r["shape"]]
            lines.append(
                f"| {SHAPES[r['shape']]} · previous model ({PREVIOUS_COMMIT}) | {precision:.4f} | {recall:.4f} | "
                f"{linkable:.4f} | {f1:.4f} | {bcubed:.4f} | {predicted:,} / {true:,} |"
            )
        lines.append(_row(f"{SHAPES[r['shape']]} · naive exact", r["naive"], r["naive_linkable"]))
    times = ", ".join(
        f"{r['shape']} {r['import_seconds']:.0f} s import + {r['resolve_seconds']:.0f} s resolve" for r in results
    )
    return [*lines, "", f"Times: {times}."]


if __name__ == "__main__":
    started = time.monotonic()
    _setup_django()
    print("\n".join(report(run_all())))  # noqa: T201 - the benchmark's report
    print(f"({time.monotonic() - started:.0f} s)")  # noqa: T201
