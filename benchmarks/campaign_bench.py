"""Campaigns: launch and briefs at scale on PostgreSQL, and the measured uplift against the demo's simulated truth.

1. Scale (`--campaign-database-url`, PostgreSQL; a database of our own): a retailer of N targeted customers (100,000
   by default) is written once, straight into the tables (customers, three receipts each, an e-mail consent for 90%
   of them and a withdrawal for 5%, a frozen segmentation of 8 segments; 2,615 customers in postcode 75). In a fresh
   process, each run: launch a campaign to everyone (audience, consent, suppression, pressure, control draw, writes),
   generate its whole-campaign brief and write it as CSV, then a campaign of postcode 75 and its PDF (about 2,000
   leads); the campaigns are deleted after each run. The baseline of the launch is the single-customer consent
   question (`consent_allows`) asked for each customer, timed on 2,000 and scaled; peak memory is the process's.
2. Truth (`--campaign-demo-url`, the demo retailer built by `manage.py demo --customers 10000` into
   `--campaign-demo-dir`): for each seed, a campaign in its own week after the demo's history (control share 0.5),
   the personas' simulated response (cdp.demo.campaign), measured by the product, against the true effects of its
   audience (campaigns.demo.campaign_truth). Counted: overall and per segment, whether the 95% interval holds the truth.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

NAME = "campaigns"
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/clientele_h18_bench"
DEFAULT_DEMO_URL = f"sqlite:///{ROOT / 'var' / 'bench' / 'campaign-demo.sqlite3'}"
DEFAULT_DEMO_DIR = ROOT / "var" / "bench" / "campaign-demo"
GOAL_LAUNCH_S, GOAL_CSV_S, GOAL_PDF_S = 30, 60, 120
PDF_CUSTOMERS = 2615  # about 2,000 leads: 85% consent, then a control share of 0.1
SEGMENTS = 8
BENCH_WINDOW_DAYS = 7


def add_arguments(parser) -> None:
    parser.add_argument("--campaign-customers", type=int, default=100_000)
    parser.add_argument("--campaign-runs", type=int, default=3)
    parser.add_argument("--campaign-seeds", type=int, default=5)
    parser.add_argument("--campaign-database-url", default=os.environ.get("CAMPAIGN_BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--campaign-demo-url", default=DEFAULT_DEMO_URL)
    parser.add_argument("--campaign-demo-dir", type=Path, default=DEFAULT_DEMO_DIR)
    parser.add_argument("--campaign-skip-scale", action="store_true")
    parser.add_argument("--campaign-skip-truth", action="store_true")


def _python() -> str:
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def _child(url: str, *args: str) -> dict:
    env = {**os.environ, "DATABASE_URL": url, "CELERY_BROKER_URL": "", "DJANGO_SETTINGS_MODULE": "cdp.settings",
           "CAMPAIGN_CONTACT_MAX": "1000", "PRODUCTION": "false"}  # fmt: skip
    done = subprocess.run(
        [_python(), str(Path(__file__).resolve()), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- children (run with DJANGO_SETTINGS_MODULE and DATABASE_URL set) -----------------------------------------------
def _populate(n: int) -> dict:
    import datetime as dt
    import random
    import uuid

    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from cdp.models import Customer, Receipt, Source, Store
    from consent.models import Channel, Purpose
    from consent.services.ledger import LedgerEntry, ledger_append
    from segments.models import Segment, SegmentationRun, SegmentMembership

    call_command("migrate", verbosity=0)
    if Customer.objects.count() >= n:
        return {"populated": False, "customers": Customer.objects.count()}
    rng = random.Random(5)
    now = timezone.now()
    source, _ = Source.objects.get_or_create(key="bench", defaults={"name": "Bench"})
    stores = [Store.objects.get_or_create(code=f"S{i:02d}", defaults={"name": f"Store {i}"})[0] for i in range(10)]
    run = SegmentationRun.objects.create(status="succeeded", as_of=now, is_active=True, k=SEGMENTS, customers=n)
    segments = [Segment.objects.create(run=run, number=i, name=f"Segment {i}", description=f"bench segment {i}")
                for i in range(SEGMENTS)]  # fmt: skip
    purpose = Purpose.objects.get(key="email_marketing")
    email = Channel.objects.get(key="email")
    batch = 10_000
    for start in range(0, n, batch):
        with transaction.atomic():
            customers = [
                Customer(id=uuid.UUID(int=rng.getrandbits(128)), first_name=f"Given{i}", last_name=f"Family{i}",
                         email=f"c{i}@bench.example", city="Paris" if i < PDF_CUSTOMERS else "Lyon",
                         postcode="75001" if i < PDF_CUSTOMERS else "69001")
                for i in range(start, min(n, start + batch))
            ]  # fmt: skip
            Customer.objects.bulk_create(customers, batch_size=5000)
            receipts, members, entries = [], [], []
            for offset, customer in enumerate(customers):
                i = start + offset
                for r in range(3):
                    receipts.append(
                        Receipt(source=source, receipt_id=f"R{i}-{r}", customer=customer, store=rng.choice(stores),
                                channel="store", purchased_at=now - dt.timedelta(days=rng.randrange(1, 700)),
                                currency="EUR", total_minor=rng.randrange(500, 20000), item_count=3)
                    )  # fmt: skip
                members.append(SegmentMembership(customer=customer, run=run, segment=segments[i % SEGMENTS],
                                                 entered_at=now))  # fmt: skip
                if i % 10 != 9:  # 90% granted, and 5% of all withdrew later
                    when = now - dt.timedelta(days=400)
                    entries.append(LedgerEntry("bench", f"g{i}", str(customer.pk), purpose.pk, "granted", when,
                                               customer_id=customer.pk, channel_id=email.pk))  # fmt: skip
                    if i % 20 == 0:
                        entries.append(LedgerEntry("bench", f"w{i}", str(customer.pk), purpose.pk, "withdrawn",
                                                   when + dt.timedelta(days=100), customer_id=customer.pk,
                                                   channel_id=email.pk))  # fmt: skip
            Receipt.objects.bulk_create(receipts, batch_size=5000)
            SegmentMembership.objects.bulk_create(members, batch_size=5000)
            ledger_append(entries)
    with connection.cursor() as cursor:
        cursor.execute(
            "VACUUM ANALYZE"
        ) if connection.vendor == "postgresql" and not connection.in_atomic_block else None
    return {"populated": True, "customers": n}


def _measure(runs: int, out: Path) -> dict:
    import resource
    import time

    from campaigns.models import Campaign
    from campaigns.services.brief_files import brief_csv_lines, brief_pdf
    from campaigns.services.briefs import brief_create, brief_generate
    from campaigns.services.launch import campaign_create, campaign_launch
    from cdp.models import Customer
    from consent.selectors import consent_allows

    figures: dict = {"launch": [], "brief": [], "csv": [], "pdf_brief": [], "pdf": [], "audience": 0, "leads": 0}
    ids = list(Customer.objects.values_list("pk", flat=True)[:2000])
    started = time.perf_counter()
    for pk in ids:
        consent_allows(customer_id=pk, purpose="email_marketing", channel="email")
    figures["baseline_launch"] = (time.perf_counter() - started) * Customer.objects.count() / len(ids)
    for run in range(runs):
        started = time.perf_counter()
        result = campaign_launch(campaign=campaign_create(name=f"bench {run}", purpose="email_marketing",
                                                          channel="email", seed=run))  # fmt: skip
        figures["launch"].append(time.perf_counter() - started)
        figures["audience"] = result.treatment + result.control
        started = time.perf_counter()
        brief = brief_generate(brief_id=brief_create(campaign=result.campaign, start=False).pk)
        figures["brief"].append(time.perf_counter() - started)
        started = time.perf_counter()
        with (out / "brief.csv").open("w", encoding="utf-8", newline="") as handle:
            handle.writelines(brief_csv_lines(brief))
        figures["csv"].append(time.perf_counter() - started)
        figures["leads"] = brief.lead_count
        small = campaign_launch(campaign=campaign_create(name=f"bench pdf {run}", purpose="email_marketing",
                                                         channel="email", seed=run, target={"postcodes": ["75"]},
                                                         control_share=0.1)).campaign  # fmt: skip
        started = time.perf_counter()
        brief = brief_generate(brief_id=brief_create(campaign=small, start=False).pk)
        figures["pdf_brief"].append(time.perf_counter() - started)
        started = time.perf_counter()
        (out / "brief.pdf").write_bytes(brief_pdf(brief))
        figures["pdf"].append(time.perf_counter() - started)
        figures["pdf_leads"] = brief.lead_count
        Campaign.objects.filter(name__startswith="bench").delete()
    figures["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return figures


def _truth(seeds: int, data_dir: Path) -> dict:
    import datetime as dt

    from django.conf import settings
    from django.utils import timezone

    from campaigns.demo import WINDOW_DAYS, campaign_truth, demo_campaign_run
    from campaigns.models import Campaign
    from cdp.demo.basics import DEFAULT_END_DATE

    settings.UPLIFT_MIN_GROUP = 1  # every comparison gets its interval; the truth decides
    rows = []
    # Each seed its own week after the demo's own campaign (a fortnight after its history), all in the past: the
    # importers refuse receipts from the future.
    first = DEFAULT_END_DATE + dt.timedelta(days=1 + WINDOW_DAYS)
    used = Campaign.objects.filter(name__startswith="Truth seed").count()
    for index in range(seeds):
        seed = 100 + used + index
        starts_on = first + dt.timedelta(days=BENCH_WINDOW_DAYS * (used + index))
        if starts_on + dt.timedelta(days=BENCH_WINDOW_DAYS) > timezone.localdate():
            break
        campaign, result = demo_campaign_run(
            data_dir,
            name=f"Truth seed {seed} {starts_on}",
            seed=seed,
            starts_on=starts_on,
            control_share=0.5,
            days=BENCH_WINDOW_DAYS,
        )
        truth = campaign_truth(campaign, data_dir / "truth" / f"campaign{campaign.pk}_response.csv")
        report = result.report

        segments = [s for s in report["segments"] if s["segment"] in truth]
        rows.append({
            "seed": seed,
            "audience": campaign.audience_size,
            "overall_conversion": [report["overall"]["uplift"]["conversion"]["difference"],
                                   truth["overall"]["conversion_uplift"]],
            "overall_conversion_holds": _holds(truth, report["overall"], "overall", "conversion"),
            "overall_revenue_holds": _holds(truth, report["overall"], "overall", "revenue_per_customer"),
            "segments": len(segments),
            "segments_conversion_hold": sum(_holds(truth, s, s["segment"], "conversion") for s in segments),
            "segments_revenue_hold": sum(_holds(truth, s, s["segment"], "revenue_per_customer") for s in segments),
        })  # fmt: skip
    return {"rows": rows, "offer_response": _offer_response(data_dir)}


def _offer_response(data_dir: Path) -> dict:
    """Propensity fitted after the campaigns: the offer response it learnt from their control groups, per customer,
    against the true uplift of the customer's persona (cdp.demo.campaign.RESPONSES)."""
    import csv
    from collections import Counter, defaultdict

    import numpy as np

    from cdp.demo.campaign import RESPONSES
    from cdp.models import SourceRecord
    from segments.selectors import latest_scores
    from segments.services.scoring import scores_run

    version = scores_run(kinds=["propensity"]).versions[0]
    response = version.metrics.get("offer_response") or {}
    if "not_estimated" in response:
        return {"not_estimated": response["not_estimated"]}
    with (data_dir / "truth" / "persons.csv").open(encoding="utf-8", newline="") as handle:
        persona_of_person = {row["person_id"]: row["persona"] for row in csv.DictReader(handle)}
    with (data_dir / "truth" / "records.csv").open(encoding="utf-8", newline="") as handle:
        person_of = {(row["source"], row["external_id"]): row["person_id"] for row in csv.DictReader(handle)}
    votes: dict = defaultdict(Counter)
    for customer, source, external_id in SourceRecord.objects.values_list("customer_id", "source__key", "external_id"):
        if (person := person_of.get((source, external_id))) is not None:
            votes[customer][persona_of_person[person]] += 1
    persona = {customer: counted.most_common(1)[0][0] for customer, counted in votes.items()}
    scores = latest_scores(list(persona))
    by_persona: dict = defaultdict(list)
    predicted, true = [], []
    for customer, row in scores.items():
        if "offer_uplift" in row and persona[customer] in RESPONSES:
            by_persona[persona[customer]].append(row["offer_uplift"])
            predicted.append(row["offer_uplift"])
            true.append(RESPONSES[persona[customer]].uplift)
    return {
        "version": version.name,
        "members": response["members"],
        "campaigns": len(response["campaigns"]),
        "held_out": response["held_out_uplift"],
        "customers": len(predicted),
        "correlation": float(np.corrcoef(predicted, true)[0, 1]),
        "personas": {
            name: [len(values), float(np.mean(values)), RESPONSES[name].uplift]
            for name, values in sorted(by_persona.items())
        },
    }


TRUTH_KEYS = {"conversion": "conversion_uplift", "revenue_per_customer": "revenue_per_customer_uplift"}


def _holds(truth: dict, block: dict, key: str, metric: str) -> bool:
    ci = block["uplift"][metric]["ci"]
    return truth.get(key) is not None and ci is not None and ci[0] <= truth[key][TRUTH_KEYS[metric]] <= ci[1]


# --- the report ---------------------------------------------------------------------------------------------------
def run(args) -> str:
    lines = ["## Campaigns: launch, briefs and uplift against the truth", ""]
    if not args.campaign_skip_scale:
        url = args.campaign_database_url
        _create_database(url)
        populated = _child(url, "populate", str(args.campaign_customers))
        out = ROOT / "var" / "bench" / "campaign-files"
        out.mkdir(parents=True, exist_ok=True)
        f = _child(url, "measure", str(args.campaign_runs), str(out))
        median = statistics.median
        lines += [
            f"PostgreSQL, {args.campaign_customers:,} targeted customers ({_written(populated)}), "
            f"{args.campaign_runs} runs, medians; audience {f['audience']:,}, brief {f['leads']:,} leads, PDF brief "
            f"{f['pdf_leads']:,} leads; peak memory of the process {f['peak_mb']:.0f} MB.",
            "",
            "| step | time | goal | baseline |",
            "|---|---|---|---|",
            f"| launch (audience by reason, draw, writes) | {median(f['launch']):.1f} s | {GOAL_LAUNCH_S} s | "
            f"{f['baseline_launch']:.0f} s: `consent_allows` per customer, timed on 2,000 |",
            f"| brief of the whole campaign (task) | {median(f['brief']):.1f} s | | |",
            f"| its CSV written | {median(f['csv']):.1f} s | | |",
            f"| brief + CSV | {median(f['brief']) + median(f['csv']):.1f} s | {GOAL_CSV_S} s | |",
            f"| {f['pdf_leads']:,}-lead brief + its PDF | {median(f['pdf_brief']):.1f} s + {median(f['pdf']):.1f} s | "
            f"{GOAL_PDF_S} s | |",
            "",
        ]  # fmt: skip
    if not args.campaign_skip_truth:
        result = _child(args.campaign_demo_url, "truth", str(args.campaign_seeds), str(args.campaign_demo_dir))
        rows = result["rows"]
        lines += [
            f"Demo retailer ({args.campaign_demo_dir.name}), {len(rows)} seeds, control share 0.5, each in its own "
            "week: does the 95% interval of the measured uplift hold the simulated truth?",
            "",
            "| seed | audience | conversion uplift measured / true | overall: conversion, revenue per customer | "
            "segments: conversion, revenue per customer |",
            "|---|---|---|---|---|",
        ]
        for row in rows:
            measured, true = row["overall_conversion"]
            overall = f"{_yes(row['overall_conversion_holds'])}, {_yes(row['overall_revenue_holds'])}"
            n = row["segments"]
            segments = f"{row['segments_conversion_hold']}/{n}, {row['segments_revenue_hold']}/{n}"
            lines.append(
                f"| {row['seed']} | {row['audience']:,} | {measured:+.1%} / {true:+.1%} | {overall} | {segments} |"
            )
        total = sum(r["segments"] for r in rows) * 2
        held = sum(r["segments_conversion_hold"] + r["segments_revenue_hold"] for r in rows)
        lines += [
            "",
            f"Per segment, {held} of {total} intervals hold the truth ({held / max(total, 1):.0%}; 95% expected).",
            "",
        ]
        lines += _offer_lines(result["offer_response"])
    lines.append("")
    lines.append("`benchmarks/run.py campaigns` (options `--campaign-*`).")
    return "\n".join(lines)


def _offer_lines(found: dict) -> list[str]:
    if "not_estimated" in found:
        return [f"Offer response after these campaigns: not estimated ({found['not_estimated']}).", ""]
    held = found["held_out"]
    members = found["members"]
    return [
        f"Offer response (`score propensity` after these campaigns, {found['version']}): learnt from the latest "
        f"{found['campaigns']} campaigns' {members['offered']:,} offered and {members['control']:,} control members; "
        f"predicted uplift of {found['customers']:,} customers against their persona's true uplift: correlation "
        f"{found['correlation']:.2f}. Held-out members predicted to gain most: {held['top_half']:+.1%} observed, "
        f"the others {held['bottom_half']:+.1%}.",
        "",
        "| persona | customers | predicted uplift (mean) | true uplift |",
        "|---|---|---|---|",
        *(f"| {name} | {n:,} | {mean:+.1%} | {true:+.1%} |" for name, (n, mean, true) in found["personas"].items()),
        "",
    ]


def _written(populated: dict) -> str:
    return "written for this run" if populated["populated"] else "written by an earlier run"


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def _create_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0].replace("postgres://", "postgresql://") + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            connection.execute(f'CREATE DATABASE "{name}"')


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    mode = sys.argv[1]
    if mode == "populate":
        result = _populate(int(sys.argv[2]))
    elif mode == "measure":
        result = _measure(int(sys.argv[2]), Path(sys.argv[3]))
    else:
        result = _truth(int(sys.argv[2]), Path(sys.argv[3]))
    print(json.dumps(result))  # noqa: T201 - the parent reads it
