#!/usr/bin/env python
"""Suggestion quality: how close each suggester's learning rate lands to the best one, on small real tasks.

One command (`make bench-quality`, or `python bench/quality.py`) prints the tables and writes them to
bench/results/quality.md, with the raw numbers in bench/results/quality.json.

Tasks (bench/tasks.py) come in three families, each with dev and held-out tasks: `scratch` (small models from random
weights), `finetune` (a body pretrained inside the benchmark, fine-tuned with a new head: frozen, or unfrozen after one
head epoch with one rate or a discriminative slice) and `apps` (fastai's vision, tabular, text and collab learners).
For every task:
- the truth: `fit_one_cycle` for the task's epochs (`task.fit`: with `slice(lr/R, lr)` on the slice tasks) at each
  learning rate of a coarse grid (3 per decade over 6 decades), then of a fine grid (6 per decade, within 2/3 of a
  decade either side of the coarse grid's best), over the task's grid seeds (the same seeds on both grids); the
  validation loss after the last epoch, averaged over the seeds, per learning rate, on the union of both grids. A run
  that diverges (NaN) or ends above the validation loss of the learner as lr_find gets it ("untrained": for the
  unfrozen fine-tuning tasks, the state after the head epoch) counts as that loss. Cached in bench/results/grid.json
  (`--recompute-grid` to train again).
- the curves: `lr_find` with num_it=100 and 400 for each of LRF_SEEDS (this package's, which records raw and
  smoothed losses), and fastai's own `lr_find` (`lrfind_ext.finder.fastai_lr_find`) with fastai's four functions
  on the same learners (slice tasks: both sweep every group, with the fit's group ratio). Each curve's `meta['learner']`
  holds `learner_meta(learn)` (bench/learner_meta.py). Cached in bench/results/curves.json.gz (`--recompute-curves`).
- every registered suggester, and every idea of bench/candidates.py, is run on the recorded curves; the suggested
  learning rate is scored by the truth's validation loss there (linear interpolation in log10(lr)) divided by the
  truth's best. A suggestion outside the grid is clamped to the grid's end, whose loss is poor by construction (see
  the table of tasks); a suggester that raises is scored at the grid's lowest learning rate (as good as not training).

Figures per suggester (num_it=100 unless said): per task the geometric mean of the ratio over the lr_find seeds;
`within 10%`: tasks whose ratio is at most 1.10; `geomean`: geometric mean of the per-task ratios; `seed spread`:
standard deviation of log10(lr) over the seeds, mean over tasks (decades); `num_it shift`: |mean log10(lr) at
num_it=400 - mean log10(lr) at num_it=100|, mean over tasks (decades). Reported per family, dev and held-out apart,
and over all families.

Held-out tasks are reported in tables of their own; nothing was tuned on them. Once their grids and curves are cached
they are included by default (`--dev-only` leaves them out; `--heldout` builds them). Pretrained bodies, head-epoch
states and PNG folders live in bench/cache/ (git-ignored; rebuilt when a grid or curve has to be computed).

Options: --heldout, --dev-only, --family F[,F], --tasks T[,T], --recompute-grid, --recompute-fine, --recompute-curves,
--workers N (default 2), --no-write (also implied by --family/--tasks: a partial report never overwrites the full one)."""
from __future__ import annotations
import argparse,gzip,json,math,os,sys,tempfile,time
from pathlib import Path
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
os.environ.setdefault('MPLBACKEND', 'Agg')
import numpy as np

RES = Path(os.environ.get('LRF_BENCH_RESULTS', HERE/'results')) # another folder for trials
GRID_FN,CURVES_FN = RES/'grid.json',RES/'curves.json.gz'
GRID_SEEDS = (0,1,2,3,4) # the scratch tasks' grid seeds (the other families use 3: `task.seeds`)
LRF_SEEDS = (100,101,102)
NUM_ITS = (100,400)
FASTAI = ('valley','slide','minimum','steep')
TOL = 1.10
FINE_PER_DECADE,FINE_HALF = 6,2/3 # the fine grid: 6 per decade within 2/3 of a decade of the coarse best
# Targets for a default rule (issue 12)
TARGET = dict(misses=1, geomean=1.08, spread=0.08, shift=0.08)
SPEED_BUDGET_MS = 5.

# ---------------------------------------------------------------------------------------------------------------
# Workers (one thread each)

def _init_worker():
    import torch,warnings
    torch.set_num_threads(1)
    warnings.filterwarnings('ignore')

def _whereami(_=None):
    "Where the worker imports lrfind_ext from (the run should use a frozen copy through PYTHONPATH)"
    import lrfind_ext
    return lrfind_ext.__file__

def _last_valid_only():
    "A callback that skips validation except after the last epoch (the grid only reads the final loss)"
    from fastai.callback.core import Callback,CancelValidException
    class LastValidOnly(Callback):
        order = 0
        def before_validate(self):
            if self.epoch < self.n_epoch-1: raise CancelValidException()
    return LastValidOnly()

def train_one(args):
    """Final validation loss of the truth's `fit_one_cycle` on task `name` at learning rate `lr` from seed `seed`;
    `part` 'scratch_ref': the fine-tuning task's model from random weights (the reference for the body's worth)"""
    name,part,seed,lr = args
    from tasks import TASK
    t = TASK[name]
    t0 = time.time()
    ref = part=='scratch_ref'
    learn = t.learner(seed, scratch=True) if ref else t.learner(seed)
    with learn.no_logging():
        if lr is None: loss = learn.validate()[0] # the learner as lr_find gets it
        else:
            (t.fit_scratch if ref else t.fit)(learn, lr, cbs=_last_valid_only())
            loss = learn.validate()[0]
    return name,part,seed,lr,float(loss),time.time()-t0

def _round(a, sig=6): return [float(f'{x:.{sig}g}') if math.isfinite(x) else str(x) for x in a]

def record_curves(args):
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
    d = res.curve.to_dict()
    for k in 'lrs','losses','smooth': d[k] = _round(res.curve.__dict__[k])
    d['meta'] = {**d.get('meta', {}), 'learner':lm}
    t1 = time.time()
    learn = t.learner(seed)
    err = None
    with tempfile.TemporaryDirectory() as tmp:
        learn.path = Path(tmp)
        try: fa = dict(zip(FASTAI, map(float, fastai_lr_find(learn, num_it=num_it, show_plot=False,
                                       suggest_funcs=(valley,slide,minimum,steep), **t.fastai_find_kwargs(learn)))))
        except Exception as e: # fastai's own lr_find fails on some runs (e.g. an empty slice, fastai#3658): no suggestion
            fa,err = {n:None for n in FASTAI},f'{type(e).__name__}: {e}'
    return dict(task=name, seed=seed, num_it=num_it, curve=d, fastai=fa, fastai_error=err,
                secs=dict(ext=t1-t0, fastai=time.time()-t1))

def meta_only(args):
    "`learner_meta` of task `name`'s learner at seed `seed` (to complete curves recorded before it existed)"
    name,seed = args
    from tasks import TASK
    from learner_meta import learner_meta
    return name,seed,learner_meta(TASK[name].learner(seed))

def prepare_one(job):
    from tasks import run_prepare_job
    return run_prepare_job(job)

def _pool(n):
    import multiprocessing as mp
    return mp.get_context('spawn').Pool(n, initializer=_init_worker, maxtasksperchild=40) # fresh workers: memory

# ---------------------------------------------------------------------------------------------------------------
# Caches

def _sig(t): return t.sig()
# The finder's divergence rule, part of each curve's signature: a curve recorded under another rule is recorded again
# (`_upgrade` first keeps those whose stop the current rule reproduces: the steps before a stop don't depend on the rule)
DIV_RULE = 'from-first-tenth,above-start' # lrfind_ext.curve.div_start/div_stop (since 2026-12-01)
def _csig(t): return {**t.curve_sig(), 'div_rule':DIV_RULE}

def _same_stop(r)->bool:
    "Whether the current divergence rule, replayed on recorded curve `r`, stops where it stopped (or not at all, as it did not)"
    from lrfind_ext.curve import div_start,div_stop
    c = r['curve']
    L,S,best,at = c['losses'],c['smooth'],math.inf,None
    if L is None: return False
    for i in range(len(S)):
        st = div_start(L[:i+1], r['num_it'])
        if div_stop(S[i], best, c.get('div', 4.), st): at = i+1; break
        if st is not None: best = min(best, S[i])
    return at==len(S) if c['stop'] in ('diverged','nonfinite') else at is None

def _upgrade(cache, tasks)->int:
    "Give the current signature to the cached curves of `tasks` recorded before DIV_RULE was in it, where the current rule stops them alike"
    n = 0
    for t in tasks:
        old = t.curve_sig()
        for k,r in cache.items():
            if r['task']==t.name and r.get('sig')==old and _same_stop(r): r['sig'] = _csig(t); n += 1
    return n

def load_json(fn):
    if not fn.exists(): return {}
    op = gzip.open if fn.suffix=='.gz' else open
    with op(fn, 'rt') as f: return json.load(f)

def save_json(obj, fn):
    fn.parent.mkdir(parents=True, exist_ok=True)
    op = gzip.open if fn.suffix=='.gz' else open
    tmp = fn.with_name(f'.{fn.name}.tmp')
    with op(tmp, 'wt') as f: json.dump(obj, f, indent=None if fn.suffix=='.gz' else 1)
    os.replace(tmp, fn)

def report(md:list, name:str, write:bool=True)->str:
    "Print the markdown lines `md` and, if `write`, write them to results/`name`"
    text = '\n'.join(md)+'\n'
    print(text)
    if write:
        (RES/name).write_text(text)
        print(f"wrote {RES/name}")
    return text

def _cost_key(j):
    "Longest jobs first, so the two workers finish together: the tasks with a ResNet, then the text task"
    from tasks import TASK
    t = TASK[j[0]]
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
        with _pool(workers) as p:
            for job,secs in p.imap_unordered(prepare_one, jobs): done[job] = secs
        print(f"prepare: done in {time.time()-t0:.0f}s", flush=True)
    return done

def _fine_lrs(t, center:float)->list:
    "The fine grid around `center` (the coarse best), without the points the coarse grid already has"
    coarse = np.log10(t.lrs)
    k = int(round(FINE_HALF*FINE_PER_DECADE))
    ex = [math.log10(center)+i/FINE_PER_DECADE for i in range(-k, k+1)]
    return [float(10**e) for e in ex if np.abs(coarse-e).min()>1e-6]

def _fine_sig(t, center): return dict(task=_sig(t), center=float(center), per_decade=FINE_PER_DECADE, half=FINE_HALF)

def _train(jobs, workers, what, on_done=None):
    "Run training jobs; `on_done(key, results)` is called as soon as every job of a (task, part) is back"
    out,t0 = {},time.time()
    left = {}
    for j in jobs: left[j[:2]] = left.get(j[:2], 0)+1
    jobs = sorted(jobs, key=_cost_key)
    print(f"grid: {len(jobs)} training runs ({what})", flush=True)
    with _pool(workers) as p:
        print(f"  workers import lrfind_ext from {p.apply(_whereami)}", flush=True)
        for i,(name,part,seed,lr,loss,secs) in enumerate(p.imap_unordered(train_one, jobs)):
            out[(name,part,seed,lr)] = (loss,secs)
            left[(name,part)] -= 1
            if not left[(name,part)] and on_done: on_done((name,part), out)
            if (i+1)%100==0: print(f"  {i+1}/{len(jobs)} runs, {time.time()-t0:.0f}s", flush=True)
    print(f"grid: done in {time.time()-t0:.0f}s", flush=True)
    return out

def _coarse_entry(t, part, out, seeds, lrs, with_init=True):
    d = dict(sig=_sig(t), lrs=lrs, losses={str(s):[out[(t.name,part,s,lr)][0] for lr in lrs] for s in seeds},
             secs_per_run=float(np.mean([out[(t.name,part,s,lr)][1] for s in seeds for lr in lrs])))
    if with_init: d['init'] = {str(s):out[(t.name,part,s,None)][0] for s in seeds}
    return d

def run_grid(tasks, recompute=False, recompute_fine=False, workers=2):
    """Train every task's coarse grid, then its fine grid (cached in grid.json), and, for the fine-tuning tasks, the
    from-scratch reference on the coarse grid; return the cache"""
    from tasks import TASK
    cache = load_json(GRID_FN)
    def save(key, out):
        name,part = key
        t = TASK[name]
        if part=='coarse':
            old = cache.get(name, {})
            cache[name] = {**_coarse_entry(t, 'coarse', out, t.seeds, t.lrs.tolist()),
                           **{k:v for k,v in old.items() if k in ('fine','scratch_ref') and old.get('sig')==_sig(t)}}
        elif part=='scratch_ref':
            cache[name]['scratch_ref'] = {**_coarse_entry(t, part, out, t.ref_seeds, t.lrs.tolist()),
                                          'seeds':list(t.ref_seeds)}
        else:
            c = Truth(cache[name], coarse_only=True).best_lr
            lrs = _fine_lrs(t, c)
            cache[name]['fine'] = dict(sig=_fine_sig(t, c), lrs=lrs,
                losses={str(s):[out[(name,'fine',s,lr)][0] for lr in lrs] for s in t.seeds},
                secs_per_run=float(np.mean([out[(name,'fine',s,lr)][1] for s in t.seeds for lr in lrs])))
        save_json(cache, GRID_FN)
    # coarse (and the from-scratch references, which do not depend on the coarse result)
    todo = [t for t in tasks if recompute or cache.get(t.name, {}).get('sig')!=_sig(t)]
    refs = [t for t in tasks if t.family=='finetune' and (t in todo or 'scratch_ref' not in cache.get(t.name, {})
                                                          or cache[t.name]['scratch_ref'].get('sig')!=_sig(t))]
    jobs = [(t.name,'coarse',s,lr) for t in todo for s in t.seeds for lr in [None,*t.lrs.tolist()]]
    jobs += [(t.name,'scratch_ref',s,lr) for t in refs for s in t.ref_seeds for lr in [None,*t.lrs.tolist()]]
    if jobs:
        prepare(todo+refs, workers)
        # coarse parts first so that a cache entry exists before its reference is stored
        jobs = sorted(jobs, key=lambda j: j[1]!='coarse')
        res = {}
        def on_done(key, out):
            if key[1]=='scratch_ref' and cache.get(key[0], {}).get('sig')!=_sig(TASK[key[0]]): res[key] = out; return
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

def _capped(x, cap): return cap if not math.isfinite(x) else min(x, cap)

def run_curves(tasks, recompute=False, workers=2):
    "Record every task's lr_find curves (cached in curves.json.gz) and return the cache"
    from tasks import TASK
    cache = load_json(CURVES_FN)
    if _upgrade(cache, tasks): save_json(cache, CURVES_FN)
    key = lambda n,s,k: f'{n}/{s}/{k}'
    jobs = [(t.name,s,k) for t in tasks for s in LRF_SEEDS for k in NUM_ITS
            if recompute or key(t.name,s,k) not in cache or cache[key(t.name,s,k)].get('sig')!=_csig(t)]
    if jobs:
        prepare([TASK[n] for n in dict.fromkeys(j[0] for j in jobs)], workers)
        jobs = sorted(jobs, key=lambda j: (_cost_key(j), -j[2]))
        print(f"curves: {len(jobs)} lr_find runs (this package's and fastai's)", flush=True)
        t0,last = time.time(),time.time()
        with _pool(workers) as p:
            print(f"  workers import lrfind_ext from {p.apply(_whereami)}", flush=True)
            for i,r in enumerate(p.imap_unordered(record_curves, jobs)):
                r['sig'] = _csig(TASK[r['task']])
                cache[key(r['task'],r['seed'],r['num_it'])] = r
                if time.time()-last>120: save_json(cache, CURVES_FN); last = time.time()
                if (i+1)%20==0: print(f"  {i+1}/{len(jobs)} lr_find runs, {time.time()-t0:.0f}s", flush=True)
        save_json(cache, CURVES_FN)
        print(f"curves: done in {time.time()-t0:.0f}s", flush=True)
    # curves recorded before `learner_meta` existed: add it (the learner is rebuilt, nothing is trained)
    miss = sorted({(t.name,s) for t in tasks for s in LRF_SEEDS for k in NUM_ITS
                   if 'learner' not in cache[key(t.name,s,k)]['curve'].get('meta', {})})
    if miss:
        print(f"curves: adding learner_meta to the curves of {len(miss)} (task, seed) pairs", flush=True)
        with _pool(workers) as p:
            for name,s,lm in p.imap_unordered(meta_only, miss):
                for k in NUM_ITS: cache[key(name,s,k)]['curve'].setdefault('meta', {})['learner'] = lm
        save_json(cache, CURVES_FN)
    return cache

def cached(t, grid, curves)->bool:
    "Whether task `t`'s grids and curves are all in the caches, with the current signatures"
    g = grid.get(t.name, {})
    if g.get('sig')!=_sig(t) or 'fine' not in g: return False
    if g['fine'].get('sig')!=_fine_sig(t, Truth(g, coarse_only=True).best_lr): return False
    if t.family=='finetune' and g.get('scratch_ref', {}).get('sig')!=_sig(t): return False
    return all(curves.get(f'{t.name}/{s}/{k}', {}).get('sig')==_csig(t) for s in LRF_SEEDS for k in NUM_ITS)

# ---------------------------------------------------------------------------------------------------------------
# Scoring

class Truth:
    """A task's truth: mean validation loss per learning rate on the union of the coarse and fine grids, and the
    ratio to the best at any learning rate"""
    def __init__(self, g, coarse_only=False):
        cap = float(np.mean(list(g['init'].values())))
        pts = {} # lr -> {seed: loss}
        parts = [g] + ([] if coarse_only or 'fine' not in g else [g['fine']])
        for p in parts:
            for s,v in p['losses'].items():
                for lr,x in zip(p['lrs'], v): pts.setdefault(float(lr), {})[s] = _capped(x, cap)
        self.lrs = np.array(sorted(pts))
        self.loss = np.array([np.mean(list(pts[lr].values())) for lr in self.lrs])
        self.n_seeds = np.array([len(pts[lr]) for lr in self.lrs])
        self.cap,self.coarse_lrs = cap,np.array(g['lrs'])
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

def _suggest_all(crv, names):
    "lr of each registered suggester `names` on `crv` (None where it raised)"
    from lrfind_ext.suggest import suggesters
    res = {}
    for n in names:
        try: res[n] = suggesters[n](crv).lr
        except Exception: res[n] = None
    return res

def suggestions(curves, tasks, extra=None):
    """`{row: {task: {num_it: [lr per seed]}}}` for fastai's own four and every registered suggester.
    `extra`: optional dict of name -> function of a curve, for experiments"""
    from lrfind_ext.curve import LRCurve
    from lrfind_ext.suggest import suggesters
    names = suggesters.names()
    rows = {}
    for t in tasks:
        for k in NUM_ITS:
            for s in LRF_SEEDS:
                r = curves[f'{t.name}/{s}/{k}']
                crv = LRCurve.from_dict(r['curve'])
                got = {f'fastai.{n}':r['fastai'][n] for n in FASTAI}
                got.update(_suggest_all(crv, names))
                for n,f in (extra or {}).items():
                    try: got[n] = float(f(crv))
                    except Exception: got[n] = None
                for n,lr in got.items(): rows.setdefault(n, {}).setdefault(t.name, {}).setdefault(k, []).append(lr)
    return rows

def _gm(a): return float(np.exp(np.mean(np.log(a))))

def score(rows, truths, tasks):
    "Figures of each row over `tasks`"
    res = {}
    for n,per in rows.items():
        tr,sp,sh,fails,dec = {},[],[],0,{}
        for t in tasks:
            T = truths[t.name]
            lrs100,lrs400 = per[t.name][100],per[t.name][400]
            fails += sum(lr is None for lr in lrs100+lrs400)
            tr[t.name] = _gm([T.ratio(lr) for lr in lrs100])
            l100 = np.log10([lr if lr else T.lrs[0] for lr in lrs100])
            l400 = np.log10([lr if lr else T.lrs[0] for lr in lrs400])
            sp.append(float(np.std(l100)))
            sh.append(float(abs(l400.mean()-l100.mean())))
            dec[t.name] = float(l100.mean()-math.log10(T.best_lr))
        r = np.array(list(tr.values()))
        res[n] = dict(within=int((r<=TOL).sum()), n_tasks=len(tasks), geomean=_gm(r), worst=float(r.max()),
                      spread=float(np.mean(sp)), shift=float(np.mean(sh)), fails=fails, ratio=tr, decades=dec,
                      ratio400={t.name:_gm([truths[t.name].ratio(lr) for lr in per[t.name][400]]) for t in tasks},
                      lrs={t.name:per[t.name] for t in tasks})
    return res

def beats(s, v)->bool:
    "Whether figures `s` beat figures `v` on every one: more tasks within 10%, lower geomean, spread and shift"
    return s['within']>v['within'] and s['geomean']<v['geomean'] and s['spread']<v['spread'] and s['shift']<v['shift']

def meets(s, n_tasks):
    "Whether figures `s` meet the issue's targets for a default (TARGET)"
    return (s['within']>=n_tasks-TARGET['misses'] and s['geomean']<=TARGET['geomean'] and s['spread']<=TARGET['spread']
            and s['shift']<=TARGET['shift'])

# ---------------------------------------------------------------------------------------------------------------
# Speed

def _med_ms(f, reps, rounds):
    "Milliseconds per call of `f`: the median of `reps` calls, best of `rounds` rounds (the round least disturbed by other processes)"
    best = math.inf
    for _ in range(rounds):
        ts = []
        for _ in range(reps):
            t0 = time.perf_counter(); f(); ts.append(time.perf_counter()-t0)
        best = min(best, float(np.median(ts)))
    return 1000*best

def speed(n=10_000, reps=20, rounds=5):
    "Milliseconds per call of each registered suggester, of all together, and of the five built-ins with their intervals, on an `n`-point curve"
    from lrfind_ext.curve import synth_curve
    from lrfind_ext.suggest import suggesters
    import torch
    torch.set_num_threads(1) # steep reads a torch tensor: one thread is steadier on a shared machine
    crv = synth_curve(n=n, noise=0.05, stop_div=False)
    res = {sg.name:_med_ms(lambda: sg(crv), reps, rounds) for sg in suggesters}
    res['all'] = _med_ms(lambda: [sg(crv) for sg in suggesters], reps, rounds)
    # What lr_find does after the run with its defaults or `suggest_funcs='all'`: the built-in rules, then their intervals
    from lrfind_ext.suggest import suggest_lrs
    from lrfind_ext.spread import with_intervals
    sgs = suggesters.resolve(('basin','valley','slide','minimum','steep'))
    res['the five built-ins with their intervals'] = _med_ms(lambda: with_intervals(crv, suggest_lrs(crv, sgs), sgs), reps, rounds)
    return res

# ---------------------------------------------------------------------------------------------------------------
# Report

def _order(names, fastai=True):
    "fastai's four, then this package's rules in registration order"
    return [f'fastai.{n}' for n in FASTAI]*fastai + [n for n in names if not n.startswith('fastai.')]

def table(sc, names, default=None, fastai=True, cands=())->str:
    n_tasks = next(iter(sc.values()))['n_tasks']
    hdr = ('| suggester | within 10% | geomean ratio | worst ratio | seed spread (dec) | num_it shift (dec) | meets target |\n'
           '|---|---|---|---|---|---|---|')
    rows = []
    for n in _order(names, fastai)+[c for c in cands if c not in names]:
        s = sc[n]
        name = f'**{n}**' if n==default else f'*{n}*' if n in cands else n
        rows.append(f"| {name} | {s['within']}/{n_tasks} | {s['geomean']:.3f} | {s['worst']:.2f} | {s['spread']:.3f} | "
                    f"{s['shift']:.3f} | {'yes' if meets(s, n_tasks) else 'no'} |")
    return '\n'.join([hdr, *rows])

def per_task_table(sc, names, tasks, cands=(), key='ratio', fmt='{:.2f}')->str:
    hdr = '| suggester | ' + ' | '.join(t.name for t in tasks) + ' |\n|---|' + '---|'*len(tasks)
    ns = _order(names)+[c for c in cands if c not in names]
    rows = [f'| {f"*{n}*" if n in cands else n} | ' + ' | '.join(fmt.format(sc[n][key][t.name]) for t in tasks) + ' |'
            for n in ns]
    return '\n'.join([hdr, *rows])

def _grid_desc(T):
    lo,hi = np.log10(T.coarse_lrs[[0,-1]])
    s = f"1e{lo:.0f} to 1e{hi:.0f} (3/dec)"
    if len(T.fine_lrs): s += f" + {len(T.fine_lrs)} fine, {T.fine_lrs.min():.1e} to {T.fine_lrs.max():.1e}"
    return s

def task_table(tasks, truths, grid)->str:
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
        g = grid[t.name]['scratch_ref']
        R = Truth(g, coarse_only=True)
        T = truths[t.name]
        rows.append(f"| {t.name} | {'held-out' if t.heldout else 'dev'} | {T.best:.3g} ({T.best_lr:.1e}) | "
                    f"{R.best:.3g} ({R.best_lr:.1e}) | {R.best/T.best:.2f} |")
    return '\n'.join([hdr, *rows]) if rows else ''

def _cost(tasks, grid, curves)->str:
    "The training a run from scratch does, in words"
    n = g = 0
    for t in tasks:
        e = grid[t.name]
        for p,seeds,init in ((e,t.seeds,True), (e.get('fine'),t.seeds,False), (e.get('scratch_ref'),getattr(t, 'ref_seeds', ()),True)):
            if not p: continue
            k = (len(p['lrs'])+init)*len(seeds)
            n += k; g += p['secs_per_run']*k
    c = sum(sum(curves[f'{t.name}/{s}/{k}']['secs'].values()) for t in tasks for s in LRF_SEEDS for k in NUM_ITS)
    from tasks import BODIES
    infos = [BODIES[b].info() for b in {getattr(t, 'body', None) for t in tasks} if b]
    pre = sum(i.get('secs', 0) for i in infos if i)
    pre_txt = (f"{pre/60:.0f} CPU-minutes" if all(infos) else
               "time not known here: bench/cache/ holds no pretrained body; 5 CPU-minutes when last measured")
    return (f"{n} `fit_one_cycle` runs ({g/60:.0f} CPU-minutes), {2*len(tasks)*len(LRF_SEEDS)*len(NUM_ITS)} `lr_find` "
            f"runs ({c/60:.0f} CPU-minutes) and the bodies' pretraining ({pre_txt}, plus the head "
            f"epochs), one thread each; about {(g+c+pre)/60/2:.0f} minutes with the 2 default workers on this machine, "
            f"if it is otherwise idle")

def _sets(tasks, heldout):
    "(family, split, tasks) for every family and split present"
    out = []
    for fam in dict.fromkeys(t.family for t in tasks):
        for split,flag in (('dev',False),('held-out',True)):
            ts = [t for t in tasks if t.family==fam and t.heldout==flag]
            if ts and (heldout or not flag): out.append((fam,split,ts))
    return out

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--heldout', action='store_true',
                    help='also build the held-out tasks (once their grids and curves are cached they are included by default)')
    ap.add_argument('--dev-only', action='store_true', help='leave the held-out tasks out')
    ap.add_argument('--family', default='', help='only these families (comma-separated: scratch,finetune,apps); implies --no-write')
    ap.add_argument('--tasks', default='', help='only these tasks (comma-separated names); implies --no-write')
    ap.add_argument('--recompute-grid', action='store_true', help='train the coarse and fine grids again instead of reading grid.json')
    ap.add_argument('--recompute-fine', action='store_true', help='train the fine grids again')
    ap.add_argument('--recompute-curves', action='store_true', help='record the lr_find curves again')
    ap.add_argument('--build-only', action='store_true', help='build the caches and stop (no scoring, no report)')
    ap.add_argument('--workers', type=int, default=2, help='worker processes (one thread each)')
    ap.add_argument('--no-write', action='store_true', help='print only; leave the results files alone')
    a = ap.parse_args()

    import torch; torch.set_num_threads(1)
    import warnings; warnings.filterwarnings('ignore')
    from tasks import TASKS,TASK
    import lrfind_ext, lrfind_ext.rules
    from lrfind_ext.suggest import suggesters
    from lrfind_ext.finder import default_suggest
    from machine import machine
    t0 = time.time()
    print(f"lrfind_ext from {lrfind_ext.__file__}", flush=True)
    pool = TASKS
    if a.family: pool = [t for t in pool if t.family in a.family.split(',')]
    if a.tasks: pool = [TASK[n] for n in a.tasks.split(',')]
    partial = bool(a.family or a.tasks)
    grid0,curves0 = load_json(GRID_FN),load_json(CURVES_FN)
    heldout = not a.dev_only and (a.heldout or bool(a.tasks) or all(cached(t, grid0, curves0) for t in pool if t.heldout))
    tasks = [t for t in pool if heldout or not t.heldout]
    grid = run_grid(tasks, a.recompute_grid, a.recompute_fine, a.workers)
    curves = run_curves(tasks, a.recompute_curves, a.workers)
    if a.build_only: print(f"built in {time.time()-t0:.0f}s"); return
    t1 = time.time()
    truths = {t.name:Truth(grid[t.name]) for t in tasks}
    from candidates import CANDIDATES
    rows = suggestions(curves, tasks, CANDIDATES)
    names = _order([n for n in rows if n not in CANDIDATES])
    sets = _sets(tasks, heldout)
    overall = [('all',split,[t for t in tasks if t.heldout==(split=='held-out')]) for split in ('dev','held-out')
               if any(t.heldout==(split=='held-out') for t in tasks) and (heldout or split=='dev')]
    scores = {f'{f}/{k}':score(rows, truths, ts) for f,k,ts in sets+overall}
    t_score = time.time()-t1
    sp = speed()
    rec = getattr(lrfind_ext.rules, 'recommended', None) or default_suggest[0]
    cands = list(CANDIDATES)
    tgt = (f"within 10% on all tasks but {TARGET['misses']}, geomean <= {TARGET['geomean']}, seed spread <= "
           f"{TARGET['spread']} decades, num_it shift <= {TARGET['shift']} decades")

    md = [f"# Suggestion quality\n",
          f"Generated by `python bench/quality.py` ({time.strftime('%Y-%m-%d')}{', held-out tasks included' if heldout else ''}) "
          f"on {machine()}; raw numbers in `quality.json`.\n",
          f"Ratio: validation loss of the task's `fit_one_cycle` at the suggested learning rate (read off the truth: the "
          f"union of a coarse grid, 3 per decade, and a fine grid, {FINE_PER_DECADE} per decade within {FINE_HALF:.2g} of a "
          f"decade of the coarse best; interpolated in log10(lr)) over the best of the truth. Per task, the geometric mean "
          f"over {len(LRF_SEEDS)} lr_find seeds at num_it=100. `within 10%`: tasks with ratio <= {TOL:.2f}; `seed spread`: "
          f"std of log10(lr) over the seeds, mean over tasks; `num_it shift`: |mean log10(lr) at num_it=400 - at 100|, "
          f"mean over tasks. Target for a default: {tgt}. `fastai.*` rows come from fastai's own `lr_find` run on the "
          f"same learners; the plain rows are this package's registered suggesters on this package's curves (the "
          f"default, in bold: `{rec}`); rows in italics are the ideas of `bench/candidates.py`, measured and not shipped. "
          f"On the slice tasks every rate is the top rate of `slice(lr/R, lr)`, both for the sweep and the fit.\n",
          "Held-out tasks: nothing was chosen while looking at their rows."]
    def verdict(k, n):
        r,v = scores[k][rec],scores[k]['valley']
        return (f"\n`{rec}` {'beats' if beats(r, v) else 'does not beat'} `valley` on every figure here, and "
                f"{'meets' if meets(r, n) else 'does not meet'} the whole target.")
    if overall:
        md += ["\n## Overall (all families)\n"]
        for f,k,ts in overall:
            md += [f"\n### {k.capitalize()} tasks ({len(ts)})\n", table(scores[f'all/{k}'], names, rec, cands=cands),
                   verdict(f'all/{k}', len(ts))]
    for fam in dict.fromkeys(f for f,_,_ in sets):
        md += [f"\n## Family `{fam}`\n"]
        for f,k,ts in [s for s in sets if s[0]==fam]:
            sc = scores[f'{f}/{k}']
            md += [f"\n### {fam}: {k} tasks ({len(ts)})\n", table(sc, names, rec, cands=cands), verdict(f'{f}/{k}', len(ts)),
                   f"\nRatio per task:\n", per_task_table(sc, names, ts, cands),
                   f"\nWhere each rule lands, mean log10(suggested lr / best lr) at num_it=100 (decades; + is above the best):\n",
                   per_task_table(sc, names, ts, cands, key='decades', fmt='{:+.2f}')]
    md += ["\n## The ideas of bench/candidates.py\n", '\n'.join(f"- `{n}`: {f.__doc__}" for n,f in CANDIDATES.items())]
    md += ["\n## Tasks\n", task_table(tasks, truths, grid),
           f"\nGrid seeds (column `seeds`): {list(GRID_SEEDS)} on the scratch tasks, 0-2 on the others, 0-1 on the costly "
           f"ResNet tasks; the same seeds on the coarse and fine grids. lr_find seeds {list(LRF_SEEDS)}. A diverged grid run (NaN), or one that ends above the "
           "loss of the learner lr_find got, counts as that loss; a suggestion outside the grid is read at the grid's end."]
    rt = ref_table(tasks, truths, grid)
    if rt:
        md += ["\n### What the pretrained bodies are worth\n",
               f"Each fine-tuning task's model trained from random weights (unfrozen, one rate, its epochs plus the head "
               f"epoch where there is one), on the coarse grid with seed 0 (and 1 where the task is cheap), against "
               f"the fine-tuned truth:\n", rt]
        from tasks import BODIES
        md += ["\nBodies (pretrained once, seed 0, Adam, on the source classes; cached in bench/cache/):\n",
               '| body | pretraining | source valid loss |\n|---|---|---|',
               *[f"| {k} | {b.arch} on {'digits' if b.data=='digits' else 'make_classification'} (source rows, 10 classes), "
                 f"{b.epochs} epochs at {b.lr:g}, bs {b.bs} | {(b.info() or {}).get('src_valid_loss', float('nan')):.3g} |"
                 for k,b in BODIES.items() if any(getattr(t, 'body', None)==k for t in tasks)]]
    md += ["\n## Speed\n", f"Time per call on a 10,000-point curve (`synth_curve(n=10_000, noise=0.05)`), this machine: the median of 20 calls, best of 5 rounds:\n",
           '| suggester | ms |\n|---|---|', *[f'| {n} | {v:.2f} |' for n,v in sp.items()],
           f"\nBudget: the built-in rules with their intervals under {SPEED_BUDGET_MS:g} ms at 10,000 points: "
           f"{sp['the five built-ins with their intervals']:.1f} ms, "
           f"{'within' if sp['the five built-ins with their intervals']<SPEED_BUDGET_MS else 'over'} budget "
           f"(load average {os.getloadavg()[0]:.2f} at the end of the run; timings from a busy machine run high).",
           f"\nThis run took {time.time()-t0:.1f}s (scoring {t_score:.1f}s). Training everything from scratch "
           f"(`--recompute-grid --recompute-curves`, and an empty bench/cache/) takes {_cost(tasks, grid, curves)}."]
    text = '\n'.join(md)+'\n'
    print(text)
    if partial and not a.no_write: print("(--family/--tasks: partial report, results files left alone)")
    if not a.no_write and not partial:
        (RES/'quality.md').write_text(text)
        save_json(dict(default_suggest=list(default_suggest), recommended=rec, tol=TOL, target=TARGET,
                       grid_seeds={t.name:list(t.seeds) for t in tasks}, lrf_seeds=list(LRF_SEEDS), num_its=list(NUM_ITS),
                       fine=dict(per_decade=FINE_PER_DECADE, half=FINE_HALF), speed_ms=sp, candidates=cands,
                       tasks={t.name:dict(family=t.family, heldout=t.heldout, setup=t.summary(), best_lr=truths[t.name].best_lr,
                                          best_loss=truths[t.name].best, grid_lrs=truths[t.name].lrs.tolist(),
                                          grid_loss=truths[t.name].loss.tolist(), window=list(truths[t.name].window()))
                              for t in tasks},
                       scores=scores), RES/'quality.json')
        print(f"wrote {RES/'quality.md'} and {RES/'quality.json'}")

if __name__=='__main__': main()
