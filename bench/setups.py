#!/usr/bin/env python
"""What each training setup costs lr_find in time, against the plain run of the same model, compared in one run.

Prints a table and writes it to bench/results/setups.md. About two minutes on 2 CPU cores:
    python bench/setups.py [--repeats 5] [--no-write]
Every setup runs `lr_find(num_it=100, stop_div=False)` (no early stop: every run takes its 100 points) on scikit-learn's
digits MLP (64-128-10), batches loaded in the process, no progress bar, no plot, 1 torch thread. One learner per setup,
a warm-up run each, then `--repeats` rounds in which every setup runs once (the order rotating), so that slow spells
of a shared machine hit all of them alike; the median per setup, and its ratio to the plain run's median.
Two processes (DDP): `torchrun --standalone --nproc_per_node 2` on this same file, fastai's `distrib_ctx(cpu=True,
sync_bn=False)` with gloo; process 0's median."""
import argparse,datetime,json,os,platform,statistics,subprocess,sys,tempfile,time,warnings
from pathlib import Path
warnings.filterwarnings('ignore')
os.environ.setdefault('MPLBACKEND', 'Agg')
import torch
import fastai
from fastai.callback.training import GradientAccumulation
import lrfind_ext
from machine import machine
from lrfind_ext.setups import CPUMixedPrecision,allow_cpu_distrib
from lrfind_ext.examples import digits_learner

ROOT = Path(__file__).resolve().parent.parent
KW = dict(num_it=100, stop_div=False, show_plot=False)

def _learner(**kw):
    learn = digits_learner(**kw)
    for dl in learn.dls.loaders: dl.fake_l.num_workers = 0
    return learn

def _split2(m): return [list(m[0].parameters()), list(m[2].parameters())]

def _frozen():
    learn = _learner(splitter=_split2)
    learn.freeze()
    return learn

# name: (make the learner, lr_find's extra arguments, what it is)
SETUPS = {
    'plain': (lambda: _learner(), {}, 'float32, one parameter group, training loss, batches of 64'),
    'to_fp16() (fastai, no CUDA)': (lambda: _learner().to_fp16(), {},
        "fastai's MixedPrecision on a machine without CUDA: its autocast and scaler switch off"),
    'float16 autocast + GradScaler (CPU)': (lambda: _learner(cbs=CPUMixedPrecision()), {},
        '`CPUMixedPrecision()`: float16 autocast and a GradScaler on the CPU'),
    'bfloat16 autocast (CPU)': (lambda: _learner(cbs=CPUMixedPrecision(amp_mode='bf16')), {},
        "`CPUMixedPrecision(amp_mode='bf16')`"),
    'GradientAccumulation, 4 x 16': (lambda: _learner(bs=16, cbs=GradientAccumulation(64)), {},
        'batches of 16, a step every 64 items: 400 batches for the 100 steps'),
    'two parameter groups, frozen': (_frozen, {}, '`freeze()`: the first group frozen'),
    'two groups, discriminative slices': (lambda: _learner(splitter=_split2),
        dict(start_lr=slice(1e-8, 1e-7), end_lr=slice(1, 10)), 'unfrozen, `start_lr=slice(1e-8,1e-7), end_lr=slice(1,10)`'),
    'valid=1': (lambda: _learner(), dict(valid=1), 'each step scored on 1 validation batch (64 items)'),
    'valid=2': (lambda: _learner(), dict(valid=2), '2 batches (128 items)'),
    'valid=6 (all 360 items)': (lambda: _learner(), dict(valid=6), 'the whole validation set'),
}

def time_setups(repeats):
    "Median seconds of each setup's lr_find, the setups interleaved"
    made = {k:(mk(),kw) for k,(mk,kw,_) in SETUPS.items()}
    for learn,kw in made.values():
        with learn.no_bar(): learn.lr_find(**KW, **kw) # warm-up
    times = {k:[] for k in made}
    names = list(made)
    for i in range(repeats):
        for k in names[i%len(names):] + names[:i%len(names)]:
            learn,kw = made[k]
            with learn.no_bar():
                t = time.perf_counter()
                res = learn.lr_find(**KW, **kw)
                times[k].append(time.perf_counter()-t)
            assert len(res.curve) == 100, (k, len(res.curve))
    return {k:statistics.median(v) for k,v in times.items()}

def ddp_worker(out, repeats):
    "In each process of a torchrun: lr_find under fastai's distrib_ctx, timed; process 0 writes the times"
    torch.set_num_threads(1)
    allow_cpu_distrib()
    learn = _learner()
    ts = []
    with learn.distrib_ctx(cpu=True, sync_bn=False), learn.no_bar():
        learn.lr_find(**KW)
        for _ in range(repeats):
            t = time.perf_counter()
            res = learn.lr_find(**KW)
            ts.append(time.perf_counter()-t)
    assert len(res.curve) == 100
    import gc,torch.distributed as dist
    t = torch.zeros(3, dtype=torch.float64)
    dist.barrier()
    t0 = time.perf_counter()
    for _ in range(100): dist.all_reduce(t) # lr_find's own collective: one per step
    own = time.perf_counter()-t0
    if int(os.environ.get('RANK', 0))==0: Path(out).write_text(json.dumps(dict(times=ts, own=own)))
    gc.collect(); dist.destroy_process_group()

def time_ddp(repeats):
    "Median seconds of process 0's lr_find in a 2-process run, or None if Accelerate is missing"
    try: import accelerate
    except ImportError: return None
    with tempfile.TemporaryDirectory() as d:
        out = Path(d)/'ddp.json'
        r = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2',
                            __file__, '--ddp-worker', str(out), '--repeats', str(repeats)], capture_output=True, text=True)
        if r.returncode: raise RuntimeError(r.stderr[-3000:])
        res = json.loads(out.read_text())
        return statistics.median(res['times']),res['own']


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--repeats', type=int, default=5, help='rounds of every setup')
    ap.add_argument('--no-write', action='store_true', help="print only, don't write bench/results/setups.md")
    ap.add_argument('--ddp-worker', metavar='OUT', help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.ddp_worker: return ddp_worker(a.ddp_worker, a.repeats)
    torch.set_num_threads(1)
    t0,mach = time.time(),machine()
    med = time_setups(a.repeats)
    ddp = time_ddp(a.repeats)
    base = med['plain']
    out = ["# What each training setup costs lr_find", "",
           f"Run {datetime.date.today().isoformat()} with `python bench/setups.py --repeats {a.repeats}`, on {mach}.", "",
           "`lr_find(num_it=100, stop_div=False)`: 100 points each, on scikit-learn's digits MLP (64-128-10), batches "
           f"loaded in the process, no progress bar, no plot. Setups interleaved, {a.repeats} rounds after a warm-up; "
           "medians. Ratio: against the plain run in the same benchmark run.", "",
           "| setup | what | seconds | ratio to plain |", "|---|---|---:|---:|"]
    for k,(_,_,what) in SETUPS.items(): out.append(f"| {k} | {what} | {med[k]:.3f} | {med[k]/base:.2f} |")
    if ddp is not None:
        out.append(f"| two processes (DDP, gloo) | `distrib_ctx(cpu=True, sync_bn=False)`, `torchrun --nproc_per_node 2`: "
                   f"each process 100 batches of 64 (its half of the data); process 0 | {ddp[0]:.3f} | {ddp[0]/base:.2f} |")
    out += ["", "What is lr_find's own and what is the setup's: gradient accumulation runs four batches per point, as `fit` "
            "would; the validation rows add `valid` forward passes per step, all lr_find's; mixed precision and parameter "
            "groups cost lr_find nothing of its own (the bookkeeping of skipped steps is a flag)."]
    if ddp is not None:
        out += ["", f"In the two-process run, lr_find's own collective (one `all_reduce` of three numbers per step) took "
                f"{ddp[1]*1e3:.1f} ms for 100 steps, {100*ddp[1]/ddp[0]:.1f}% of the run; the rest is DDP's gradient "
                "all-reduce, fastai's gathering of every batch's loss for its `Recorder`, and two processes sharing two "
                "cores. It says nothing of DDP's speed-up on GPUs."]
    out += ["", "A CPU computes float16 and bfloat16 no faster than float32, so the mixed-precision rows say what autocast "
            "and the scaler cost on a CPU, not what they save on a GPU.", "", f"Total run time {time.time()-t0:.0f} s; "
            f"load average {os.getloadavg()[0]:.2f} at the end."]
    text = '\n'.join(out) + '\n'
    print(text)
    if not a.no_write:
        (ROOT/'bench'/'results').mkdir(parents=True, exist_ok=True)
        (ROOT/'bench'/'results'/'setups.md').write_text(text)
        print(f"wrote {ROOT/'bench'/'results'/'setups.md'}")

if __name__=='__main__': main()
