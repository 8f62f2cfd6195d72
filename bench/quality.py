#!/usr/bin/env python
"""Suggestion quality: how close each suggester's learning rate lands to the best one, on small real tasks.

One command (`make bench-quality`, or `python bench/quality.py`) prints the table and writes it to
bench/results/quality.md, with the raw numbers in bench/results/quality.json.

For every task of bench/tasks.py:
- the truth: `fit_one_cycle` for the task's epochs at each learning rate of a grid (3 per decade over 6 decades),
  over GRID_SEEDS; the validation loss after the last epoch, averaged over the seeds, per learning rate. A run
  that diverges (NaN) or ends above the untrained model's validation loss counts as the untrained loss.
  Cached in bench/results/grid.json (`--recompute-grid` to train again).
- the curves: `lr_find` with num_it=100 and 400 for each of LRF_SEEDS (this package's, which records raw and
  smoothed losses), and fastai's own `lr_find` (`lrfind_ext.finder.fastai_lr_find`) with fastai's four functions
  on the same learners. Cached in bench/results/curves.json.gz (`--recompute-curves`).
- every registered suggester is run on the recorded curves; the suggested learning rate is scored by the grid's
  validation loss there (linear interpolation in log10(lr)) divided by the grid's best. A suggestion outside the
  grid is clamped to the grid's end, whose loss is poor by construction (see the table of tasks); a suggester that
  raises is scored at the grid's lowest learning rate (as good as not training).

Figures per suggester (num_it=100 unless said): per task the geometric mean of the ratio over the lr_find seeds;
`within 10%`: tasks whose ratio is at most 1.10; `geomean`: geometric mean of the per-task ratios; `seed spread`:
standard deviation of log10(lr) over the seeds, mean over tasks (decades); `num_it shift`: |mean log10(lr) at
num_it=400 - mean log10(lr) at num_it=100|, mean over tasks (decades).

Held-out tasks are reported in their own table; the suggesters were not tuned on them. They are trained only when
asked (`--heldout`, once, at the end); once their grid is cached they are included by default (`--dev-only` leaves
them out). Ideas measured and not shipped (bench/candidates.py) get a table of their own. The speed of every
registered suggester on a 10,000-point curve is measured too (one torch thread, as everything here).

Options: --heldout, --dev-only, --recompute-grid, --recompute-curves, --workers N (default 2), --no-write."""
from __future__ import annotations
import argparse,gzip,json,math,os,sys,tempfile,time
from pathlib import Path
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
os.environ.setdefault('MPLBACKEND', 'Agg')
import numpy as np

RES = HERE/'results'
GRID_FN,CURVES_FN = RES/'grid.json',RES/'curves.json.gz'
GRID_SEEDS = (0,1,2,3,4)
LRF_SEEDS = (100,101,102)
NUM_ITS = (100,400)
FASTAI = ('valley','slide','minimum','steep')
TOL = 1.10

# ---------------------------------------------------------------------------------------------------------------
# Workers (one thread each)

def _init_worker():
    import torch,warnings
    torch.set_num_threads(1)
    warnings.filterwarnings('ignore')

def _last_valid_only():
    "A callback that skips validation except after the last epoch (the grid only reads the final loss)"
    from fastai.callback.core import Callback,CancelValidException
    class LastValidOnly(Callback):
        order = 0
        def before_validate(self):
            if self.epoch < self.n_epoch-1: raise CancelValidException()
    return LastValidOnly()

def train_one(args):
    "Final validation loss of `fit_one_cycle` on task `name` at learning rate `lr` from seed `seed`"
    name,seed,lr = args
    from tasks import TASK
    t0 = time.time()
    learn = TASK[name].learner(seed)
    with learn.no_logging():
        if lr is None: loss = learn.validate()[0] # the untrained model
        else:
            learn.fit_one_cycle(TASK[name].epochs, lr, cbs=_last_valid_only())
            loss = learn.validate()[0]
    return name,seed,lr,float(loss),time.time()-t0

def _round(a, sig=6): return [float(f'{x:.{sig}g}') if math.isfinite(x) else str(x) for x in a]

def record_curves(args):
    "lr_find curves (this package's) and fastai's own four suggestions for task `name`, seed `seed`"
    name,seed,num_it = args
    import lrfind_ext
    from lrfind_ext.finder import fastai_lr_find
    from fastai.callback.schedule import valley,slide,minimum,steep
    from tasks import TASK
    t = TASK[name]
    t0 = time.time()
    learn = t.learner(seed)
    res = learn.lr_find(num_it=num_it, show_plot=False, suggest_funcs=None)
    d = res.curve.to_dict()
    for k in 'lrs','losses','smooth': d[k] = _round(res.curve.__dict__[k])
    t1 = time.time()
    learn = t.learner(seed)
    with tempfile.TemporaryDirectory() as tmp:
        learn.path = Path(tmp)
        fa = fastai_lr_find(learn, num_it=num_it, show_plot=False, suggest_funcs=(valley,slide,minimum,steep))
    return dict(task=name, seed=seed, num_it=num_it, curve=d, fastai=dict(zip(FASTAI, map(float, fa))),
                secs=dict(ext=t1-t0, fastai=time.time()-t1))

def _pool(n):
    import multiprocessing as mp
    return mp.get_context('spawn').Pool(n, initializer=_init_worker)

# ---------------------------------------------------------------------------------------------------------------
# Caches

def _sig(t): return dict(epochs=t.epochs, bs=t.bs, opt=t.opt, grid=list(t.grid), seeds=list(GRID_SEEDS), desc=t.desc)

def _csig(t): return dict(bs=t.bs, opt=t.opt, desc=t.desc, data=t.data)

def load_json(fn):
    if not fn.exists(): return {}
    op = gzip.open if fn.suffix=='.gz' else open
    with op(fn, 'rt') as f: return json.load(f)

def save_json(obj, fn):
    fn.parent.mkdir(parents=True, exist_ok=True)
    op = gzip.open if fn.suffix=='.gz' else open
    with op(fn, 'wt') as f: json.dump(obj, f, indent=None if fn.suffix=='.gz' else 1)

def _train(jobs, workers, what):
    out,t0 = {},time.time()
    print(f"grid: {len(jobs)} training runs ({what})", flush=True)
    with _pool(workers) as p:
        for i,(name,seed,lr,loss,secs) in enumerate(p.imap_unordered(train_one, jobs)):
            out[(name,seed,lr)] = (loss,secs)
            if (i+1)%100==0: print(f"  {i+1}/{len(jobs)} runs, {time.time()-t0:.0f}s", flush=True)
    return out

def run_grid(tasks, recompute=False, workers=2):
    "Train every task's grid (cached in grid.json) and return the cache"
    cache = load_json(GRID_FN)
    todo = [t for t in tasks if recompute or cache.get(t.name, {}).get('sig')!=_sig(t)]
    if not todo: return cache
    t0 = time.time()
    out = _train([(t.name,s,lr) for t in todo for s in GRID_SEEDS for lr in [None,*t.lrs.tolist()]], workers,
                 ', '.join(t.name for t in todo))
    for t in todo:
        lrs = t.lrs.tolist()
        cache[t.name] = dict(sig=_sig(t), lrs=lrs,
            losses={str(s):[out[(t.name,s,lr)][0] for lr in lrs] for s in GRID_SEEDS},
            init={str(s):out[(t.name,s,None)][0] for s in GRID_SEEDS},
            secs_per_run=float(np.mean([out[(t.name,s,lr)][1] for s in GRID_SEEDS for lr in lrs])))
        save_json(cache, GRID_FN)
    print(f"grid: done in {time.time()-t0:.0f}s", flush=True)
    return cache

def _capped(x, cap): return cap if not math.isfinite(x) else min(x, cap)

def run_curves(tasks, recompute=False, workers=2):
    "Record every task's lr_find curves (cached in curves.json.gz) and return the cache"
    cache = load_json(CURVES_FN)
    key = lambda n,s,k: f'{n}/{s}/{k}'
    jobs = [(t.name,s,k) for t in tasks for s in LRF_SEEDS for k in NUM_ITS
            if recompute or key(t.name,s,k) not in cache or cache[key(t.name,s,k)].get('sig')!=_csig(t)]
    if not jobs: return cache
    print(f"curves: {len(jobs)} lr_find runs (this package's and fastai's)", flush=True)
    t0 = time.time()
    with _pool(workers) as p:
        for r in p.imap_unordered(record_curves, jobs):
            r['sig'] = _csig(__import__('tasks').TASK[r['task']])
            cache[key(r['task'],r['seed'],r['num_it'])] = r
    save_json(cache, CURVES_FN)
    print(f"curves: done in {time.time()-t0:.0f}s", flush=True)
    return cache

# ---------------------------------------------------------------------------------------------------------------
# Scoring

class Truth:
    "A task's grid: mean validation loss per learning rate, and the ratio to the best at any learning rate"
    def __init__(self, g):
        self.lrs = np.array(g['lrs'])
        cap = float(np.mean(list(g['init'].values())))
        ls = np.array([[_capped(x, cap) for x in v] for v in g['losses'].values()])
        self.cap,self.per_seed,self.loss = cap,ls,ls.mean(0)
        self.best_i = int(self.loss.argmin())
        self.best,self.best_lr = float(self.loss[self.best_i]),float(self.lrs[self.best_i])

    def ratio(self, lr)->float:
        "Grid loss at `lr` (interpolated in log10, clamped to the grid's ends) over the grid's best"
        if lr is None or not (math.isfinite(lr) and lr>0): lr = self.lrs[0]
        return float(np.interp(np.log10(lr), np.log10(self.lrs), self.loss))/self.best

    def window(self, tol=TOL):
        "Range of learning rates (on the interpolated grid) within `tol` of the best"
        x = np.linspace(np.log10(self.lrs[0]), np.log10(self.lrs[-1]), 2001)
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
        tr,sp,sh,fails = {},[],[],0
        for t in tasks:
            T = truths[t.name]
            lrs100,lrs400 = per[t.name][100],per[t.name][400]
            fails += sum(lr is None for lr in lrs100+lrs400)
            tr[t.name] = _gm([T.ratio(lr) for lr in lrs100])
            l100 = np.log10([lr if lr else T.lrs[0] for lr in lrs100])
            l400 = np.log10([lr if lr else T.lrs[0] for lr in lrs400])
            sp.append(float(np.std(l100)))
            sh.append(float(abs(l400.mean()-l100.mean())))
        r = np.array(list(tr.values()))
        res[n] = dict(within=int((r<=TOL).sum()), n_tasks=len(tasks), geomean=_gm(r), worst=float(r.max()),
                      spread=float(np.mean(sp)), shift=float(np.mean(sh)), fails=fails, ratio=tr,
                      ratio400={t.name:_gm([truths[t.name].ratio(lr) for lr in per[t.name][400]]) for t in tasks},
                      lrs={t.name:per[t.name] for t in tasks})
    return res

def beats(s, v)->bool:
    "Whether figures `s` beat figures `v` on every one: more tasks within 10%, lower geomean, spread and shift"
    return s['within']>v['within'] and s['geomean']<v['geomean'] and s['spread']<v['spread'] and s['shift']<v['shift']

def meets(s, n_tasks):
    "Whether figures `s` meet the issue's targets for a default"
    return s['within']>=n_tasks-1 and s['geomean']<=1.10 and s['spread']<=0.10 and s['shift']<0.10

# ---------------------------------------------------------------------------------------------------------------
# Speed

def speed(n=10_000, reps=20):
    "Median time (ms) of each registered suggester, and of all together, on an `n`-point curve"
    from lrfind_ext.curve import synth_curve
    from lrfind_ext.suggest import suggesters
    crv = synth_curve(n=n, noise=0.05, stop_div=False)
    res = {}
    for sg in suggesters:
        ts = []
        for _ in range(reps):
            t0 = time.perf_counter(); sg(crv); ts.append(time.perf_counter()-t0)
        res[sg.name] = 1000*float(np.median(ts))
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for sg in suggesters: sg(crv)
        ts.append(time.perf_counter()-t0)
    res['all'] = 1000*float(np.median(ts))
    return res

# ---------------------------------------------------------------------------------------------------------------
# Report

def _order(names, fastai=True):
    "fastai's four, then this package's rules in registration order"
    return [f'fastai.{n}' for n in FASTAI]*fastai + [n for n in names if not n.startswith('fastai.')]

def table(sc, names, default=None, fastai=True)->str:
    n_tasks = next(iter(sc.values()))['n_tasks']
    hdr = ('| suggester | within 10% | geomean ratio | worst ratio | seed spread (dec) | num_it shift (dec) | meets target |\n'
           '|---|---|---|---|---|---|---|')
    rows = []
    for n in _order(names, fastai):
        s = sc[n]
        name = f'**{n}**' if n==default else n
        rows.append(f"| {name} | {s['within']}/{n_tasks} | {s['geomean']:.3f} | {s['worst']:.2f} | {s['spread']:.3f} | "
                    f"{s['shift']:.3f} | {'yes' if meets(s, n_tasks) else 'no'} |")
    return '\n'.join([hdr, *rows])

def per_task_table(sc, names, tasks)->str:
    hdr = '| suggester | ' + ' | '.join(t.name for t in tasks) + ' |\n|---|' + '---|'*len(tasks)
    rows = [f'| {n} | ' + ' | '.join(f"{sc[n]['ratio'][t.name]:.2f}" for t in tasks) + ' |' for n in _order(names)]
    return '\n'.join([hdr, *rows])

def task_table(tasks, truths, grid)->str:
    hdr = ('| task | set | setup | grid (lr) | best lr | best loss | lrs within 10% | loss at grid ends / best | s per run |\n'
           '|---|---|---|---|---|---|---|---|---|')
    rows = []
    for t in tasks:
        T = truths[t.name]
        lo,hi = T.window()
        rows.append(f"| {t.name} | {'held-out' if t.heldout else 'dev'} | {t.summary()} | "
                    f"1e{t.grid[0]} to 1e{t.grid[1]} | {T.best_lr:.1e} | {T.best:.3g} | {lo:.1e} to {hi:.1e} | "
                    f"{T.loss[0]/T.best:.1f}, {T.loss[-1]/T.best:.1f} | {grid[t.name]['secs_per_run']:.1f} |")
    return '\n'.join([hdr, *rows])

def _cost(tasks, grid, curves)->str:
    "The training a run from scratch does, in words"
    n = sum((len(grid[t.name]['lrs'])+1)*len(GRID_SEEDS) for t in tasks)
    g = sum(grid[t.name]['secs_per_run']*(len(grid[t.name]['lrs'])+1)*len(GRID_SEEDS) for t in tasks)
    c = sum(sum(curves[f'{t.name}/{s}/{k}']['secs'].values()) for t in tasks for s in LRF_SEEDS for k in NUM_ITS)
    return (f"{n} `fit_one_cycle` runs ({g/60:.0f} CPU-minutes) and {2*len(tasks)*len(LRF_SEEDS)*len(NUM_ITS)} `lr_find` "
            f"runs ({c/60:.0f} CPU-minutes), one thread each; about {(g+c)/60/2:.0f} minutes with the 2 default workers "
            f"on this machine")

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--heldout', action='store_true',
                    help='also run the held-out tasks (only at the end; once their grid is cached they are included by default)')
    ap.add_argument('--dev-only', action='store_true', help='leave the held-out tasks out')
    ap.add_argument('--recompute-grid', action='store_true', help='train the grids again instead of reading grid.json')
    ap.add_argument('--recompute-curves', action='store_true', help='record the lr_find curves again')
    ap.add_argument('--workers', type=int, default=2, help='worker processes (one thread each)')
    ap.add_argument('--no-write', action='store_true', help='print only; leave the results files alone')
    a = ap.parse_args()

    import torch; torch.set_num_threads(1)
    import warnings; warnings.filterwarnings('ignore')
    from tasks import TASKS,DEV,HELDOUT
    import lrfind_ext, lrfind_ext.rules
    from lrfind_ext.suggest import suggesters
    from lrfind_ext.finder import default_suggest
    t0 = time.time()
    cached = load_json(GRID_FN)
    heldout = not a.dev_only and (a.heldout or all(cached.get(t.name, {}).get('sig')==_sig(t) for t in HELDOUT))
    tasks = TASKS if heldout else DEV
    grid = run_grid(tasks, a.recompute_grid, a.workers)
    curves = run_curves(tasks, a.recompute_curves, a.workers)
    truths = {t.name:Truth(grid[t.name]) for t in tasks}
    from candidates import CANDIDATES
    rows = suggestions(curves, tasks, CANDIDATES)
    names = _order([n for n in rows if n not in CANDIDATES])
    sets = [('dev', DEV)] + ([('held-out', HELDOUT)] if heldout else [])
    scores = {k:score(rows, truths, ts) for k,ts in sets}
    sp = speed()
    rec = getattr(lrfind_ext.rules, 'recommended', None)

    md = [f"# Suggestion quality\n",
          f"Generated by `python bench/quality.py` ({time.strftime('%Y-%m-%d')}{', held-out tasks included' if heldout else ''}); "
          f"raw numbers in `quality.json`. Ratio: validation loss of `fit_one_cycle` at the suggested learning rate "
          f"(read off the grid, interpolated in log10(lr)) over the best on the grid. Per task, the geometric mean over "
          f"{len(LRF_SEEDS)} lr_find seeds at num_it=100. `within 10%`: tasks with ratio <= 1.10; `seed spread`: std "
          f"of log10(lr) over the seeds, mean over tasks; `num_it shift`: |mean log10(lr) at num_it=400 - at 100|, "
          f"mean over tasks. Target for a default: within 10% on all tasks but one, geomean <= 1.10, spread <= 0.10, "
          f"shift < 0.10. `fastai.*` rows come from fastai's own `lr_find` run on the same learners; the other rows "
          f"are this package's registered suggesters on this package's curves."]
    for k,ts in sets:
        md += [f"\n## {k.capitalize()} tasks ({len(ts)})\n", table(scores[k], names, rec)]
        if rec:
            r,v = scores[k][rec],scores[k]['valley']
            md += [f"\n`{rec}` (the recommended rule, in bold) {'beats' if beats(r, v) else 'does not beat'} `valley` on every "
                   f"figure on these tasks, and {'meets' if meets(r, len(ts)) else 'does not meet'} the whole target."]
        md += [f"\n### Ratio per {k} task\n", per_task_table(scores[k], names, ts)]
    md += ["\n## Ideas measured and not shipped\n",
           "Rules built on the same zero-lag smoother (`bench/candidates.py`), measured like the others and dropped"
           + (f": on the dev tasks, {'none' if not any(beats(scores['dev'][c], scores['dev'][rec]) for c in CANDIDATES) else 'one'} "
              f"beats `{rec}` on every figure." if rec else '.') + "\n"]
    for k,ts in sets:
        md += [f"\n{k.capitalize()} tasks:\n", table(scores[k], list(CANDIDATES)+([rec] if rec else []), rec, fastai=False),
               '', '\n'.join(f"- `{n}`: {f.__doc__}" for n,f in CANDIDATES.items()) if k=='dev' else '']
    md += ["\n## Tasks\n", task_table(tasks, truths, grid),
           f"\nGrid seeds {list(GRID_SEEDS)}, lr_find seeds {list(LRF_SEEDS)}. A diverged grid run (NaN) counts as "
           "the untrained model's validation loss; a suggestion outside the grid is read at the grid's end.",
           "\n## Speed\n", f"Median time per call on a 10,000-point curve (`synth_curve(n=10_000, noise=0.05)`), this machine:\n",
           '| suggester | ms |\n|---|---|', *[f'| {n} | {v:.2f} |' for n,v in sp.items()],
           f"\nThis run took {time.time()-t0:.1f}s. Training everything from scratch (`--recompute-grid --recompute-curves`) "
           f"takes {_cost(tasks, grid, curves)}."]
    text = '\n'.join(md)+'\n'
    print(text)
    if not a.no_write:
        (RES/'quality.md').write_text(text)
        save_json(dict(default_suggest=list(default_suggest), recommended=rec, tol=TOL, grid_seeds=list(GRID_SEEDS),
                       lrf_seeds=list(LRF_SEEDS), num_its=list(NUM_ITS), speed_ms=sp,
                       tasks={t.name:dict(heldout=t.heldout, setup=t.summary(), best_lr=truths[t.name].best_lr,
                                          best_loss=truths[t.name].best, grid_lrs=truths[t.name].lrs.tolist(),
                                          grid_loss=truths[t.name].loss.tolist()) for t in tasks},
                       scores=scores), RES/'quality.json')
        print(f"wrote {RES/'quality.md'} and {RES/'quality.json'}")

if __name__=='__main__': main()
