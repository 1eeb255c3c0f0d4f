"""The data dictionary: every sheet and column of a county submission, in one place.

Each column has its canonical English name (used in data/processed), the Chinese header of
the submission format, the header synonyms counties write instead, how its values are
parsed (``kind``), unit, whether it is required, whether it is personal data, and its
meaning. Intake maps headers through this table; ``render_markdown`` writes
docs/data-dictionary.md from it, so the documentation cannot drift from the code.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

COUNTIES = ("巴州区", "恩阳区", "通江县", "南江县", "平昌县")
HOUSEHOLD_TYPES = ("脱贫户", "监测户", "一般农户")
MONITOR_TYPES = ("脱贫不稳定户", "边缘易致贫户", "突发严重困难户")
INDUSTRY_SUPPORT = ("产业到户补助", "庭院经济", "入股分红", "无")
EMPLOYMENT_SUPPORT = ("外出务工", "就近务工", "公益性岗位", "以工代赈", "无")
PROJECT_TYPES = ("产业发展", "就业帮扶", "基础设施", "东西部协作", "易地搬迁后续扶持", "乡村建设")
FUND_SOURCES = ("中央衔接资金", "省级衔接资金", "东西部协作资金", "其他")
PROJECT_STATUS = ("未开工", "在建", "完工")
PROBLEM_SOURCES = ("审计反馈", "集中排查", "国省考核")
FIX_STATUS = ("已整改", "整改中", "未整改")


@dataclass(frozen=True)
class Column:
    """One column of a submission sheet."""

    name: str                 # canonical snake_case name in data/processed
    header: str               # the header the submission format asks for
    kind: str                 # code | text | place | int | amount | wan | date | quarter | yesno | category | names
    unit: str = ""
    meaning: str = ""
    required: bool = True
    personal: bool = False    # never leaves intake
    synonyms: tuple[str, ...] = ()
    values: tuple[str, ...] = ()   # allowed values for category columns
    signed: bool = False      # amounts that may be negative
    nullable: bool = False    # a blank cell is allowed (otherwise the row is set aside)
    # Numeric columns: the largest believable value (in 元 after 万元 is converted; None: no bound) or the
    # setting of config/workbook.yaml's intake section that holds it. Every number must be finite and,
    # unless ``signed``, non-negative; a value outside goes to quarantine as impossible_value.
    high: float | None = None
    high_setting: str = ""


@dataclass(frozen=True)
class Sheet:
    """One sheet of a county workbook (or one CSV file)."""

    name: str        # Chinese sheet name, as in file names of CSV submissions
    table: str       # processed table it feeds
    key: tuple[str, ...]
    columns: tuple[Column, ...] = field(default_factory=tuple)
    essential: bool = False   # a missing essential sheet stops intake; others warn

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


C = Column
_COUNTY = C("county", "县(区)", "place", meaning="县级单位（五县区之一）",
            synonyms=("区县", "县(市、区)", "县(市,区)", "县区", "县", "区", "县(市区)"))
_TOWNSHIP = C("township", "乡镇(街道)", "text", meaning="乡镇（街道）",
              synonyms=("乡(镇)", "乡镇", "镇(乡)", "乡镇街道", "镇(街道)", "乡(镇、街道)", "所在乡镇"))
_VILLAGE = C("village", "行政村", "text", meaning="行政村（合并后名称）",
             synonyms=("村", "村(社区)", "行政村(社区)", "所在村", "村名"))

HOUSEHOLDS = Sheet("农户监测", "household_quarters", ("household_id", "quarter"), essential=True, columns=(
    C("household_code", "户编码", "code", meaning="户编码（18位，跨季度不变）；入库时替换为假名 household_id",
      personal=True, synonyms=("户编号", "户代码", "农户编码", "家庭编码")),
    C("head_name", "户主姓名", "text", meaning="户主姓名", required=False, personal=True,
      synonyms=("户主", "姓名", "户主名"), nullable=True),
    C("head_id_number", "户主身份证号", "text", meaning="户主身份证号", required=False, personal=True,
      synonyms=("身份证号码", "证件号码", "身份证号", "户主证件号码", "户主身份证号码"), nullable=True),
    C("phone", "联系电话", "text", meaning="联系电话", required=False, personal=True,
      synonyms=("电话", "手机号码", "联系方式", "电话号码"), nullable=True),
    _COUNTY, _TOWNSHIP, _VILLAGE,
    C("household_type", "户类型", "category", meaning="户类型", values=HOUSEHOLD_TYPES,
      synonyms=("农户类型", "户属性")),
    C("monitor_type", "监测类型", "category", meaning="监测对象类别（非监测户为空）",
      values=MONITOR_TYPES, synonyms=("监测对象类型", "监测对象类别"), nullable=True),
    C("risk_eliminated", "风险是否消除", "yesno", meaning="返贫致贫风险是否消除",
      synonyms=("是否消除风险", "风险消除"), nullable=True),
    C("risk_eliminated_date", "风险消除日期", "date", meaning="风险消除日期",
      synonyms=("风险消除时间", "消除日期"), nullable=True),
    C("household_size", "家庭人口", "int", "人", "家庭人口数", synonyms=("家庭人口数", "人口数", "家庭人数"),
      high_setting="max_household_size"),
    C("labour", "劳动力人数", "int", "人", "劳动力人数", synonyms=("劳动力", "劳动力数"), high_setting="max_household_size"),
    C("relocated", "是否易地搬迁", "yesno", meaning="是否易地扶贫搬迁户", synonyms=("易地搬迁", "是否易迁户", "易迁户")),
    C("income_wage", "工资性收入", "amount", "元", "本季度工资性收入", synonyms=("工资收入", "务工收入"),
      high_setting="max_quarter_income"),
    C("income_business", "经营性收入", "amount", "元", "本季度生产经营性纯收入（扣除生产成本，可为负）",
      synonyms=("生产经营性收入", "经营净收入", "生产经营性纯收入"), signed=True, high_setting="max_quarter_income"),
    C("income_property", "财产性收入", "amount", "元", "本季度财产性收入", synonyms=("财产收入",),
      high_setting="max_quarter_income"),
    C("income_transfer", "转移性收入", "amount", "元", "本季度转移性收入", synonyms=("转移收入",),
      high_setting="max_quarter_income"),
    C("income_total", "家庭纯收入", "amount", "元", "本季度家庭纯收入（四项之和）",
      synonyms=("纯收入", "家庭总收入", "家庭纯收入合计"), signed=True, high_setting="max_quarter_income"),
    C("industry_support", "产业帮扶", "category", meaning="产业帮扶措施", values=INDUSTRY_SUPPORT,
      synonyms=("产业帮扶措施", "产业帮扶类型")),
    C("industry_start", "产业帮扶起始季度", "quarter", meaning="产业帮扶起始季度",
      synonyms=("产业帮扶开始季度", "产业帮扶开始时间", "产业帮扶起始时间"), nullable=True),
    C("industry_subsidy", "产业补助金额", "amount", "元", "累计产业补助金额", synonyms=("产业补助", "产业到户补助金额"), nullable=True,
      high=1_000_000),
    C("employment_support", "就业帮扶", "category", meaning="就业帮扶措施", values=EMPLOYMENT_SUPPORT,
      synonyms=("就业帮扶措施", "就业帮扶类型")),
    C("employment_start", "就业帮扶起始季度", "quarter", meaning="就业帮扶起始季度",
      synonyms=("就业帮扶开始季度", "就业帮扶开始时间", "就业帮扶起始时间"), nullable=True),
    C("microcredit", "小额信贷", "wan", "万元", "小额信贷余额（入库换算为元）", synonyms=("小额信贷余额", "小额贷款"), nullable=True,
      high=1_000_000),
    C("workers", "务工人数", "int", "人", "本季度务工人数（可选）", required=False,
      synonyms=("务工就业人数", "外出务工人数"), nullable=True, high_setting="max_household_size"),
    C("remarks", "备注", "text", meaning="备注（可能含个人信息，入库时删除）", required=False, personal=True,
      synonyms=("说明",), nullable=True),
))

VILLAGES = Sheet("行政村", "villages", ("quarter", "county", "village"), columns=(
    _COUNTY, _TOWNSHIP, _VILLAGE,
    C("former_names", "原村名", "names", meaning="合并前村名（、或，分隔）", required=False,
      synonyms=("原村名称", "合并前村名"), nullable=True),
    C("households_total", "总户数", "int", "户", "总户数", high=100_000),
    C("population_total", "总人口", "int", "人", "总人口", high=500_000),
    C("alleviated_households", "脱贫户数", "int", "户", "脱贫户数", high=100_000),
    C("alleviated_persons", "脱贫人口", "int", "人", "脱贫人口", high=500_000),
    C("monitored_households", "监测户数", "int", "户", "监测户数", high=100_000),
    C("monitored_persons", "监测人口", "int", "人", "监测人口", high=500_000),
    C("relocated_households", "易迁户数", "int", "户", "易地搬迁户数", high=100_000),
    C("relocated_persons", "易迁人口", "int", "人", "易地搬迁人口", high=500_000),
    C("collective_income", "村集体经济经营性收入", "wan", "万元", "村集体经济经营性收入（入库换算为元）", nullable=True,
      high=100_000_000),
    C("key_village", "是否重点帮扶村", "yesno", meaning="是否乡村振兴重点帮扶村"),
))

PROJECTS = Sheet("项目资金", "projects", ("quarter", "project_id"), columns=(
    C("project_id", "项目编号", "text", meaning="项目编号"),
    C("project_name", "项目名称", "text", meaning="项目名称"),
    _COUNTY,
    C("project_type", "项目类型", "category", meaning="项目类型", values=PROJECT_TYPES),
    C("fund_source", "资金来源", "category", meaning="资金来源", values=FUND_SOURCES),
    C("planned", "计划投资", "wan", "万元", "计划投资（入库换算为元）", high=10_000_000_000),
    C("funds_arrived", "到位资金", "wan", "万元", "到位资金（入库换算为元）", high=10_000_000_000),
    C("spent", "已支出", "wan", "万元", "已支出（入库换算为元）", high=10_000_000_000),
    C("households_reached", "带动户数", "int", "户", "带动户数", high=1_000_000),
    C("persons_reached", "带动人数", "int", "人", "带动人数", high=5_000_000),
    C("alleviated_reached", "其中脱贫户数", "int", "户", "其中脱贫户数", high=1_000_000),
    C("income_increase", "增收金额", "wan", "万元", "带动增收金额（入库换算为元）", nullable=True, high=10_000_000_000),
    C("start_date", "开工日期", "date", meaning="开工日期", required=False, nullable=True),
    C("end_date", "完工日期", "date", meaning="完工日期", required=False, nullable=True),
    C("status", "项目状态", "category", meaning="项目状态", values=PROJECT_STATUS),
))

RECTIFICATIONS = Sheet("问题整改", "rectifications", ("quarter", "problem_id"), columns=(
    C("problem_id", "问题编号", "text", meaning="问题编号"),
    _COUNTY,
    C("source", "问题来源", "category", meaning="问题来源", values=PROBLEM_SOURCES),
    C("description", "问题描述", "text", meaning="问题描述（身份证号、电话号码已去除）", nullable=True),
    C("found_date", "发现日期", "date", meaning="发现日期"),
    C("fix_status", "整改状态", "category", meaning="整改状态", values=FIX_STATUS),
    C("fixed_date", "整改完成日期", "date", meaning="整改完成日期", required=False, nullable=True),
))

SHEETS: tuple[Sheet, ...] = (HOUSEHOLDS, VILLAGES, PROJECTS, RECTIFICATIONS)
SHEET_BY_NAME = {s.name: s for s in SHEETS}
PERSONAL_COLUMNS = tuple(c.name for c in HOUSEHOLDS.columns if c.personal)

# Columns that intake adds to every table.
DERIVED = {
    "quarter": ("季度", "YYYYQn", "提交季度"),
    "household_id": ("户假名", "", "户编码的 HMAC-SHA256 假名（同一局密钥下跨季度稳定）"),
    "income_per_capita": ("人均纯收入", "元/人", "家庭纯收入 / 家庭人口"),
    "key_fingerprint": ("密钥指纹", "", "生成假名所用密钥的指纹"),
}


def normalize_header(text: object) -> str:
    """A header cell reduced to the form headers are compared in.

    Full-width characters become half-width (NFKC), brackets of either width become
    ``()``, whitespace and line breaks inside the cell are removed, and a trailing unit in
    brackets such as ``(万元)`` or ``（元）`` is kept apart by ``header_unit``.
    """
    s = unicodedata.normalize("NFKC", str(text or ""))
    s = re.sub(r"\s+", "", s)
    s = s.replace("【", "(").replace("】", ")").replace("[", "(").replace("]", ")")
    s = s.replace("，", ",").replace("、", "、")
    return s


_UNIT_RE = re.compile(r"\((万元|元|人|户|万|亩|%)\)$")


def header_unit(text: str) -> tuple[str, str]:
    """Split ``'已支出(万元)'`` into ``('已支出', '万元')``; no unit gives ``(text, '')``."""
    m = _UNIT_RE.search(text)
    if not m:
        return text, ""
    return text[: m.start()], m.group(1)


def header_lookup(sheet: Sheet) -> dict[str, Column]:
    """Normalized header (and every synonym) -> column, for one sheet."""
    out: dict[str, Column] = {}
    for col in sheet.columns:
        for h in (col.header, *col.synonyms):
            out[normalize_header(h)] = col
    return out


NUMERIC_KINDS = ("int", "amount", "wan")
DATE_RANGE = ("2000-01-01", "2049-12-31")     # dates outside this are typing errors (0001-01-01, 9999-12-31)


def bounds_text(c: Column) -> str:
    """A numeric column's accepted range as the data dictionary states it ('—' for other kinds)."""
    if c.kind == "date":
        return f"{DATE_RANGE[0]} to {DATE_RANGE[1]}"
    if c.kind not in NUMERIC_KINDS:
        return "—"
    low = "finite" if c.signed else "≥ 0"
    high = (f"≤ {c.high:,.0f} 元" if c.kind == "wan" else f"≤ {c.high:,.0f}") if c.high is not None else \
        (f"≤ `{c.high_setting}` (config/workbook.yaml)" if c.high_setting else "")
    return f"{low}, {high}" if high else low


def render_markdown() -> str:
    """docs/data-dictionary.md, generated from this module."""
    lines = [
        "# Data dictionary / 数据字典",
        "",
        "Generated by `python -m helpers.domain.dictionary` from `src/helpers/domain/dictionary.py`; do not edit by hand.",
        "",
        "Every county submission sheet, the processed table it feeds, and each column: the",
        "canonical English name in `data/processed/`, the Chinese header of the submission",
        "format, the synonyms that intake also accepts, the unit, and how the value is read.",
        "Amounts given in 万元 are stored in 元. Personal columns never leave intake. A number outside its",
        "range (not finite, negative where it cannot be, or above the largest believable value) sends the",
        "row to quarantine as `impossible_value`.",
        "",
    ]
    kinds = {
        "code": "18-digit code kept as text", "text": "text", "place": "one of the five county-level units",
        "int": "whole number", "amount": "amount in 元 (text like '3,562元', '1.2万', full-width digits parsed)",
        "wan": "amount in 万元, stored in 元", "date": "date (Excel serial, 2023.7.11, 2023-07-11, 2023年7月11日)",
        "quarter": "quarter YYYYQn (a date means its quarter)", "yesno": "是/否, Y/N, √/×, 1/0",
        "category": "one of the listed values", "names": "list separated by 、 or ，",
    }
    for sheet in SHEETS:
        lines += [f"## {sheet.name} → `{sheet.table}`", "",
                  f"Key: `{', '.join(sheet.key)}`. "
                  + ("A missing sheet stops intake." if sheet.essential else
                     "A missing sheet is a warning: the county's table is empty for the quarter."), "",
                  "| column | 表头 | synonyms | unit | read as | range | required | personal | meaning |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for c in sheet.columns:
            vals = f" ({' / '.join(c.values)})" if c.values else ""
            lines.append(
                f"| `{c.name}` | {c.header} | {'、'.join(c.synonyms) or '—'} | {c.unit or '—'} | "
                f"{kinds[c.kind]}{vals} | {bounds_text(c)} | {'yes' if c.required else 'no'} | "
                f"{'**yes: dropped or pseudonymized**' if c.personal else 'no'} | {c.meaning} |")
        lines.append("")
    lines += ["## Columns added by intake", "", "| column | 名称 | unit | meaning |", "|---|---|---|---|"]
    for name, (zh, unit, meaning) in DERIVED.items():
        lines.append(f"| `{name}` | {zh} | {unit or '—'} | {meaning} |")
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover - documentation build
    from helpers.config import DOCS

    DOCS.mkdir(exist_ok=True)
    (DOCS / "data-dictionary.md").write_text(render_markdown(), encoding="utf-8")
    print(f"wrote {DOCS / 'data-dictionary.md'}")
