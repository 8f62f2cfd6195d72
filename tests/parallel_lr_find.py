"""One of two processes running lr_find at once on the same `learn.path` (tests/test_anywhere.py starts them):
`python tests/parallel_lr_find.py PATH GO OUT [fastai]`. It waits for the file GO, runs lr_find twice on a digits
learner whose path is PATH (fastai's own lr_find with `fastai`), and writes to OUT what it did: its start and end times,
its suggestions, and every file-system write it attempted under PATH (torch.save, open for writing, mkdir, mkdtemp)."""
import builtins,json,os,sys,tempfile,time,warnings
warnings.filterwarnings('ignore')
os.environ.setdefault('MPLBACKEND', 'Agg')
from pathlib import Path
import torch
path,go,out = (Path(a).resolve() for a in sys.argv[1:4])
use_fastai = sys.argv[4:]==['fastai']
writes = []

def _under(p):
    try: return Path(os.fspath(p)).resolve().is_relative_to(path)
    except TypeError: return False # a file object or descriptor: not a path

def _watch(mod, name, is_write=lambda *a, **k: True):
    "Record the calls of `mod.name` that would write under `path`"
    f = getattr(mod, name)
    def _w(*a, **k):
        target = a[0] if a else k.get('dir', k.get('f'))
        if name=='mkdtemp' or name=='TemporaryDirectory': target = k.get('dir', a[2] if len(a)>2 else None)
        if name=='save': target = a[1] if len(a)>1 else k.get('f')
        if target is not None and _under(target) and is_write(*a, **k): writes.append(f'{name} {target}')
        return f(*a, **k)
    setattr(mod, name, _w)

_watch(builtins, 'open', lambda file, mode='r', *a, **k: any(c in mode for c in 'wax+'))
for n in ('mkdir','makedirs','rename','replace','remove'): _watch(os, n)
_watch(tempfile, 'mkdtemp'); _watch(torch, 'save')

torch.set_num_threads(1)
import lrfind_ext
from lrfind_ext.finder import fastai_lr_find
from lrfind_ext.examples import digits_learner
learn = digits_learner()
for dl in learn.dls.loaders: dl.fake_l.num_workers = 0
learn.path = path
out.with_suffix('.ready').write_text('ready') # imported and built: the test starts both runs once both are here
while not go.exists(): time.sleep(0.01)
t0,res = time.time(),[]
with learn.no_bar():
    for _ in range(2):
        r = fastai_lr_find(learn, show_plot=False) if use_fastai else learn.lr_find(show_plot=False)
        res.append(list(r))
out.write_text(json.dumps(dict(start=t0, end=time.time(), suggestions=res, writes=writes)))
