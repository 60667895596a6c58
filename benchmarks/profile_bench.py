"""Server time of the 360° profile page and of customer search on PostgreSQL, with the demo retailer at full size.

1. Reuse the benchmark database when it already holds the demo retailer; otherwise build it with `manage.py demo
   --customers N --data-dir var/bench/demo-N` (about 40 minutes for 200,000 persons on 2 cores). Then migrate it,
   refresh the search keys and VACUUM ANALYZE.
2. In this process, against that database (DEBUG off): a CRM user reads the profile page of random customers who
   have receipts, through Django's test Client (the whole middleware stack and the template, no network), after a
   warm-up; the time of each request is the server's.
3. Search: queries built from random customers (names with one typo, e-mail addresses, phone numbers written the
   national way, external ids and loyalty cards), each through the search page; whether the customer is among the
   results is counted too.
4. The same name searches on SQLite (the embedded default), in a child process, against a copy of the active
   customers kept in var/bench/search-N.sqlite3 (the other paths are single index lookups there too).
5. Report p50 / p95 / p99 / max, the queries per profile page, and the database's size.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

NAME = "profile"
ROOT = Path(__file__).resolve().parent.parent
# Not the import benchmark's database: that one is emptied before each of its runs.
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/clientele_profile_bench"
GOAL_PROFILE_P99_MS = 100
GOAL_SEARCH_P99_MS = 1000
WARM_UP = 20
SEED = 7
BENCH_USER = "bench-crm"
SEARCH_KINDS = ("name with a typo", "e-mail", "phone", "external id")


def add_arguments(parser) -> None:
    if "--customers" not in parser._option_string_actions:  # the import benchmark may have added it
        parser.add_argument("--customers", type=int, default=200_000, help="demo size (200000 gives ~5M lines)")
    parser.add_argument("--profile-samples", type=int, default=500, help="profile pages read (500)")
    parser.add_argument("--search-samples", type=int, default=200, help="searches run, split between kinds (200)")
    parser.add_argument("--profile-database-url", default=os.environ.get("PROFILE_BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument(
        "--sqlite-search",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also time name searches on SQLite (a copy of the customers; a few minutes the first time)",
    )


def _python() -> str:
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def _env(url: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": url, "CELERY_BROKER_URL": "", "PRODUCTION": "false", "DEBUG": "false"}


def _manage(url: str, *args: str) -> None:
    subprocess.run([_python(), "manage.py", *args], cwd=ROOT, env=_env(url), check=True, stdout=subprocess.DEVNULL)


def ensure_database(url: str, customers: int) -> None:
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    _manage(url, "migrate", "--no-input")
    with psycopg.connect(url) as conn:
        has_data = conn.execute("SELECT EXISTS (SELECT 1 FROM cdp_receiptline)").fetchone()[0]
    if not has_data:
        data_dir = ROOT / "var" / "bench" / f"demo-{customers}"
        _manage(url, "demo", "--customers", str(customers), "--data-dir", str(data_dir))


def _setup_django(url: str) -> None:
    os.environ.update(_env(url))
    # With DEBUG off, whitenoise warns that collectstatic has not run: no static file is served here.
    warnings.filterwarnings("ignore", message="No directory at")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cdp.settings")
    import django

    django.setup()


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _prepare() -> dict[str, int]:
    """Search keys filled, the tables vacuumed and analysed; the database's size (estimates for the big tables)."""
    from django.db import connection

    from cdp.models import Customer, Interaction, Receipt, ReceiptLine
    from cdp.profile.search import customers_refresh_search_keys
    from cdp.selectors import estimated_rows

    customers_refresh_search_keys()
    with connection.cursor() as cursor:
        # The state autovacuum brings a table to after big writes (imports, identity resolution, key refreshes):
        # statistics, and a visibility map that lets the name search read its indexes alone.
        cursor.execute("VACUUM ANALYZE")
    sizes = estimated_rows([Receipt, ReceiptLine, Interaction])
    sizes["customers"] = Customer.objects.active().count()
    sizes["merged"] = Customer.objects.filter(status=Customer.Status.MERGED).count()
    return sizes


def _client():
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.test import Client

    user, _ = get_user_model().objects.get_or_create(username=BENCH_USER)
    user.groups.add(Group.objects.get(name="crm"))
    client = Client()
    client.force_login(user)
    return client


def _timed_get(client, url: str, params: dict | None = None) -> tuple[float, str]:
    """(milliseconds, the page)."""
    started = time.perf_counter()
    response = client.get(url, params or {})
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code}")
    return elapsed, response.content.decode()


def measure_profiles(client, samples: int, rng: random.Random) -> tuple[list[float], int, int]:
    """Milliseconds per profile page; the queries of one page; the largest number of receipts among the customers."""
    from django.db import connection
    from django.db.models import Count
    from django.test.utils import CaptureQueriesContext

    from cdp.models import Receipt

    receipts = Receipt.objects.filter(customer__status="active")
    ids = sorted(receipts.values_list("customer_id", flat=True).distinct())
    chosen = rng.sample(ids, min(len(ids), samples + WARM_UP))
    busiest = receipts.values("customer_id").annotate(n=Count("pk")).order_by("-n", "customer_id").first()
    chosen.append(busiest["customer_id"])  # the longest history is always among them
    timings = [_timed_get(client, f"/customers/{customer_id}/")[0] for customer_id in chosen]
    with CaptureQueriesContext(connection) as queries:
        client.get(f"/customers/{chosen[-1]}/")
    return timings[WARM_UP:], len(queries.captured_queries), busiest["n"]


def _typo(word: str, rng: random.Random) -> str:
    """One edit: a letter replaced, dropped, doubled or swapped with the next."""
    position = rng.randrange(len(word) - 1)
    letter = rng.choice("abcdefghijklmnopqrstuvwxyz")
    return rng.choice(
        (
            word[:position] + letter + word[position + 1 :],
            word[:position] + word[position + 1 :],
            word[:position] + word[position] + word[position:],
            word[:position] + word[position + 1] + word[position] + word[position + 2 :],
        )
    )


def _national(phone: str) -> str:
    """+33612345678 -> "06 12 34 56 78", the way a person types it."""
    digits = "0" + phone[3:] if phone.startswith("+33") else phone
    return " ".join(digits[i : i + 2] for i in range(0, len(digits), 2))


def _sample(queryset, count: int, rng: random.Random) -> list:
    """The primary keys of `count` rows drawn with the seeded generator, so that a run can be repeated."""
    ids = list(queryset.order_by("pk").values_list("pk", flat=True))
    return rng.sample(ids, min(count, len(ids)))


def name_queries(count: int, rng: random.Random) -> list[tuple[str, str, object]]:
    """("name with a typo", first name and last name with one typo, customer id) of random active customers."""
    from cdp.models import Customer

    named = Customer.objects.active().exclude(first_name="").filter(last_name__regex=r"^\w{4,}$")
    people = named.filter(pk__in=_sample(named, count, rng)).order_by("pk")
    rows = people.values_list("pk", "first_name", "last_name")
    return [("name with a typo", f"{first} {_typo(last, rng)}", pk) for pk, first, last in rows]


def search_queries(count: int, rng: random.Random) -> list[tuple[str, str, object]]:
    """(kind, query, customer id expected among the results), split evenly between the kinds."""
    from cdp.models import Identifier

    each = max(1, count // len(SEARCH_KINDS))
    queries = name_queries(each, rng)
    for kind, identifier_kinds, shown in (
        ("e-mail", [Identifier.Kind.EMAIL], str),
        ("phone", [Identifier.Kind.PHONE], _national),
        ("external id", [Identifier.Kind.EXTERNAL_ID, Identifier.Kind.LOYALTY_CARD], lambda v: v.rpartition(":")[2]),
    ):
        identifiers = Identifier.objects.filter(kind__in=identifier_kinds, customer__status="active")
        rows = identifiers.filter(pk__in=_sample(identifiers, each, rng)).order_by("pk")
        queries += [(kind, shown(value), pk) for pk, value in rows.values_list("customer_id", "value")]
    rng.shuffle(queries)
    return queries


def measure_searches(client, queries: list[tuple[str, str, object]]) -> dict[str, tuple[list[float], int]]:
    """Milliseconds per search page and how many found their customer, by kind."""
    for _, query, _ in queries[:WARM_UP]:
        client.get("/customers/", {"q": query})
    results: dict[str, tuple[list[float], int]] = {kind: ([], 0) for kind in SEARCH_KINDS}
    for kind, query, expected in queries:
        elapsed, page = _timed_get(client, "/customers/", {"q": query})
        found = f'data-customer="{expected}"' in page
        timings, hits = results[kind]
        timings.append(elapsed)
        results[kind] = (timings, hits + found)
    return results


def _row(label: str, values: list[float], goal: str) -> str:
    return (
        f"| {label} | {len(values)} | {statistics.median(values):.1f} | {_percentile(values, 0.95):.1f} "
        f"| {_percentile(values, 0.99):.1f} | {max(values):.1f} | {goal} |"
    )


def report(
    args, sizes: dict[str, int], profile: tuple[list[float], int, int], searches: dict, sqlite: dict | None
) -> str:
    timings, queries, busiest = profile
    every_search = [t for values, _ in searches.values() for t in values]
    lines = [
        "## 360° profile and customer search (PostgreSQL)",
        "",
        f"Demo retailer of {args.customers:,} persons: {sizes['customers']:,} active customers (and "
        f"{sizes['merged']:,} merged into them), ≈ {sizes.get('cdp_receipt', 0):,} receipts, "
        f"≈ {sizes.get('cdp_receiptline', 0):,} receipt lines, ≈ {sizes.get('cdp_interaction', 0):,} interactions. "
        "Server time per request through Django's test Client (middleware, view, template; no network), "
        f"after {WARM_UP} warm-up requests; DEBUG off.",
        "",
        "| request | n | p50 ms | p95 ms | p99 ms | max ms | goal |",
        "|---|---|---|---|---|---|---|",
        _row("profile page, random customers with receipts", timings, f"p99 < {GOAL_PROFILE_P99_MS} ms"),
        _row("search page, all queries", every_search, f"p99 < {GOAL_SEARCH_P99_MS} ms"),
    ]
    for kind, (values, found) in searches.items():
        if values:
            lines.append(_row(f"search: {kind} (customer found {found}/{len(values)})", values, ""))
    if sqlite:
        found, timings = sqlite["found"], sqlite["timings"]
        label = f"SQLite ({sqlite['customers']:,} customers): name with a typo (customer found {found}/{len(timings)})"
        lines.append(_row(label, timings, f"p99 < {GOAL_SEARCH_P99_MS} ms"))
    lines += [
        "",
        f"A profile page runs {queries} queries whatever the history (the busiest customer, {busiest:,} receipts, "
        "is among those measured).",
        "",
        f"Command: `.venv/bin/python benchmarks/run.py profile --customers {args.customers} --profile-samples "
        f"{args.profile_samples} --search-samples {args.search_samples}`; the database is "
        f"`PROFILE_BENCH_DATABASE_URL` (default `{DEFAULT_URL}`), built by `manage.py demo` when empty.",
    ]
    return "\n".join(lines)


def run(args) -> str:
    url = args.profile_database_url
    ensure_database(url, args.customers)
    _setup_django(url)
    rng = random.Random(SEED)
    sizes = _prepare()
    client = _client()
    profile = measure_profiles(client, args.profile_samples, rng)
    searches = measure_searches(client, search_queries(args.search_samples, rng))
    sqlite = (
        sqlite_search(url, args.customers, args.search_samples // len(SEARCH_KINDS)) if args.sqlite_search else None
    )
    return report(args, sizes, profile, searches, sqlite)


def sqlite_search(source_url: str, customers: int, count: int) -> dict:
    """Name searches on SQLite, timed in a child process (this one's Django is bound to PostgreSQL)."""
    path = ROOT / "var" / "bench" / f"search-{customers}.sqlite3"
    command = [_python(), str(Path(__file__).resolve()), "sqlite-search", str(path), source_url, str(count)]
    env = _env(f"sqlite:///{path}")
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"the SQLite search benchmark failed: {result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _copy_customers(source_url: str) -> None:
    """The active customers of the PostgreSQL database, into this (empty) SQLite one."""
    import psycopg

    from cdp.models import Customer

    columns = ("id", "first_name", "last_name", "email", "phone", "postcode", "city", "country")
    with psycopg.connect(source_url) as conn, conn.cursor(name="customers") as cursor:
        cursor.execute(f"SELECT {', '.join(columns)} FROM cdp_customer WHERE status = 'active'")
        while rows := cursor.fetchmany(5000):
            Customer.objects.bulk_create([Customer(**dict(zip(columns, row, strict=True))) for row in rows])


def _sqlite_child(path: str, source_url: str, count: int) -> None:
    _setup_django(f"sqlite:///{path}")
    from django.core.management import call_command

    from cdp.models import Customer
    from cdp.profile.search import customers_refresh_search_keys

    call_command("migrate", verbosity=0)
    if not Customer.objects.exists():
        _copy_customers(source_url)
    customers_refresh_search_keys()
    queries = name_queries(count, random.Random(SEED))
    timings, found = measure_searches(_client(), queries)["name with a typo"]
    body = {"customers": Customer.objects.count(), "timings": timings, "found": found}
    print(json.dumps(body))  # noqa: T201 - read by the parent process


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    if sys.argv[1:2] == ["sqlite-search"]:
        _sqlite_child(sys.argv[2], sys.argv[3], int(sys.argv[4]))
