"""The probabilistic model (splink, Fellegi-Sunter): comparisons, blocking rules, EM training and scoring on DuckDB.

1. Comparisons: given and family names together (equal names split by how many records carry the name, swapped
   names, given names the records show to be aliases, typos), date of birth (typo and day/month swap tolerant),
   e-mail (whole address, then a distinctive local part), phone (exact, one digit apart), location (address key,
   postcode, city, postcode area), gender, and the year in an e-mail address against the birth year.
2. Blocking rules generate candidate pairs from cheap keys (e-mail, phone, phonetic names with birth date or
   postcode, address key with postcode or family name, a distinctive e-mail local part, swapped names, a rare
   full name on its own), capped on common keys so that pairs grow near-linearly with records.
3. u probabilities are estimated by random sampling, m probabilities by expectation maximisation over several
   blocking rules, and the prior by EM over all candidate pairs; u is then corrected for the matches the random
   sample held (``correct_u_for_matches``) and the pairs scored again: no weight is set by hand.

The same settings run on Spark (splink's SparkAPI) when one machine is no longer enough.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from cdp.identity.features import Features

# Splink is imported where a model is built or run, not with this module: every Django process imports this module
# (the importers link customers), few of them match records, and splink takes a tenth of a second to import.
if TYPE_CHECKING:
    import splink.comparison_level_library as cll
    from splink import Linker, SettingsCreator

FEATURE_COLUMNS = (
    "fn",
    "ln",
    "fn_ph",
    "ln_ph",
    "fn_initials",
    "dob",
    "dob_year",
    "dob_swapped",
    "email",
    "email_local",
    "email_residue",
    "email_year",
    "dob_yy",
    "phone",
    "addr",
    "addr_number",
    "postcode",
    "city",
    "gender",
    "postcode_area",
    "fn_aliases",
    "name_freq",
    "name_rare",
    "name_capped",
    "email_mailbox",
)

# Random pairs sampled to estimate u.
U_SAMPLE = 2e6


def _null(column: str) -> cll.CustomLevel:
    import splink.comparison_level_library as cll

    return cll.CustomLevel(f'"{column}_l" IS NULL OR "{column}_r" IS NULL', f"{column} missing").configure(
        is_null_level=True
    )


def comparisons() -> list:
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    jw = "jaro_winkler_similarity"
    short_form = (
        '"fn_l" = "fn_initials_r" OR "fn_r" = "fn_initials_l" '
        'OR (length("fn_l") >= 3 AND starts_with("fn_r", "fn_l")) '
        'OR (length("fn_r") >= 3 AND starts_with("fn_l", "fn_r"))'
    )
    # Given and family names in one comparison: people swap them, and family members share the family name, so the
    # two are not independent (a shared family name with another given name is a relative as often as a nickname).
    name = cl.CustomComparison(
        output_column_name="name",
        comparison_levels=[
            cll.CustomLevel(
                '"fn_l" IS NULL OR "fn_r" IS NULL OR "ln_l" IS NULL OR "ln_r" IS NULL', "a name missing"
            ).configure(is_null_level=True),
            # how much a shared full name says depends on how many records carry it
            cll.CustomLevel(
                '"fn_l" = "fn_r" AND "ln_l" = "ln_r" AND "name_freq_l" = \'1\'', "both names equal, a rare name"
            ),
            cll.CustomLevel(
                '"fn_l" = "fn_r" AND "ln_l" = "ln_r" AND "name_freq_l" = \'2\'', "both names equal, an uncommon name"
            ),
            cll.CustomLevel(
                '"fn_l" = "fn_r" AND "ln_l" = "ln_r" AND "name_freq_l" = \'3\'', "both names equal, a common name"
            ),
            cll.CustomLevel('"fn_l" = "fn_r" AND "ln_l" = "ln_r"', "both names equal, a very common name"),
            cll.CustomLevel('"fn_l" = "ln_r" AND "ln_l" = "fn_r"', "names swapped"),
            cll.CustomLevel(
                '"ln_l" = "ln_r" AND contains("fn_aliases_l", \'|\' || "fn_r" || \'|\')',
                "given names are aliases, same family name",
            ),
            cll.CustomLevel(f'"ln_l" = "ln_r" AND ({short_form} OR {jw}("fn_l", "fn_r") >= 0.92)', "given name close"),
            cll.CustomLevel(f'"fn_l" = "fn_r" AND {jw}("ln_l", "ln_r") >= 0.92', "family name close"),
            cll.CustomLevel(
                f'({jw}("fn_l", "fn_r") >= 0.85 AND {jw}("ln_l", "ln_r") >= 0.85) '
                f'OR ({jw}("fn_l", "ln_r") >= 0.9 AND {jw}("ln_l", "fn_r") >= 0.9)',
                "both names close",
            ),
            cll.CustomLevel('"ln_l" = "ln_r"', "same family name, other given name"),
            cll.CustomLevel('"fn_l" = "fn_r"', "same given name, other family name"),
            cll.ElseLevel(),
        ],
    )
    birth = cl.CustomComparison(
        output_column_name="birth_date",
        comparison_levels=[
            _null("dob"),
            cll.ExactMatchLevel("dob"),
            cll.Or(
                cll.CustomLevel('"dob_swapped_l" = "dob_r"'),
                cll.DamerauLevenshteinLevel("dob", 1),
            ).configure(label_for_charts="one slip (digit, transposition, day/month swap)"),
            cll.ExactMatchLevel("dob_year"),
            cll.ElseLevel(),
        ],
    )
    email = cl.CustomComparison(
        output_column_name="email",
        comparison_levels=[
            _null("email"),
            cll.ExactMatchLevel("email"),
            cll.CustomLevel(
                '"email_local_l" = "email_local_r" '
                'AND length("email_residue_l") >= 3 AND length("email_residue_r") >= 3',
                "same local part, beyond the names",
            ),
            cll.ElseLevel(),
        ],
    )
    phone = cl.CustomComparison(
        output_column_name="phone",
        comparison_levels=[
            _null("phone"),
            cll.ExactMatchLevel("phone"),
            cll.DamerauLevenshteinLevel("phone", 1).configure(label_for_charts="one digit apart"),
            cll.ElseLevel(),
        ],
    )
    location = cl.CustomComparison(
        output_column_name="location",
        comparison_levels=[
            cll.CustomLevel(
                '("addr_l" IS NULL OR "addr_r" IS NULL) AND ("postcode_l" IS NULL OR "postcode_r" IS NULL) '
                'AND ("city_l" IS NULL OR "city_r" IS NULL)',
                "location missing",
            ).configure(is_null_level=True),
            cll.And(cll.ExactMatchLevel("addr"), cll.ExactMatchLevel("postcode")).configure(
                label_for_charts="same address and postcode"
            ),
            cll.And(
                cll.ExactMatchLevel("addr_number"),
                cll.JaroWinklerLevel("addr", 0.9),
                cll.DamerauLevenshteinLevel("postcode", 1),
            ).configure(label_for_charts="same house number, similar street, postcode within one slip"),
            cll.ExactMatchLevel("postcode"),
            cll.ExactMatchLevel("city"),
            cll.ExactMatchLevel("postcode_area").configure(label_for_charts="same postcode area"),
            cll.ElseLevel(),
        ],
    )
    gender = cl.CustomComparison(
        output_column_name="gender",
        comparison_levels=[_null("gender"), cll.ExactMatchLevel("gender"), cll.ElseLevel()],
    )
    # Many people put their year of birth in their e-mail address: evidence when only one side has a birth date.
    applicable = (
        '("dob_l" IS NULL AND "email_year_l" IS NOT NULL AND "dob_yy_r" IS NOT NULL) '
        'OR ("dob_r" IS NULL AND "email_year_r" IS NOT NULL AND "dob_yy_l" IS NOT NULL)'
    )
    email_year = cl.CustomComparison(
        output_column_name="email_year",
        comparison_levels=[
            cll.CustomLevel(f"NOT ({applicable})", "not applicable").configure(is_null_level=True),
            cll.CustomLevel(
                '("dob_l" IS NULL AND "email_year_l" = "dob_yy_r") '
                'OR ("dob_r" IS NULL AND "email_year_r" = "dob_yy_l")',
                "year in the e-mail is the birth year",
            ),
            cll.ElseLevel(),
        ],
    )
    return [name, birth, email, phone, location, gender, email_year]


def blocking_rules() -> list:
    from splink import block_on

    return [
        block_on("email"),
        block_on("phone"),
        block_on("ln_ph", "dob"),
        block_on("fn_ph", "dob"),
        block_on("ln_ph", "fn_ph", "postcode"),
        block_on("addr", "postcode"),
        # the same distinctive local part at another provider ("anthony67@" here and there)
        block_on("email_mailbox"),
        # the same names and birth year, for names that are not common (common ones would grow pairs quadratically)
        block_on("name_capped", "dob_year"),
        # swapped names, only where the birth year or the postcode agrees: swapped names alone grow quadratically
        "l.fn = r.ln AND l.ln = r.fn AND (l.dob_year = r.dob_year OR l.postcode = r.postcode)",
        block_on("dob_swapped", "ln_ph"),
        # the same address and family name whatever the postcode (a slip, a cedex)
        block_on("addr", "ln_ph"),
        # a rare full name on its own (name_rare is only set for names held by a few records)
        block_on("name_rare"),
    ]


def settings() -> SettingsCreator:
    from splink import SettingsCreator

    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=comparisons(),
        blocking_rules_to_generate_predictions=blocking_rules(),
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=True,
        em_convergence=0.001,
        max_iterations=20,
    )


def make_linker(table: pa.Table, model: dict[str, Any] | None = None) -> Linker:
    """A linker over a pyarrow table of features (unique_id and FEATURE_COLUMNS), untrained or from a saved model."""
    from splink import DuckDBAPI, Linker

    db_api = DuckDBAPI()
    frame = db_api.register(table, table_name="records")
    return Linker(frame, model if model is not None else settings(), log_level=logging.ERROR)


def train(linker: Linker, *, seed: int = 42, max_pairs: float = U_SAMPLE) -> dict[str, Any]:
    """Estimate u by random sampling and m by EM over three blocking rules; returns the trained model as a dict.

    Each EM session leaves out the comparisons its blocking rule fixes, so every comparison is trained by at least
    one session. The prior is estimated afterwards (`estimate_prior`), over all candidate pairs.
    """
    from splink import block_on

    training = linker.training
    with _quiet():
        training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed)
        _bound_unseen_u(linker, max_pairs)
        for rule in (block_on("ln_ph", "dob"), block_on("email"), block_on("addr", "postcode")):
            training.estimate_parameters_using_expectation_maximisation(rule)
    return linker.misc.save_model_to_json()


def _bound_unseen_u(linker: Linker, sampled: float) -> None:
    """A level no random pair fell in (aliases, a phone one digit apart) is rarer than one pair in the sample: use
    that bound as its u, so the level keeps a (cautious) weight instead of none."""
    for comparison in linker._settings_obj.comparisons:
        for level in comparison.comparison_levels:
            if not level.is_null_level and not level._u_is_trained:
                level.u_probability = 1 / sampled


def estimate_prior(bayes_factors_log2: list[float], n_records: int, *, iterations: int = 200) -> float:
    """The probability that two random records match, by EM over every candidate pair (m and u fixed).

    The expected number of matches among candidates is the sum of their match probabilities given the prior; the
    prior is that number over all possible pairs. Pairs left out by blocking are taken as non-matches.
    """
    total = n_records * (n_records - 1) / 2
    if total <= 0 or not bayes_factors_log2:
        return 1e-6
    weights = Counter(round(min(w, 200.0), 2) for w in bayes_factors_log2)  # a few thousand distinct values
    prior = 1e-4
    for _ in range(iterations):
        odds = prior / (1 - prior)
        expected = sum(count / (1 + 1 / (odds * 2.0**w)) for w, count in weights.items())
        updated = min(max(expected / total, 1e-12), 0.5)
        if abs(updated - prior) <= prior * 1e-6:
            return updated
        prior = updated
    return prior


# A level's u may not drop below this share of its sampled value (the correction below subtracts an estimate).
U_CORRECTION_FLOOR = 0.1


def correct_u_for_matches(model: dict[str, Any], prior: float, *, sampled: float = U_SAMPLE) -> dict[str, Any]:
    """u probabilities without the matches that random sampling drew along with the non-matches.

    Random pairs are nearly all non-matches, so their level frequencies estimate u; but for a level matches fall in
    far more often than non-matches (a rare full name, one e-mail address), the few matches among them are most of
    what was counted: u(sampled) = (1 - prior) * u + prior * m. Solving for u, with a floor against noise in the
    estimates and at the resolution of the sample (one pair in `sampled`), gives such levels their due weight.
    """
    model = {**model, "comparisons": [dict(c) for c in model["comparisons"]]}
    for comparison in model["comparisons"]:
        levels = []
        for level in comparison["comparison_levels"]:
            level = dict(level)
            m, u = level.get("m_probability"), level.get("u_probability")
            if not level.get("is_null_level") and isinstance(m, float) and isinstance(u, float):
                corrected = max(u - prior * m, u * U_CORRECTION_FLOOR, 1 / sampled)
                level["u_probability"] = min(u, corrected) / (1 - prior)
            levels.append(level)
        comparison["comparison_levels"] = levels
    return model


def probability(bayes_factor_log2: float, prior: float) -> float:
    weight = bayes_factor_log2 + math.log2(prior / (1 - prior))
    if weight > 60:
        return 1.0
    return 1 / (1 + 2.0 ** (-weight))


@dataclass(frozen=True)
class ScoredPair:
    left: int
    right: int
    bayes_factor_log2: float
    levels: dict[str, str]  # comparison -> label of the level the pair fell in


def level_labels(linker: Linker) -> dict[str, dict[float, str]]:
    """For each comparison, the label of its levels by their match weight (what splink's mw_ columns hold)."""
    labels: dict[str, dict[float, str]] = {}
    for comparison in linker._settings_obj.comparisons:
        by_weight: dict[float, str] = {}
        for level in comparison.comparison_levels:
            weight = 0.0 if level.is_null_level else level._match_weight
            if weight is not None:  # an untrained level never matches anything
                by_weight.setdefault(round(weight, 6), level.label_for_charts)
        labels[comparison.output_column_name] = by_weight
    return labels


def _scored(linker: Linker, frame, prior_used: float) -> list[ScoredPair]:
    table = frame.as_pyarrow_table()
    labels = level_labels(linker)
    offset = math.log2(prior_used / (1 - prior_used))
    present = set(table.column_names)
    columns = {name: table.column(f"mw_{name}").to_pylist() for name in labels if f"mw_{name}" in present}
    lefts = table.column("unique_id_l").to_pylist()
    rights = table.column("unique_id_r").to_pylist()
    weights = table.column("match_weight").to_pylist()
    pairs = []
    for index, (left, right, weight) in enumerate(zip(lefts, rights, weights, strict=True)):
        levels = {name: labels[name].get(round(values[index], 6), "") for name, values in columns.items()}
        pairs.append(ScoredPair(min(left, right), max(left, right), weight - offset, levels))
    return pairs


def predict_all(linker: Linker) -> list[ScoredPair]:
    """Every candidate pair the blocking rules generate, scored (Bayes factors, independent of the prior)."""
    prior_used = linker._settings_obj._probability_two_random_records_match
    with _quiet():
        frame = linker.inference.predict()
    return _scored(linker, frame, prior_used)


def predict_incremental(model: dict[str, Any], new: pa.Table, existing: pa.Table) -> list[ScoredPair]:
    """Candidate pairs among new records and between new and existing ones, scored with a trained model."""
    from splink import DuckDBAPI, Linker

    db_api = DuckDBAPI()
    new_frame = db_api.register(new, table_name="new_records")
    frames = [new_frame]
    existing_frame = None
    if existing.num_rows:
        existing_frame = db_api.register(existing, table_name="existing_records")
        frames.append(existing_frame)
    linker = Linker(frames[0], model, log_level=logging.ERROR)
    prior_used = linker._settings_obj._probability_two_random_records_match
    pairs: list[ScoredPair] = []
    with _quiet():
        pairs.extend(_scored(linker, linker.inference.predict_within(new_frame), prior_used))
        if existing_frame is not None:
            found = linker.inference.predict_between(new_frame, existing_frame, link_type="link_only")
            pairs.extend(_scored(linker, found, prior_used))
    return pairs


class _quiet:
    """Splink logs training progress at INFO and warns about levels a session cannot train: keep them off the log."""

    def __enter__(self) -> None:
        self._level = logging.getLogger("splink").level
        logging.getLogger("splink").setLevel(logging.ERROR)

    def __exit__(self, *exc) -> None:
        logging.getLogger("splink").setLevel(self._level)


def model_summary(model: dict[str, Any]) -> dict[str, Any]:
    """Per comparison level, the trained m and u probabilities and the match weight (log2 m/u)."""
    summary: dict[str, Any] = {}
    for comparison in model["comparisons"]:
        levels = []
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            m, u = level.get("m_probability"), level.get("u_probability")
            weight = round(math.log2(m / u), 2) if m and u else None
            levels.append({"level": level.get("label_for_charts"), "m": m, "u": u, "weight": weight})
        summary[comparison["output_column_name"]] = levels
    return summary


def features_table(rows: list[tuple[int, Features]]) -> pa.Table:
    """A pyarrow table of (unique_id, features); empty strings become nulls (missing values)."""
    columns: dict[str, list] = {"unique_id": [record_id for record_id, _ in rows]}
    for name in FEATURE_COLUMNS:
        columns[name] = [getattr(features, name) or None for _, features in rows]
    schema = pa.schema([("unique_id", pa.int64()), *((name, pa.string()) for name in FEATURE_COLUMNS)])
    return pa.table(columns, schema=schema)
