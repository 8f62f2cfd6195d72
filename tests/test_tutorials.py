"""Tutorial code runs as shown, and the tutorial pages' own tests pass: each tutorial page runs once, in a process of
its own (tests/lrf_pages.py). The code cells a reader sees (not `#| hide`, not `#| export`/`#| exporti`, not `echo:
false` or `include: false`; `#| slow` cells only with --runslow; `eval: false` ones not at all) run as one plain
script would: in an empty temporary folder (so that they can't read the repository's files, nbs/data among them), in
a namespace of their own. They must run, leave the folder empty, and use no private names of the package or of fastai
(`_x`): a reader copying the page has only the public API. The hidden cells (the page's tests, and code whose output
the page shows without its code) run beside them from nbs/, as nbdev's test runs them, seeing every name.

The tutorial pages are the pages without a number that show code; nbdev's test of the other pages is in
tests/test_notebooks.py. `python tests/test_tutorials.py nbs/X.ipynb` prints a page's visible code as a script."""
import ast,json,sys,tempfile
from pathlib import Path
import pytest
from lrf_pages import NBS,pages,directives,shown,forked,run_tutorial

# Pages whose check is expected to fail, with why (none)
XFAIL = {}
# Public names that start with an underscore: namedtuple's API (fastai's SuggestedLRs is one).
PUBLIC_UNDERSCORE = {'_fields', '_asdict', '_replace', '_make', '_field_defaults'}

def visible_cells(nb_path, slow=False)->list:
    "The sources of the code cells of a page a reader sees and would run, in order"
    res = []
    for c in json.loads(Path(nb_path).read_text())['cells']:
        src = ''.join(c['source'])
        if c['cell_type']!='code' or not src.strip() or not shown(src): continue
        d = directives(src)
        if d.get('eval','').lower()=='false' or ('slow' in d and not slow): continue
        res.append(src)
    return res

def script(nb_path, slow=False)->str:
    "A page's visible code as one plain script"
    return '\n\n'.join(visible_cells(nb_path, slow))

def tutorials(nbs=NBS)->list:
    "The tutorial pages: those whose name starts with no number, with code a reader sees"
    return [p for p in pages(nbs) if not p.name[0].isdigit() and visible_cells(p, slow=True)]

def _defined(tree)->set:
    "Names the script itself binds (a reader may give their own functions private names)"
    res = set()
    for n in ast.walk(tree):
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)): res.add(n.name)
        elif isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store): res.add(n.id)
        elif isinstance(n, ast.arg): res.add(n.arg)
    return res

def private_names(src:str)->list:
    "Names starting with one underscore that the code uses but doesn't define itself: imported, or attributes"
    tree = ast.parse(src)
    own,res = _defined(tree),[]
    priv = lambda s: s.startswith('_') and not (s.startswith('__') and s.endswith('__')) and s not in PUBLIC_UNDERSCORE
    for n in ast.walk(tree):
        if isinstance(n, ast.Attribute) and priv(n.attr): res.append(f'.{n.attr} (line {n.lineno})')
        elif isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and priv(n.id) and n.id not in own:
            res.append(f'{n.id} (line {n.lineno})')
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            mod = getattr(n, 'module', None) or ''
            res += [f'import {a.name} (line {n.lineno})' for a in n.names if any(priv(p) for p in a.name.split('.'))]
            if any(priv(p) for p in mod.split('.')): res.append(f'from {mod} (line {n.lineno})')
    return res

def check_page(nb, slow=False):
    "Run page `nb` once (tests/lrf_pages.py's `run_tutorial`); what went wrong, if anything"
    src = script(nb, slow)
    if not src.strip(): return f'{nb.name} has no visible code'
    priv = private_names(src)
    if priv: return f"{nb.name}'s visible code uses private names: {', '.join(priv)}"
    with tempfile.TemporaryDirectory() as work:
        ok,out = forked(run_tutorial, nb, slow, work)
        left = sorted(p.relative_to(work).as_posix() for p in Path(work).rglob('*'))
    if not ok: return f"{nb.name}, run once (its visible code as a script, its hidden cells beside it), failed:\n{out}"
    if left: return f"{nb.name}'s visible code left files in the folder it ran in: {left}"

def _params():
    for p in tutorials():
        marks = [pytest.mark.xfail(reason=XFAIL[p.stem], strict=False)] if p.stem in XFAIL else []
        yield pytest.param(p, marks=marks, id=p.stem)

@pytest.mark.parametrize('nb', list(_params()))
def test_tutorial_runs_as_shown(nb, request):
    err = check_page(nb, slow=request.config.getoption('--runslow'))
    assert err is None, err

# ---- the check itself ----

def test_private_names_found():
    "Private names imported or used as attributes are found; the script's own ones are not"
    src = "from lrfind_ext.plot import _renderer\nimport fastai._x\nres._stop_txt()\ndef _mine(): pass\n_mine()\nres._fields\n"
    got = private_names(src)
    assert len(got)==3 and all(s in ' '.join(got) for s in ('_renderer', 'fastai._x', '_stop_txt'))

def _nb(path, *srcs):
    "A notebook at `path` with these code cells"
    cell = lambda s: {'cell_type':'code', 'source':s, 'metadata':{}, 'outputs':[], 'execution_count':None}
    nb = {'cells':[cell(s) for s in srcs] + [{'cell_type':'markdown', 'source':'# t', 'metadata':{}}],
          'metadata':{}, 'nbformat':4, 'nbformat_minor':5}
    path.write_text(json.dumps(nb))
    return path

def test_visible_cells_skip_hidden(tmp_path):
    p = _nb(tmp_path/'nb.ipynb', '#| hide\nx=1', '#| export\ndef f(): pass', '#|eval: false\n1/0', '#| echo: false\nsection()',
            '#| slow\ny=2', 'z=3')
    assert visible_cells(p)==['z=3']
    assert visible_cells(p, slow=True)==['#| slow\ny=2', 'z=3']

@pytest.mark.parametrize('cells,err', [
    (['import math,os\nx = math.pi\nassert os.listdir() == []', '#| hide\nfrom pathlib import Path\nassert x > 3 and Path("nb.ipynb").exists()',
      'print(x)'], None), # a page that passes: its visible code runs in an empty folder, its hidden cells beside the page
    (['#| hide\nimport math', 'math.pi'], "NameError: name 'math' is not defined"), # visible code needs a hidden import
    (['x = 1', '#| hide\nassert x == 2'], 'AssertionError'), # the page's own test fails
    (['open("out.txt", "w").write("x")'], "left files in the folder it ran in: ['out.txt']"),
    (['from fastai.callback.schedule import _x'], 'uses private names'),
    (['#| eval: false\n1/0', 'y = 1'], None),
], ids=['passes', 'hidden-import', 'hidden-test', 'leaves-file', 'private', 'eval-false'])
def test_check_page_fails_when_it_should(tmp_path, cells, err):
    got = check_page(_nb(tmp_path/'nb.ipynb', *cells))
    assert (got is None) if err is None else (err in got), got

if __name__=='__main__':
    for a in sys.argv[1:]: print(script(a))
