"""Interface text in Chinese and English.

The app looks every label up here with :func:`text`; a missing key falls
back to English, then to the key itself, so a new label never breaks a page.
"""

from __future__ import annotations

LANGUAGES = {"zh": "中文", "en": "English"}

STRINGS: dict[str, dict[str, str]] = {
    "app.title": {"en": "wangge · grid management", "zh": "网格 · 三级网格管理"},
    "nav.boundaries": {"en": "Boundaries", "zh": "街道边界"},
    "nav.check": {"en": "Check", "zh": "检查"},
    "nav.coverage": {"en": "Coverage", "zh": "服务覆盖"},
    "nav.data": {"en": "Data", "zh": "数据"},
    "nav.export": {"en": "Export", "zh": "导出"},
    "nav.compare": {"en": "Compare plans", "zh": "方案对比"},
    "compare.need_two": {
        "en": "Save the current plan under a new name (sidebar) to compare two plans.",
        "zh": "请先在侧栏将当前方案另存为新方案，再进行对比。",
    },
    "compare.before": {"en": "Before", "zh": "调整前"},
    "compare.after": {"en": "After", "zh": "调整后"},
    "compare.moved": {"en": "Communities moved", "zh": "调整的社区"},
    "street": {"en": "street", "zh": "街道"},
    "plan.updated_elsewhere": {
        "en": "Changed in another tab — updated.",
        "zh": "方案已在其他标签页中修改——已更新。",
    },
    "propose.title": {"en": "Propose a plan", "zh": "自动调整方案"},
    "propose.mode": {"en": "Mode", "zh": "方式"},
    "propose.least_change": {"en": "least change", "zh": "最小调整"},
    "propose.scratch": {"en": "from scratch", "zh": "重新划分"},
    "propose.button": {"en": "Propose", "zh": "生成方案"},
    "propose.saved": {"en": "Saved as", "zh": "已另存为"},
    "propose.in_band": {"en": "streets within both bands", "zh": "个街道符合两项标准"},
    "propose.moved": {"en": "communities moved", "zh": "个社区调整"},
    "propose.round": {
        "en": "Prefer rounder streets (moves more residents)",
        "zh": "优先规整形状（调整人口更多）",
    },
    "propose.elongated": {
        "en": "the bands were met with elongated streets; look at the shapes, or tick "
              "'prefer rounder streets'.",
        "zh": "为满足标准出现了狭长街道，采用前请检查形状，或勾选“优先规整形状”。",
    },
    "propose.infeasible": {
        "en": "Not every street can meet both bands; see the notes below the button.",
        "zh": "并非所有街道都能同时满足两项标准，详见按钮下方说明。",
    },
    "lang": {"en": "Language", "zh": "语言"},
    "district": {"en": "District", "zh": "辖区"},
    "plan": {"en": "Plan", "zh": "方案"},
    "plan.new": {"en": "Save as a new plan", "zh": "另存为新方案"},
    "plan.name": {"en": "New plan name", "zh": "新方案名称"},
    "plan.compare": {"en": "Compare with", "zh": "对比方案"},
    "plan.saved": {"en": "Every step is saved as it happens.", "zh": "每一步都已自动保存。"},
    "select.hint": {
        "en": "Click communities on the map to select them, or draw a rectangle or polygon.",
        "zh": "在地图上点击社区以选择，或绘制矩形/多边形框选。",
    },
    "select.count": {"en": "Selected", "zh": "已选"},
    "select.clear": {"en": "Clear selection", "zh": "清除选择"},
    "move.to": {"en": "Move selection to street", "zh": "将所选移至街道"},
    "move.button": {"en": "Move", "zh": "移动"},
    "street.new": {"en": "New street name", "zh": "新街道名称"},
    "street.create": {"en": "Create street", "zh": "新建街道"},
    "undo": {"en": "Undo", "zh": "撤销"},
    "redo": {"en": "Redo", "zh": "重做"},
    "streets.table": {"en": "Streets", "zh": "街道一览"},
    "findings": {"en": "Findings", "zh": "问题"},
    "findings.zoom": {"en": "Select a finding to zoom to it.", "zh": "选择一条问题以定位。"},
    "grids.show": {"en": "Show grids", "zh": "显示网格"},
    "locked": {"en": "locked", "zh": "锁定"},
    "status.ok": {"en": "within both bands", "zh": "符合两项标准"},
    "status.outside": {"en": "outside a band", "zh": "超出标准"},
    "status.no rule": {"en": "no rule for its kind", "zh": "无适用规则"},
    "status.unknown": {"en": "figure missing", "zh": "数据缺失"},
    "col.code": {"en": "code", "zh": "代码"},
    "col.name": {"en": "name", "zh": "名称"},
    "col.kind": {"en": "kind", "zh": "类型"},
    "col.area_km2": {"en": "area km²", "zh": "面积 km²"},
    "col.population": {"en": "residents", "zh": "常住人口"},
    "col.households": {"en": "households", "zh": "户数"},
    "col.status": {"en": "status", "zh": "状态"},
    "col.change": {"en": "Δ since last step", "zh": "较上一步变化"},
    "col.compactness": {"en": "compactness", "zh": "紧凑度"},
    "col.pieces": {"en": "pieces", "zh": "分块数"},
    "col.locked": {"en": "locked", "zh": "锁定"},
    "export.title": {"en": "Export the current plan", "zh": "导出当前方案"},
    "export.report": {"en": "Check report", "zh": "检查报告"},
    "data.sample": {"en": "Built-in sample district (fictional)", "zh": "内置示例辖区（虚构）"},
    "data.upload": {"en": "Upload your own district", "zh": "上传自己的辖区数据"},
    "data.use": {"en": "Use this data", "zh": "使用这些数据"},
    "basemap": {"en": "Basemap tile URL (optional)", "zh": "底图瓦片地址（可选）"},
    "basemap.gcj": {
        "en": "This looks like an Amap/Tencent (GCJ-02) tile server: boundaries are shifted "
              "to GCJ-02 for display so they line up.",
        "zh": "该底图为高德/腾讯（GCJ-02）坐标：已将边界转换为GCJ-02显示以便对齐。",
    },
    "split.title": {"en": "Split a community", "zh": "拆分社区"},
    "split.hint": {
        "en": "Select one community, draw a line across it, then split.",
        "zh": "选择一个社区，在其上绘制一条分割线，然后拆分。",
    },
    "split.button": {"en": "Split along the line", "zh": "沿线拆分"},
}


def text(key: str, lang: str = "zh") -> str:
    """Return the interface text for ``key`` in ``lang`` (English, then the key, as fallbacks)."""
    entry = STRINGS.get(key)
    if entry is None:
        return key
    return entry.get(lang) or entry.get("en") or key
