"""Tutorial code runs as shown. The visible code cells of each tutorial page (what a reader of the site sees: not
`#| hide`, not `#| export`/`#| exporti`, not `#| eval: false`, `echo: false` or `include: false`; `#| slow` cells only with --runslow) are joined into
one plain script, which runs top to bottom with the venv's Python in a fresh process, in an empty temporary folder
(so that it can't read the repository's files, nbs/data among them). It must exit 0, leave the folder empty, and use
no private names of the package or of fastai (`_x`): a reader copying the page has only the public API.

`python tests/test_tutorials.py nbs/X.ipynb` prints a page's script, to run or read by hand."""
import ast,json,os,re,subprocess,sys,tempfile
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
NBS = ROOT/'nbs'
# The tutorial pages. The workflow page's training (fine_tune, the second sweep, fit_one_cycle: a resnet18 for four
# epochs, about a minute on two idle CPU cores, many on busy ones) is in `#| slow` cells, which run only with
# --runslow (make test-all), as nbdev's tests run them. A page in SLOW would run only with --runslow altogether.
# The benchmark page (benchmark) shows no code, only what its hidden cells read from bench/results/.
PAGES = ['workflow', 'index', 'reading_the_plot', 'migrating', 'custom_suggester', 'benchmark_research']
SLOW = set()
# Pages whose check is expected to fail, with why (none: the research page's visible code records its own curves)
XFAIL = {}
# Public names that start with an underscore: namedtuple's API (fastai's SuggestedLRs is one).
PUBLIC_UNDERSCORE = {'_fields', '_asdict', '_replace', '_make', '_field_defaults'}
_dir = re.compile(r'^\s*#\s*\|\s*([\w-]+)\s*:?\s*(.*?)\s*$')

def directives(src:str)->dict:
    "The `#| name [value]` directives at the top of a cell's source"
    res = {}
    for line in src.splitlines():
        if not line.strip(): continue
        m = _dir.match(line)
        if not m: break
        res[m.group(1)] = m.group(2)
    return res

def visible_cells(nb_path, slow=False)->list:
    "The sources of the code cells of a page a reader sees and would run, in order"
    nb = json.loads(Path(nb_path).read_text())
    res = []
    for c in nb['cells']:
        if c['cell_type']!='code': continue
        src = ''.join(c['source'])
        d = directives(src)
        if d.keys() & {'hide','export','exporti','default_exp'}: continue
        if any(d.get(k,'').lower()=='false' for k in ('eval','echo','include')): continue # not run, or its code not shown
        if 'slow' in d and not slow: continue
        if src.strip(): res.append(src)
    return res

def script(nb_path, slow=False)->str:
    "A page's visible code as one plain script"
    return '\n\n'.join(visible_cells(nb_path, slow))

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

def _files(d:Path)->list: return sorted(p.relative_to(d).as_posix() for p in d.rglob('*'))

def run_script(src:str, timeout=900):
    "Run `src` with this Python in a fresh process in an empty temporary folder: (returncode, output, files left)"
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        work = d/'work'; work.mkdir()
        f = d/'page.py'; f.write_text(src) # outside the folder the script runs in
        env = {k:v for k,v in os.environ.items() if k!='PYTHONPATH'}
        env.update(MPLBACKEND='Agg', PYTHONWARNINGS='ignore::FutureWarning')
        r = subprocess.run([sys.executable, str(f)], cwd=work, env=env, capture_output=True, text=True, timeout=timeout)
        return r.returncode,_tail(r.stdout, r.stderr),_files(work)

_bar = re.compile(r'^.*(\|[█-]*\||\d+\.\d+% \[).*$', re.M)
def _tail(out, err, n=4000):
    "What a failure report shows: the end of stdout and stderr, without fastprogress's bars"
    out,err = (_bar.sub('', s).strip() for s in (out, err))
    return (out[-n//4:] + '\n--- stderr ---\n' + err[-n:]).strip()

def _params():
    for p in PAGES:
        marks = ([pytest.mark.slow] if p in SLOW else []) + ([pytest.mark.xfail(reason=XFAIL[p], strict=False)] if p in XFAIL else [])
        yield pytest.param(p, marks=marks, id=p)

@pytest.fixture(scope='module')
def runs(request):
    "Each page's script run, two at a time (the pages train small models on the CPU): page -> (rc, output, files left)"
    from concurrent.futures import ThreadPoolExecutor
    slow = request.config.getoption('--runslow')
    chosen = {it.callspec.params['page'] for it in request.session.items
              if getattr(it, 'originalname', None)=='test_tutorial_runs_as_shown'} # only the pages selected (-k)
    todo = {p: script(NBS/f'{p}.ipynb', slow) for p in PAGES
            if p in chosen and (NBS/f'{p}.ipynb').exists() and (slow or p not in SLOW)}
    todo = {p:s for p,s in todo.items() if s.strip() and not private_names(s)} # the test says why the others fail
    with ThreadPoolExecutor(min(2, os.cpu_count() or 1)) as ex: return dict(zip(todo, ex.map(run_script, todo.values())))

@pytest.mark.parametrize('page', list(_params()))
def test_tutorial_runs_as_shown(page, request, runs):
    nb = NBS/f'{page}.ipynb'
    if not nb.exists(): pytest.skip(f'{nb.name} is not a page')
    src = script(nb, slow=request.config.getoption('--runslow'))
    assert src.strip(), f'{nb.name} has no visible code'
    priv = private_names(src)
    assert not priv, f"{nb.name}'s visible code uses private names: {', '.join(priv)}"
    rc,out,left = runs[page]
    assert rc==0, f"{nb.name}'s visible code, run as a script, failed (rc {rc}):\n{out}"
    assert not left, f"{nb.name}'s visible code left files in the folder it ran in: {left}"

def test_private_names_found():
    "The check itself: private names imported or used as attributes are found; the script's own ones are not"
    src = "from lrfind_ext.plot import _renderer\nimport fastai._x\nres._stop_txt()\ndef _mine(): pass\n_mine()\nres._fields\n"
    got = private_names(src)
    assert len(got)==3 and all(s in ' '.join(got) for s in ('_renderer', 'fastai._x', '_stop_txt'))

def test_visible_cells_skip_hidden(tmp_path):
    cell = lambda s: {'cell_type':'code', 'source':s, 'metadata':{}, 'outputs':[]}
    nb = {'cells':[cell('#| hide\nx=1'), cell('#| export\ndef f(): pass'), cell('#|eval: false\n1/0'), cell('#| echo: false\nsection()'), cell('#| slow\ny=2'),
                   cell('z=3'), {'cell_type':'markdown', 'source':'# t', 'metadata':{}}]}
    p = tmp_path/'nb.ipynb'; p.write_text(json.dumps(nb))
    assert visible_cells(p)==['z=3']
    assert visible_cells(p, slow=True)==['#| slow\ny=2', 'z=3']

if __name__=='__main__':
    for a in sys.argv[1:]: print(script(a))
