"""The one catalogue of labels in both languages: what every county, indicator, reason, program,
estimator, outcome, unit, household type, category, specification choice, subgroup and table header is
called in Chinese and in English, so that the two languages say the same things.

``LABELS[kind][key] == (zh, en)``. Keys are what the data and the code hold: a county's or a
category's value as the counties type it (``"巴州区"``, ``"外出务工"``), an indicator's or an
outcome's key (``"spending_progress"``, ``"income_pc"``), a reason code, a Chinese unit. Presentation
code asks ``label(kind, key, lang)``; an unknown kind, key or language raises ``KeyError`` /
``ValueError`` naming what is allowed, never a silent fallback to the other language.

Only labels live here (a name, a header, a unit, a short phrase that completes a sentence the caller
writes): whole sentences stay with the code that writes them (``reasons.REASONS`` explains each
quarantine reason; the pages' sentences are in ``helpers.present``).
"""
from __future__ import annotations

LANGS = ("zh", "en")

LABELS: dict[str, dict[str, tuple[str, str]]] = {
    # The five county-level units and the city as a whole (indicators' 全市 row).
    "county": {
        "巴州区": ("巴州区", "Bazhou"),
        "恩阳区": ("恩阳区", "Enyang"),
        "通江县": ("通江县", "Tongjiang"),
        "南江县": ("南江县", "Nanjiang"),
        "平昌县": ("平昌县", "Pingchang"),
        "全市": ("全市", "city"),
    },
    # 户类型 (dictionary.HOUSEHOLD_TYPES).
    "household_type": {
        "脱贫户": ("脱贫户", "poverty-alleviated households"),
        "监测户": ("监测户", "monitored households"),
        "一般农户": ("一般农户", "ordinary farm households"),
    },
    # The categories indicators are broken down by, as the counties type them: 监测对象类别, 就业帮扶,
    # 项目类型, 问题来源 (dictionary.MONITOR_TYPES, EMPLOYMENT_SUPPORT, PROJECT_TYPES, PROBLEM_SOURCES).
    # The index page of every quarter's reports (reports/index.html).
    "index": {
        "title": ("季度评估报告", "Quarterly evaluation reports"),
        "heading": ("巴中市乡村振兴季度评估报告", "Bazhong rural revitalization: quarterly evaluation reports"),
        "offline": ("可离线打开。报告中不含任何农户个人信息。",
                    "These pages open offline. They contain no personal data of any household."),
        "simulated_note": ("注意：标有“模拟数据”的季度使用的是模拟样本（workbook simulate 生成），不是真实的县区报送数据。",
                           "Note: quarters marked “simulated data” use the simulated sample (made by workbook simulate), "
                           "not the counties' real submissions."),
        "simulated_tag": ("模拟数据", "simulated data"),
    },
    # The sheets of a county workbook (dictionary.SHEETS), as the intake tables name them.
    "sheet": {
        "农户监测": ("农户监测", "households"),
        "行政村": ("行政村", "villages"),
        "项目资金": ("项目资金", "projects and funds"),
        "问题整改": ("问题整改", "problems and fixes"),
    },
    "category": {
        "脱贫不稳定户": ("脱贫不稳定户", "unstable after leaving poverty"),
        "边缘易致贫户": ("边缘易致贫户", "at the edge of poverty"),
        "突发严重困难户": ("突发严重困难户", "sudden severe hardship"),
        "外出务工": ("外出务工", "work away from home"),
        "就近务工": ("就近务工", "work near home"),
        "公益性岗位": ("公益性岗位", "public-welfare job"),
        "以工代赈": ("以工代赈", "work for relief"),
        "无": ("未享受就业帮扶", "no employment support"),
        "产业发展": ("产业发展", "industry development"),
        "就业帮扶": ("就业帮扶", "employment support"),
        "基础设施": ("基础设施", "infrastructure"),
        "东西部协作": ("东西部协作", "east-west cooperation"),
        "易地搬迁后续扶持": ("易地搬迁后续扶持", "follow-up support after relocation"),
        "乡村建设": ("乡村建设", "rural construction"),
        "审计反馈": ("审计反馈", "audit findings"),
        "集中排查": ("集中排查", "concentrated screening"),
        "国省考核": ("国省考核", "national and provincial assessment"),
    },
    # Every indicator of analysis.indicators.INDICATORS (definitions there, names here).
    "indicator": {
        "monitored_households": ("监测户数（未消除风险）", "monitored households (risk not eliminated)"),
        "monitored_persons": ("监测人数（未消除风险）", "monitored persons (risk not eliminated)"),
        "new_monitored": ("本季度新增监测户", "new monitored households this quarter"),
        "risk_eliminated": ("已消除风险户数", "households with risk eliminated"),
        "eliminated_this_quarter": ("本季度消除风险户数", "households with risk eliminated this quarter"),
        "elimination_rate": ("风险消除率", "risk elimination rate"),
        "missed_monitoring": ("疑似漏测户数", "possibly missed households (漏测)"),
        "missed_monitoring_rate": ("疑似漏测率", "possibly-missed rate"),
        "eliminated_below_line": ("消除风险但收入低于监测线户数", "households with risk eliminated but below the monitoring line"),
        "income_unknown": ("收入无法判断户数", "households whose income test is unknown"),
        "alleviated_income_growth": ("脱贫户人均纯收入增速", "income growth of poverty-alleviated households"),
        "general_income_growth": ("一般农户人均纯收入增速", "income growth of ordinary farm households"),
        "income_growth_gap": ("两个收入增速差（脱贫户 − 一般农户）", "income growth gap (poverty-alleviated minus ordinary)"),
        "workers": ("务工人数", "household members in work"),
        "workers_change": ("务工人数同比变化", "change in members in work on the same quarter last year"),
        "spending_progress": ("衔接资金支出进度", "spending progress of the linking funds"),
        "industry_share": ("衔接资金用于产业发展比重", "industry share of the linking funds"),
        "projects_not_started": ("未开工项目数", "projects not started"),
        "projects_behind": ("进度滞后项目数", "projects behind schedule"),
        "households_reached": ("项目带动户数", "households reached by projects"),
        "persons_reached": ("项目带动人数", "persons reached by projects"),
        "income_per_wan": ("每万元支出带动增收", "income increase per 10,000 yuan spent"),
        "problems_found": ("发现问题数", "problems found"),
        "problems_fixed": ("已整改问题数", "problems fixed"),
        "fixing_rate": ("问题整改率", "problem fixing rate"),
        "data_quality": ("数据质量得分", "data-quality score"),
    },
    # Units, keyed by the Chinese unit the definitions hold.
    "unit": {
        "户": ("户", "households"),
        "人": ("人", "persons"),
        "%": ("%", "%"),
        "元/万元": ("元/万元", "yuan per 10,000 yuan"),
        "个": ("个", "items"),
        "元": ("元", "yuan"),
        "个百分点": ("个百分点", "percentage points"),
        "元/人/季": ("元/人/季", "yuan/person/quarter"),
        "对数点": ("对数点", "log points"),
    },
    # A unit as written right after a number in a table cell (“3.3个百分点”, “3.3 pp”).
    "unit_after_number": {
        "个百分点": ("个百分点", " pp"),
    },
    # Quarantine reason codes (domain.reasons.REASONS holds the sentence that explains each).
    "reason": {
        "unknown_place": ("地名无法识别", "unknown place"),
        "subtotal": ("合计/小计行", "subtotal row"),
        "household_code": ("户编码无效", "bad household code"),
        "duplicate": ("重复行", "duplicate"),
        "conflicting_duplicate": ("冲突重复", "conflicting duplicate"),
        "income_parts": ("收入分项不符", "income parts mismatch"),
        "impossible_value": ("不可能数值", "impossible value"),
        "bad_value": ("值无法识别", "unreadable value"),
    },
    # The treatments of analysis.construct.PROGRAMS.
    "program": {
        "any": ("任一帮扶", "any support"),
        "industry": ("产业帮扶", "industry support"),
        "employment": ("就业帮扶", "employment support"),
    },
    # The outcomes of analysis.construct.OUTCOMES.
    "outcome": {
        "income_pc": ("人均纯收入", "per-capita net income"),
        "earned_pc": ("人均工资性和经营性收入", "per-capita wage and business income"),
        "log_income_pc": ("人均纯收入（对数）", "log per-capita net income"),
        "below_line": ("低于监测线的概率", "probability of being below the monitoring line"),
    },
    # An outcome as a level per person and quarter, as the effects sentences state it (log income reads as
    # income, in percent).
    "outcome_quarterly": {
        "income_pc": ("人均季度纯收入", "quarterly per-capita net income"),
        "earned_pc": ("人均季度工资性和经营性收入", "quarterly per-capita wage and business income"),
        "log_income_pc": ("人均季度纯收入", "quarterly per-capita net income"),
        "below_line": ("低于监测线的概率", "probability of being below the monitoring line"),
    },
    # Who an effects page is about, per program (completes “对象是…” / “the households: …”).
    "program_households": {
        "any": ("开始获得任一帮扶（产业或就业）的农户", "households that started any support (industry or employment)"),
        "industry": ("第一项帮扶是产业帮扶的农户（先获就业帮扶的农户不在本页）",
                     "households whose first support was industry support (those that started with employment "
                     "support are not on this page)"),
        "employment": ("第一项帮扶是就业帮扶的农户（先获产业帮扶的农户不在本页）",
                       "households whose first support was employment support (those that started with industry "
                       "support are not on this page)"),
    },
    # The estimators of analysis.effects.
    "estimator": {
        "callaway_santanna": ("Callaway-Sant'Anna（稳健）", "Callaway-Sant'Anna (robust)"),
        "imputation": ("插补估计 BJS（稳健）", "Imputation, BJS (robust)"),
        "twfe": ("双向固定效应（朴素）", "Two-way FE (naive)"),
    },
    # How an estimator's effects are averaged (analysis.effects ``aggregate(kind)``).
    "aggregate": {
        "simple": ("全部处理期平均", "average over all treated periods"),
        "dynamic": ("按事件时间平均", "average over event times"),
    },
    # The specification of an estimate: sample, comparison group, cluster level, few-cluster method.
    "sample": {
        "balanced": ("平衡面板", "balanced panel"),
        "unbalanced": ("非平衡面板", "unbalanced panel"),
    },
    "control": {
        "not_yet": ("尚未获帮扶户", "households not yet supported"),
        "never": ("从未获帮扶户", "households never supported"),
        "untreated": ("所有未获帮扶的户-季", "all unsupported household-quarters"),
        "all": ("全部户-季（含已获帮扶）", "all household-quarters (incl. supported)"),
    },
    "cluster": {
        "village": ("村", "village"),
        "county": ("县(区)", "county"),
        "household_id": ("户", "household"),
    },
    "few_cluster_method": {
        "jackknife": ("刀切法", "cluster jackknife"),
        "wild": ("野聚类自助法", "wild cluster bootstrap"),
    },
    # Why the joint pre-start test cannot be computed (reason codes of analysis.effects.callaway_santanna;
    # completes “无法做开始前差异的联合检验：…” / “The joint pre-trend test cannot be computed: …”).
    "pretest_reason": {
        "no_pre_periods": ("没有开始帮扶前的季度可供检验", "there are no quarters before support starts to test"),
        "few_clusters": ("聚类数太少", "there are too few clusters"),
        "few_treated": ("开始前的各项估计只依靠很少的获帮扶户（批次只有一两户）",
                        "the pre-start terms rest on very few supported households (cohorts of one or two)"),
        "singular": ("开始前各项估计的协方差矩阵奇异（常见于只有一两户的批次）",
                     "the covariance matrix of the pre-start terms is singular (common with cohorts of one or two "
                     "households)"),
        "no_variance": ("开始前某项估计没有抽样变异", "a pre-start term has no sampling variance"),
    },
    # What construction left out, per county (analysis.construct ``Panel.excluded`` columns).
    "excluded": {
        "households": ("农户数", "households"),
        "always_treated": ("窗口前已获帮扶（不参与估计）", "supported before the window (not in the estimation)"),
        "start_disagreements": ("各季度起始季度不一致", "start quarter differs between quarters"),
        "both_same_quarter": ("同季度获两项帮扶", "both programs in the same quarter"),
        "industry_first": ("先获产业帮扶", "industry support first"),
        "employment_first": ("先获就业帮扶", "employment support first"),
        "dropped_for_gaps": ("有缺季（平衡面板中剔除）", "missing quarters (left out of the balanced panel)"),
        "nonpositive_income_log_only": ("收入≤0（仅对数版本剔除）", "income ≤ 0 (left out of the log version only)"),
        "window_households": ("窗口内农户数", "households in the window"),
        "gaps_out": ("有缺季（剔除）", "missing quarters (out)"),
        "always_out": ("窗口前已获帮扶（剔除）", "supported before the window (out)"),
        "other_program_out": ("先获另一项帮扶（本页不计）", "the other program first (not on this page)"),
        "estimated": ("参与估计", "in the estimation"),
        "start_earliest": ("其中起始季度不一致（按最早计）", "of which start quarters disagree (earliest used)"),
    },
    # A household's first program (the cohort chart's legend).
    "first_program": {
        "industry": ("先获产业帮扶", "industry support first"),
        "employment": ("先获就业帮扶", "employment support first"),
        "both": ("同季度两项", "both in the same quarter"),
    },
    # The baseline subgroups of the heterogeneity table (program_effects.heterogeneity ``dimension``); the groups
    # are counties, household types and yes/no.
    "dimension": {
        "county": ("县(区)", "county"),
        "household_type": ("户类型", "household type"),
        "relocated": ("易地搬迁", "relocated"),
    },
    "yes_no": {
        True: ("是", "yes"),
        False: ("否", "no"),
    },
    # Why a subgroup's or a subsidy bin's effect is missing or has no standard error.
    "subgroup_note": {
        "too_few": ("获帮扶户或对照户太少，无法估计", "too few supported or comparison households to estimate"),
        "one_cluster": ("只有一个聚类，无法计算标准误", "a single cluster: no standard error"),
    },
    # The industry-subsidy bins (program_effects.dose_bins ``bin``).
    "dose_bin": {
        "low": ("低", "low"),
        "middle": ("中", "middle"),
        "high": ("高", "high"),
    },
    # An indicator's status other than ``ok``, and whether its threshold is met.
    "status": {
        "unknown": ("未知", "unknown"),
        "no_data": ("无数据", "no data"),
    },
    "verdict": {
        "met": ("达标", "met"),
        "not_met": ("未达标", "not met"),
    },
    # Table headers (columns and index names) and axis titles.
    "header": {
        "county": ("县(区)", "county"),
        "sheet": ("工作表", "sheet"),
        "rows_in": ("报送行数", "rows in"),
        "rows_clean": ("入库行数", "clean"),
        "rows_quarantined": ("暂存行数", "set aside"),
        "share": ("暂存比例", "share set aside"),
        "reason": ("原因", "reason"),
        "explanation": ("说明", "explanation"),
        "n": ("行数", "rows"),
        "total": ("合计", "total"),
        "indicator": ("指标", "indicator"),
        "threshold": ("标准", "threshold"),
        "composite": ("综合得分", "composite score"),
        "rank": ("排名", "rank"),
        "rank_stability": ("权重扰动下名次不变的比例", "share of draws with the same rank"),
        "rank_range": ("名次范围", "rank range"),
        "indicators_missing": ("缺失指标数", "indicators missing"),
        "growth": ("同比增速（%）", "year-on-year growth (%)"),
        "official_rural_growth": ("全国农村居民收入增速", "official rural income growth"),
        "share_set_aside_pct": ("暂存比例（%）", "share set aside (%)"),
        "quality_score": ("数据质量得分（%）", "data-quality score (%)"),
        "kept_share": ("入库行比例（%）", "rows taken in (%)"),
        "optional_share": ("可选列齐全（%）", "optional columns present (%)"),
        "sheets_share": ("工作表齐全（%）", "sheets present (%)"),
        "uncorrected_share": ("无需更正的行（%）", "rows needing no correction (%)"),
        "sheets_missing": ("缺少的工作表（张）", "sheets missing"),
        "optional_absent": ("缺少的可选列（列）", "optional columns missing"),
        "corrections": ("市局更正的行", "rows corrected by the city"),
        "composite_axis": ("综合得分（0–1）", "composite score (0–1)"),
        "project_spending_progress": ("项目支出进度", "project spending progress"),
        "city_met": ("全市是否达标", "city meets it"),
        "counties_not_met": ("未达标县区", "counties not meeting it"),
        # the effects tables (present.effects)
        "estimator": ("估计方法", "estimator"),
        "aggregate": ("汇总方式", "aggregation"),
        "headline": ("主要结果", "headline"),
        "effect": ("效应", "effect"),
        "se": ("标准误", "SE"),
        "ci95": ("95%置信区间", "95% CI"),
        "few_cluster_check": ("县级少聚类检验", "county few-cluster check"),
        "p_value": ("p 值", "p-value"),
        "few_cluster_ci95": ("县级少聚类95%区间", "county few-cluster 95% interval"),
        "sample_households": ("样本（户）", "sample (households)"),
        "household_quarters": ("户-季观测", "household-quarter observations"),
        "comparison": ("对照", "comparison"),
        "covariates": ("协变量", "covariates"),
        "none": ("无", "none"),
        "clusters_number": ("聚类（个数）", "clusters (number)"),
        "dose_bin": ("补助档", "subsidy bin"),
        "first_quarter_subsidy": ("开始当季产业补助（元）", "industry subsidy in the first quarter (yuan)"),
        "supported_households": ("获帮扶户数", "supported households"),
        "households": ("户数", "households"),
        "all_households": ("全体", "all households"),
        "quarters_since_start": ("距开始帮扶的季度数（0 为开始季度）", "quarters since support started (0 = the start quarter)"),
    },
    # The office files of a run's share/ folder (present.office, pipeline.documents): file names, sheet names and the
    # workbook's own headers, and their links on the index page.
    "office": {
        "results_file": ("评估结果", "evaluation_results"),
        "report_file": ("季度评估报告", "quarterly_report"),
        "sheet_indicators": ("指标与标准", "indicators"),
        "sheet_ranking": ("综合评比", "county comparison"),
        "sheet_effects": ("帮扶效果", "program effects"),
        "sheet_quality": ("数据质量", "data quality"),
        "sheet_about": ("说明", "about"),
        "program": ("帮扶措施", "program"),
        "outcome_unit": ("结果变量（单位）", "outcome (unit)"),
        "ci_low": ("95%区间下限", "95% CI, lower"),
        "ci_high": ("95%区间上限", "95% CI, upper"),
        "interval_basis": ("区间依据", "interval from"),
        "basis_clustered": ("按聚类的标准误", "clustered standard errors"),
        "basis_few_cluster": ("县级少聚类检验", "the county few-cluster check"),
        "significant": ("95%区间是否排除零", "95% CI excludes zero"),
        "naive_estimate": ("朴素估计（双向固定效应）", "naive estimate (two-way FE)"),
        "rank_best": ("名次范围：最好", "rank range: best"),
        "rank_worst": ("名次范围：最差", "rank range: worst"),
        "item": ("项目", "item"),
        "report": ("报告", "report"),
        "content": ("内容", "content"),
        "quarter": ("季度", "quarter"),
        "data": ("数据", "data"),
        "source": ("来源", "source"),
        "disclosure": ("披露规则", "disclosure rule"),
        "made_by": ("生成", "made by"),
        "downloads": ("下载", "downloads"),
        "xlsx_link": ("评估结果（Excel）", "results (Excel)"),
        "docx_link": ("季度评估报告（Word）", "quarterly report (Word)"),
        "pdf_link": ("季度评估报告（PDF）", "quarterly report (PDF)"),
    },
    # Phrases that complete a footnote the caller writes (“注：“—”表示…” / “Note: “—” means …”).
    "note": {
        "no_project_of_type": ("该县区本季度没有这类项目", "the county has no project of this type this quarter"),
        "nothing_in_category": ("该县区本季度没有这一类", "the county has nothing in this category this quarter"),
        "small_denominator": ("比率的分母少于10（披露规则）", "the rate's denominator is under 10 (disclosure rule)"),
    },
}

# Labels that are the same in both languages on purpose: symbols, not words.
SAME_IN_BOTH: frozenset[tuple[str, str]] = frozenset({("unit", "%")})


def check_lang(lang: str) -> str:
    """``lang`` itself when it is one of ``LANGS``; otherwise ``ValueError`` naming them."""
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}, not {lang!r}")
    return lang


def pick(pair: tuple[str, str], lang: str) -> str:
    """The text of a ``(zh, en)`` pair in ``lang`` (for sentences kept next to their code)."""
    return pair[LANGS.index(check_lang(lang))]


def _table(kind: str) -> dict:
    if kind not in LABELS:
        raise KeyError(f"no label kind {kind!r}; kinds: {', '.join(LABELS)}")
    return LABELS[kind]


def label(kind: str, key, lang: str = "zh") -> str:
    """What ``key`` of ``kind`` is called in ``lang`` (``zh`` or ``en``)."""
    check_lang(lang)
    table = _table(kind)
    if key not in table:
        raise KeyError(f"no {kind} label for {key!r}; known: {', '.join(map(str, table))}")
    return pick(table[key], lang)


def labels(kind: str, lang: str = "zh") -> dict:
    """Every key of ``kind`` with its label in ``lang``."""
    check_lang(lang)
    return {key: pick(pair, lang) for key, pair in _table(kind).items()}
