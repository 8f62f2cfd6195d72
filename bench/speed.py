#!/usr/bin/env python
"""Speed of lrfind_ext: `lr_find` against fastai's original on the same learner, and its rules on short and long curves.

Writes the tables to bench/results/speed.md (and prints them). Takes about four minutes on 2 CPU cores at the default 7 pairs, ten at 15 (the vision learner most of it):
    python bench/speed.py [--repeats 7] [--threads 1] [--no-write]
(a) `lr_find` and fastai's `lr_find` run alternately on one learner (each restores it), 100 steps without stopping
    early, no progress bar, no plot; the ratio is taken per pair, and the median reported. Five learners: plain PyTorch
    MLPs (in-process and with fastai's default two worker processes), fastai's `tabular_learner` and `vision_learner`.
    lrfind_ext's run includes its intervals, timed alone too.
    Each run is also timed in parts (`Clock`): the model's and optimizer's work and loading, the same under both
    finders, against the rest of the batches and of the run, where they differ.
(b) Each built-in suggester on a 10,000-point curve (`synth_curve(n=10000, stop_div=False, noise=0.05)`), called as
    `lr_find` calls it (through the registry: the window, the loss at the point); fastai's own functions on float32
    tensors of the same window, as fastai's `lr_find` feeds them. fastai's `valley` is O(n^2): timed at 1,000 points only.
(c) What `lr_find` runs once a run is over, on a 100-step and a 10,000-point curve (`rules_ms`): every rule of the
    registry, then all of them with their intervals (`lrfind_ext.spread.with_intervals`); `--rules` times only this."""
import argparse,datetime,os,platform,shutil,statistics,sys,tempfile,time,timeit,warnings
from dataclasses import replace
from pathlib import Path
warnings.filterwarnings('ignore')
os.environ.setdefault('MPLBACKEND', 'Agg')
import numpy as np,torch
import fastai,fastai.callback.schedule as fs
import lrfind_ext
from machine import machine
from lrfind_ext.curve import synth_curve
from lrfind_ext.suggest import suggesters,suggest_lrs
from lrfind_ext.finder import fastai_lr_find
from lrfind_ext.examples import digits_learner,sk_mlp_learner,cancer_tabular_learner,digits_vision_learner
from lrfind_ext.spread import with_intervals

ROOT = Path(__file__).resolve().parent.parent
BUILTINS = ('valley','slide','minimum','steep')

def _workers(learn, n):
    for dl in learn.dls.loaders: dl.fake_l.num_workers = n
    return learn

LEARNERS = { # name: (make it, pairs of runs as a share of --repeats)
    'digits MLP (64-128-10), bs 64, in-process loading': (lambda: _workers(digits_learner(), 0), 1),
    'digits MLP, bs 64, fastai default loading (2 worker processes)': (lambda: digits_learner(), 1),
    'breast-cancer tabular MLP (30-64-2), bs 32, in-process loading': (lambda: _workers(sk_mlp_learner('cancer'), 0), 1),
    "fastai's tabular_learner on breast cancer (29 continuous, 1 categorical; 64-32), bs 64": (cancer_tabular_learner, 1),
    "fastai's vision_learner, resnet18 (no pretrained weights) on digits at 32x32 RGB, bs 64": (digits_vision_learner, 0.5),
}

class Clock:
    "Seconds a learner spends in each part of its training loop: loading batches, the model's own work (forward, backward, optimizer step), and the rest of each batch"
    def __init__(self, learn):
        self.learn = learn
        self.zero()
        for name in ('all_batches','one_batch','_backward','_step'): setattr(learn, name, self._timed(name, getattr(learn, name)))
        learn.model.register_forward_pre_hook(lambda m,i: setattr(self, 't_fwd', time.perf_counter()))
        learn.model.register_forward_hook(lambda m,i,o: self._add('forward', time.perf_counter()-self.t_fwd))
    def zero(self): self.t = dict.fromkeys(('all_batches','one_batch','_backward','_step','forward'), 0.)
    def _add(self, k, dt): self.t[k] += dt
    def _timed(self, k, f):
        def _inner(*args):
            t = time.perf_counter()
            try: return f(*args)
            finally: self._add(k, time.perf_counter()-t)
        return _inner
    def parts(self, wall):
        "Seconds in: the model's work and loading batches (the same work under either finder); the rest of the batches; the rest of the run"
        t = self.t
        model = t['forward']+t['_backward']+t['_step']
        return dict(common=model+t['all_batches']-t['one_batch'], batch_rest=t['one_batch']-model, run_rest=wall-t['all_batches'])

def time_lr_find(mk, repeats, num_it=100):
    "Median wall and CPU seconds of each lr_find over `repeats` alternating pairs, the median per-pair ratios, the parts of each run, and the intervals' share"
    learn = mk()
    learn.path = Path(tempfile.mkdtemp()) # fastai's lr_find saves its temporary model there
    kw = dict(num_it=num_it, stop_div=False, show_plot=False)
    res = {k:([],[]) for k in ('wall','cpu')}
    parts = ([],[])
    with learn.no_bar():
        learn.lr_find(**kw); fastai_lr_find(learn, **kw) # warm-up: imports, worker start, caches
        clk = Clock(learn)
        for i in range(repeats):
            for which in ((0,1) if i%2 else (1,0)): # alternate which goes first
                clk.zero()
                t,c = time.perf_counter(),time.process_time()
                if which: r = learn.lr_find(**kw) # with its intervals, as lr_find runs by default
                else: fastai_lr_find(learn, **kw)
                res['wall'][1-which].append(wall := time.perf_counter()-t)
                res['cpu'][1-which].append(time.process_time()-c)
                parts[1-which].append(clk.parts(wall))
    assert len(learn.recorder.lrs) == num_it and all(s.interval for s in r.suggestions.values())
    crv,suggs = r.curve,[replace(s, interval=None) for s in r.suggestions.values()]
    sgs = suggesters.resolve(r._fields)
    iv = ms(lambda: with_intervals(crv, suggs, sgs), repeat=3)
    # What each does once per run, outside the steps: lrfind_ext's snapshot and restore, its rules and their intervals;
    # fastai's save of the model and optimizer to a file and load back, and its valley on the same window
    from lrfind_ext.snapshot import Snapshot
    if learn.opt is None: learn.create_opt()
    ours = ms(lambda: Snapshot(learn).restore(), repeat=3) + ms(lambda: [sg(crv) for sg in sgs], repeat=3) + iv
    w = crv.window
    lt,st = torch.tensor(crv.lrs[w], dtype=torch.float32),torch.tensor(crv.smooth[w], dtype=torch.float32)
    theirs = ms(lambda: (learn.save('_bench_tmp'), learn.load('_bench_tmp', with_opt=True)), repeat=3) + ms(lambda: fs.valley(lt, st, num_it), repeat=3)
    shutil.rmtree(learn.path, ignore_errors=True)
    med = statistics.median
    # The two finders' training steps are the same work: what differs is the rest. The common part's median over all runs,
    # plus each finder's median rest, gives the ratio without the steps' run-to-run noise
    common = med([p['common'] for ps in parts for p in ps])
    rest = [{k:med([p[k] for p in ps]) for k in ('batch_rest','run_rest')} for ps in parts]
    adj = (common+sum(rest[0].values()))/(common+sum(rest[1].values()))
    return {k:(med(o),med(t),med([a/b for a,b in zip(o,t)])) for k,(o,t) in res.items()},iv,ours,theirs,dict(common=common,rest=rest,ratio=adj)

def time_snapshot(mk, repeats=20):
    "Median milliseconds to take a `Snapshot` and to restore it"
    from lrfind_ext.finder import Snapshot
    learn = mk()
    learn.create_opt()
    take,rest = [],[]
    for _ in range(repeats):
        t = time.perf_counter(); s = Snapshot(learn); take.append(time.perf_counter()-t)
        t = time.perf_counter(); s.restore(); rest.append(time.perf_counter()-t)
    n = sum(p.numel() for p in learn.model.parameters())
    return statistics.median(take)*1e3,statistics.median(rest)*1e3,n

def ms(f, number=None, repeat=7):
    "Milliseconds of one call of `f`, best of `repeat` timings (the least disturbed by other processes)"
    if number is None:
        t = timeit.timeit(f, number=1)
        number = max(1, int(0.2/max(t, 1e-6)))
    return min(timeit.repeat(f, number=number, repeat=repeat))/number*1e3

def time_suggesters(n=10_000, noise=0.05):
    crv = synth_curve(n=n, stop_div=False, noise=noise)
    w = crv.window
    lrs,losses = torch.tensor(crv.lrs[w], dtype=torch.float32),torch.tensor(crv.smooth[w], dtype=torch.float32)
    rows = []
    for name in BUILTINS:
        sg = suggesters[name]
        ours = ms(lambda: sg(crv))
        if name=='valley':
            small = synth_curve(n=1000, stop_div=False, noise=noise)
            sw = small.window
            sl,sy = torch.tensor(small.lrs[sw], dtype=torch.float32),torch.tensor(small.smooth[sw], dtype=torch.float32)
            theirs,note = ms(lambda: fs.valley(sl, sy, 1000), number=1, repeat=3),'fastai at 1,000 points (O(n^2))'
            ours_small = ms(lambda: sg(small))
            note += f'; ours at 1,000: {ours_small:.2f} ms'
        else:
            f = getattr(fs, name)
            theirs,note = ms(lambda: f(lrs, losses, n)),''
        rows.append((name, ours, theirs, note))
    allb = ms(lambda: suggest_lrs(crv, BUILTINS))
    names = suggesters.names()
    alll = ms(lambda: suggest_lrs(crv, 'all'))
    return rows,allb,alll,names,len(range(n)[w])


def rules_ms(n:int, reps=20, rounds=5)->dict:
    """Milliseconds per call on `synth_curve(n=n, noise=0.05, stop_div=False)`: each rule of the registry as `lr_find`
    calls it, all of them, and all of them with their intervals; the median of `reps` calls, best of `rounds` rounds
    (the round least disturbed by other processes)"""
    crv = synth_curve(n=n, noise=0.05, stop_div=False)
    sgs = suggesters.resolve(suggesters.names())
    calls = {sg.name:(lambda sg=sg: sg(crv)) for sg in sgs}
    calls["all"] = lambda: suggest_lrs(crv, sgs)
    calls["all with their intervals"] = lambda: with_intervals(crv, suggest_lrs(crv, sgs), sgs)
    def med(f):
        ts = []
        for _ in range(rounds):
            t = []
            for _ in range(reps): t0 = time.perf_counter(); f(); t.append(time.perf_counter()-t0)
            ts.append(statistics.median(t))
        return 1e3*min(ts)
    return {k:med(f) for k,f in calls.items()}

RULES_BUDGET_MS = 25 # issue 21: all built-in rules with their intervals, at 100 steps and at 10,000 points

def rules_section()->list:
    "The markdown of (c)"
    r = {n:rules_ms(n) for n in (100, 10_000)}
    iv = 'all with their intervals'
    over = [f"{n:,}" for n in r if r[n][iv] >= RULES_BUDGET_MS]
    return ["## The rules once a run is over", "",
            "`synth_curve(n, noise=0.05, stop_div=False)` at 100 and 10,000 points: each rule of the registry as `lr_find` "
            "calls it (window, rule, loss at the point), all of them (`suggest_lrs`), and all of them with their intervals "
            "(`with_intervals`: the rules again on resampled runs). Milliseconds per call: the median of 20 calls, best "
            "of 5 rounds.", "", "| rules | 100 points (ms) | 10,000 points (ms) |", "|---|---:|---:|",
            *[f"| {k} | {r[100][k]:.2f} | {r[10_000][k]:.2f} |" for k in r[100]], "",
            f"Budget (issue 21): all built-in rules with their intervals under {RULES_BUDGET_MS} ms at 100 and at 10,000 "
            f"points: {r[100][iv]:.1f} and {r[10_000][iv]:.1f} ms, " + (f"OVER at {', '.join(over)}." if over else "within budget.")]

def _profiled():
    "What to read in each profile: (label, the functions whose cumulative time it is)"
    from fastai.learner import Recorder
    from lrfind_ext.finder import LRFindCallback
    from lrfind_ext.snapshot import Snapshot
    from lrfind_ext.suggest import Suggester
    LF = fs.LRFinder
    return {'lrfind_ext': [('its callback: before_batch, after_loss, after_step', [LRFindCallback.before_batch, LRFindCallback.after_loss, LRFindCallback.after_step]),
                           ("fastai's Recorder.after_batch (smoothing, lrs)", [Recorder.after_batch]),
                           ('snapshot and restore', [Snapshot.__init__, Snapshot.restore]),
                           ('the rules', [Suggester.__call__]),
                           ('the intervals', [with_intervals])],
            'fastai': [('its callback (LRFinder): before_batch, after_batch', [LF.before_batch, LF.after_batch]),
                       ("fastai's Recorder.after_batch (smoothing, lrs)", [Recorder.after_batch]),
                       ('save to a file, load back (LRFinder.before_fit, after_fit)', [LF.before_fit, LF.after_fit]),
                       ('valley', [fs.valley])]}

def profile_both(mk, runs=6, num_it=100):
    "cProfile of both lr_finds on one learner, alternating: milliseconds per run of the parts where they differ, and in all"
    import cProfile,pstats
    learn = mk()
    learn.path = Path(tempfile.mkdtemp())
    kw = dict(num_it=num_it, stop_div=False, show_plot=False)
    fns = {'lrfind_ext': lambda: learn.lr_find(**kw), 'fastai': lambda: fastai_lr_find(learn, **kw)}
    prs = {k:cProfile.Profile() for k in fns}
    with learn.no_bar():
        for f in fns.values(): f()
        for i in range(runs):
            for k in (list(fns) if i%2 else list(fns)[::-1]):
                prs[k].enable(); fns[k](); prs[k].disable()
    shutil.rmtree(learn.path, ignore_errors=True)
    key = lambda f: (f.__code__.co_filename, f.__code__.co_firstlineno)
    rows = []
    for k,pr in prs.items():
        st = {(f,l):v for (f,l,n),v in pstats.Stats(pr).stats.items()}
        entry = fastai_lr_find if k=='fastai' else lrfind_ext.finder.ext_lr_find
        rows.append((k, 'the whole lr_find', st[key(entry)][3]/runs*1e3))
        for label,fs_ in _profiled()[k]: rows.append((k, label, sum(st.get(key(f), (0,0,0,0))[3] for f in fs_)/runs*1e3))
    return rows

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--repeats', type=int, default=7, help='alternating pairs of lr_find runs per learner')
    ap.add_argument('--no-write', action='store_true', help="print only, don't write bench/results/speed.md")
    ap.add_argument('--threads', type=int, default=None, help="torch's intra-op threads (default: torch's own choice)")
    ap.add_argument('--only', default='', help="time only the learners whose name contains this (the tables are then partial: don't write)")
    ap.add_argument('--profile', action='store_true', help="print a cProfile of both lr_finds on the digits MLP (in-process) and stop")
    ap.add_argument('--rules', action='store_true', help="time only the rules once a run is over (c); print, don't write")
    a = ap.parse_args()
    if a.threads: torch.set_num_threads(a.threads)
    if a.rules: print('\n'.join(rules_section())); return
    if a.profile:
        name = next(iter(LEARNERS))
        print(f"cProfile, {name}, 100 steps, 6 runs of each alternating; ms per run (the profiler slows everything ~3x)\n")
        print("| lr_find | part | ms per run |\n|---|---|---:|")
        for k,label,t in profile_both(LEARNERS[name][0]): print(f"| {k} | {label} | {t:.0f} |")
        return
    t0,mach = time.time(),machine()
    out = [f"# Speed of lrfind_ext", "",
           f"Run {datetime.date.today().isoformat()} with `python bench/speed.py --repeats {a.repeats}"
           f"{f' --threads {a.threads}' if a.threads else ''}`, on {mach}.", "",
           "## lr_find against fastai's lr_find, same learner", "",
           f"100 steps each (`stop_div=False`), no progress bar, no plot; {a.repeats} alternating pairs after a warm-up; "
           "medians. Ratio > 1: lrfind_ext slower.", "",
           "CPU time is this process's (all its threads; not the loader's worker processes): steadier than wall time "
           "when other processes share the cores.", "",
           "lrfind_ext's lr_find runs as users get it: its default rules (basin, valley) and their intervals (`with_intervals`, "
           "timed alone in the last column); fastai's with its default rule (valley).", "",
           "Once per run, outside its steps, lrfind_ext takes and restores its snapshot and runs its rules and their intervals; "
           "fastai saves the model and optimizer to a file, loads them back and runs valley (O(n^2)). Both are timed "
           "alone in the last two columns (best of 3, ms): on a learner whose steps are slow (the resnet18) the ratio is "
           "1 within the noise of a shared machine, and these fixed costs are where the two differ.", "",
           "| learner | lrfind_ext wall (s) | fastai wall (s) | wall ratio | lrfind_ext CPU (s) | fastai CPU (s) | CPU ratio | pairs | intervals (ms) | once per run: lrfind_ext (ms) | once per run: fastai (ms) |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    split = []
    for name,(mk,share) in LEARNERS.items():
        if a.only not in name: continue
        n = max(3, round(a.repeats*share))
        r,iv,ours,theirs,pt = time_lr_find(mk, n)
        (ow,tw,rw),(oc,tc,rc) = r['wall'],r['cpu']
        out.append(f"| {name} | {ow:.3f} | {tw:.3f} | {rw:.2f} | {oc:.3f} | {tc:.3f} | {rc:.2f} | {n} | {iv:.1f} | {ours:.0f} | {theirs:.0f} |")
        print(out[-1], flush=True)
        (ob,orr),(tb,tr) = [(d['batch_rest']*1e3,d['run_rest']*1e3) for d in pt['rest']]
        split.append(f"| {name} | {pt['common']:.3f} | {ob:.0f} | {tb:.0f} | {orr:.0f} | {tr:.0f} | {pt['ratio']:.3f} |")
        print(split[-1], flush=True)
    out += ["", "## Where each run's time goes", "",
            "Both finders' runs are timed in parts by wrapping the learner's own loop (`all_batches`, `one_batch`, "
            "`_backward`, `_step`, and hooks on the model's forward pass). Medians over the same runs as above:", "",
            "- *the same work*: the model's forward and backward passes, the optimizer's steps and loading the batches. "
            "The two finders train the same steps on the same learner, so this part differs only by the machine's noise "
            "(its median over all runs of both);",
            "- *the rest of the batches*: everything else inside each batch (callbacks, the finder's own and the Recorder, "
            "the loss function, moving the batch, zeroing the gradients);",
            "- *the rest of the run*: outside the batches (the snapshot or fastai's file, starting the fit and each epoch, "
            "the rules and intervals).", "",
            "The last column is (the same work + lrfind_ext's rest) / (the same work + fastai's rest): the wall ratio "
            "without the run-to-run noise of the part that is the same in both.", "",
            "| learner | the same work (s) | rest of the batches: lrfind_ext (ms) | fastai (ms) | rest of the run: lrfind_ext (ms) | fastai (ms) | ratio without the steps' noise |",
            "|---|---:|---:|---:|---:|---:|---:|", *split]
    take,rest,n = time_snapshot(lambda: digits_learner(arch='bn'))
    out += ["", f"The in-memory snapshot behind the exact restore, on the digits BatchNorm MLP ({n:,} parameters, Adam state): "
            f"{take:.2f} ms to take, {rest:.2f} ms to restore (fastai instead saves and loads a file)."]
    rows,allb,alll,names,nw = time_suggesters()
    out += ["", "## Suggesters on a 10,000-point curve", "",
            f"`synth_curve(n=10000, stop_div=False, noise=0.05)`: the rules read its window of {nw:,} points. lrfind_ext's "
            "rule is timed as `lr_find` calls it (through the registry: window, rule, loss at the point); fastai's on "
            "float32 tensors of the same window, as its `lr_find` feeds them. Best of 7 timings.", "",
            "| suggester | lrfind_ext (ms) | fastai (ms) | note |", "|---|---:|---:|---|"]
    for name,o,t,note in rows: out.append(f"| {name} | {o:.2f} | {t:.2f} | {note} |")
    out.append(f"| the four built-ins together | {allb:.2f} | | `suggest_lrs(crv, {BUILTINS})` |")
    if len(names) > len(BUILTINS):
        out.append(f"| 'all' ({len(names)} registered) | {alll:.2f} | | {', '.join(names)} |")
    budget = 'within' if allb < 20 else 'OVER'
    out += ["", f"Budget (issue 5): all built-in suggesters together under 20 ms at 10,000 points: {allb:.1f} ms, {budget} budget.",
            "", *rules_section(), "", f"Total run time {time.time()-t0:.0f} s; load average {os.getloadavg()[0]:.2f} at the end. Other processes "
            "sharing the 2 cores slow torch's 2 intra-op threads badly (an op that wakes the second thread can wait a whole "
            "scheduler slice); `--threads 1` gives steadier figures on a busy machine."]
    text = '\n'.join(out) + '\n'
    print('\n'.join(out[out.index('## Suggesters on a 10,000-point curve'):]))
    if not a.no_write and not a.only:
        (ROOT/'bench'/'results').mkdir(parents=True, exist_ok=True)
        (ROOT/'bench'/'results'/'speed.md').write_text(text)
        print(f"wrote {ROOT/'bench'/'results'/'speed.md'}")

if __name__=='__main__': main()
