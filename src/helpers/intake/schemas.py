"""pandera schemas of the processed tables: what every clean row is guaranteed to be.

Intake quarantines rows that break these rules before validation, so a schema error here
means a bug in intake, never bad input; it stops the run rather than write a wrong table.
"""
from __future__ import annotations

import pandas as pd
import pandera.pandas as pa

from helpers.domain import dictionary as dd
from helpers.config import settings

QUARTER = pa.Check.str_matches(r"^\d{4}Q[1-4]$")


def _unchanged_by_scrubber(s: pd.Series) -> pd.Series:
    from helpers.intake.pseudonym import scrub

    text = s.astype("string")
    return (scrub(text) == text).fillna(True)


SCRUBBED = pa.Check(_unchanged_by_scrubber, error="free text holds no ID, phone or bank card number")


def _amount(nullable=False, signed=False):
    checks = [] if signed else [pa.Check.ge(0)]
    return pa.Column(float, checks, nullable=nullable, coerce=True)


HOUSEHOLD_QUARTERS = pa.DataFrameSchema(
    {
        "household_id": pa.Column(str, pa.Check.str_matches(r"^[0-9a-f]{20}$")),
        "quarter": pa.Column(str, QUARTER),
        "county": pa.Column(str, pa.Check.isin(dd.COUNTIES)),
        "township": pa.Column(str, SCRUBBED),
        "village": pa.Column(str, SCRUBBED),
        "household_type": pa.Column(str, pa.Check.isin(dd.HOUSEHOLD_TYPES)),
        "monitor_type": pa.Column(str, pa.Check.isin(dd.MONITOR_TYPES), nullable=True),
        "risk_eliminated": pa.Column("boolean", nullable=True),
        "household_size": pa.Column(float, [pa.Check.ge(1), pa.Check.le(settings()["intake"]["max_household_size"])]),
        "labour": pa.Column(float, pa.Check.ge(0)),
        "relocated": pa.Column("boolean"),
        "income_wage": _amount(),
        "income_business": _amount(signed=True),
        "income_property": _amount(),
        "income_transfer": _amount(),
        "income_total": _amount(signed=True),
        "income_per_capita": _amount(signed=True),
        "industry_support": pa.Column(str, pa.Check.isin(dd.INDUSTRY_SUPPORT)),
        "industry_start": pa.Column(str, QUARTER, nullable=True),
        "industry_subsidy": _amount(nullable=True),
        "employment_support": pa.Column(str, pa.Check.isin(dd.EMPLOYMENT_SUPPORT)),
        "employment_start": pa.Column(str, QUARTER, nullable=True),
        "microcredit": _amount(nullable=True),
        "workers": pa.Column(float, pa.Check.ge(0), nullable=True),
    },
    checks=[pa.Check(lambda d: (d["labour"] <= d["household_size"]).all(), error="labour <= household_size")],
    unique=["household_id", "quarter"],
    strict=False,
)

VILLAGES = pa.DataFrameSchema(
    {"county": pa.Column(str, pa.Check.isin(dd.COUNTIES)), "village": pa.Column(str, SCRUBBED),
     "township": pa.Column(str, SCRUBBED, nullable=True), "former_names": pa.Column(str, SCRUBBED, nullable=True),
     "quarter": pa.Column(str, QUARTER), "households_total": pa.Column(float, pa.Check.ge(0))},
    unique=["quarter", "county", "village"], strict=False)

PROJECTS = pa.DataFrameSchema(
    {"project_id": pa.Column(str, SCRUBBED), "project_name": pa.Column(str, SCRUBBED, nullable=True),
     "county": pa.Column(str, pa.Check.isin(dd.COUNTIES)),
     "quarter": pa.Column(str, QUARTER),
     "project_type": pa.Column(str, pa.Check.isin(dd.PROJECT_TYPES)),
     "fund_source": pa.Column(str, pa.Check.isin(dd.FUND_SOURCES)),
     "funds_arrived": _amount(), "spent": _amount(),
     "status": pa.Column(str, pa.Check.isin(dd.PROJECT_STATUS))},
    unique=["quarter", "project_id"], strict=False)

RECTIFICATIONS = pa.DataFrameSchema(
    {"problem_id": pa.Column(str, SCRUBBED), "county": pa.Column(str, pa.Check.isin(dd.COUNTIES)),
     "quarter": pa.Column(str, QUARTER),
     "source": pa.Column(str, pa.Check.isin(dd.PROBLEM_SOURCES)),
     "fix_status": pa.Column(str, pa.Check.isin(dd.FIX_STATUS)),
     "description": pa.Column(str, SCRUBBED, nullable=True)},
    unique=["quarter", "problem_id"], strict=False)

INTAKE_LOG = pa.DataFrameSchema(
    {"rows_in": pa.Column(int, pa.Check.ge(0)), "rows_clean": pa.Column(int, pa.Check.ge(0)),
     "rows_quarantined": pa.Column(int, pa.Check.ge(0))},
    checks=[pa.Check(lambda d: (d["rows_in"] == d["rows_clean"] + d["rows_quarantined"]).all(),
                     error="rows_in = rows_clean + rows_quarantined")],
    strict=False)

SCHEMAS = {"household_quarters": HOUSEHOLD_QUARTERS, "villages": VILLAGES, "projects": PROJECTS,
           "rectifications": RECTIFICATIONS, "intake_log": INTAKE_LOG}


def validate_quarter(tables: dict[str, pd.DataFrame], quarter: str = "") -> None:
    """Validate one quarter's clean tables. A broken rule stops intake with one message naming the table,
    column and rule and how many rows break it, never their values (they may hold personal data)."""
    from pandera.errors import SchemaError, SchemaErrors

    from helpers.intake.readers import IntakeStop

    for name, schema in SCHEMAS.items():
        frame = tables.get(name)
        if frame is None or not len(frame):
            continue
        try:
            schema.validate(frame, lazy=True)
        except (SchemaErrors, SchemaError) as err:
            cases = getattr(err, "failure_cases", None)
            what = ("; ".join(f"{col}: {chk} ({n} rows)" for (col, chk), n in
                              cases.groupby(["column", "check"], dropna=False).size().items())
                    if isinstance(cases, pd.DataFrame) and {"column", "check"} <= set(cases.columns) else "a rule")
            raise IntakeStop(f"{quarter} {name}: 入库表未通过最后的检查（{what}）。这是入库程序的问题，不是报送数据的问题，"
                             f"请把这条消息报告给工作簿的维护者。 / the clean {name} table of {quarter} breaks a rule of its "
                             f"schema ({what}). This is a bug in intake, not in the submissions: please report this "
                             "message.") from None
