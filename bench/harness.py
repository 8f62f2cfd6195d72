"""The suggestion-quality benchmark's harness: each task's truth, the recorded lr_find curves, scoring a rule against the
truth, and the tables. `quality.py` and `fresh.py` build and report with it; the studies (`ceiling.py`, `calibration.py`,
`residuals.py`, `valid_mode.py`, `study_candidates.py`) read its caches through it.

- **The truth** of a task (bench/tasks.py): `fit_one_cycle` for the task's epochs (`task.fit`; `slice(lr/R, lr)` on the
  slice tasks) at each learning rate of a coarse grid (3 per decade over 6 decades), then of a fine grid
  (`FINE_PER_DECADE` per decade within `FINE_HALF` of a decade of the coarse best), over the task's grid seeds; the
  validation loss after the last epoch, averaged over the seeds, per learning rate, on the union of both grids
  (`Truth`). A run that diverges (NaN) or ends above the loss of the learner as lr_find gets it ("untrained": for the
  unfrozen fine-tuning tasks, the state after the head epoch) counts as that loss. Cached by `run_grid` (grid.json).
- **The curves**: `lr_find` with each num_it of `NUM_ITS` for each of `LRF_SEEDS` (this package's, raw and smoothed
  losses), and fastai's own `lr_find` with its four functions on the same learners (slice tasks: both sweep every
  group, with the fit's group ratio); each record also holds `learner_meta(learn)`. Cached by `run_curves`
  (curves.json.gz), each signed with the task and the divergence rule it was recorded under (`curve_sig`).
- **Scoring** (`suggestions`, `score`): a rule's learning rate is scored by the truth's validation loss there (linear
  in log10(lr)) over the truth's best. A suggestion outside the grid is read at the grid's end; a rule that raises is
  scored at the grid's lowest rate (as good as not training). Per task: the geometric mean over the lr_find seeds at
  num_it=100; `within`: tasks with ratio <= `TOL`; `geomean`; `worst`; `spread`: std of log10(lr) over the seeds, mean
  over tasks (decades); `shift`: |mean log10(lr) at num_it=400 - at 100|, mean over tasks (decades).

Pretrained bodies, head-epoch states and PNG folders live in bench/cache/ (git-ignored; built by `prepare` when a grid
or curve has to be computed). Training runs in `spawn` worker processes, one thread each."""
from __future__ import annotations
import gzip,importlib,json,math,os,sys,tempfile,time
from pathlib import Path
import numpy as np
HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path: sys.path.insert(0, str(HERE)) # tasks, learner_meta; the workers inherit it

__all__ = ['RES', 'GRID_FN', 'CURVES_FN', 'FRESH_GRID_FN', 'FRESH_CURVES_FN', 'GRID_SEEDS', 'LRF_SEEDS', 'NUM_ITS', 'FASTAI',
           'TOL', 'TARGET', 'FINE_PER_DECADE', 'FINE_HALF', 'DIV_RULE', 'load_json', 'save_json', 'report', 'register_tasks',
           'curve_sig', 'curve_record', 'load_curve', 'pool', 'cost_key', 'prepare', 'run_grid', 'run_curves', 'cached',
           'load_bench', 'Truth', 'capped', 'suggestions', 'gm', 'score', 'beats', 'meets', 'order', 'table',
           'per_task_table', 'task_table', 'ref_table', 'sets']

RES = Path(os.environ.get('LRF_BENCH_RESULTS', HERE/'results')) # another folder for trials
GRID_FN,CURVES_FN = RES/'grid.json',RES/'curves.json.gz' # quality.py's tasks (bench/tasks.py's TASKS)
FRESH_GRID_FN,FRESH_CURVES_FN = RES/'fresh_grid.json',RES/'fresh_curves.json.gz' # fresh.py's (FRESH)
GRID_SEEDS = (0,1,2,3,4) # the scratch tasks' grid seeds (the other families use 3: `task.seeds`)
LRF_SEEDS = (100,101,102)
NUM_ITS = (100,400)
FASTAI = ('valley','slide','minimum','steep')
TOL = 1.10
FINE_PER_DECADE,FINE_HALF = 6,2/3 # the fine grid: 6 per decade within 2/3 of a decade of the coarse best
TARGET = dict(misses=1, geomean=1.08, spread=0.08, shift=0.08) # for a default rule (issue 12)
# The finder's divergence rule, part of each curve's signature: a curve recorded under another rule is recorded again
DIV_RULE = 'from-first-tenth,above-start' # lrfind_ext.curve.div_start/div_stop (since 2026-12-01)

# ---------------------------------------------------------------------------------------------------------------
# Files

def load_json(fn)->dict:
    "The JSON in `fn` (gzipped if it ends in .gz), or {} if there is none"
    if not fn.exists(): return {}
    with (gzip.open if fn.suffix=='.gz' else open)(fn, 'rt') as f: return json.load(f)

def save_json(obj, fn):
    "Write `obj` to `fn` as JSON (gzipped if it ends in .gz), atomically"
    fn.parent.mkdir(parents=True, exist_ok=True)
    tmp = fn.with_name(f'.{fn.name}.tmp')
    with (gzip.open if fn.suffix=='.gz' else open)(tmp, 'wt') as f: json.dump(obj, f, indent=None if fn.suffix=='.gz' else 1)
    os.replace(tmp, fn)

def report(md:list, name:str, write:bool=True)->str:
    "Print the markdown lines `md` and, if `write`, write them to results/`name`"
    text = '\n'.join(md)+'\n'
    print(text)
    if write:
        (RES/name).write_text(text)
        print(f"wrote {RES/name}")
    return text

def curve_sig(t)->dict: return {**t.curve_sig(), 'div_rule':DIV_RULE}

def _round(a, sig=6): return [float(f'{x:.{sig}g}') if math.isfinite(x) else str(x) for x in a]

def curve_record(crv)->dict:
    "`crv` as stored in the caches: its dict, with the points rounded to 6 significant digits"
    d = crv.to_dict()
    for k in 'lrs','losses','smooth': d[k] = _round(getattr(crv, k))
    return d

def load_curve(rec):
    "The `LRCurve` of a cached record"
    from lrfind_ext.curve import LRCurve
    return LRCurve.from_dict(rec['curve'])

# ---------------------------------------------------------------------------------------------------------------
# Workers (one thread each)

_TASK_MODULES = [] # modules that add tasks to bench/tasks.py's TASK when imported (`register_tasks`)

def register_tasks(module:str):
    "Import `module`, which adds its tasks to bench/tasks.py's `TASK`, here and in every worker `pool` starts from now on"
    importlib.import_module(module)
    if module not in _TASK_MODULES: _TASK_MODULES.append(module)

def _init_worker(modules=()):
    import torch,warnings
    torch.set_num_threads(1)
    warnings.filterwarnings('ignore')
    for m in modules: importlib.import_module(m)

def _whereami(_=None):
    "Where the worker imports lrfind_ext from (the run should use a frozen copy through PYTHONPATH)"
    import lrfind_ext
    return lrfind_ext.__file__

def pool(n):
    "`n` fresh worker processes (spawned, one torch thread each, renewed every 40 tasks: memory; `register_tasks`' modules imported)"
    import multiprocessing as mp
    return mp.get_context('spawn').Pool(n, initializer=_init_worker, initargs=(tuple(_TASK_MODULES),), maxtasksperchild=40)

def _last_valid_only():
    "A callback that skips validation except after the last epoch (the grid only reads the final loss)"
    from fastai.callback.core import Callback,CancelValidException
    class LastValidOnly(Callback):
        order = 0
        def before_validate(self):
            if self.epoch < self.n_epoch-1: raise CancelValidException()
    return LastValidOnly()

def _train_one(args):
    """Final validation loss of the truth's `fit_one_cycle` on task `name` at learning rate `lr` from seed `seed`;
    `part` 'scratch_ref': the fine-tuning task's model from random weights (the reference for the body's worth)"""
    name,part,seed,lr = args
    from tasks import TASK
    t = TASK[name]
    t0 = time.time()
    ref = part=='scratch_ref'
    learn = t.learner(seed, scratch=True) if ref else t.learner(seed)
    with learn.no_logging():
        if lr is not None: (t.fit_scratch if ref else t.fit)(learn, lr, cbs=_last_valid_only())
        loss = learn.validate()[0] # lr None: the learner as lr_find gets it
    return name,part,seed,lr,float(loss),time.time()-t0

def _record_curves(args):
    "lr_find curves (this package's) and fastai's own four suggestions for task `name`, seed `seed`"
    name,seed,num_it = args
    import lrfind_ext
    from lrfind_ext.finder import fastai_lr_find
    from fastai.callback.schedule import valley,slide,minimum,steep
    from tasks import TASK
    from learner_meta import learner_meta
    t = TASK[name]
    t0 = time.time()
    learn = t.learner(seed)
    lm = learner_meta(learn)
    res = learn.lr_find(num_it=num_it, show_plot=False, suggest_funcs=None, **t.find_kwargs(learn))
    t1 = time.time()
    learn = t.learner(seed)
    err = None
    with tempfile.TemporaryDirectory() as tmp:
        learn.path = Path(tmp)
        try: fa = dict(zip(FASTAI, map(float, fastai_lr_find(learn, num_it=num_it, show_plot=False,
                                       suggest_funcs=(valley,slide,minimum,steep), **t.fastai_find_kwargs(learn)))))
        except Exception as e: # fastai's own lr_find fails on some runs (e.g. an empty slice, fastai#3658): no suggestion
            fa,err = {n:None for n in FASTAI},f'{type(e).__name__}: {e}'
    return dict(task=name, seed=seed, num_it=num_it, curve=curve_record(res.curve), learner=lm, fastai=fa,
                fastai_error=err, secs=dict(ext=t1-t0, fastai=time.time()-t1))

def _prepare_one(job):
    from tasks import run_prepare_job
    return run_prepare_job(job)

def cost_key(job):
    "Longest jobs first, so the workers finish together: the tasks with a ResNet, then the text task"
    from tasks import TASK
    t = TASK[job[0]]
    heavy = getattr(t, 'body', '')=='resnet18' or getattr(t, 'kind', '')=='vision'
    return (not heavy, getattr(t, 'kind', '')!='text')

def prepare(tasks, workers=2, seeds=()):
    "Build what the tasks' learners need (pretrained bodies first, then PNG folders and head-epoch states)"
    done = {}
    for phase in ('body', 'rest'):
        jobs = list(dict.fromkeys(j for t in tasks for j in t.prepare_jobs(tuple(t.seeds)+tuple(LRF_SEEDS)+tuple(seeds))
                                  if (j[0]=='body')==(phase=='body')))
        if not jobs: continue
        print(f"prepare: {len(jobs)} jobs ({', '.join(sorted({j[0] for j in jobs}))})", flush=True)
        t0 = time.time()
        with pool(workers) as p:
            for job,secs in p.imap_unordered(_prepare_one, jobs): done[job] = secs
        print(f"prepare: done in {time.time()-t0:.0f}s", flush=True)
    return done

# ---------------------------------------------------------------------------------------------------------------
# Caches

def _fine_lrs(t, center:float)->list:
    "The fine grid around `center` (the coarse best), without the points the coarse grid already has"
    coarse = np.log10(t.lrs)
    k = int(round(FINE_HALF*FINE_PER_DECADE))
    ex = [math.log10(center)+i/FINE_PER_DECADE for i in range(-k, k+1)]
    return [float(10**e) for e in ex if np.abs(coarse-e).min()>1e-6]

def _fine_sig(t, center): return dict(task=t.sig(), center=float(center), per_decade=FINE_PER_DECADE, half=FINE_HALF)

def _train(jobs, workers, what, on_done=None):
    "Run training jobs; `on_done(key, results)` is called as soon as every job of a (task, part) is back"
    out,t0 = {},time.time()
    left = {}
    for j in jobs: left[j[:2]] = left.get(j[:2], 0)+1
    jobs = sorted(jobs, key=cost_key)
    print(f"grid: {len(jobs)} training runs ({what})", flush=True)
    with pool(workers) as p:
        print(f"  workers import lrfind_ext from {p.apply(_whereami)}", flush=True)
        for i,(name,part,seed,lr,loss,secs) in enumerate(p.imap_unordered(_train_one, jobs)):
            out[(name,part,seed,lr)] = (loss,secs)
            left[(name,part)] -= 1
            if not left[(name,part)] and on_done: on_done((name,part), out)
            if (i+1)%100==0: print(f"  {i+1}/{len(jobs)} runs, {time.time()-t0:.0f}s", flush=True)
    print(f"grid: done in {time.time()-t0:.0f}s", flush=True)
    return out

def _entry(t, part, out, seeds, lrs, with_init=True):
    d = dict(sig=t.sig(), lrs=lrs, losses={str(s):[out[(t.name,part,s,lr)][0] for lr in lrs] for s in seeds},
             secs_per_run=float(np.mean([out[(t.name,part,s,lr)][1] for s in seeds for lr in lrs])))
    if with_init: d['init'] = {str(s):out[(t.name,part,s,None)][0] for s in seeds}
    return d

def run_grid(tasks, fn=GRID_FN, recompute=False, recompute_fine=False, workers=2)->dict:
    """Train every task's coarse grid, then its fine grid, and, for the fine-tuning tasks, the from-scratch reference on
    the coarse grid, where the cache `fn` lacks them or holds another signature; return the cache"""
    from tasks import TASK
    cache = load_json(fn)
    def save(key, out):
        name,part = key
        t = TASK[name]
        if part=='coarse':
            old = cache.get(name, {})
            cache[name] = {**_entry(t, 'coarse', out, t.seeds, t.lrs.tolist()),
                           **{k:v for k,v in old.items() if k in ('fine','scratch_ref') and old.get('sig')==t.sig()}}
        elif part=='scratch_ref':
            cache[name]['scratch_ref'] = {**_entry(t, part, out, t.ref_seeds, t.lrs.tolist()), 'seeds':list(t.ref_seeds)}
        else:
            c = Truth(cache[name], coarse_only=True).best_lr
            cache[name]['fine'] = {**_entry(t, 'fine', out, t.seeds, _fine_lrs(t, c), with_init=False), 'sig':_fine_sig(t, c)}
        save_json(cache, fn)
    # coarse (and the from-scratch references, which do not depend on the coarse result)
    todo = [t for t in tasks if recompute or cache.get(t.name, {}).get('sig')!=t.sig()]
    refs = [t for t in tasks if t.family=='finetune' and (t in todo or 'scratch_ref' not in cache.get(t.name, {})
                                                          or cache[t.name]['scratch_ref'].get('sig')!=t.sig())]
    jobs = [(t.name,'coarse',s,lr) for t in todo for s in t.seeds for lr in [None,*t.lrs.tolist()]]
    jobs += [(t.name,'scratch_ref',s,lr) for t in refs for s in t.ref_seeds for lr in [None,*t.lrs.tolist()]]
    if jobs:
        prepare(todo+refs, workers)
        jobs = sorted(jobs, key=lambda j: j[1]!='coarse') # coarse first: a reference is stored in its task's entry
        res = {}
        def on_done(key, out):
            if key[1]=='scratch_ref' and cache.get(key[0], {}).get('sig')!=TASK[key[0]].sig(): res[key] = out; return
            save(key, out)
            for k in [k for k in res if k[0]==key[0]]: save(k, res.pop(k))
        _train(jobs, workers, ', '.join(dict.fromkeys(t.name for t in todo+refs)), on_done)
    # fine
    todo = []
    for t in tasks:
        g = cache[t.name]
        c = Truth(g, coarse_only=True).best_lr
        if recompute or recompute_fine or g.get('fine', {}).get('sig')!=_fine_sig(t, c): todo.append((t,c))
    jobs = [(t.name,'fine',s,lr) for t,c in todo for s in t.seeds for lr in _fine_lrs(t, c)]
    if jobs:
        prepare([t for t,_ in todo], workers)
        _train(jobs, workers, 'fine grids: '+', '.join(t.name for t,_ in todo), save)
    return cache

def _key(name, seed, num_it): return f'{name}/{seed}/{num_it}'

def run_curves(tasks, fn=CURVES_FN, recompute=False, workers=2, num_its=NUM_ITS)->dict:
    "Record the lr_find curves of `tasks` at each of `num_its` that the cache `fn` lacks or holds with another signature; return the cache"
    from tasks import TASK
    cache = load_json(fn)
    jobs = [(t.name,s,k) for t in tasks for s in LRF_SEEDS for k in num_its
            if recompute or cache.get(_key(t.name,s,k), {}).get('sig')!=curve_sig(t)]
    if not jobs: return cache
    prepare([TASK[n] for n in dict.fromkeys(j[0] for j in jobs)], workers)
    jobs = sorted(jobs, key=lambda j: (cost_key(j), -j[2]))
    print(f"curves: {len(jobs)} lr_find runs (this package's and fastai's)", flush=True)
    t0,last = time.time(),time.time()
    with pool(workers) as p:
        print(f"  workers import lrfind_ext from {p.apply(_whereami)}", flush=True)
        for i,r in enumerate(p.imap_unordered(_record_curves, jobs)):
            r['sig'] = curve_sig(TASK[r['task']])
            cache[_key(r['task'],r['seed'],r['num_it'])] = r
            if time.time()-last>120: save_json(cache, fn); last = time.time()
            if (i+1)%20==0: print(f"  {i+1}/{len(jobs)} lr_find runs, {time.time()-t0:.0f}s", flush=True)
    save_json(cache, fn)
    print(f"curves: done in {time.time()-t0:.0f}s", flush=True)
    return cache

def cached(t, grid, curves)->bool:
    "Whether task `t`'s grids and curves are all in the caches, with the current signatures"
    g = grid.get(t.name, {})
    if g.get('sig')!=t.sig() or 'fine' not in g: return False
    if g['fine'].get('sig')!=_fine_sig(t, Truth(g, coarse_only=True).best_lr): return False
    if t.family=='finetune' and g.get('scratch_ref', {}).get('sig')!=t.sig(): return False
    return all(curves.get(_key(t.name,s,k), {}).get('sig')==curve_sig(t) for s in LRF_SEEDS for k in NUM_ITS)

def load_bench(tasks, grid_fn=GRID_FN, curves_fn=CURVES_FN)->tuple:
    "Read the caches (nothing is trained): the grids, the curves, the tasks of `tasks` they hold whole, their truths"
    grid,curves = load_json(grid_fn),load_json(curves_fn)
    ts = [t for t in tasks if cached(t, grid, curves)]
    return grid,curves,ts,{t.name:Truth(grid[t.name]) for t in ts}

# ---------------------------------------------------------------------------------------------------------------
# Scoring

def capped(x, cap): return cap if not math.isfinite(x) else min(x, cap)

class Truth:
    """A task's truth: mean validation loss per learning rate on the union of the coarse and fine grids, and the
    ratio to the best at any learning rate"""
    def __init__(self, g, coarse_only=False):
        self.cap = float(np.mean(list(g['init'].values())))
        self.pts = {} # lr -> {seed: loss}
        for p in [g] + ([] if coarse_only or 'fine' not in g else [g['fine']]):
            for s,v in p['losses'].items():
                for lr,x in zip(p['lrs'], v): self.pts.setdefault(float(lr), {})[s] = capped(x, self.cap)
        self.lrs = np.array(sorted(self.pts))
        self.loss = np.array([np.mean(list(self.pts[lr].values())) for lr in self.lrs])
        self.coarse_lrs = np.array(g['lrs'])
        self.fine_lrs = np.array(g['fine']['lrs']) if 'fine' in g and not coarse_only else np.array([])
        self.best_i = int(self.loss.argmin())
        self.best,self.best_lr = float(self.loss[self.best_i]),float(self.lrs[self.best_i])

    def ratio(self, lr)->float:
        "Loss at `lr` (interpolated in log10, clamped to the grid's ends) over the best"
        if lr is None or not (math.isfinite(lr) and lr>0): lr = self.lrs[0]
        return float(np.interp(np.log10(lr), np.log10(self.lrs), self.loss))/self.best

    def window(self, tol=TOL):
        "Range of learning rates (on the interpolated grid) within `tol` of the best"
        x = np.linspace(np.log10(self.lrs[0]), np.log10(self.lrs[-1]), 4001)
        ok = x[np.interp(x, np.log10(self.lrs), self.loss) <= tol*self.best]
        return 10**ok.min(),10**ok.max()

    def by_seed(self)->np.ndarray:
        "The (lr, seed) matrix of the capped losses, seeds in sorted order (NaN where a seed has no run at that lr)"
        seeds = sorted({s for d in self.pts.values() for s in d})
        return np.array([[self.pts[lr].get(s, np.nan) for s in seeds] for lr in self.lrs])

def suggestions(curves, tasks, extra=None)->dict:
    """`{row: {task: {num_it: [lr per seed]}}}` for fastai's own four (`fastai.*`) and every registered suggester
    (None where one raised). `extra`: name -> function of an `LRCurve` returning a learning rate, for ideas not shipped"""
    from lrfind_ext.suggest import suggesters
    fs = {n:(lambda c, sg=suggesters[n]: sg(c).lr) for n in suggesters.names()}
    fs.update(extra or {})
    rows = {}
    for t in tasks:
        for k in NUM_ITS:
            for s in LRF_SEEDS:
                r = curves[_key(t.name,s,k)]
                crv = load_curve(r)
                got = {f'fastai.{n}':r['fastai'][n] for n in FASTAI}
                for n,f in fs.items():
                    try: got[n] = float(f(crv))
                    except Exception: got[n] = None
                for n,lr in got.items(): rows.setdefault(n, {}).setdefault(t.name, {}).setdefault(k, []).append(lr)
    return rows

def gm(a)->float: return float(np.exp(np.mean(np.log(a))))

def score(rows, truths, tasks)->dict:
    "Figures of each row of `rows` (as `suggestions` gives them) over `tasks`"
    res = {}
    for n,per in rows.items():
        tr,sp,sh,fails,dec = {},[],[],0,{}
        for t in tasks:
            T = truths[t.name]
            lrs100,lrs400 = per[t.name][100],per[t.name][400]
            fails += sum(lr is None for lr in lrs100+lrs400)
            tr[t.name] = gm([T.ratio(lr) for lr in lrs100])
            l100 = np.log10([lr if lr else T.lrs[0] for lr in lrs100])
            l400 = np.log10([lr if lr else T.lrs[0] for lr in lrs400])
            sp.append(float(np.std(l100)))
            sh.append(float(abs(l400.mean()-l100.mean())))
            dec[t.name] = float(l100.mean()-math.log10(T.best_lr))
        r = np.array(list(tr.values()))
        res[n] = dict(within=int((r<=TOL).sum()), n_tasks=len(tasks), geomean=gm(r), worst=float(r.max()),
                      spread=float(np.mean(sp)), shift=float(np.mean(sh)), fails=fails, ratio=tr, decades=dec,
                      ratio400={t.name:gm([truths[t.name].ratio(lr) for lr in per[t.name][400]]) for t in tasks},
                      lrs={t.name:per[t.name] for t in tasks})
    return res

def beats(s, v)->bool:
    "Whether figures `s` beat figures `v` on every one: more tasks within 10%, lower geomean, spread and shift"
    return s['within']>v['within'] and s['geomean']<v['geomean'] and s['spread']<v['spread'] and s['shift']<v['shift']

def meets(s, n_tasks)->bool:
    "Whether figures `s` meet the targets for a default (`TARGET`)"
    return (s['within']>=n_tasks-TARGET['misses'] and s['geomean']<=TARGET['geomean'] and s['spread']<=TARGET['spread']
            and s['shift']<=TARGET['shift'])

# ---------------------------------------------------------------------------------------------------------------
# Tables

def order(names)->list:
    "fastai's four, then this package's rules in registration order"
    return [f'fastai.{n}' for n in FASTAI] + [n for n in names if not n.startswith('fastai.')]

def _name(n, default, italic): return f'**{n}**' if n==default else f'*{n}*' if n in italic else n

def table(sc, names, default=None, italic=())->str:
    "The figures of the rows `names` of scores `sc`, one row each: `default` in bold, `italic` in italics"
    n_tasks = next(iter(sc.values()))['n_tasks']
    hdr = ('| suggester | within 10% | geomean ratio | worst ratio | seed spread (dec) | num_it shift (dec) | meets target |\n'
           '|---|---|---|---|---|---|---|')
    return '\n'.join([hdr, *(f"| {_name(n, default, italic)} | {s['within']}/{n_tasks} | {s['geomean']:.3f} | {s['worst']:.2f} | "
                             f"{s['spread']:.3f} | {s['shift']:.3f} | {'yes' if meets(s, n_tasks) else 'no'} |"
                             for n in names for s in [sc[n]])])

def per_task_table(sc, names, tasks, italic=(), key='ratio', fmt='{:.2f}')->str:
    "One figure (`key`: 'ratio' or 'decades') per row of `names` and task of `tasks`"
    hdr = '| suggester | ' + ' | '.join(t.name for t in tasks) + ' |\n|---|' + '---|'*len(tasks)
    return '\n'.join([hdr, *(f'| {_name(n, None, italic)} | ' + ' | '.join(fmt.format(sc[n][key][t.name]) for t in tasks) + ' |'
                             for n in names)])

def _grid_desc(T):
    lo,hi = np.log10(T.coarse_lrs[[0,-1]])
    s = f"1e{lo:.0f} to 1e{hi:.0f} (3/dec)"
    if len(T.fine_lrs): s += f" + {len(T.fine_lrs)} fine, {T.fine_lrs.min():.1e} to {T.fine_lrs.max():.1e}"
    return s

def task_table(tasks, truths, grid)->str:
    "Each task: its family, set, setup, grid, seeds, best rate and loss, the rates within 10% and the cost of a run"
    hdr = ('| task | family | set | setup | grid (lr) | seeds | best lr | best loss | lrs within 10% | loss at grid ends / best | s per run |\n'
           '|---|---|---|---|---|---|---|---|---|---|---|')
    rows = []
    for t in tasks:
        T = truths[t.name]
        lo,hi = T.window()
        rows.append(f"| {t.name} | {t.family} | {'held-out' if t.heldout else 'dev'} | {t.summary()} | {_grid_desc(T)} | "
                    f"{len(t.seeds)} | {T.best_lr:.1e} | {T.best:.3g} | {lo:.1e} to {hi:.1e} | "
                    f"{T.loss[0]/T.best:.1f}, {T.loss[-1]/T.best:.1f} | {grid[t.name]['secs_per_run']:.1f} |")
    return '\n'.join([hdr, *rows])

def ref_table(tasks, truths, grid)->str:
    "What the pretrained body is worth: the best fine-tuned loss against the best of the same model from scratch"
    hdr = ('| task | set | fine-tuned: best loss (lr) | from scratch, same model and epochs: best loss (lr) | scratch / fine-tuned |\n'
           '|---|---|---|---|---|')
    rows = []
    for t in tasks:
        if t.family!='finetune' or 'scratch_ref' not in grid[t.name]: continue
        R,T = Truth(grid[t.name]['scratch_ref'], coarse_only=True),truths[t.name]
        rows.append(f"| {t.name} | {'held-out' if t.heldout else 'dev'} | {T.best:.3g} ({T.best_lr:.1e}) | "
                    f"{R.best:.3g} ({R.best_lr:.1e}) | {R.best/T.best:.2f} |")
    return '\n'.join([hdr, *rows]) if rows else ''

def sets(tasks, heldout=True)->list:
    "(family, split, tasks) for every family and split present (held-out ones only if `heldout`)"
    out = []
    for fam in dict.fromkeys(t.family for t in tasks):
        for split,flag in (('dev',False),('held-out',True)):
            ts = [t for t in tasks if t.family==fam and t.heldout==flag]
            if ts and (heldout or not flag): out.append((fam,split,ts))
    return out
