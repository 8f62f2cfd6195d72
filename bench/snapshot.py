#!/usr/bin/env python
"""Cost of lr_find's snapshot: the whole `Snapshot` (taken before the run) and its `restore`, and the part of both spent
restoring callback state deeply (`_Deep`: plain containers, tensors, arrays, RNGs and modules reachable from callbacks'
and the learner's attributes), on the learners and callback states below. Writes bench/results/snapshot.md:
    python bench/snapshot.py [--repeats 5] [--no-write]
Each figure is the median of `repeats` timings; the lr_find wall time of the same learner (100 steps, no stop) is
given for scale."""
import argparse,datetime,os,statistics,sys,time,warnings
from pathlib import Path
warnings.filterwarnings('ignore')
os.environ.setdefault('MPLBACKEND', 'Agg')
import torch
from torch import nn
from fastai.callback.core import Callback
from fastai.callback.hook import ActivationStats
import lrfind_ext
from lrfind_ext.snapshot import Snapshot,_Deep,_TCopy
from lrfind_ext.examples import digits_learner
from machine import machine

ROOT = Path(__file__).resolve().parent.parent
torch.set_num_threads(1)

class EMA(Callback):
    "An exponential moving average of a model's weights, in a module of the callback's own"
    def __init__(self, m): self.ema = m
    def after_step(self):
        with torch.no_grad():
            for p in self.ema.parameters(): p.mul_(0.999)

class ManySmall(Callback):
    "Callback state made of many small objects: a list of 100,000 floats and a dict of 10,000 one-element tensors"
    def __init__(self): self.xs,self.ts = [float(i) for i in range(100_000)],{i:torch.zeros(1) for i in range(10_000)}

def _wide():
    "A 4-layer MLP of 8.5 M parameters (34 MB)"
    return nn.Sequential(nn.Linear(64, 2048), nn.ReLU(), nn.Linear(2048, 2048), nn.ReLU(), nn.Linear(2048, 2048), nn.ReLU(),
                         nn.Linear(2048, 10))

def _act_stats():
    learn = digits_learner(cbs=ActivationStats(every=1))
    with learn.no_bar(), learn.no_logging(): learn.fit(1) # its stats, from one epoch, are what the snapshot walks
    return learn

CASES = {
    'digits MLP, fastai default callbacks': lambda: digits_learner(),
    'digits MLP + ActivationStats after one epoch (its stats)': _act_stats,
    'digits MLP + a callback holding an EMA copy of an 8.5 M-parameter model': lambda: digits_learner(cbs=EMA(_wide())),
    'digits MLP + 100,000 floats and 10,000 small tensors in a callback': lambda: digits_learner(cbs=ManySmall()),
    '8.5 M-parameter MLP on digits, default callbacks (no callback state to walk: the model dominates)': lambda: _with(digits_learner(), _wide()),
}

def _with(learn, m):
    learn.model = m
    return learn

def _med(f, n):
    ts = []
    for _ in range(n):
        t = time.perf_counter(); f(); ts.append(time.perf_counter()-t)
    return statistics.median(ts)

def measure(learn, repeats):
    "Milliseconds: snapshot, its deep part, restore, its deep part; MB of tensors the deep part copied; lr_find seconds"
    with learn.no_bar(): learn.lr_find(num_it=5, show_plot=False) # warm-up (and an optimizer state to snapshot)
    snap = Snapshot(learn)
    roots,skip = snap._deep_roots()
    deep = _Deep(roots, skip)
    cs = [c.c for f in deep.undo if isinstance(c := getattr(getattr(f, 'func', None), '__self__', None), _TCopy)]
    mb = sum(c.numel()*c.element_size() for c in cs)/2**20
    res = dict(snap=_med(lambda: Snapshot(learn), repeats)*1e3, deep=_med(lambda: _Deep(roots, skip), repeats)*1e3,
               restore=_med(snap.restore, repeats)*1e3, deep_restore=_med(deep.restore, repeats)*1e3,
               objs=len(deep.undo), mb=mb)
    with learn.no_bar():
        t = time.perf_counter(); learn.lr_find(num_it=100, stop_div=False, show_plot=False); res['lr_find'] = time.perf_counter()-t
    return res

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--repeats', type=int, default=5)
    ap.add_argument('--no-write', action='store_true')
    args = ap.parse_args()
    rows = []
    for name,mk in CASES.items():
        learn = mk()
        r = measure(learn, args.repeats)
        rows.append((name, r))
        print(f"{name}: snapshot {r['snap']:.2f} ms (deep {r['deep']:.2f}), restore {r['restore']:.2f} ms "
              f"(deep {r['deep_restore']:.2f}); {r['objs']} items, {r['mb']:.1f} MB of tensors; lr_find {r['lr_find']:.2f} s", flush=True)
    lines = [f"# Snapshot cost\n\n{machine()}; {datetime.date.today()}; median of {args.repeats}.\n",
             "What `Snapshot` costs before and after each `lr_find`, and the share of it spent on restoring callback state "
             "deeply (`_Deep`). Items: containers, tensors, arrays, RNGs and module states the deep part saves.\n",
             "| learner and callback state | snapshot (ms) | of which deep | restore (ms) | of which deep | deep items | deep tensors (MB) | lr_find, 100 steps (s) |",
             "|---|---|---|---|---|---|---|---|"]
    lines += [f"| {n} | {r['snap']:.2f} | {r['deep']:.2f} | {r['restore']:.2f} | {r['deep_restore']:.2f} | {r['objs']} | "
              f"{r['mb']:.1f} | {r['lr_find']:.2f} |" for n,r in rows]
    out = '\n'.join(lines)+'\n'
    if not args.no_write:
        (ROOT/'bench'/'results'/'snapshot.md').write_text(out)
        print('wrote bench/results/snapshot.md')

if __name__=='__main__': main()
