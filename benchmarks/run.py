"""`make bench`: run the benchmarks and write their medians, beside their baselines, into BENCHMARKS.md.

Each benchmark is a module of this folder with `NAME`, `add_arguments(parser)` and `run(args) -> str` (a Markdown
section). BENCHMARKS.md keeps one section per benchmark between markers, so running one benchmark leaves the others.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import platform
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCHMARKS = (
    "import_bench",
    "profile_bench",
    "identity_bench",
    "identity_ceiling",
    "customer_import_bench",
    "segmentation_bench",
    "scoring_bench",
    "campaign_bench",
)
OUTPUT = ROOT / "BENCHMARKS.md"
TITLE = "# Benchmarks\n\nWritten by `make bench` (benchmarks/run.py); each figure is the median of several runs.\n"


def machine() -> str:
    import os

    return (
        f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores, {platform.system()}"
    )


def write_section(name: str, body: str) -> None:
    text = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else TITLE
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    stamp = f"_Measured {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {machine()}._\n\n"
    section = f"{start}\n{body.strip()}\n\n{stamp}{end}"
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else text.rstrip() + "\n\n" + section + "\n"
    OUTPUT.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    modules = {module.NAME: module for module in (importlib.import_module(f"benchmarks.{m}") for m in BENCHMARKS)}
    parser.add_argument("benchmarks", nargs="*", default=list(modules), help=f"which: {', '.join(modules)}")
    for module in modules.values():
        module.add_arguments(parser)
    args = parser.parse_args()
    for name in args.benchmarks:
        module = modules[name]
        body = module.run(args)
        write_section(module.NAME, body)
        print(body)  # noqa: T201 - the benchmark's report


if __name__ == "__main__":
    main()
