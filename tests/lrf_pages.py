"""Running the pages of nbs/ from the tests: each page in a process of its own, forked from a server that imported
fastai, torch and lrfind_ext once (multiprocessing's forkserver), so that no page sees what another page or a test
registered or patched, and no page pays the import again (about 6 CPU-seconds a fresh interpreter here).

Two ways to run a page: `nbdev_test`, nbdev's own test of a notebook (its cells but the `#| slow` ones, in an IPython
shell, from nbs/); and `run_tutorial`, a tutorial page run once for both of its checks: the code a reader sees as a
plain script in an empty folder, and the page's hidden test cells beside it."""
import ast,io,json,multiprocessing,os,re,sys,tempfile,traceback,warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NBS = ROOT/'nbs'
# What the server imports before it forks: what the pages import (nbdev's test shell among them)
PRELOAD = ['lrfind_ext', 'lrfind_ext.examples', 'fastai.basics', 'fastai.vision.all', 'fastai.test_utils',
           'matplotlib.pyplot', 'sklearn.datasets', 'nbdev.test', 'nbdev.showdoc', 'fastcore.test']
TIMEOUT = 1800 # seconds for one page, all its cells

def pages(nbs=NBS)->list:
    "The notebooks that are pages, as nbdev finds them: not in or under a name starting with _ or ."
    return sorted(p for p in nbs.rglob('*.ipynb') if not any(q.startswith(('_','.')) for q in p.relative_to(nbs).parts))

def test_flags(slow=False):
    "The cell flags nbdev's test skips (pyproject.toml's tst_flags) and those it runs anyway (`slow` with --runslow)"
    from nbdev.config import get_config
    skip = get_config(ROOT).tst_flags
    return (skip.split() if isinstance(skip, str) else list(skip)),(['slow'] if slow else [])

_ctx = None
def _server():
    "The forkserver context, its server importing `PRELOAD` when it first starts"
    global _ctx
    if _ctx is None:
        _ctx = multiprocessing.get_context('forkserver')
        _ctx.set_forkserver_preload(PRELOAD)
    return _ctx

def _child(f, args, log):
    "In the forked process: output to `log`; exit status 0 if `f(*args)` returns, 1 if it raises"
    fd = os.open(log, os.O_WRONLY|os.O_APPEND)
    os.dup2(fd, 1); os.dup2(fd, 2)
    # A process started by a forkserver has 'forkserver' as its default start method: the page's DataLoader workers
    # would each start from a bare interpreter (a new server, imports again). A reader's script has the platform's default.
    multiprocessing.set_start_method(multiprocessing.get_all_start_methods()[0], force=True)
    import torch
    torch.set_num_threads(1) # the tests run two pages or tests at once on two cores: one thread each (see lrf_testutils)
    warnings.filterwarnings('ignore', category=FutureWarning) # fastai's import of torch.jit
    try: f(*args)
    except BaseException:
        traceback.print_exc()
        sys.stdout.flush(); sys.stderr.flush()
        os._exit(1)
    sys.stdout.flush(); sys.stderr.flush()
    os._exit(0)

_bar = re.compile(r'^.*(\|[█-]*\||\d+\.\d+% \[).*$', re.M)
def forked(f, *args, timeout=TIMEOUT):
    "Run `f(*args)` in a process forked from the server: (whether it returned, the end of its output)"
    with tempfile.NamedTemporaryFile('w+', suffix='.log') as log:
        p = _server().Process(target=_child, args=(f, args, log.name))
        p.start()
        p.join(timeout)
        if p.is_alive(): p.kill(); p.join()
        out = Path(log.name).read_text(errors='replace')
    out = _bar.sub('', out).strip() # fastprogress's bars
    if p.exitcode is None or p.exitcode<0: out += f'\n(ended by signal {-(p.exitcode or 9)}, after {timeout}s at most)'
    return p.exitcode==0,out[-6000:]

# ---- nbdev's test of a page ----

def nbdev_test(nb, slow=False):
    "nbdev's test of notebook `nb`, as `nbdev-test` runs it; raises if a cell fails"
    from nbdev.test import test_nb
    skip,force = test_flags(slow)
    ok,_ = test_nb(nb, skip_flags=skip, force_flags=force, basepath=ROOT, cell_timeout=900)
    if not ok: raise RuntimeError(f'{Path(nb).name}: a cell failed (traceback above)')

# ---- a tutorial page, run once ----

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

def shown(src:str)->bool:
    "Whether a reader of the page sees this code cell: not hidden, not exported, its code not folded away"
    d = directives(src)
    return not (d.keys() & {'hide','export','exporti','default_exp'}) and all(d.get(k,'').lower()!='false' for k in ('echo','include'))

def _display(val):
    "What a notebook does with a cell's value: every representation of it is computed"
    if val is None: return
    from IPython.core.formatters import DisplayFormatter
    DisplayFormatter().format(val)

def _exec_cell(src, ns, name):
    "Run a cell's code in namespace `ns` as a notebook does: its last expression's value displayed, its figures drawn and closed"
    import matplotlib.pyplot as plt
    tree = ast.parse(src, filename=name)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    exec(compile(tree, name, 'exec'), ns)
    if last is not None: _display(eval(compile(ast.Expression(last.value), name, 'eval'), ns))
    for n in plt.get_fignums(): plt.figure(n).savefig(io.BytesIO(), format='png')
    plt.close('all')

def run_tutorial(nb, slow, work):
    """Run tutorial page `nb` once, cell by cell, with the cells nbdev's test would run. The code a reader sees runs as
    their script would: in folder `work`, in a namespace of its own (a name bound only by a hidden cell is a NameError
    there). The hidden cells (tests, and code whose output the page shows without the code) run from nbs/, as nbdev
    runs them, and see every name."""
    from nbdev.test import nb_test_cells
    skip,force = test_flags(slow)
    seen,hidden = {'__name__':'__main__'},{'__name__':'__main__'}
    for i,c in enumerate(nb_test_cells(nb, skip, force)):
        vis = shown(c.source)
        if not vis: hidden.update(seen)
        os.chdir(work if vis else nb.parent)
        try: _exec_cell(c.source, seen if vis else hidden, f'<{nb.name} cell {i}>')
        except BaseException:
            print(f"{nb.name}: this {'visible' if vis else 'hidden'} cell failed:\n{c.source}\n", file=sys.stderr)
            raise
