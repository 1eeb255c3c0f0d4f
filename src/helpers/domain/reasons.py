"""Quarantine reason codes, each with a sentence in Chinese and English that explains it (the quarantine
file's reason_zh and reason_en). Their short names are in the label catalogue (``labels.label("reason", code,
lang)``)."""
from __future__ import annotations

from helpers.domain.labels import pick

REASONS: dict[str, tuple[str, str]] = {
    "unknown_place": (
        "县(区)不在巴中市五县区之内，或行政村既不在本县本季度的行政村表中，也不在村名登记册中。",
        "County not among the five, or the village is in neither the county's 行政村 sheet for the quarter nor the village register."),
    "subtotal": (
        "合计/小计行，不是一户（一个项目）的数据。",
        "A subtotal row (合计, 小计), not a household or project."),
    "household_code": (
        "户编码不是18位数字，或被 Excel 存成了数字（科学计数法，后几位已丢失），无法跨季度关联。请在原表中把户编码列设为文本后重填。",
        "The household code is not 18 digits, or Excel stored it as a number (scientific notation, digits lost), so the row cannot be linked across quarters. Format the column as text and re-enter it."),
    "duplicate": (
        "同一户（同一编号）在本季度重复出现且内容完全相同：保留一行，其余暂存。",
        "The same household (or record) appears again this quarter with identical values: one row is kept, the rest are set aside."),
    "conflicting_duplicate": (
        "同一户（同一编号）在本季度出现多次且内容不同：全部暂存，待县区核实哪一行正确。",
        "The same household (or record) appears more than once this quarter with different values: all are set aside until the county confirms which is right."),
    "income_parts": (
        "工资性、经营性、财产性、转移性四项收入之和与家庭纯收入不符（超出容差）。",
        "The four income parts do not add up to total net income beyond the tolerance."),
    "impossible_value": (
        "不可能的数值：劳动力多于家庭人口、家庭人口少于1、工资性/财产性/转移性收入或资金为负，或数额超出合理范围。",
        "Impossible value: labour above household size, household size below 1, negative wage, property or transfer income or funds, or an amount beyond the believable range."),
    "bad_value": (
        "必填项为空，或数值、日期、季度、是否、类别无法识别（详见 detail 列）。",
        "A required value is blank, or a number, date, quarter, yes/no or category cannot be read (see the detail column)."),
}


def sentence(code: str, lang: str = "zh") -> str:
    """The explanation of a reason code in Chinese (``zh``) or English (``en``)."""
    return pick(REASONS[code], lang)


#: What the county does about a row set aside for each reason (the 处理建议 of its feedback workbook).
ACTIONS: dict[str, tuple[str, str]] = {
    "unknown_place": (
        "核对县区、乡镇、行政村名称是否与行政村表和村名登记册一致（合并村写现村名，原村名填“原村名”列），改正后在下季度报送中更正。",
        "Check the county, township and village names against the 行政村 sheet and the register (a merged village under its current name), and correct them in the next submission."),
    "subtotal": (
        "合计、小计行不要放在明细表中；删除该行即可，无需核实。",
        "Leave subtotal rows out of the detail sheet; delete the row, nothing to verify."),
    "household_code": (
        "把户编码列设为文本格式，按系统中的18位户编码重新填写。",
        "Format the household-code column as text and re-enter the 18-digit code from the system."),
    "duplicate": (
        "删除重复的行，每户只保留一行。",
        "Delete the repeated row; one row per household."),
    "conflicting_duplicate": (
        "同一户出现多行且内容不同：核实哪一行正确，只保留正确的一行。",
        "One household on several rows with different values: verify which row is right and keep only that one."),
    "income_parts": (
        "核对四项收入与家庭纯收入：改正录入错误，使四项之和等于家庭纯收入；核实后可报市局登记更正。",
        "Check the four income parts against total net income, correct the entry so that they add up; once verified, the city can record a correction."),
    "impossible_value": (
        "核对所列单元格（家庭人口、劳动力、收入、资金）的数值和单位（元/万元），改正后重报。",
        "Check the listed cells (household size, labour, income, funds) and their unit (元 or 万元), and submit them corrected."),
    "bad_value": (
        "所列单元格为空或无法识别：按填报说明填写数字、日期（如 2023-05-20）、季度（如 2023Q2）或“是/否”。",
        "The listed cells are blank or unreadable: fill in a number, a date (e.g. 2023-05-20), a quarter (e.g. 2023Q2) or 是/否 as the instructions say."),
}


def action(code: str, lang: str = "zh") -> str:
    """What the county does about a row set aside for ``code``, in Chinese (``zh``) or English (``en``)."""
    return pick(ACTIONS[code], lang)
