#!/usr/bin/env python
"""Build the documentation site into _docs/ from the notebooks of nbs/ (`make docs`; offline, with smalldocs), or
with Quarto as GitHub publishes it (`make docs DOCS_ENGINE=quarto`, run by .github/workflows/deploy.yaml).

The notebooks are the source of the site, and they hold their outputs: every plot, table and printed value on a page
is what the notebook stored when it was last run (`make nbs` re-runs them). Nothing executes them while the site is
built, except nbdev's own `show_doc` step. Both routes take the same steps up to the renderer:

1. nbs/sidebar.yml is written from the notebooks present (`write_sidebar`): Home, then Tutorials (`TUTORIALS`, in
   reading order), then the API pages in notebook order.
2. nbdev's processing (`refresh_quarto_yml`, `proc_nbs`: nbs/ into _proc/, incremental by modification time): front
   matter, a `show_doc` block for every exported symbol, links, hidden and export cells removed. In a notebook with
   exports nbdev also runs every cell that imports something and shows that run's outputs: such cells are reported
   (`rerun_cells`). `nbdev-proc-nbs` is not used: it would try to install Quarto where there is none and rewrites
   lrfind_ext/_modidx.py, which `make export` owns.
3. Each `show_doc` signature of a class or a property is written in _proc/ as Python writes the symbol (`fix_proc`):
   fastcore writes `def Snapshot(` and `def window():` for every symbol.
4. The renderer. GitHub: `nbdev-docs`, whose own processing finds _proc/ up to date, then Quarto (the build fails if
   nbdev processed a notebook again, undoing step 3). Here, where Quarto can't be installed (PyPI's `quarto-cli`
   downloads it from GitHub; neither Debian nor npm ships it): smalldocs, a pure-Python renderer of Quarto website
   projects (same `_quarto.yml`, `nbdev.yml`, `sidebar.yml`), on a copy of _proc/ with the fix-ups it needs (`stage`:
   it ignores `output-file`, so each notebook takes its page's name and the links follow; links to the public site
   become relative, so that the browser test checks them too). _docs/ is replaced only once the new site is complete.

smalldocs' warnings about Quarto-only settings (`keep-md`, `output-file`, ...) are expected and not reported; any
other (a broken link, say) is printed, and the build goes on. tests/test_docs_site.py builds the site the local way,
serves _docs/ on 127.0.0.1 and opens every page in headless Chromium.
"""
import argparse,ast,functools,json,os,re,shutil,subprocess,sys,time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NBS,PROC,DOCS = ROOT/'nbs',ROOT/'_proc',ROOT/'_docs'
# The fixed-up copy for smalldocs, and the previous site while the new one takes its place: inside _proc/ (ignored by
# git), under names nbdev leaves alone
STAGE,OLD = PROC/'.smalldocs',PROC/'.old_docs'

# The Tutorials section, in reading order: the pages that are not API pages, and the API page on training setups,
# which reads as a guide; any other page that is not an API page follows them, by name.
TUTORIALS = ['workflow', 'reading_the_plot', 'migrating', 'benchmark', 'benchmark_research', '11_setups', 'custom_suggester']
_num = re.compile(r'^\d+[a-zA-Z0-9]*_') # an API page: numbered as nbdev reads numbers (08a_probes too; nbdev's config.py)

# What the proc step runs, in a child process from the project root (nbdev reads its config from the cwd).
_PROC = """
from nbdev.quarto import refresh_quarto_yml
from nbdev.serve import proc_nbs
refresh_quarto_yml()
proc_nbs(n_workers={n})
"""

# smalldocs' warnings about Quarto-only settings of a standard nbdev _quarto.yml: expected, not reported.
_EXPECTED = re.compile(r'unknown key format-links|format commonmark is not built|keep-md is ignored|output-file is not read')

def _env():
    "The environment of the nbdev steps: no plotting window, and no FutureWarning of torch on the pages"
    return {**os.environ, 'MPLBACKEND': 'Agg', 'PYTHONWARNINGS': 'ignore::FutureWarning'}

def pages(nbs=NBS):
    "The notebooks that are pages of the site, as nbdev finds them: not in or under a name starting with _ or ."
    return sorted(p for p in nbs.rglob('*.ipynb') if not any(q.startswith(('_','.')) for q in p.relative_to(nbs).parts))

def sidebar(nbs=NBS)->str:
    "The text of sidebar.yml for the notebooks in `nbs`: Home, Tutorials, API"
    names = [p.relative_to(nbs).as_posix() for p in pages(nbs)]
    home = [n for n in names if n=='index.ipynb']
    api = [n for n in names if _num.match(Path(n).name) and Path(n).stem not in TUTORIALS]
    rest = [n for n in names if n not in home+api]
    order = {n:i for i,n in enumerate(TUTORIALS)}
    tuts = sorted(rest, key=lambda n: (order.get(Path(n).stem, len(order)), n))
    lines = ['# Written by scripts/docs.py (`make docs`) from the notebooks in nbs/: edit TUTORIALS there, not this file.',
             'website:', '  sidebar:', '    contents:']
    lines += [f'      - text: Home\n        href: {n}' for n in home]
    for title,items in ('Tutorials',tuts),('API',api):
        if not items: continue
        lines += [f'      - section: {title}', '        contents:'] + [f'          - {n}' for n in items]
    return '\n'.join(lines) + '\n'

def write_sidebar(nbs=NBS)->bool:
    "Write nbs/sidebar.yml if it changed; whether it did"
    p,txt = nbs/'sidebar.yml',sidebar(nbs)
    if p.exists() and p.read_text()==txt: return False
    p.write_text(txt)
    return True

def proc(n_workers=None, verbose=False):
    "nbdev's processing of nbs/ into _proc/ (incremental: a notebook is processed again only when it changed)"
    n = n_workers if n_workers is not None else min(2, os.cpu_count() or 1)
    r = subprocess.run([sys.executable, '-c', _PROC.format(n=n)], cwd=ROOT, env=_env(), capture_output=True, text=True)
    out = r.stdout + r.stderr
    if verbose: print(out, end='')
    if r.returncode: raise RuntimeError("nbdev's processing of the notebooks failed (so would `nbdev-docs` on "
                                        "GitHub):\n" + _proc_error(out))

def _proc_error(out):
    "The notebook, cell and error of a failed proc step, from its output"
    lines = out.splitlines()
    i = max((k for k,l in enumerate(lines) if l.startswith('Exception: Error in notebook')), default=None)
    if i is None: return '\n'.join(lines[-20:])
    j = next((k for k in range(i+1, len(lines)) if re.match(r'^\w+(Error|Exception|Warning)\b.*:', lines[k])), len(lines)-1)
    return ('\n'.join(lines[i:j+1]) + "\nnbdev runs the export cells, the show_doc cells and every cell with an import "
            "to render the docs: a cell that imports must not use names from cells it doesn't run (put the import in a "
            "cell of its own, or at the top).")

_DOC = {'export','exports','exec_doc'} # the cells nbdev documents (it runs them, and `exporti` ones)

def _show_doc(trees): return any(isinstance(t, ast.Expr) and getattr(getattr(t.value, 'func', None), 'id', None)=='show_doc' for t in trees)

def rerun_cells(path)->list:
    """Cells of notebook `path` that nbdev runs again while building the docs, though they are neither exports nor
    `show_doc`: in a notebook with exports, nbdev runs every cell that imports something (so that `show_doc` finds
    its names), and replaces its stored outputs with what that run printed or drew. A cell that also trains, plots or
    uses names of cells nbdev doesn't run makes the build slow, its outputs different from the notebook's, or the
    build fail. Keep imports in cells of their own. Hidden cells (set-up) are not reported. Returns (cell index,
    first line) pairs."""
    from nbdev.process import NBProcessor
    code = [c for c in NBProcessor(path).nb.cells if c.cell_type=='code' and c.source and c.parsed_()]
    if not any(c.directives_.keys() & _DOC or _show_doc(c.parsed_()) for c in code): return []
    return [(c.idx_, c.source.splitlines()[0]) for c in code
            if not c.directives_.keys() & (_DOC|{'exporti','hide'}) and c.directives_.get('eval', '').lower()!='false'
            and not _show_doc(c.parsed_()) and any(isinstance(n, (ast.Import, ast.ImportFrom)) for t in c.parsed_() for n in ast.walk(t))
            and not all(isinstance(t, (ast.Import, ast.ImportFrom)) for t in c.parsed_())]

def _front(nb)->dict:
    "The YAML front matter nbdev put in the first (raw) cell of a processed notebook, as a dict"
    import yaml
    c = nb['cells'][0] if nb.get('cells') else None
    if not c or c['cell_type']!='raw': return {}
    m = re.match(r'\s*---\n(.*?)\n---', ''.join(c['source']), re.S)
    return yaml.safe_load(m.group(1)) or {} if m else {}

def _site_url(d)->str:
    import yaml
    return str(((yaml.safe_load((d/'nbdev.yml').read_text()) or {}).get('website') or {}).get('site-url') or '').rstrip('/')

def _fix_text(s, renames, site):
    "Links in Markdown or HTML: the public site's own URLs made relative, renamed notebooks followed"
    if site: s = re.sub(r'(\]\(|href=["\'])' + re.escape(site) + r'/', r'\1', s)
    for a,b in renames.items():
        s = re.sub(r'(\]\(|href=["\'])' + re.escape(a), lambda m: m.group(1)+b, s)
    return s

# A `show_doc` block as nbdev writes it: a source link to the module's file, the heading, the signature as `def`.
_SHOW_DOC = re.compile(r'\[source\]\([^)\s]*/blob/[^/)\s]+/(?P<file>[\w/]+)\.py#[^)\s]*\)[^\n]*\n\n#+ (?P<name>[\w.]+)\n\n```python\n(?P<sig>def .*?)\n```', re.S)

def _symbol(file, name):
    "The object `name` (`f` or `Class.attr`) of module file `file` (`lrfind_ext/curve`), or None"
    import importlib,inspect
    try: obj = importlib.import_module(file.replace('/', '.'))
    except Exception: return None
    for part in name.split('.'):
        try: obj = inspect.getattr_static(obj, part) if inspect.isclass(obj) else getattr(obj, part)
        except AttributeError: return None
    return obj

def _sig_of(m)->str:
    "The signature of one `show_doc` block as Python writes the symbol: `class` for a class, `@property` for a property"
    import inspect
    obj,sig = _symbol(m['file'], m['name']),m['sig']
    short = m['name'].split('.')[-1]
    if inspect.isclass(obj) and not inspect.isfunction(obj.__init__): # a builtin's constructor: fastcore shows `(*args, **kwargs)`
        bases = ', '.join(b.__name__ for b in obj.__bases__ if b is not object)
        sig = f'class {short}({bases}):' if bases else f'class {short}:'
    elif inspect.isclass(obj):
        sig = re.sub(r'^def ', 'class ', sig)
        sig = re.sub(r'\)\s*->\s*None:$', '):', sig)
        if sig==f'class {short}():': sig = f'class {short}:'
    elif isinstance(obj, (property, functools.cached_property)):
        f = obj.fget if isinstance(obj, property) else obj.func
        ret = inspect.signature(f).return_annotation
        ret = '' if ret is inspect.Signature.empty else '->' + (ret if isinstance(ret, str) else getattr(ret, '__name__', str(ret)))
        deco = '@property' if isinstance(obj, property) else '@cached_property'
        sig = f'{deco}\ndef {short}(self){ret}:'
    return sig

def fix_show_doc(md):
    """nbdev's `show_doc` Markdown with each signature written as Python writes the symbol: fastcore renders a class
    as `def Snapshot(...)` and a property as `def window():`, which reads as a function; here a class is
    `class Snapshot(...)`, a property `@property def window(self)`. Anything else is left as it is."""
    text = ''.join(md) if isinstance(md, list) else md
    return _SHOW_DOC.sub(lambda m: m[0][:m.start('sig')-m.start()] + _sig_of(m) + m[0][m.end('sig')-m.start():], text)

def fix_proc(proc=PROC)->int:
    "Apply `fix_show_doc` in place to the notebooks nbdev wrote into `proc` since it last ran; how many it changed"
    stamp = proc/'.show_doc_fixed' # touched when it is done
    since,n = stamp.stat().st_mtime if stamp.exists() else 0,0
    for p in proc.glob('**/*.ipynb'):
        if p.relative_to(proc).parts[0] in (STAGE.name, OLD.name, DOCS.name) or p.stat().st_mtime < since: continue
        nb = json.loads(p.read_text())
        outs = [o['data'] for c in nb['cells'] for o in c.get('outputs', []) if 'text/markdown' in o.get('data', {})]
        new = [fix_show_doc(d['text/markdown']) for d in outs]
        if new==[''.join(d['text/markdown']) if isinstance(d['text/markdown'], list) else d['text/markdown'] for d in outs]: continue
        for d,t in zip(outs, new): d['text/markdown'] = t
        p.write_text(json.dumps(nb, indent=1))
        n += 1
    if proc.is_dir(): stamp.touch()
    return n

def stage(src=PROC, dst=STAGE)->Path:
    "A copy of `src` (nbdev's _proc) fixed up for smalldocs, in `dst`; returns it"
    dst = Path(dst)
    if dst.exists(): shutil.rmtree(dst)
    shutil.copytree(src, dst, ignore=lambda d,names: [n for n in names if Path(d,n) in (dst, OLD)])
    site,renames = _site_url(dst),{}
    nbs = {p:json.loads(p.read_text()) for p in dst.rglob('*.ipynb') if '_docs' not in p.relative_to(dst).parts}
    for p,nb in nbs.items():
        out = _front(nb).get('output-file')
        if out and Path(out).stem!=p.stem:
            new = p.with_name(Path(out).stem + '.ipynb')
            if new.exists() or new in nbs: raise RuntimeError(f"{p.name} and {new.name} would both be {out}")
            for a,b in (p.name,new.name),(p.stem+'.html',Path(out).name): renames[a] = b
    for p,nb in nbs.items():
        for c in nb['cells']:
            if c['cell_type']=='markdown': c['source'] = _fix_text(''.join(c['source']), renames, site)
            for o in c.get('outputs', []):
                for k in 'text/markdown','text/html':
                    if k in o.get('data', {}): o['data'][k] = _fix_text(''.join(o['data'][k]), renames, site)
        out = _front(nb).get('output-file')
        p.unlink()
        q = p.with_name(Path(out).stem + '.ipynb') if out else p
        q.write_text(json.dumps(nb, indent=1))
    sb = dst/'sidebar.yml'
    if sb.exists():
        txt = sb.read_text()
        for a,b in renames.items(): txt = re.sub(r'(?m)^(\s*(?:- )?(?:href: )?)' + re.escape(a) + r'\s*$', lambda m: m.group(1)+b, txt)
        sb.write_text(txt)
    return dst

def render(staged, out=DOCS):
    "Render the staged project with smalldocs into `out` (replaced only once the new site is complete); its warnings"
    from smalldocs.site import build
    site = build(staged, quiet=True)
    shutil.rmtree(OLD, ignore_errors=True)
    if out.exists(): out.rename(OLD)
    shutil.move(str(site.out), out)
    shutil.rmtree(OLD, ignore_errors=True)
    shutil.rmtree(staged, ignore_errors=True)
    return [w for w in site.warnings if not _EXPECTED.search(w)]

def _warn_reruns():
    for nb in pages():
        if cells := rerun_cells(nb):
            print(f"warning: {nb.relative_to(ROOT)}: nbdev runs {len(cells)} example cell{'s'*(len(cells)>1)} again to build the "
                  "docs, as they mix imports with other code, and the page shows that run's outputs (put the imports in "
                  "a cell of their own): " + ', '.join(f'`{l[:40]}`' for _,l in cells))

def prepare(verbose=False, quiet=False):
    "The steps both routes take: the sidebar, nbdev's processing, the show_doc fix"
    if write_sidebar() and not quiet: print('nbs/sidebar.yml: updated from the notebooks')
    if not quiet: _warn_reruns()
    proc(verbose=verbose)
    fix_proc()

def build(verbose=False, quiet=False)->list:
    "The local route: `prepare`, then smalldocs on a staged copy. Returns the warnings."
    t = time.time()
    prepare(verbose, quiet)
    warns = render(stage())
    if not quiet:
        for w in warns: print(f'warning: {w}')
        n = len(list(DOCS.rglob('*.html')))
        print(f'_docs/: {n} pages in {time.time()-t:.0f}s ({len(warns)} warning{"s"*(len(warns)!=1)})')
    return warns

def build_quarto():
    "The public route, for machines with Quarto (GitHub's): `prepare`, then `nbdev-docs`"
    if not shutil.which('quarto'): sys.exit('Quarto is not installed: run `make docs` without DOCS_ENGINE=quarto')
    prepare()
    subprocess.run([Path(sys.executable).parent/'nbdev-docs'], cwd=ROOT, env=_env(), check=True)
    if n := fix_proc(): sys.exit(f"nbdev-docs processed {n} notebook{'s'*(n>1)} again after `prepare`, so the site shows fastcore's "
                                 "show_doc signatures there: `proc` must leave _proc/ as up to date as nbdev-docs expects it")

if __name__=='__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--quarto', action='store_true', help='render with Quarto (`nbdev-docs`), as the GitHub workflow does')
    ap.add_argument('--sidebar', action='store_true', help='only write nbs/sidebar.yml')
    ap.add_argument('-v', '--verbose', action='store_true', help="print nbdev's output")
    a = ap.parse_args()
    if a.sidebar: print('updated' if write_sidebar() else 'unchanged', NBS/'sidebar.yml')
    elif a.quarto: build_quarto()
    else:
        try: build(a.verbose)
        except RuntimeError as e: sys.exit(f'make docs: {e}')
