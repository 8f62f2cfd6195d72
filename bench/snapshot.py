#!/usr/bin/env python
"""Cost of lr_find's in-memory snapshot against fastai's file-based save, on the learners of the speed benchmark.

For each learner (built by bench/speed.py's builders, after one epoch of training, so that there are gradients and
optimizer state): `Snapshot(learn)` then `restore()` (what lrfind_ext's lr_find does once per run), against fastai's
lr_find's own way, `learn.save` to a temporary folder under `learn.path/learn.model_dir`, then `learn.load(with_opt=True)`
and the folder removed. Alternating pairs (which goes first alternates), the ratio taken per pair, medians reported.
Memory: the bytes the snapshot holds during the run (its CPU copies of tensors and arrays), against the size of
fastai's file (written to disk, then read back into memory to load). Writes bench/results/snapshot.md:
    python bench/snapshot.py [--repeats 15] [--no-write]"""
import argparse,datetime,os,shutil,statistics,sys,tempfile,time,warnings
from pathlib import Path
warnings.filterwarnings('ignore')
os.environ.setdefault('MPLBACKEND', 'Agg')
import torch
import lrfind_ext
from lrfind_ext.snapshot import Snapshot,_TCopy,_put_array
from speed import LEARNERS,_workers
from machine import machine

ROOT = Path(__file__).resolve().parent.parent
CASES = { # the speed benchmark's learners (the digits MLP once: with or without worker processes, the same model)
    'digits MLP (64-128-10)': lambda: _workers(LEARNERS['digits MLP (64-128-10), bs 64, in-process loading'][0](), 0),
    'breast-cancer tabular MLP (30-64-2)': lambda: LEARNERS['breast-cancer tabular MLP (30-64-2), bs 32, in-process loading'][0](),
    "fastai's tabular_learner (breast cancer)": lambda: next(v for k,v in LEARNERS.items() if 'tabular_learner' in k)[0](),
    "fastai's vision_learner, resnet18 (no pretrained weights), digits 32x32": lambda: next(v for k,v in LEARNERS.items() if 'vision_learner' in k)[0](),
}

def held_bytes(snap)->int:
    "Bytes of the CPU copies (tensors and arrays) a snapshot holds until it is restored"
    fs = snap.walk.vals
    return sum(f.func.__self__.c.nbytes for f in fs if isinstance(getattr(f.func, '__self__', None), _TCopy)) + \
           sum(f.args[1].nbytes for f in fs if f.func is _put_array)

def ours(learn):
    "Seconds to take a snapshot and to restore it; the bytes it held"
    t0 = time.perf_counter(); s = Snapshot(learn); t1 = time.perf_counter()
    b = held_bytes(s)
    t2 = time.perf_counter(); s.restore(); t3 = time.perf_counter()
    return t1-t0,t3-t2,b

def fastai_way(learn):
    "Seconds to save as fastai's lr_find does (a temporary folder under learn.path/model_dir), and to load back and clean up; the file's bytes"
    path = learn.path/learn.model_dir
    path.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    tmp_d = tempfile.TemporaryDirectory(dir=path)
    tmp_p = Path(tmp_d.name).stem
    learn.save(f'{tmp_p}/_tmp')
    t1 = time.perf_counter()
    b = (path/tmp_p/'_tmp.pth').stat().st_size
    t2 = time.perf_counter()
    learn.load(f'{tmp_p}/_tmp', with_opt=True)
    tmp_d.cleanup()
    t3 = time.perf_counter()
    return t1-t0,t3-t2,b

def measure(mk, repeats):
    learn = mk()
    learn.path = Path(tempfile.mkdtemp())
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3) # gradients and optimizer state, as before a real lr_find
    ours(learn); fastai_way(learn) # warm-up
    rows = ([],[])
    for i in range(repeats):
        for which in ((0,1) if i%2 else (1,0)): rows[which].append((ours,fastai_way)[which](learn))
    shutil.rmtree(learn.path, ignore_errors=True)
    med = statistics.median
    o,f = rows
    n_model = sum(t.nbytes for t in learn.model.state_dict().values())
    return dict(take=med(r[0] for r in o)*1e3, put=med(r[1] for r in o)*1e3, save=med(r[0] for r in f)*1e3, load=med(r[1] for r in f)*1e3,
                ratio=med((a[0]+a[1])/(b[0]+b[1]) for a,b in zip(o,f)), held=o[0][2]/2**20, file=f[0][2]/2**20, model=n_model/2**20)

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--repeats', type=int, default=15, help='alternating pairs per learner')
    ap.add_argument('--no-write', action='store_true')
    a = ap.parse_args()
    torch.set_num_threads(1)
    mach,rows = machine(),[]
    for name,mk in CASES.items():
        r = measure(mk, a.repeats)
        rows.append((name,r))
        print(f"{name}: snapshot {r['take']:.2f} + restore {r['put']:.2f} ms; fastai save {r['save']:.2f} + load {r['load']:.2f} ms; "
              f"ratio {r['ratio']:.2f}; held {r['held']:.2f} MB, file {r['file']:.2f} MB, model {r['model']:.2f} MB", flush=True)
    lines = ["# Snapshot cost: lrfind_ext's in-memory snapshot against fastai's file", "",
             f"Run {datetime.date.today().isoformat()} with `python bench/snapshot.py --repeats {a.repeats}`, on {mach}.", "",
             "Once per `lr_find`, lrfind_ext takes a `Snapshot` of everything reachable from the learner (the data excepted) and "
             "restores it after the run; fastai's `lr_find` saves the model and optimizer to a file in a temporary folder under "
             "`learn.path/learn.model_dir` and loads them back. Each learner trained one epoch first (gradients, optimizer "
             f"state). {a.repeats} alternating pairs; medians; the ratio is taken per pair (< 1: the snapshot is cheaper).", "",
             "Memory: *held* is what the snapshot keeps on the CPU during the run (its copies of tensors and arrays: the "
             "weights, their gradients, the optimizer state, and whatever else the learner holds: a batch, callbacks' state); "
             "fastai writes a file of the size shown, then reads it back into memory to load it. The snapshot lets go of its "
             "copies once restored.", "",
             "| learner | snapshot (ms) | restore (ms) | fastai save (ms) | fastai load (ms) | ratio, ours / fastai's | held (MB) | fastai's file (MB) | model's weights and buffers (MB) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {n} | {r['take']:.2f} | {r['put']:.2f} | {r['save']:.2f} | {r['load']:.2f} | {r['ratio']:.2f} | {r['held']:.2f} | "
              f"{r['file']:.2f} | {r['model']:.2f} |" for n,r in rows]
    out = '\n'.join(lines)+'\n'
    print(out)
    if not a.no_write:
        (ROOT/'bench'/'results'/'snapshot.md').write_text(out)
        print('wrote bench/results/snapshot.md')

if __name__=='__main__': main()
