#!/usr/bin/env python
"""Speed of lrfind_ext: `lr_find` against fastai's original on the same learner, and each suggester on a long curve.

Writes the tables to bench/results/speed.md (and prints them). Takes about a minute on 2 CPU cores:
    python bench/speed.py [--repeats 7] [--no-write]
(a) `lr_find` and fastai's `lr_find` run alternately on one learner (each restores it), 100 steps without stopping
    early, no progress bar, no plot; the ratio is taken per pair, and the median reported.
(b) Each built-in suggester on a 10,000-point curve (`synth_curve(n=10000, stop_div=False, noise=0.05)`), called as
    `lr_find` calls it (through the registry: the window, the loss at the point); fastai's own functions on float32
    tensors of the same window, as fastai's `lr_find` feeds them. fastai's `valley` is O(n^2): timed at 1,000 points only."""
import argparse,datetime,os,platform,shutil,statistics,sys,tempfile,time,timeit,warnings
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
from lrfind_ext.examples import digits_learner,sk_mlp_learner

ROOT = Path(__file__).resolve().parent.parent
BUILTINS = ('valley','slide','minimum','steep')

def _workers(learn, n):
    for dl in learn.dls.loaders: dl.fake_l.num_workers = n
    return learn

LEARNERS = {
    'digits MLP (64-128-10), bs 64, in-process loading': lambda: _workers(digits_learner(), 0),
    'digits MLP, bs 64, fastai default loading (2 worker processes)': lambda: digits_learner(),
    'breast-cancer tabular MLP (30-64-2), bs 32, in-process loading': lambda: _workers(sk_mlp_learner('cancer'), 0),
}

def time_lr_find(mk, repeats, num_it=100):
    "Median wall seconds of each lr_find over `repeats` alternating pairs, the median of the per-pair ratios, and the same for CPU time"
    learn = mk()
    learn.path = Path(tempfile.mkdtemp()) # fastai's lr_find saves its temporary model there
    kw = dict(num_it=num_it, stop_div=False, show_plot=False)
    res = {k:([],[]) for k in ('wall','cpu')}
    with learn.no_bar():
        learn.lr_find(**kw); fastai_lr_find(learn, **kw) # warm-up: imports, worker start, caches
        for i in range(repeats):
            for which in ((0,1) if i%2 else (1,0)): # alternate which goes first
                t,c = time.perf_counter(),time.process_time()
                if which: learn.lr_find(**kw)
                else: fastai_lr_find(learn, **kw)
                res['wall'][1-which].append(time.perf_counter()-t)
                res['cpu'][1-which].append(time.process_time()-c)
    assert len(learn.recorder.lrs) == num_it
    shutil.rmtree(learn.path, ignore_errors=True)
    med = statistics.median
    return {k:(med(o),med(t),med([a/b for a,b in zip(o,t)])) for k,(o,t) in res.items()}

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


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--repeats', type=int, default=7, help='alternating pairs of lr_find runs per learner')
    ap.add_argument('--no-write', action='store_true', help="print only, don't write bench/results/speed.md")
    ap.add_argument('--threads', type=int, default=None, help="torch's intra-op threads (default: torch's own choice)")
    a = ap.parse_args()
    if a.threads: torch.set_num_threads(a.threads)
    t0,mach = time.time(),machine()
    out = [f"# Speed of lrfind_ext", "",
           f"Run {datetime.date.today().isoformat()} with `python bench/speed.py --repeats {a.repeats}"
           f"{f' --threads {a.threads}' if a.threads else ''}`, on {mach}.", "",
           "## lr_find against fastai's lr_find, same learner", "",
           f"100 steps each (`stop_div=False`), no progress bar, no plot; {a.repeats} alternating pairs after a warm-up; "
           "medians. Ratio > 1: lrfind_ext slower.", "",
           "CPU time is this process's (all its threads; not the loader's worker processes): steadier than wall time "
           "when other processes share the cores.", "",
           "| learner | lrfind_ext wall (s) | fastai wall (s) | wall ratio | lrfind_ext CPU (s) | fastai CPU (s) | CPU ratio |",
           "|---|---:|---:|---:|---:|---:|---:|"]
    for name,mk in LEARNERS.items():
        r = time_lr_find(mk, a.repeats)
        (ow,tw,rw),(oc,tc,rc) = r['wall'],r['cpu']
        out.append(f"| {name} | {ow:.3f} | {tw:.3f} | {rw:.2f} | {oc:.3f} | {tc:.3f} | {rc:.2f} |")
        print(out[-1], flush=True)
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
            "", f"Total run time {time.time()-t0:.0f} s; load average {os.getloadavg()[0]:.2f} at the end. Other processes "
            "sharing the 2 cores slow torch's 2 intra-op threads badly (an op that wakes the second thread can wait a whole "
            "scheduler slice); `--threads 1` gives steadier figures on a busy machine."]
    text = '\n'.join(out) + '\n'
    print('\n'.join(out[out.index('## Suggesters on a 10,000-point curve'):]))
    if not a.no_write:
        (ROOT/'bench'/'results').mkdir(parents=True, exist_ok=True)
        (ROOT/'bench'/'results'/'speed.md').write_text(text)
        print(f"wrote {ROOT/'bench'/'results'/'speed.md'}")

if __name__=='__main__': main()
