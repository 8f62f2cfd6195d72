#!/usr/bin/env python
"""lr_find on a CUDA GPU: what the CPU machines can't check. Prints each figure and writes bench/results/gpu.md.
    python bench/gpu_check.py [--quick] [--no-write]      # on a machine with CUDA; under 5 minutes
    python bench/gpu_check.py --cpu-dry-run               # the same code paths on the CPU, tiny: no GPU figure, writes nothing
Without CUDA (and without --cpu-dry-run) it says so and exits with status 2.

1. Memory: peak GPU memory while the `Snapshot` is taken and restored, and during a whole lr_find, against the model's
   size (the snapshot copies to the CPU, so it should add nothing on the GPU).
2. fastai's CUDA `MixedPrecision` with lr_find, fp16 (GradScaler, skipped steps) and bf16: num_it points, the skipped
   steps counted, the learner restored exactly, autocast off afterwards.
3. The exact restore on CUDA: weights, gradients, optimizer state, CPU and CUDA RNG states bitwise after lr_find (run
   normally and interrupted), and lr_find then fit bitwise the same as fit alone (deterministic algorithms on).
4. Speed against fastai's lr_find on the same learner, 100 steps without stopping early (median of paired ratios)."""
import argparse,datetime,os,platform,statistics,sys,tempfile,time,warnings
from pathlib import Path
os.environ.setdefault('CUBLAS_WORKSPACE_CONFIG', ':4096:8') # deterministic cuBLAS (before CUDA starts)
os.environ.setdefault('MPLBACKEND', 'Agg')
warnings.filterwarnings('ignore')
import numpy as np,torch
from torch import nn
from torch.utils.data import TensorDataset
from fastai.basics import Learner,DataLoaders,CrossEntropyLossFlat,set_seed,Callback
from fastai.data.load import DataLoader
import lrfind_ext
from lrfind_ext.finder import fastai_lr_find
from lrfind_ext.snapshot import Snapshot

ROOT = Path(__file__).resolve().parent.parent

# ---- learners (CPU-independent: the device is an argument) ----

def conv_net(c=64):
    "A small residual-free CNN with BatchNorm and Dropout for 3x32x32 inputs, 10 classes"
    def blk(i, o): return nn.Sequential(nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(), nn.MaxPool2d(2))
    return nn.Sequential(blk(3, c), blk(c, 2*c), blk(2*c, 4*c), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(4*c, 10))

def make_learner(device, n=4096, bs=128, width=64, seed=0, cbs=None):
    "A learner on random 3x32x32 images whose labels follow a fixed random projection (so the loss can fall), on `device`"
    set_seed(seed, reproducible=True)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, 32, 32, generator=g)
    y = (x.mean((2,3)) @ torch.randn(3, 10, generator=g)).argmax(1)
    k = n*7//8
    dls = DataLoaders(DataLoader(TensorDataset(x[:k], y[:k]), bs=bs, shuffle=True, device=device, num_workers=0),
                      DataLoader(TensorDataset(x[k:], y[k:]), bs=2*bs, device=device, num_workers=0))
    return Learner(dls, conv_net(width).to(device), loss_func=CrossEntropyLossFlat(), cbs=cbs)

def used(learn):
    "Give `learn` an optimizer with state, gradients and a moved RNG, as a learner mid-project has"
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3)
    xb,yb = learn.dls.one_batch()
    learn.loss_func(learn.model(xb), yb).backward()
    return learn

# ---- state, compared bitwise ----

def _cuda_rng():
    return [t.clone() for t in torch.cuda.get_rng_state_all()] if torch.cuda.is_available() and torch.cuda.is_initialized() else []

def state(learn)->dict:
    "Everything the exact restore promises, copied to the CPU"
    m,opt = learn.model,learn.opt
    res = dict(weights=[v.detach().cpu().clone() for v in m.state_dict().values()],
               grads=[None if p.grad is None else p.grad.detach().cpu().clone() for p in m.parameters()],
               cpu_rng=torch.get_rng_state().clone(), cuda_rng=_cuda_rng(), np_rng=np.random.get_state()[1].copy(),
               training=[o.training for o in m.modules()], requires_grad=[p.requires_grad for p in m.parameters()])
    if opt is not None:
        res['opt'] = [{k:(v.detach().cpu().clone() if isinstance(v, torch.Tensor) else v) for k,v in opt.state.get(p, {}).items()}
                      for pl in opt.param_lists for p in pl]
        res['hypers'] = [dict(h) for h in opt.hypers]
    return res

def _same(a, b):
    if isinstance(a, torch.Tensor): return isinstance(b, torch.Tensor) and a.dtype==b.dtype and a.shape==b.shape and bool(torch.equal(a, b))
    if isinstance(a, np.ndarray): return np.array_equal(a, b)
    if isinstance(a, dict): return isinstance(b, dict) and a.keys()==b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list,tuple)): return isinstance(b, (list,tuple)) and len(a)==len(b) and all(_same(x, y) for x,y in zip(a, b))
    return a==b

def differ(a, b)->list:
    "Names of the parts of two `state`s that are not bitwise equal"
    return [k for k in a if not _same(a[k], b.get(k))]

class StopAt(Callback):
    "Raises KeyboardInterrupt at the `at`-th batch"
    order = 70
    def __init__(self, at): self.at,self.n = at,0
    def after_batch(self):
        self.n += 1
        if self.n==self.at: raise KeyboardInterrupt()

# ---- the checks ----

def _mb(b): return b/2**20

def check_memory(device, **kw)->dict:
    "Peak GPU memory above the resident level while taking and restoring a snapshot, and during lr_find and a plain fit"
    learn = used(make_learner(device, **kw))
    model_b = sum(t.numel()*t.element_size() for t in [*learn.model.parameters(), *learn.model.buffers()])
    opt_b = sum(v.numel()*v.element_size() for st in learn.opt.state.values() for v in st.values() if isinstance(v, torch.Tensor))
    torch.cuda.synchronize(); base = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    snap = Snapshot(learn); snap.restore(); torch.cuda.synchronize()
    snap_peak = torch.cuda.max_memory_allocated()-base
    torch.cuda.reset_peak_memory_stats()
    with learn.no_bar(): learn.lr_find(num_it=50, stop_div=False, show_plot=False)
    torch.cuda.synchronize(); find_peak = torch.cuda.max_memory_allocated()-base
    torch.cuda.reset_peak_memory_stats()
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3)
    torch.cuda.synchronize(); fit_peak = torch.cuda.max_memory_allocated()-base
    return dict(model_mb=_mb(model_b), opt_state_mb=_mb(opt_b), snapshot_peak_mb=_mb(snap_peak), lr_find_peak_mb=_mb(find_peak),
                fit_peak_mb=_mb(fit_peak), snapshot_over_model=snap_peak/model_b)

def check_mixed_precision(device, mode, num_it=60, **kw)->dict:
    "fastai's MixedPrecision (`to_fp16`, `to_bf16`) with lr_find: points, skipped steps, exact restore, autocast after"
    learn = make_learner(device, **kw)
    learn = learn.to_fp16() if mode=='fp16' else learn.to_bf16()
    used(learn)
    before,scaler = state(learn),getattr(learn, 'scaler', None)
    with learn.no_bar(): res = learn.lr_find(num_it=num_it, stop_div=False, show_plot=False)
    c = res.curve
    return dict(points=len(c), num_it=num_it, stop=c.stop, skipped=c.meta['skipped'], batches=c.meta['batches'],
                differ=differ(before, state(learn)), autocast_off=not torch.is_autocast_enabled(),
                suggestions={k:float(v) for k,v in res._asdict().items()}, scaler_same=getattr(learn, 'scaler', None) is scaler)

def check_exact_restore(device, **kw)->dict:
    "Bitwise state after lr_find (normal, diverging, interrupted), and lr_find then fit against fit alone"
    out = {}
    for name,f in [('normal', lambda l: l.lr_find(num_it=40, stop_div=False, show_plot=False)),
                   ('diverging', lambda l: l.lr_find(start_lr=1e-2, end_lr=1e3, num_it=60, show_plot=False)),
                   ('interrupted', lambda l: l.lr_find(num_it=40, show_plot=False, cbs=StopAt(7)))]:
        learn = used(make_learner(device, **kw))
        before = state(learn)
        with learn.no_bar():
            try: f(learn)
            except KeyboardInterrupt: pass
        out[name] = differ(before, state(learn))
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        runs = []
        for find in (False, True):
            learn = used(make_learner(device, **kw))
            with learn.no_bar(), learn.no_logging():
                set_seed(42)
                if find: learn.lr_find(num_it=40, show_plot=False)
                learn.fit_one_cycle(1, 3e-3)
            runs.append(state(learn)['weights'])
        out['fit_after_lr_find_same_as_fit'] = _same(*runs)
    finally: torch.use_deterministic_algorithms(False)
    return out

def check_speed(device, repeats=3, num_it=100, **kw)->dict:
    "Wall seconds of lr_find and fastai's lr_find, alternating on one learner; the median of the paired ratios"
    learn = make_learner(device, **kw)
    learn.path = Path(tempfile.mkdtemp()) # fastai's lr_find saves its temporary model there
    ours,theirs = [],[]
    with learn.no_bar():
        learn.lr_find(num_it=10, show_plot=False) # warm-up, both (cuDNN autotuning, the allocator, fastai's first save)
        fastai_lr_find(learn, num_it=10, show_plot=False)
        for _ in range(repeats):
            for fn,ts in ((lambda: learn.lr_find(num_it=num_it, stop_div=False, show_plot=False), ours),
                          (lambda: fastai_lr_find(learn, num_it=num_it, stop_div=False, show_plot=False), theirs)):
                if device!='cpu': torch.cuda.synchronize()
                t = time.perf_counter(); fn()
                if device!='cpu': torch.cuda.synchronize()
                ts.append(time.perf_counter()-t)
    return dict(ours_s=statistics.median(ours), fastai_s=statistics.median(theirs),
                ratio=statistics.median(a/b for a,b in zip(ours, theirs)), repeats=repeats, num_it=num_it)

# ---- the report ----

def machine(device)->str:
    if device=='cpu': return f"CPU dry run ({os.cpu_count()} cores), torch {torch.__version__}: not GPU figures"
    p = torch.cuda.get_device_properties(0)
    return (f"{p.name} ({p.total_memory/2**30:.0f} GiB), CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}, "
            f"torch {torch.__version__}, fastai {__import__('fastai').__version__}, Python {platform.python_version()}")

def report(device, res)->str:
    m,mp,ex,sp = res.get('memory'),res['mixed'],res['exact'],res['speed']
    ls = [f"# lr_find on a GPU\n\n{machine(device)}; {datetime.date.today()}; `python bench/gpu_check.py`.\n"]
    if m:
        ls += ["## Memory\n", "| model | optimizer state | snapshot + restore, peak above resident | lr_find, peak | fit, peak | snapshot peak / model |",
               "|---|---|---|---|---|---|",
               f"| {m['model_mb']:.1f} MB | {m['opt_state_mb']:.1f} MB | {m['snapshot_peak_mb']:.1f} MB | {m['lr_find_peak_mb']:.1f} MB | "
               f"{m['fit_peak_mb']:.1f} MB | {m['snapshot_over_model']:.3f} |\n"]
    ls += ["## fastai's MixedPrecision\n", "| mode | points / num_it | stop | skipped steps | batches | state that differs after | autocast off | learn.scaler as before |",
           "|---|---|---|---|---|---|---|---|"]
    ls += [f"| {k} | {r['points']} / {r['num_it']} | {r['stop']} | {r['skipped']} | {r['batches']} | {', '.join(r['differ']) or 'none'} | "
           f"{r['autocast_off']} | {r['scaler_same']} |" for k,r in mp.items()]
    ls += ["\n## Exact restore\n", "| run | state that differs after (bitwise: weights, grads, optimizer, CPU/CUDA/NumPy RNG, flags) |", "|---|---|"]
    ls += [f"| {k} | {', '.join(v) or 'none'} |" for k,v in ex.items() if k!='fit_after_lr_find_same_as_fit']
    ls += [f"\nlr_find then fit_one_cycle gives the same weights, bit for bit, as fit_one_cycle alone: **{ex['fit_after_lr_find_same_as_fit']}**.\n",
           "## Speed\n", f"lr_find {sp['ours_s']:.2f} s, fastai's {sp['fastai_s']:.2f} s for {sp['num_it']} steps "
           f"(median of {sp['repeats']}); ratio ours/fastai (median of pairs) **{sp['ratio']:.2f}**.\n"]
    return '\n'.join(ls)

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--cpu-dry-run', action='store_true', help='run the code paths on the CPU, tiny, writing nothing')
    ap.add_argument('--quick', action='store_true', help='fewer repeats')
    ap.add_argument('--no-write', action='store_true')
    a = ap.parse_args(argv)
    if not a.cpu_dry_run and not torch.cuda.is_available():
        print("No CUDA device here: bench/gpu_check.py measures lr_find on a GPU (memory, CUDA mixed precision, the exact "
              "restore on CUDA, speed). Run it on a machine with CUDA, or pass --cpu-dry-run to exercise its code on the CPU.",
              file=sys.stderr)
        return 2
    device = 'cpu' if a.cpu_dry_run else 'cuda'
    kw = dict(n=512, bs=32, width=8) if a.cpu_dry_run else {}
    t0,res = time.time(),{}
    if device=='cuda':
        res['memory'] = check_memory(device, **kw); print('memory:', res['memory'], flush=True)
    res['mixed'] = {mode:check_mixed_precision(device, mode, num_it=20 if a.cpu_dry_run else 60, **kw) for mode in ('fp16','bf16')}
    print('mixed precision:', res['mixed'], flush=True)
    res['exact'] = check_exact_restore(device, **kw); print('exact restore:', res['exact'], flush=True)
    res['speed'] = check_speed(device, repeats=1 if a.cpu_dry_run or a.quick else 3, num_it=20 if a.cpu_dry_run else 100, **kw)
    print('speed:', res['speed'], flush=True)
    out = report(device, res)
    print(out)
    print(f"(all checks in {time.time()-t0:.0f}s)")
    if not (a.no_write or a.cpu_dry_run):
        (ROOT/'bench'/'results'/'gpu.md').write_text(out)
        print('wrote bench/results/gpu.md')
    return 0

if __name__=='__main__': sys.exit(main())
