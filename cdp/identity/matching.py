"""The probabilistic model (splink, Fellegi-Sunter): comparisons, blocking rules, EM training and scoring on DuckDB.

1. Comparisons: given and family names together (equal names split by how many records carry the name, swapped
   names, given names the records show to be aliases, typos: close spellings or one typing slip), date of birth
   (exact; day and month or two digits swapped; one digit wrong), e-mail (whole address, then a distinctive local
   part; a local part that only spells the names is no evidence either way), phone (exact, one digit apart),
   location (address key, postcode, city, postcode area), gender, and the year in an e-mail address against the
   birth year.
2. Blocking rules generate candidate pairs from cheap keys (e-mail, phone, phonetic names with birth date or
   postcode, address key with postcode, family name or given name, a distinctive e-mail local part, swapped names,
   a rare full name on its own), capped on common keys so that pairs grow near-linearly with records.
3. u probabilities are estimated by random sampling, m probabilities by expectation maximisation over blocking
   rules chosen from the columns the records fill (``plan_training``: a file without e-mails or phones trains on
   names, birth dates and addresses), and the prior by EM over all candidate pairs; u is then corrected for the
   matches the random sample held (``correct_u_for_matches``) and the pairs scored again. A comparison the data
   cannot train keeps documented default m values (``DEFAULT_M``); data too small to train any session leave the
   linking to the deterministic rules.

The same settings run on Spark (splink's SparkAPI) when one machine is no longer enough.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

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

    def close(left: str, right: str, similarity: float) -> str:
        # similar spellings, or one typing slip: Jaro-Winkler is forgiving of a slip at the end of a name, not of one
        # in its second letter ("Mprel" / "Morel" 0.88), which Damerau-Levenshtein sees as the one slip it is
        return (
            f'({jw}("{left}_l", "{right}_r") >= {similarity} OR (length("{left}_l") >= 4 AND length("{right}_r") >= 4 '
            f'AND damerau_levenshtein("{left}_l", "{right}_r") <= 1))'
        )

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
            # A session blocking on the phonetic keys sees names that sound alike only: it must not train this
            # comparison, and naming the keys here is how splink knows (a name of no letters has no key either).
            cll.CustomLevel(
                '"fn_l" IS NULL OR "fn_r" IS NULL OR "ln_l" IS NULL OR "ln_r" IS NULL '
                'OR "fn_ph_l" IS NULL OR "fn_ph_r" IS NULL OR "ln_ph_l" IS NULL OR "ln_ph_r" IS NULL',
                "a name missing",
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
            cll.CustomLevel(f'"ln_l" = "ln_r" AND ({short_form} OR {close("fn", "fn", 0.92)})', "given name close"),
            cll.CustomLevel(f'"fn_l" = "fn_r" AND {close("ln", "ln", 0.92)}', "family name close"),
            cll.CustomLevel(
                f"({close('fn', 'fn', 0.85)} AND {close('ln', 'ln', 0.85)}) "
                f"OR ({close('fn', 'ln', 0.9)} AND {close('ln', 'fn', 0.9)})",
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
            # A swap (day and month, or two adjacent digits) keeps every digit: random pairs fall in it far more
            # rarely than in one digit wrong (the same day and month ten years apart), so the two weigh apart.
            cll.CustomLevel(
                '"dob_swapped_l" = "dob_r" '
                'OR (damerau_levenshtein("dob_l", "dob_r") = 1 AND levenshtein("dob_l", "dob_r") = 2)',
                "day and month swapped, or two adjacent digits",
            ),
            cll.DamerauLevenshteinLevel("dob", 1).configure(label_for_charts="one digit wrong"),
            cll.ExactMatchLevel("dob_year"),
            cll.ElseLevel(),
        ],
    )
    email = cl.CustomComparison(
        output_column_name="email",
        comparison_levels=[
            # The same mailbox name at another provider, when it only spells the names ("anne.roux@" here and there),
            # says nothing the name comparison has not said: namesakes write it too. Weighed as no evidence (rather
            # than as two different addresses, or as a shared one).
            cll.CustomLevel(
                '"email_l" IS NULL OR "email_r" IS NULL OR ("email_l" <> "email_r" '
                'AND "email_local_l" = "email_local_r" '
                'AND (coalesce(length("email_residue_l"), 0) < 3 OR coalesce(length("email_residue_r"), 0) < 3))',
                "email missing, or the same mailbox name spelling only the names",
            ).configure(is_null_level=True),
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
        # the same names in the same town where a postcode is missing (files that give a town but no postcode);
        # with both postcodes the names and postcode rule decides, and a big town would make pairs grow fast
        "l.ln_ph = r.ln_ph AND l.fn_ph = r.fn_ph AND l.city = r.city AND (l.postcode IS NULL OR r.postcode IS NULL)",
        block_on("addr", "postcode"),
        # the same house number and postcode with one of the names: a street or the other name mistyped
        block_on("addr_number", "postcode", "ln_ph"),
        block_on("addr_number", "postcode", "fn_ph"),
        # the same distinctive local part at another provider ("anthony67@" here and there)
        block_on("email_mailbox"),
        # the same names and birth year, for names that are not common (common ones would grow pairs quadratically)
        block_on("name_capped", "dob_year"),
        # swapped names (as they sound: one of them may be mistyped too), only where the birth year or the postcode
        # agrees: swapped names alone grow quadratically
        "l.fn_ph = r.ln_ph AND l.ln_ph = r.fn_ph AND (l.dob_year = r.dob_year OR l.postcode = r.postcode)",
        block_on("dob_swapped", "ln_ph"),
        # the same address and family name whatever the postcode (a slip, a cedex)
        block_on("addr", "ln_ph"),
        # the same address and given name: the family name mistyped beyond its sound ("Hubdrt", "Prtit")
        block_on("addr", "fn_ph"),
        # a rare full name on its own (name_rare is only set for names held by a few records)
        block_on("name_rare"),
    ]


def settings(only: Sequence[str] | None = None) -> SettingsCreator:
    """The model's settings; `only` keeps the comparisons of those names (the ones the records have data for)."""
    from splink import SettingsCreator

    chosen = comparisons()
    if only is not None:
        chosen = [c for c in chosen if c.get_comparison("duckdb").output_column_name in only]
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=chosen,
        blocking_rules_to_generate_predictions=blocking_rules(),
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=True,
        em_convergence=0.001,
        max_iterations=20,
    )


def make_linker(table: pa.Table, model: dict[str, Any] | None = None, *, plan: TrainingPlan | None = None) -> Linker:
    """A linker over a pyarrow table of features (unique_id and FEATURE_COLUMNS): from a saved model, or untrained
    with the comparisons the plan found data for (a comparison no record can fill would only learn noise, and a
    model reused at import must not weigh values it never saw)."""
    from splink import DuckDBAPI, Linker

    db_api = DuckDBAPI()
    frame = db_api.register(table, table_name="records")
    if model is None:
        model = settings(plan.with_data if plan is not None else None)
    return Linker(frame, model, log_level=logging.ERROR)


# EM sessions to choose from, most informative first: each blocks on equal values of its columns, trains every
# comparison that reads none of them, and is used only when the data give it enough pairs (counted before training).
EM_RULES: tuple[tuple[str, ...], ...] = (
    ("ln_ph", "dob"),
    ("email",),
    ("addr", "postcode"),
    ("phone",),
    ("fn_ph", "ln_ph", "postcode"),
    ("dob",),
    ("fn_ph", "ln_ph", "city"),
    ("ln_ph", "postcode"),
    ("fn_ph", "ln_ph"),
    ("postcode",),
    ("city",),
)
# Fewer pairs than this leave EM with too little to estimate from (splink advises a few hundred at least).
MIN_EM_PAIRS = 200
# A comparison whose values fewer records than this fill is left out of the model (u and m would be noise).
MIN_FILLED = 20
# Pairs drawn from a session's block when it generates more (EM needs a sample, not every pair).
MAX_EM_PAIRS = 1_000_000
# Sessions until every comparison with data is trained this many times (more sessions, steadier m estimates).
EM_TRAININGS_WANTED = 2
MAX_EM_SESSIONS = 4
# The columns whose presence on both sides lets a comparison say anything (else it is in its null level).
COMPARISON_DATA = {
    "name": ("fn", "ln"),
    "birth_date": ("dob",),
    "email": ("email",),
    "phone": ("phone",),
    "location": ("addr", "postcode", "city"),
    "gender": ("gender",),
    "email_year": ("email_year", "dob_yy"),
}
# m probabilities of the levels of a comparison the data cannot train (no session left it free, or none had pairs
# enough): how often a true match falls in each level in customer files where they could be measured (the demo
# retailer's three sources, rounded and made to sum to one). Keyed by comparison, then by level label.
DEFAULT_M: dict[str, dict[str, float]] = {
    "name": {
        "both names equal, a rare name": 0.35,
        "both names equal, an uncommon name": 0.30,
        "both names equal, a common name": 0.10,
        "both names equal, a very common name": 0.05,
        "names swapped": 0.02,
        "given names are aliases, same family name": 0.005,
        "given name close": 0.05,
        "family name close": 0.04,
        "both names close": 0.02,
        "same family name, other given name": 0.03,
        "same given name, other family name": 0.01,
        "All other comparisons": 0.025,
    },
    "birth_date": {
        "Exact match on dob": 0.90,
        "day and month swapped, or two adjacent digits": 0.03,
        "one digit wrong": 0.005,
        "Exact match on dob_year": 0.01,
        "All other comparisons": 0.055,
    },
    "email": {"Exact match on email": 0.80, "same local part, beyond the names": 0.01, "All other comparisons": 0.19},
    "phone": {"Exact match on phone": 0.75, "one digit apart": 0.01, "All other comparisons": 0.24},
    "location": {
        "same address and postcode": 0.80,
        "same house number, similar street, postcode within one slip": 0.03,
        "Exact match on postcode": 0.03,
        "Exact match on city": 0.02,
        "same postcode area": 0.02,
        "All other comparisons": 0.10,
    },
    "gender": {"Exact match on gender": 0.95, "All other comparisons": 0.05},
    "email_year": {"year in the e-mail is the birth year": 0.45, "All other comparisons": 0.55},
}


@dataclass
class TrainingPlan:
    """What the data allow to train: filled values per column, the EM sessions chosen and those left out."""

    records: int
    filled: dict[str, int]
    sessions: list[dict[str, Any]]  # rule, pairs, trains
    skipped: list[dict[str, Any]]  # rule, pairs, why
    with_data: list[str]  # comparisons the data can say something about

    @property
    def trainable(self) -> bool:
        return bool(self.sessions)

    def trained(self) -> set[str]:
        return {name for session in self.sessions for name in session["trains"]}

    def untrained(self) -> list[str]:
        return [name for name in self.with_data if name not in self.trained()]

    def as_dict(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "filled": self.filled,
            "sessions": self.sessions,
            "skipped": self.skipped,
            "comparisons_with_data": self.with_data,
            "comparisons_with_default_m": self.untrained(),
        }


def count_pairs(table: pa.Table, columns: Sequence[str]) -> int:
    """The record pairs a blocking rule of equal `columns` generates (records missing one of them generate none)."""
    if table.num_rows < 2:
        return 0
    keys = table.select(list(columns))
    for name in columns:
        keys = keys.filter(pc.is_valid(keys.column(name)))
    if keys.num_rows < 2:
        return 0
    sizes = keys.group_by(list(columns)).aggregate([([], "count_all")]).column("count_all").to_numpy()
    return int((sizes * (sizes - 1) // 2).sum())


def comparison_columns() -> dict[str, set[str]]:
    """For each comparison, the feature columns its levels read (a session blocking on any of them cannot train it)."""
    columns: dict[str, set[str]] = {}
    for comparison in comparisons():
        built = comparison.get_comparison("duckdb")
        columns[built.output_column_name] = {c.input_name for c in built._input_columns_used_by_case_statement}
    return columns


def plan_training(table: pa.Table) -> TrainingPlan:
    """Choose the EM sessions from the columns the records actually fill.

    1. Count the filled values of each feature column; a comparison has data when its columns are filled on at
       least MIN_FILLED records (the others are left out of the model).
    2. Walk the candidate sessions (EM_RULES) in order; count the pairs each generates; keep one that has enough
       pairs and trains a comparison with data that fewer than EM_TRAININGS_WANTED kept sessions train.
    3. Comparisons with data that no kept session trains get DEFAULT_M; with no session at all, nothing is trained.
    """
    filled = {name: table.num_rows - table.column(name).null_count for name in FEATURE_COLUMNS}
    with_data = []
    for name, columns in COMPARISON_DATA.items():
        counts = [filled[column] for column in columns]
        # location says something with any one of address, postcode or city; the others need all their columns
        if (max(counts) if name == "location" else min(counts)) >= MIN_FILLED:
            with_data.append(name)
    reads = comparison_columns()
    times_trained = dict.fromkeys(with_data, 0)
    plan = TrainingPlan(records=table.num_rows, filled=filled, sessions=[], skipped=[], with_data=with_data)
    for rule in EM_RULES:
        if len(plan.sessions) >= MAX_EM_SESSIONS or all(n >= EM_TRAININGS_WANTED for n in times_trained.values()):
            break
        trains = [name for name in with_data if not reads[name] & set(rule)]
        if not any(times_trained[name] < EM_TRAININGS_WANTED for name in trains):
            continue
        pairs = count_pairs(table, rule)
        if pairs < MIN_EM_PAIRS:
            plan.skipped.append({"rule": list(rule), "pairs": pairs, "why": f"fewer than {MIN_EM_PAIRS} pairs"})
            continue
        plan.sessions.append({"rule": list(rule), "pairs": pairs, "trains": trains})
        for name in trains:
            times_trained[name] += 1
    return plan


def train(linker: Linker, plan: TrainingPlan, *, seed: int = 42, max_pairs: float = U_SAMPLE) -> dict[str, Any]:
    """Estimate u by random sampling and m by EM over the plan's sessions; returns the trained model as a dict.

    Each EM session leaves out the comparisons its blocking rule fixes; the plan makes sure every comparison with
    data is trained by at least one session where it can, and the rest get documented default m values. A session
    that fails (EM finds no pairs to learn from after all) is recorded in the plan and the others go on. The prior
    is estimated afterwards (`estimate_prior`), over all candidate pairs.
    """
    from splink import block_on
    from splink.internals.exceptions import EMTrainingException

    training = linker.training
    with _quiet():
        training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed)
        _bound_unseen_u(linker, max_pairs)
        for session in list(plan.sessions):
            sample = MAX_EM_PAIRS if session["pairs"] > MAX_EM_PAIRS else None
            try:
                training.estimate_parameters_using_expectation_maximisation(
                    block_on(*session["rule"]), max_pairs=sample
                )
            except EMTrainingException as exc:
                plan.sessions.remove(session)
                plan.skipped.append({**session, "why": str(exc).split(".", 1)[0][:200]})
    _default_untrained_m(linker)
    return linker.misc.save_model_to_json()


def _default_untrained_m(linker: Linker) -> None:
    """A level EM did not train (its comparison had no free session, or no pair fell in it) takes DEFAULT_M."""
    for comparison in linker._settings_obj.comparisons:
        defaults = DEFAULT_M.get(comparison.output_column_name, {})
        if any(level._m_is_trained for level in comparison._comparison_levels_excluding_null):
            continue
        for level in comparison._comparison_levels_excluding_null:
            if level.label_for_charts in defaults:
                level.m_probability = defaults[level.label_for_charts]


def _bound_unseen_u(linker: Linker, sampled: float) -> None:
    """A level no random pair fell in (aliases, a phone one digit apart) is rarer than one pair in the sample: use
    that bound as its u, so the level keeps a (cautious) weight instead of none. The last level ("all other
    comparisons") is where random pairs go: unseen only when no sampled pair had values on both sides, its u is 1.
    """
    for comparison in linker._settings_obj.comparisons:
        levels = comparison._comparison_levels_excluding_null
        for level in levels:
            if not level._u_is_trained:
                level.u_probability = 1.0 if level is levels[-1] else 1 / sampled


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
    levels: Mapping[str, str]  # comparison -> label of the level the pair fell in (worked out when read)


class _Levels(Mapping):
    """The level labels of one scored pair, looked up when read: most pairs are never shown to anyone, and a label
    per comparison for every candidate pair costs more than scoring them."""

    __slots__ = ("_columns", "_index", "_labels")

    def __init__(self, columns: dict[str, list], labels: dict[str, dict[float, str]], index: int) -> None:
        self._columns, self._labels, self._index = columns, labels, index

    def __getitem__(self, name: str) -> str:
        return self._labels[name].get(round(self._columns[name][self._index], 6), "")

    def __iter__(self):
        return iter(self._columns)

    def __len__(self) -> int:
        return len(self._columns)


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
        pairs.append(ScoredPair(min(left, right), max(left, right), weight - offset, _Levels(columns, labels, index)))
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
