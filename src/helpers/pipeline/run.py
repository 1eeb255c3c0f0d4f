"""``workbook run``: the quarterly run, from raw submissions to shareable HTML reports.

The notebooks run in order with papermill on the project's kernel: intake, indicators, the
effects notebook once per program, the report. Every parameter is checked first against
what each notebook declares (``papermill.inspect_notebook``). Each executed notebook is
exported twice: with code for analysts (``reports/<q>/analyst/``) and without code for
sharing (``reports/<q>/share/``); exports are self-contained and work offline (template
``templates/offline``: no script or style sheet from the network, images embedded). The report and its
tables also go into ``share/`` as office files (``helpers.pipeline.documents``): ``<q>_评估结果.xlsx``,
``<q>_季度评估报告.docx``, and with ``pdf=True`` (``workbook run --pdf``) the report printed to PDF by Chromium.
``reports/<q>/manifest.json`` records parameters, package versions, the git commit, the
pseudonym key's fingerprint, hashes of every input and output, and each step's time.
"""
from __future__ import annotations

import copy
import dataclasses
import json
import platform
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from urllib.parse import quote

import jinja2
import nbformat
import yaml

from helpers.config import KERNEL_NAME, NOTEBOOKS, ROOT, Paths
from helpers.intake.assemble import available_quarters
from helpers.domain.quarters import label_zh
from helpers.domain.labels import label
from helpers.domain.errors import Stop
from helpers.intake.readers import IntakeStop
from helpers.engine import (LOST_WORKER_ERRORS, EngineSpec, WorkersLost, kernels_use, open_engine, use,
                            workers_lost)
from helpers.store.storage import atomic_write_text, file_hash, read_json

TEMPLATES = Path(__file__).parent / "templates"
PACKAGES = ("pandas", "numpy", "pyarrow", "python-calamine", "pandera", "pyfixest", "statsmodels", "matplotlib",
            "seaborn", "papermill", "nbconvert", "mplfonts", "xlsxwriter", "python-docx", "rural-workbook")


class RunError(Exception):
    """A step of the run failed; the message names the notebook and the cell."""


@dataclass(frozen=True)
class Step:
    notebook: str              # file stem in notebooks/
    name: str                  # output name (03_effects_industry)
    fixed: dict                # parameters this step always gets
    follows: tuple = ()        # notebooks whose effective parameters this one takes where it declares them too


PLAN = (Step("01_intake", "01_intake", {}), Step("02_indicators", "02_indicators", {}),
        Step("03_effects", "03_effects_any", {"program": "any"}),
        Step("03_effects", "03_effects_industry", {"program": "industry"}),
        Step("03_effects", "03_effects_employment", {"program": "employment"}),
        Step("04_report", "04_report", {}, follows=("02_indicators", "03_effects")))


def declared(notebook: str) -> dict:
    """The parameters a notebook declares, with papermill's inferred types."""
    import papermill as pm

    return pm.inspect_notebook(str(NOTEBOOKS / f"{notebook}.ipynb"))


def _defaults(decl: dict) -> dict:
    """The default value of each declared parameter (the literal in the notebook's parameters cell)."""
    import ast

    out = {}
    for name, d in decl.items():
        try:
            out[name] = ast.literal_eval(d.get("default", "None"))
        except (ValueError, SyntaxError):
            out[name] = d.get("default")
    return out


def committed_defaults(notebook: str) -> dict | None:
    """The parameter defaults of the notebook as committed in git (None outside a git clone). JupyterLab's
    autosave can change a parameters cell without anyone meaning to: the run uses the committed defaults."""
    import tempfile

    import papermill as pm

    try:
        text = subprocess.run(["git", "show", f"HEAD:notebooks/{notebook}.ipynb"], cwd=ROOT, capture_output=True,
                              text=True, encoding="utf-8", timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    if text.returncode != 0 or not text.stdout:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{notebook}.ipynb"
        path.write_text(text.stdout, encoding="utf-8")
        return _defaults(pm.inspect_notebook(str(path)))


# The values a parameter may take, where they are a closed list or a range (checked before anything runs).
def allowed_values() -> dict:
    from helpers.analysis.construct import COVARIATES, OUTCOMES, PROGRAMS
    from helpers.domain.dictionary import COUNTIES

    return {"program": PROGRAMS, "outcome": tuple(OUTCOMES), "control": ("not_yet", "never"),
            "cluster": ("village", "county", "household_id"), "few_cluster": ("jackknife", "wild"),
            "lang": ("zh", "en"), "counties": COUNTIES, "covariates": COVARIATES, "trend_quarters": range(1, 41),
            "bootstrap_reps": range(99, 1_000_001)}


def check_values(step: str, params: dict) -> None:
    """Every parameter with a closed list of values or a range is within it; the message lists them."""
    for name, ok in allowed_values().items():
        if name not in params:
            continue
        value = params[name]
        listed = name in ("counties", "covariates")
        values = [v.strip() for v in str(value).split(",") if v.strip()] if listed else [value]
        wrong = [v for v in values if v not in ok]
        if wrong:
            what = f"{ok.start} to {ok.stop - 1}" if isinstance(ok, range) else ", ".join(ok)
            raise RunError(f"{step}: parameter {name} = {value!r} is not allowed; allowed: {what}"
                           + (" (comma-separated)" if listed else ""))


def _coerce(value, type_name: str, where: str):
    """Parameters keep their declared type; quarters and codes stay text, never numbers."""
    if type_name == "str":
        return str(value)
    if type_name == "int":
        if isinstance(value, bool) or not str(value).lstrip("-").isdigit():
            raise RunError(f"{where}: expected a whole number, got {value!r}")
        return int(value)
    if type_name == "bool":
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "1", "yes", "是"):
            return True
        if str(value).lower() in ("false", "0", "no", "否"):
            return False
        raise RunError(f"{where}: expected true or false, got {value!r}")
    return value


def plan_parameters(quarter: str, paths: Paths, extra: dict | None = None, lang: str = "zh",
                    counties: str = "") -> list[tuple[Step, dict]]:
    """Parameters per step, checked against each notebook's declaration before anything runs.

    ``extra`` comes from the YAML parameter file: top-level keys apply to every notebook that
    declares them; a key naming a notebook (``03_effects: {cluster: county}``) applies to it only.
    An unknown parameter is an error that lists what each notebook allows.
    """
    extra = dict(extra or {})
    decl = {s.notebook: declared(s.notebook) for s in PLAN}
    committed = {nb: committed_defaults(nb) for nb in decl}
    per_nb = {k: extra.pop(k) for k in list(extra) if k in decl}
    allowed = {nb: sorted(d) for nb, d in decl.items()}
    every = set().union(*[set(d) for d in decl.values()])
    unknown = [k for k in extra if k not in every]
    for nb, params in per_nb.items():
        unknown += [f"{nb}.{k}" for k in params if k not in decl[nb]]
    if unknown:
        listing = "; ".join(f"{nb}: {', '.join(a)}" for nb, a in allowed.items())
        raise RunError(f"unknown parameter(s) {', '.join(unknown)}. Allowed: {listing}")
    # What the command line decides (quarter, language, folders, counties) and what each step fixes (program)
    # cannot come from a parameter file: a `quarter:` there published another quarter's pages under this one.
    owned = {"quarter": "--quarter", "lang": "--lang", "counties": "--counties", "raw_dir": "--raw",
             "processed_dir": "--processed", "private_dir": "--private", "reports_dir": "--reports",
             "corrections_file": "--corrections", "program": "the run (one 03 page per program)"}
    clash = [k for k in extra if k in owned] + [f"{nb}.{k}" for nb, p in per_nb.items() for k in p if k in owned]
    if clash:
        raise RunError("parameter(s) " + ", ".join(clash) + " cannot be set in a parameter file: "
                       + "; ".join(f"{k.split('.')[-1]} is set by {owned[k.split('.')[-1]]}" for k in clash))
    base = {"quarter": quarter, "lang": lang, "raw_dir": str(paths.raw), "processed_dir": str(paths.processed),
            "private_dir": str(paths.private), "reports_dir": str(paths.reports), "counties": counties,
            "corrections_file": str(paths.corrections)}
    out = []
    for step in PLAN:
        d = decl[step.notebook]
        # Every parameter is passed explicitly (the manifest then records each effective value), its default
        # taken from the committed notebook when there is one (see ``committed_defaults``).
        params = committed.get(step.notebook) or _defaults(d)
        params = {k: v for k, v in params.items() if k in d}
        params.update({k: v for k, v in base.items() if k in d})
        params.update({k: v for k, v in extra.items() if k in d})
        for nb in step.follows:       # the report asks for the artifacts 02 and 03 made, with their parameters
            first = next(p for s, p in out if s.notebook == nb)
            made = next(s for s, _ in out if s.notebook == nb)
            params.update({k: v for k, v in first.items() if k in d and k not in made.fixed})
        params.update(per_nb.get(step.notebook, {}))
        params.update(step.fixed)
        params = {k: _coerce(v, d[k]["inferred_type_name"], f"{step.name}: parameter {k}") for k, v in params.items()}
        check_values(step.name, params)
        out.append((step, params))
    return out


def kernel_manager_class():
    """The kernel manager papermill starts kernels with: CurveZMQ transport encryption where the
    kernel supports it (ipykernel 7.3+ warns on every start about unencrypted TCP otherwise)."""
    import zmq
    from jupyter_client.manager import KernelManager

    class EncryptedKernelManager(KernelManager):
        def __init__(self, **kw):
            super().__init__(**kw)
            if zmq.has("curve"):
                self.transport_encryption = "auto"

    return EncryptedKernelManager


def exporter(share: bool):
    """nbconvert's HTML exporter with the offline template; without code for sharing."""
    from nbconvert import HTMLExporter

    return HTMLExporter(template_name="offline", extra_template_basedirs=[str(TEMPLATES)], embed_images=True,
                        exclude_input=share, exclude_input_prompt=share, exclude_output_prompt=share)


def page_title(nb, stem: str) -> str:
    """The HTML page's title: the quarter and the report's name (“2023Q2 数据入库检查 · 巴中市乡村振兴季度评估”),
    from the parameters papermill recorded in the executed notebook."""
    params = nb.metadata.get("papermill", {}).get("parameters", {}) or {}
    quarter, lang = str(params.get("quarter", "")), params.get("lang", "zh")
    if lang == "en":
        name = REPORT_TITLES_EN.get(stem, stem)
        return f"{quarter} {name} · Bazhong rural revitalization, quarterly evaluation".strip()
    return f"{quarter} {REPORT_TITLES.get(stem, stem)} · 巴中市乡村振兴季度评估".strip()


def shareable(nb):
    """A copy of an executed notebook for people who do not read code: printed text, warnings and log
    messages (stream outputs: local paths, key notices, English log lines) and errors are analyst-only;
    what a reader should see is displayed (Markdown, tables, figures)."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if o.get("output_type") not in ("stream", "error")]
    return nb


def for_language(nb, lang: str):
    """The notebook as a reader of ``lang`` sees it: narrative cells are written once per language (tagged
    ``lang:zh`` / ``lang:en``; JupyterLab shows both), and a page keeps its own language's cells and the
    untagged ones."""
    nb = copy.deepcopy(nb)
    nb.cells = [c for c in nb.cells
                if not any(t.startswith("lang:") and t != f"lang:{lang}" for t in c.get("metadata", {}).get("tags", []))]
    return nb


def export(nb_path: Path, analyst_dir: Path, share_dir: Path | None) -> list[Path]:
    """Write the analyst (with code) and shareable (without code and without printed text) HTML of an
    executed notebook, each titled with the report's name and quarter."""
    nb = nbformat.read(nb_path, as_version=4)
    nb = for_language(nb, (nb.metadata.get("papermill", {}).get("parameters", {}) or {}).get("lang", "zh"))
    nb.metadata["title"] = page_title(nb, nb_path.stem)
    written = []
    for share, folder in ((False, analyst_dir), (True, share_dir)):
        if folder is None:
            continue
        body, _ = exporter(share).from_notebook_node(shareable(nb) if share else nb)
        path = folder / f"{nb_path.stem}.html"
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, body)
        written.append(path)
    return written


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=10).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _versions() -> dict:
    out = {"python": platform.python_version()}
    for p in PACKAGES:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            pass
    return out


def _hashes(files) -> dict:
    """SHA-256 of each file by its path (scrubbed: a county's file name may carry a phone or ID number)."""
    from helpers.intake.pseudonym import scrub_text

    return {scrub_text(str(p)): file_hash(p) for p in sorted(files) if p.is_file()}


QUARTER_FOLDER = re.compile(r"[0-9]{4}Q[1-4]")
REPORT_TITLES = {"01_intake": "数据入库检查", "02_indicators": "季度指标与综合评比", "03_effects_any": "帮扶效果：任一帮扶",
                 "03_effects_industry": "帮扶效果：产业帮扶", "03_effects_employment": "帮扶效果：就业帮扶",
                 "04_report": "季度评估报告（摘要）"}
REPORT_TITLES_EN = {"01_intake": "Intake check", "02_indicators": "Indicators and county comparison",
                    "03_effects_any": "Program effects: any support", "03_effects_industry": "Program effects: industry support",
                    "03_effects_employment": "Program effects: employment support", "04_report": "Quarterly evaluation (summary)"}


DOCUMENT_LINKS = {".xlsx": "xlsx_link", ".docx": "docx_link", ".pdf": "pdf_link"}     # office files in share/


def _document_names(quarter: str) -> set[str]:
    """The names the run gives its office files in either language (any other file in share/ is not linked)."""
    from helpers.domain.labels import LANGS
    from helpers.pipeline.documents import report_file
    from helpers.present.office import file_name

    return {n for lg in LANGS for n in (file_name(quarter, lg), report_file(quarter, lg, ".docx"),
                                        report_file(quarter, lg, ".pdf"))}


def write_index(reports: Path) -> Path:
    """reports/index.html: every quarter's shareable reports, so the folder can be sent as it is.

    Only folders named like a quarter (``2023Q2``) with a ``share`` folder are listed (a copy such
    as ``2023Q2备份`` is left out); the page is rendered from ``templates/reports_index.html.j2``
    with autoescape, so no folder or file name can inject markup."""
    quarters = []
    for q in sorted((p.name for p in reports.iterdir()
                     if QUARTER_FOLDER.fullmatch(p.name) and (p / "share").is_dir()), reverse=True):
        files = sorted((reports / q / "share").glob("*.html"), key=lambda f: (f.stem != "04_report", f.stem))
        documents = [f for f in (reports / q / "share").iterdir() if f.name in _document_names(q)]
        manifest = read_json(reports / q / "manifest.json")
        qlang = manifest.get("lang", "zh") if manifest.get("lang") in ("zh", "en") else "zh"
        titles = REPORT_TITLES if qlang == "zh" else REPORT_TITLES_EN
        quarters.append({"name": q, "title": label_zh(q) if qlang == "zh" else q, "lang": qlang,
                         "simulated": bool(manifest.get("simulated")),
                         "reports": [{"href": quote(f.name), "title": titles.get(f.stem, f.stem)} for f in files],
                         "downloads": [{"href": quote(f.name), "title": label("office", DOCUMENT_LINKS[f.suffix], qlang)}
                                       for f in sorted(documents, key=lambda f: list(DOCUMENT_LINKS).index(f.suffix))]})
    lang = quarters[0]["lang"] if quarters else "zh"          # the page speaks the newest quarter's language
    text = {k: label("index", k, lang) for k in ("title", "heading", "offline", "simulated_note", "simulated_tag")}
    text["downloads"] = label("office", "downloads", lang)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    page = env.get_template("reports_index.html.j2").render(quarters=quarters, text=text, lang=lang,
                                                            any_simulated=any(q["simulated"] for q in quarters))
    path = reports / "index.html"
    atomic_write_text(path, page)
    return path


def run(quarter: str | None = None, paths: Paths | None = None, params_file: str | Path | None = None,
        lang: str = "zh", counties: str = "", progress=print, workers: int = 2, pdf: bool = False,
        engine=None) -> dict:
    """The quarterly run. Returns the manifest; raises RunError (or IntakeStop) on failure.

    ``workers`` notebooks that do not depend on each other (the three effects notebooks) run
    side by side; 1 runs everything in order. ``pdf``: also print the summary report to PDF (skipped with a
    note when no browser is installed). ``engine`` (a ``helpers.engine.EngineSpec``; default: config/workbook.yaml
    ``engine:``): with ``dask`` the run starts (or connects to) a Dask cluster, runs intake on it, and the notebooks'
    kernels use the same cluster (``helpers.engine.SCHEDULER_ENV``); the cluster it started is closed at the end."""
    import papermill as pm

    from helpers.store.locks import processed_lock

    paths = paths or Paths()
    quarters = available_quarters(paths.raw)
    if not quarters:
        raise RunError(f"{paths.raw}: no quarter folders (such as 2023Q2/)")
    quarter = quarter or quarters[-1]
    if quarter not in quarters:
        raise RunError(f"unknown quarter {quarter!r}; available in {paths.raw}: {', '.join(quarters)}")
    if lang not in ("zh", "en"):
        raise RunError(f"--lang must be zh or en, not {lang!r}")
    extra = {}
    if params_file:
        with open(params_file, encoding="utf-8") as fh:
            extra = yaml.safe_load(fh) or {}
    # The notebooks write into a staging folder; only a run that finished replaces the published reports.
    stage_root = paths.reports / STAGING
    staged = dataclasses.replace(paths, reports=stage_root)
    plan = plan_parameters(quarter, staged, extra, lang, counties)
    changed = changed_defaults()
    for nb, names in changed.items():
        progress(f"注意 / Note: notebooks/{nb}.ipynb 的参数默认值与已提交的版本不同（{', '.join(names)}），本次运行使用已提交的默认值。 / "
                 f"the parameter defaults of notebooks/{nb}.ipynb differ from the committed version ({', '.join(names)}): "
                 f"this run uses the committed defaults.")
    # One writer of data/processed at a time; the run's kernels (notebook 01's intake) know the lock is theirs.
    spec = engine if engine is not None else EngineSpec.make()
    with processed_lock(paths.processed, progress), open_engine(spec, say=progress, private=paths.private) as eng, use(eng), kernels_use(eng):
        # Intake first, in this process: a problem in the data stops here with its one message (exit code 2)
        # before any notebook runs; notebook 01 then finds every quarter in the cache.
        from helpers.intake.assemble import run_intake
        from helpers.store.memory import release

        run_intake(quarter, paths, progress=progress)
        release()        # intake's freed memory back to the system before the kernels start (docs/performance.md)
        shutil.rmtree(stage_root, ignore_errors=True)
        stage, qdir = stage_root / quarter, paths.reports / quarter
        nb_dir, analyst, share = stage / "notebooks", stage / "analyst", stage / "share"
        t_all = time.perf_counter()
        total = len(plan)

        def execute(i: int, step: Step, params: dict) -> dict:
            out = nb_dir / f"{step.name}.ipynb"
            out.parent.mkdir(parents=True, exist_ok=True)
            progress(f"[{i}/{total}] {step.name} ...")
            t0, started = time.perf_counter(), time.time()
            source = NOTEBOOKS / f"{step.notebook}.ipynb"
            try:
                pm.execute_notebook(str(source), str(out), parameters=params,
                                    kernel_name=KERNEL_NAME, progress_bar=False, cwd=str(ROOT),
                                    kernel_manager_class=kernel_manager_class())
            except pm.PapermillExecutionError as exc:
                export(out, analyst, None)
                if exc.ename == "IntakeStop":         # a problem in the data, not in the run: exit code 2
                    raise IntakeStop(exc.evalue) from None
                if exc.ename == "WorkersLost":        # the cluster's memory, not the run: exit code 2, its message
                    raise WorkersLost(f"{step.name}: {exc.evalue}") from None
                if eng.is_dask and exc.ename in LOST_WORKER_ERRORS:   # Dask's, where no step said so: the message
                    raise workers_lost(eng.client, step.name) from None
                raise RunError(f"{step.name} failed in cell {exc.exec_count} ({exc.ename}: "
                               f"{exc.evalue.splitlines()[0] if exc.evalue else ''}).") from None
            t_exec = time.perf_counter() - t0
            export(out, analyst, share)
            progress(f"      {step.name} done in {time.perf_counter() - t0:.1f} s")
            return {"step": step.name, "notebook": f"notebooks/{step.notebook}.ipynb", "notebook_sha256": file_hash(source),
                    "parameters": _published(params, stage_root, paths.reports),
                    "seconds": round(time.perf_counter() - t0, 2), "execute_seconds": round(t_exec, 2),
                    "started": round(started, 2), "ended": round(time.time(), 2)}

        try:
            steps = _execute_plan(plan, execute, workers)
            documents = _documents(quarter, staged, plan, lang, stage, pdf, progress)
        except (RunError, Stop) as exc:
            failed = _keep_failed(stage, qdir)
            raise exc.__class__(f"{exc} 未完成的笔记本及其 HTML 在 {failed}；上次成功运行的报告保持不变。 / The partly executed "
                                f"notebooks and their HTML are in {failed}; the last good reports are unchanged.") from None
        except BaseException:
            _keep_failed(stage, qdir)
            raise
        _publish(stage, qdir)
        shutil.rmtree(stage_root, ignore_errors=True)
        inputs = [f for q in quarters if q <= quarter for f in (paths.raw / q).iterdir()]
        inputs += [paths.corrections, paths.register, *(ROOT / "config").glob("*.yaml")]
        manifest = {
            "quarter": quarter, "lang": lang, "counties": counties or "all",
            "parameters": {s["step"]: s["parameters"] for s in steps},
            "notebook_defaults_changed": changed,
            "git_commit": _git_commit(), "packages": _versions(),
            "pseudonym_key_fingerprint": read_json(paths.processed / "manifest.json").get("key_fingerprint"),
            "simulated": read_json(paths.processed / "manifest.json").get("simulated"),
            "inputs": _hashes(p for p in inputs if p.exists()),
            "steps": steps, "documents": documents, "seconds": round(time.perf_counter() - t_all, 2),
            "machine": {"platform": platform.platform(), "cpus": __import__("os").cpu_count()},
            "engine": {"name": spec.name, "scheduler": spec.scheduler or ("local cluster" if eng.is_dask else ""),
                       "workers": eng.workers},
        }
        manifest["outputs"] = _hashes(p for sub in PUBLISHED for p in (qdir / sub).rglob("*"))
        atomic_write_text(qdir / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1))
        write_index(paths.reports)                 # after the manifest: it says whether the data are simulated
        return manifest


def _documents(quarter: str, staged: Paths, plan, lang: str, stage: Path, pdf: bool, progress) -> dict:
    """The office files of the run in ``share/``: the results workbook from the artifacts the report read (with
    04's parameters), the report as a Word document from the executed notebook 04, and with ``pdf`` the shareable
    page printed to PDF. Returns their names (and why a PDF was skipped) for the manifest."""
    from helpers.pipeline import documents as docs

    t0 = time.perf_counter()
    share = stage / "share"
    params = next(p for s, p in plan if s.notebook == "04_report")
    try:
        out = {"xlsx": docs.results_workbook(quarter, staged, params, share, lang).name,
               "docx": docs.report_docx(stage / "notebooks" / "04_report.ipynb", share).name}
        if pdf:
            try:
                out["pdf"] = docs.print_pdf(share / "04_report.html", share / docs.report_file(quarter, lang, ".pdf")).name
            except FileNotFoundError as exc:          # no browser here: one line, the rest of the run stands
                progress(str(exc))
                out["pdf_skipped"] = str(exc)
    except (OSError, RuntimeError, ValueError, KeyError, subprocess.SubprocessError) as exc:
        raise RunError(f"office documents (xlsx, docx, pdf): {type(exc).__name__}: {exc}") from None
    out["seconds"] = round(time.perf_counter() - t0, 2)
    progress(f"      office documents ({', '.join(v for k, v in out.items() if k in ('xlsx', 'docx', 'pdf'))}) "
             f"done in {out['seconds']:.1f} s")
    return out


STAGING = ".staging"                       # reports/.staging/<q>/: the run in progress
PUBLISHED = ("notebooks", "analyst", "share", "results", "figures")    # what a finished run replaces


def _execute_plan(plan, execute, workers: int) -> list[dict]:
    """Run the steps in order; the effects notebooks (one per program) do not depend on each other and
    run side by side."""
    groups: list[list[tuple[int, Step, dict]]] = []
    for i, (step, params) in enumerate(plan, 1):
        if groups and step.notebook == "03_effects" and groups[-1][0][1].notebook == "03_effects":
            groups[-1].append((i, step, params))
        else:
            groups.append([(i, step, params)])
    steps = []
    for group in groups:
        if len(group) == 1 or workers <= 1:
            steps.extend(execute(*item) for item in group)
            continue
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(execute, *item) for item in group]
            done = [f.exception() or f.result() for f in futures]
        failed = [d for d in done if isinstance(d, BaseException)]
        if failed:
            raise failed[0]
        steps.extend(done)
    return steps


def _published(params: dict, stage_root: Path, reports: Path) -> dict:
    """The parameters as the published run has them (the staging folder is where they were written first)."""
    return {k: (str(reports) if v == str(stage_root) else v) for k, v in params.items()}


def _publish(stage: Path, qdir: Path) -> None:
    """Replace the quarter's published folders with the finished run's, one folder at a time (each a rename)."""
    qdir.mkdir(parents=True, exist_ok=True)
    for sub in PUBLISHED:
        new, old = stage / sub, qdir / sub
        if not new.exists():
            continue
        retired = qdir / f".{sub}.old"
        shutil.rmtree(retired, ignore_errors=True)
        if old.exists():
            old.rename(retired)
        new.rename(old)
        shutil.rmtree(retired, ignore_errors=True)
    shutil.rmtree(qdir / "failed", ignore_errors=True)       # a later good run makes an old failure moot


def _keep_failed(stage: Path, qdir: Path) -> Path:
    """Move a failed run's partial notebooks, pages, results and figures to ``<q>/failed/`` (replacing an
    older failure), beside the last good reports, never over them."""
    failed = qdir / "failed"
    shutil.rmtree(failed, ignore_errors=True)
    qdir.mkdir(parents=True, exist_ok=True)
    if stage.exists():
        stage.rename(failed)
        shutil.rmtree(stage.parent, ignore_errors=True)
    return failed


def changed_defaults() -> dict:
    """Notebooks whose parameters cell in the working tree differs from the committed one: {notebook: names}."""
    out = {}
    for nb in dict.fromkeys(s.notebook for s in PLAN):
        committed = committed_defaults(nb)
        if committed is None:
            continue
        here = _defaults(declared(nb))
        names = sorted(k for k in set(here) | set(committed) if here.get(k) != committed.get(k))
        if names:
            out[nb] = names
    return out


__all__ = ["run", "RunError", "plan_parameters", "export", "write_index", "IntakeStop"]
