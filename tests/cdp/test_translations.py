"""The French catalogue: every string the product marks is translated, the committed .mo is the .po compiled, and
the pages read in French with the French formats."""

from __future__ import annotations

import ast
import gettext
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from django.utils import translation

from cdp.money import format_minor
from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "locale" / "fr" / "LC_MESSAGES"
ENTRY = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d\])?) (".*")$')


def po_entries(text: str) -> list[dict[str, str]]:
    """The entries of a .po file: msgctxt, msgid, msgid_plural and msgstr[...] as plain strings (no header)."""
    entries = []
    for block in text.strip().split("\n\n"):
        fields: dict[str, list[str]] = {}
        key = None
        for line in block.splitlines():
            if match := ENTRY.match(line):
                key = match.group(1)
                fields[key] = [match.group(2)]
            elif line.startswith('"') and key:
                fields[key].append(line)
        entry = {name: "".join(ast.literal_eval(part) for part in parts) for name, parts in fields.items()}
        if entry.get("msgid"):
            entries.append(entry)
    return entries


def test_every_marked_string_is_translated_and_the_mo_is_the_po_compiled():
    # given the committed catalogue
    entries = po_entries((CATALOGUE / "django.po").read_text(encoding="utf-8"))
    with (CATALOGUE / "django.mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    # then every entry has its French, none is fuzzy, and the .mo says the same as the .po
    assert entries
    assert "#, fuzzy" not in (CATALOGUE / "django.po").read_text(encoding="utf-8")
    for entry in entries:
        context = entry.get("msgctxt")
        if "msgid_plural" in entry:
            assert entry["msgstr[0]"], entry["msgid"]
            assert entry["msgstr[1]"], entry["msgid"]
            got = compiled.npgettext(context, entry["msgid"], entry["msgid_plural"], 2) if context else None
            got = got or compiled.ngettext(entry["msgid"], entry["msgid_plural"], 2)
            assert got == entry["msgstr[1]"], entry["msgid"]
        else:
            assert entry["msgstr"], entry["msgid"]
            got = compiled.pgettext(context, entry["msgid"]) if context else compiled.gettext(entry["msgid"])
            assert got == entry["msgstr"], entry["msgid"]


def test_the_catalogue_holds_every_string_the_code_marks(tmp_path):
    """makemessages (GNU gettext, which `make test` installs) finds no string the committed catalogue lacks."""
    if not (shutil.which("xgettext") and shutil.which("msgmerge")):
        if IN_CI:
            pytest.fail("GNU gettext is not installed; under CI the catalogue must be checked")
        pytest.skip("GNU gettext is not installed (make test installs it as root)")
    po = CATALOGUE / "django.po"
    committed = po.read_text(encoding="utf-8")
    try:
        subprocess.run(
            [sys.executable, "manage.py", "makemessages", "-l", "fr", "--no-obsolete", "--no-location"]
            + [
                arg
                for folder in (".venv", "tests", "benchmarks", "staticfiles", "var")
                for arg in ("--ignore", f"{folder}/*")
            ],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        extracted = po.read_text(encoding="utf-8")
    finally:
        po.write_text(committed, encoding="utf-8")
    wanted = {(e.get("msgctxt"), e["msgid"]) for e in po_entries(extracted)}
    have = {(e.get("msgctxt"), e["msgid"]) for e in po_entries(committed)}
    assert wanted - have == set(), "run `make messages` and translate the new strings"
    untranslated = [e["msgid"] for e in po_entries(extracted) if not (e.get("msgstr") or e.get("msgstr[0]"))]
    assert untranslated == []


def test_french_money_and_dates_use_non_breaking_spaces_and_one_format():
    import datetime as dt

    from django.utils.formats import date_format

    with translation.override("fr"):
        assert format_minor(449393, "EUR") == "4\xa0493,93\xa0€"
        assert date_format(dt.date(2013, 1, 14), "DATE_FORMAT") == "14/01/2013"
        assert date_format(dt.date(2013, 1, 14), "SHORT_DATE_FORMAT") == "14/01/2013"
        moment = dt.datetime(2024, 2, 10, 15, 29, tzinfo=dt.UTC)
        assert date_format(moment, "DATETIME_FORMAT") == date_format(moment, "SHORT_DATETIME_FORMAT")
        assert date_format(moment, "DATETIME_FORMAT") == "10/02/2024 15:29"  # as given: no time zone applied
    with translation.override("en"):
        assert date_format(dt.date(2013, 1, 14), "DATE_FORMAT") == "14 Jan 2013"
        assert date_format(dt.date(2013, 1, 14), "SHORT_DATE_FORMAT") == "14 Jan 2013"


def test_the_retailer_language_is_french_by_default_and_english_is_offered(settings):
    from cdp import settings as module

    assert module.LANGUAGE_CODE == "fr"
    assert [code for code, _ in module.LANGUAGES] == ["fr", "en"]
