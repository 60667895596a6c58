"""How much of the demo retailer's ground truth any identity model can link while keeping its precision.

1. The default-noise demo of the identity benchmark (same size, same cache under var/bench/).
2. The true pairs whose records agree on nothing but a name, directly or through the person's other records: the
   recall no model reaches without linking on names alone.
3. The pairs such a model would have to link: same names, different sources, nothing else in common and nothing
   against, by how many records bear the name, with how many of them are one person. Name frequency is all that is
   left to weigh them by; the share of true pairs among them says whether any of them can be linked at the precision
   goal. This is why the recall goal counts the linkable pairs (issue 13): the former goal, recall 0.97 over all true
   pairs at precision 0.995, could not be met by any model on this ground truth.
"""

from __future__ import annotations

import math

from benchmarks.identity_bench import (
    _demo_records,
    _read,
    _setup_django,
    demo_folder,
    name_only_by_frequency,
    name_only_pairs,
)

NAME = "identity-ceiling"
# The goal over all true pairs that this section showed out of reach (it is now over the linkable pairs).
FORMER_GOAL_PRECISION = 0.995
FORMER_GOAL_RECALL = 0.97


def add_arguments(parser) -> None:
    """Reads --identity-customers, which the identity benchmark adds."""


def run(args) -> str:
    _setup_django()
    folder = demo_folder(args.identity_customers, 1.0)
    apart, true_pairs = name_only_pairs(_demo_records(folder, _read(folder / "truth" / "records.csv")))
    table = name_only_by_frequency(folder)
    lines = [
        "## What the demo's ground truth lets identity resolution link",
        "",
        f"Demo retailer, {args.identity_customers:,} persons, default noise: {true_pairs:,} true pairs, of which "
        f"{apart:,} ({apart / true_pairs:.1%}) join two records that agree on nothing but a name, directly or through "
        "the person's other records (no compatible birth date, no e-mail or local part, phone, address or postcode "
        f"in common). Recall is at most {1 - apart / true_pairs:.4f} without linking on names alone; the former goal "
        f"was {FORMER_GOAL_RECALL} over all true pairs, which is why the goal now counts the linkable pairs.",
        "",
        "Pairs of records from two sources with the same names, nothing else in common and nothing against (birth "
        "dates or genders that differ), by how many records bear the name:",
        "",
        "| records bearing the name | same person | different persons | share that is one person |",
        "|---|---|---|---|",
    ]
    for bucket, same, other in table:
        share = same / (same + other) if same + other else 0.0
        lines.append(f"| {bucket} | {same:,} | {other:,} | {share:.1%} |")
    best = max((same / (same + other) for _, same, other in table if same + other), default=0.0)
    # The most favourable case: every other true pair linked with no false link at all, then the rarest names' pairs.
    goal_true = math.ceil(FORMER_GOAL_RECALL * true_pairs)
    needed = max(0, goal_true - (true_pairs - apart))
    cost = math.ceil(needed * (1 - best) / best) if best else math.inf
    allowed = math.floor(goal_true * (1 - FORMER_GOAL_PRECISION) / FORMER_GOAL_PRECISION)
    lines += [
        "",
        f"Even if every other true pair were linked with no false link at all, the former recall goal would need "
        f"{needed:,} of these pairs linked; at {best:.0%} at best, they bring at least {cost:,} false links, while the "
        f"former precision goal ({FORMER_GOAL_PRECISION}) allows {allowed:,} in all at that recall. "
        + (
            "Both goals cannot be met together on this ground truth by any model."
            if cost > allowed
            else "Both goals can be met together only by linking on names alone."
        ),
        "",
        "Command: `.venv/bin/python benchmarks/run.py identity-ceiling "
        f"--identity-customers {args.identity_customers}`.",
    ]
    return "\n".join(lines)
