#!/usr/bin/env python
"""lr_find on a CUDA GPU: what the CPU machines can't check. One command, under 8 minutes; prints a summary and writes
bench/results/gpu.md.
    PYTHONPATH=. python bench/gpu_check.py [--no-write]   # on a machine with CUDA
    PYTHONPATH=. python bench/gpu_check.py --cpu-dry-run  # every code path on the CPU, tiny: no GPU figure, writes nothing
Without CUDA (and without --cpu-dry-run) it says so and exits with status 2. Where fastai is missing (a bare PyTorch
image), carry its pure-Python wheels, downloaded where pip reaches PyPI, and put them first on the path:
    python -m pip download --no-deps --only-binary=:all: --python-version 3.12 -d bench/cache/wheels $(python bench/gpu_check.py --wheels)
    python3 -m pip install -q --no-index --no-deps --target /tmp/site bench/cache/wheels/*.whl && PYTHONPATH=/tmp/site:. python3 bench/gpu_check.py

Each section has a time budget (`BUDGET`, seconds, within `TOTAL` for the whole run): one that runs out stops where it
is, keeps what it measured and says so; one that fails says why, and the others still run.
1. `mixed`: fastai's CUDA `MixedPrecision`, fp16 (`to_fp16`: GradScaler, skipped steps) and bf16 (`to_bf16`), with
   `lr_find()` as users call it on a small CNN: the run's stop, its points and skipped steps, finite suggestions and
   intervals, and the learner bit for bit as before: weights, gradients, optimizer state, the Python, NumPy, CPU and
   CUDA RNGs, autocast, MixedPrecision's state and the learner's own GradScaler (one mid-training, given beforehand).
2. `restore`: the same bitwise state after lr_find run normally, diverging and interrupted; and `lr_find` then
   `fit_one_cycle` against `fit_one_cycle` alone (`set_seed(42, reproducible=True)`, deterministic algorithms), in fp32
   and fp16, with fit alone twice as the control (a model CUDA can't repeat bit for bit makes the check inconclusive).
3. `memory`: `vision_learner(resnet34, pretrained=False)` at 224 px, `to_fp16()`, on synthetic JPEG images loaded as
   fastai users load them (`ImageDataLoaders.from_folder`, `Resize(224)`, `aug_transforms()`, bs 64, fastai's default
   workers), after one epoch (optimizer state): peak GPU memory above what the learner holds, during lr_find and during
   fastai's lr_find on the same learner, against the model and optimizer state.
4. `speed`: on that learner, fresh, lr_find (as users get it: basin, valley, intervals) and fastai's lr_find (valley),
   100 steps without stopping early, in alternating pairs after a warm-up; the median per-pair wall ratio."""
import argparse,contextlib,datetime,gc,math,os,platform,random,signal,statistics,sys,tempfile,time,traceback,warnings
T0 = time.time() # the run's clock starts before torch is imported
from pathlib import Path
os.environ.setdefault('CUBLAS_WORKSPACE_CONFIG', ':4096:8') # deterministic cuBLAS (before CUDA starts)
os.environ.setdefault('MPLBACKEND', 'Agg')
warnings.filterwarnings('ignore')
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import numpy as np,torch
from torch import nn

# What fastai needs beyond a PyTorch image (the device's, 2026-11: torch, torchvision, numpy, pandas, matplotlib, scipy,
# scikit-learn, pillow, rich...): pure-Python wheels, pinned to what the CPU machines test with
WHEELS = ('fastai==2.8.12 fastcore==2.2.41 fastprogress==1.1.6 fastdownload==0.0.8 fasttransform==0.0.5 plum-dispatch==2.9.0 '
          'beartype==0.23.1 python-fasthtml==0.14.14 beautifulsoup4==4.15.0 soupsieve==4.1.3 python-multipart==0.0.34 '
          'httpx2==2.16.2 httpcore2==2.16.2 truststore==0.10.5 uvicorn==0.55.0 itsdangerous==2.2.0 oauthlib==4.0.1 '
          'starlette==1.10.0')
TOTAL = 420 # seconds for the whole run, imports included: 8 minutes less a margin for a section that overruns its budget
BUDGET = dict(mixed=50, restore=80, memory=80, speed=150)
DRY = dict(n=256, bs=32, width=4, num_it=20, images=64, px=40, size=32, img_bs=8, mem_it=8, img_it=8, pairs=1)
GPU = dict(n=4096, bs=128, width=64, num_it=100, images=2048, px=256, size=224, img_bs=64, mem_it=30, img_it=100, pairs=5)

# ---- small learners (the device is an argument) ----

def conv_net(c=64):
    "A small CNN with BatchNorm and Dropout for 3x32x32 inputs, 10 classes (pooling whose backward CUDA repeats exactly)"
    def blk(i, o): return nn.Sequential(nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(), nn.MaxPool2d(2))
    return nn.Sequential(blk(3, c), blk(c, 2*c), blk(2*c, 4*c), nn.AvgPool2d(4), nn.Flatten(), nn.Dropout(0.2), nn.Linear(4*c, 10))

def make_learner(device, n, bs, width, seed=0, **_):
    "A learner on random 3x32x32 images whose labels follow a fixed random projection (so the loss can fall), on `device`"
    from torch.utils.data import TensorDataset
    from fastai.basics import Learner,DataLoaders,CrossEntropyLossFlat,set_seed
    from fastai.data.load import DataLoader
    set_seed(seed, reproducible=True)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, 32, 32, generator=g)
    y = (x.mean((2,3)) @ torch.randn(3, 10, generator=g)).argmax(1)
    k = n*7//8
    dls = DataLoaders(DataLoader(TensorDataset(x[:k], y[:k]), bs=bs, shuffle=True, device=device, num_workers=0),
                      DataLoader(TensorDataset(x[k:], y[k:]), bs=2*bs, device=device, num_workers=0))
    return Learner(dls, conv_net(width).to(device), loss_func=CrossEntropyLossFlat())

def mixed(learn, mode, device):
    "`learn` with fastai's MixedPrecision (`to_fp16`, `to_bf16`); on the CPU lrfind_ext's `CPUMixedPrecision`, the same callback"
    if device=='cuda': return learn.to_fp16() if mode=='fp16' else learn.to_bf16()
    from lrfind_ext.setups import CPUMixedPrecision
    return learn.add_cb(CPUMixedPrecision(amp_mode=mode))

def used(learn):
    "Give `learn` an optimizer with state, gradients and a moved RNG, as a learner mid-project has"
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3)
    xb,yb = learn.dls.one_batch()
    learn.loss_func(learn.model(xb), yb).backward()
    return learn

def give_scaler(learn, device):
    "Give `learn` a GradScaler mid-training (its scale moved, its state made): lr_find must leave it as it is"
    from torch.amp import GradScaler
    s = GradScaler(device, init_scale=2.**12)
    s.scale(torch.ones((), device=device))
    s.update(new_scale=2.**11)
    learn.scaler = s

# ---- state, compared bitwise ----

def _t(v): return v.detach().cpu().clone() if isinstance(v, torch.Tensor) else v

def state(learn)->dict:
    "Everything the exact restore promises, copied to the CPU"
    from fastai.callback.fp16 import MixedPrecision
    m,opt,s = learn.model,learn.opt,getattr(learn, 'scaler', None)
    res = dict(weights=[_t(v) for v in m.state_dict().values()],
               grads=[_t(p.grad) for p in m.parameters()],
               py_rng=random.getstate(), np_rng=np.random.get_state(), cpu_rng=torch.get_rng_state(),
               cuda_rng=list(torch.cuda.get_rng_state_all()) if torch.cuda.is_available() and torch.cuda.is_initialized() else [],
               autocast={d:(torch.is_autocast_enabled(d), torch.get_autocast_dtype(d)) for d in ('cpu','cuda')},
               training=[o.training for o in m.modules()], requires_grad=[p.requires_grad for p in m.parameters()],
               scaler=None if s is None else (id(s), {k:_t(v) for k,v in s.state_dict().items()}, _t(getattr(s, '_scale', None))),
               mixed_precision=[(cb.kwargs, cb.scales, cb.autocast is None) for cb in learn.cbs if isinstance(cb, MixedPrecision)])
    if opt is not None:
        res['opt'] = [{k:_t(v) for k,v in opt.state.get(p, {}).items()} for pl in opt.param_lists for p in pl]
        res['hypers'] = [dict(h) for h in opt.hypers]
    return res

def _same(a, b)->bool:
    if isinstance(a, torch.Tensor): return isinstance(b, torch.Tensor) and a.dtype==b.dtype and a.shape==b.shape and bool(torch.equal(a, b))
    if isinstance(a, np.ndarray): return isinstance(b, np.ndarray) and np.array_equal(a, b)
    if isinstance(a, dict): return isinstance(b, dict) and a.keys()==b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list,tuple)): return isinstance(b, (list,tuple)) and len(a)==len(b) and all(_same(x, y) for x,y in zip(a, b))
    return a==b

def differ(a, b)->list:
    "Names of the parts of two `state`s that are not bitwise equal"
    return [k for k in a if not _same(a[k], b.get(k))]

def _stop_at(at):
    "A callback that raises KeyboardInterrupt at the `at`-th batch"
    from fastai.basics import Callback
    class StopAt(Callback):
        order = 70
        def __init__(self): self.n = 0
        def after_batch(self):
            self.n += 1
            if self.n==at: raise KeyboardInterrupt()
    return StopAt()

# ---- the sections: each fills `out` as it goes ----

def check_mixed(out, device, cfg):
    "fastai's MixedPrecision with `lr_find()` as users call it: the run, its suggestions, and the learner bit for bit"
    for mode in ('fp16','bf16'):
        learn = used(mixed(make_learner(device, **cfg), mode, device))
        give_scaler(learn, device)
        before = state(learn)
        with learn.no_bar(): res = learn.lr_find(num_it=cfg['num_it'], show_plot=False)
        r,sg = res.curve.run,res.suggestions
        vals = [s.lr for s in sg.values()] + [x for s in sg.values() for x in (s.interval or ())]
        out[mode] = dict(points=len(res.curve), num_it=cfg['num_it'], stop=r.stop, skipped=r.skipped,
                         batches=r.batches, finite=bool(vals) and all(math.isfinite(v) and v>0 for v in vals),
                         intervals=all(s.interval is not None for s in sg.values()),
                         suggestions={n:s.lr for n,s in sg.items()}, differ=differ(before, state(learn)))

def _fit_weights(device, cfg, prec, find):
    learn = used(make_learner(device, **cfg))
    if prec=='fp16': mixed(learn, 'fp16', device)
    with learn.no_bar(), learn.no_logging():
        from fastai.basics import set_seed
        set_seed(42, reproducible=True)
        if find: learn.lr_find(num_it=cfg['num_it']//2, show_plot=False)
        learn.fit_one_cycle(1, 3e-3)
    return state(learn)['weights']

def check_restore(out, device, cfg):
    "The bitwise state after lr_find (normal, diverging, interrupted); lr_find then fit_one_cycle against fit_one_cycle alone"
    k = cfg['num_it']
    for name,f in [('normal', lambda l: l.lr_find(num_it=k, stop_div=False, show_plot=False)),
                   ('diverging', lambda l: l.lr_find(start_lr=1e-2, end_lr=1e3, num_it=k, show_plot=False)),
                   ('interrupted', lambda l: l.lr_find(num_it=k, show_plot=False, cbs=_stop_at(7)))]:
        learn = used(make_learner(device, **cfg))
        before = state(learn)
        with learn.no_bar():
            try: f(learn)
            except KeyboardInterrupt: pass
        out[name] = differ(before, state(learn))
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        for prec in ('fp32','fp16'):
            alone,after,again = [_fit_weights(device, cfg, prec, find) for find in (False, True, False)]
            out[f'fit_{prec}'] = dict(same=_same(alone, after), control=_same(alone, again))
    finally: torch.use_deterministic_algorithms(False)

def image_folder(n, px, classes=4, seed=0)->Path:
    "A folder of `n` synthetic `px`-square JPEG images in `classes` class folders, each class its own colour under noise"
    from PIL import Image
    path = Path(tempfile.mkdtemp(prefix='gpu_check_'))
    rng = np.random.default_rng(seed)
    cols = rng.integers(48, 208, (classes, 1, 1, 3))
    noise = [rng.integers(-48, 48, (px, px, 3)) for _ in range(16)]
    for i in range(n):
        c = i%classes
        (path/str(c)).mkdir(exist_ok=True)
        Image.fromarray(np.clip(cols[c, 0] + noise[i%16] + rng.integers(-8, 8, 3), 0, 255).astype(np.uint8)).save(path/str(c)/f'{i}.jpg', quality=90)
    return path

def user_learner(path, cfg):
    "`vision_learner(resnet34, pretrained=False)` on the images of `path`, loaded as fastai users load them, `to_fp16()`"
    from fastai.vision.all import ImageDataLoaders,Resize,aug_transforms,vision_learner,resnet34,error_rate,set_seed
    set_seed(0)
    dls = ImageDataLoaders.from_folder(path, valid_pct=0.2, seed=42, item_tfms=Resize(cfg['size']),
                                       batch_tfms=aug_transforms(size=cfg['size']), bs=cfg['img_bs'])
    learn = vision_learner(dls, resnet34, pretrained=False, metrics=error_rate)
    learn.path = Path(tempfile.mkdtemp(prefix='gpu_check_models_')) # fastai's lr_find saves its temporary model there
    return learn.to_fp16() if torch.cuda.is_available() else mixed(learn, 'bf16', 'cpu') # the CPU's fp16 convolutions crawl

def _mb(b): return None if b is None else b/2**20

@contextlib.contextmanager
def peak(out, key):
    "Peak GPU memory above what was allocated when the block began, into out[key] (MB; None without CUDA)"
    cuda = torch.cuda.is_available()
    if cuda: gc.collect(); torch.cuda.synchronize(); torch.cuda.empty_cache(); base = torch.cuda.memory_allocated(); torch.cuda.reset_peak_memory_stats()
    yield
    if cuda: torch.cuda.synchronize()
    out[key] = _mb(torch.cuda.max_memory_allocated()-base) if cuda else None
    if cuda: out[key+'_left'] = _mb(torch.cuda.memory_allocated()-base)

def check_memory(out, device, cfg, path):
    "Peak GPU memory of lr_find and of fastai's lr_find on the resnet34, against the model and its optimizer state"
    from lrfind_ext.finder import fastai_lr_find
    learn = user_learner(path, cfg)
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3)
    m = learn.model
    out['model_mb'] = _mb(sum(t.numel()*t.element_size() for t in [*m.parameters(), *m.buffers()]))
    out['opt_mb'] = _mb(sum(v.numel()*v.element_size() for st in learn.opt.state.values() for v in st.values() if isinstance(v, torch.Tensor)))
    out['resident_mb'] = _mb(torch.cuda.memory_allocated()) if torch.cuda.is_available() else None
    kw = dict(num_it=cfg['mem_it'], stop_div=False, show_plot=False)
    with learn.no_bar():
        for i,(key,f) in enumerate([('lrfind_ext', lambda: learn.lr_find(**kw)), ('fastai', lambda: fastai_lr_find(learn, **kw)),
                                    ('lrfind_ext_again', lambda: learn.lr_find(**kw))]):
            with peak(out, key): f()

def check_speed(out, device, cfg, path, deadline):
    "Wall seconds of lr_find and fastai's lr_find, alternating on one learner; the median of the per-pair ratios"
    from lrfind_ext.finder import fastai_lr_find
    learn = user_learner(path, cfg)
    sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
    kw = dict(num_it=cfg['img_it'], stop_div=False, show_plot=False)
    runs = dict(lrfind_ext=lambda: learn.lr_find(**kw), fastai=lambda: fastai_lr_find(learn, **kw))
    out.update(num_it=kw['num_it'], pairs=[])
    with learn.no_bar():
        t = time.perf_counter()
        w = dict(num_it=min(10, kw['num_it']), show_plot=False)
        learn.lr_find(**w); fastai_lr_find(learn, **w) # warm-up: cuDNN, allocator, workers
        out['warm_up_s'] = time.perf_counter()-t
        for i in range(cfg['pairs']):
            if out['pairs'] and time.time() + 1.5*sum(out['pairs'][-1].values()) > deadline: break # the next pair wouldn't fit
            pair = {}
            for name in (('lrfind_ext','fastai') if i%2==0 else ('fastai','lrfind_ext')):
                sync(); t = time.perf_counter(); runs[name](); sync()
                pair[name] = time.perf_counter()-t
            out['pairs'].append(pair)
            print(f"  speed pair {i+1}: lrfind_ext {pair['lrfind_ext']:.2f} s, fastai {pair['fastai']:.2f} s", flush=True)

# ---- running the sections within their budgets ----

class OutOfTime(Exception): pass
def _alarm(*_): raise OutOfTime()

def run_section(res, name, f, t_end):
    "Run `f(out, deadline)` within its budget and what is left of the whole run; keep what it measured if it stops early"
    out = res[name] = {}
    b = min(BUDGET[name], t_end-time.time())
    if b < 10: out['skipped'] = 'no time left'; return
    t0 = time.time()
    print(f"{name}: up to {b:.0f} s", flush=True)
    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, b)
    try: f(out, t0+b)
    except OutOfTime: out['out_of_time'] = True
    except Exception as e:
        out['error'] = f'{type(e).__name__}: {e}'
        traceback.print_exc()
    finally: signal.setitimer(signal.ITIMER_REAL, 0)
    out['secs'] = time.time()-t0
    print(f"{name}: {out['secs']:.0f} s", flush=True)

# ---- the report ----

def machine(device)->str:
    import fastai
    if device=='cpu': return f"CPU dry run ({os.cpu_count()} cores), torch {torch.__version__}, fastai {fastai.__version__}: not GPU figures"
    p = torch.cuda.get_device_properties(0)
    return (f"{p.name} ({p.total_memory/2**30:.0f} GiB), CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}, "
            f"torch {torch.__version__}, fastai {fastai.__version__}, Python {platform.python_version()}, {os.cpu_count()} CPU cores")

def _status(o)->str:
    "Why a section has no or partial figures"
    return '; '.join(s for s in (o.get('skipped'), o.get('error'), 'stopped at its time budget' if o.get('out_of_time') else None) if s)

def _mixed_ok(r)->bool: return r['finite'] and not r['differ'] and r['batches']==r['points']+r['skipped']

def report(device, cfg, res, secs)->tuple:
    "The page, and the summary lines; whether every check passed"
    mp,ex,mem,sp = (res.get(k, {}) for k in ('mixed','restore','memory','speed'))
    ok = not any(_status(o) for o in (mp,ex,mem,sp))
    ls = [f"# lr_find on a GPU\n\n{machine(device)}; {datetime.date.today()}; `python bench/gpu_check.py`, {secs:.0f} s.\n",
          "## fastai's MixedPrecision\n", f"`lr_find()` as users call it, on a small CNN (a learner that trained one epoch, with a "
          "GradScaler of its own). Each column bit for bit as before the run: weights, gradients, optimizer state, the Python, "
          "NumPy, CPU and CUDA RNGs, autocast, MixedPrecision's state, the GradScaler (the same object, the same state). "
          f"{_status(mp)}\n", "| mode | stop | points / num_it | skipped steps | batches | suggestions finite | state that differs after |",
          "|---|---|---|---|---|---|---|"]
    for k,r in ((k,v) for k,v in mp.items() if isinstance(v, dict)):
        ls.append(f"| {k} | {r['stop']} | {r['points']} / {r['num_it']} | {r['skipped']} | {r['batches']} | {r['finite']} | {', '.join(r['differ']) or 'none'} |")
        ok &= _mixed_ok(r)
    ls += ["\n## Exact restore on CUDA\n", f"{_status(ex)}\n", "| run | state that differs after |", "|---|---|"]
    ls += [f"| {k} | {', '.join(v) or 'none'} |" for k,v in ex.items() if isinstance(v, list)]
    ok &= all(not v for v in ex.values() if isinstance(v, list))
    for prec in ('fp32','fp16'):
        if (r := ex.get(f'fit_{prec}')) is None: continue
        ls.append(f"\n{prec}: lr_find then fit_one_cycle gives the same weights, bit for bit, as fit_one_cycle alone: **{r['same']}** "
                  f"(control, fit_one_cycle alone twice: {r['control']}{'' if r['control'] else ': inconclusive'}).")
        ok &= r['same'] or not r['control']
    ls += [f"\n## Memory: vision_learner(resnet34) at {cfg['size']} px, mixed precision\n", f"{_status(mem)}\n"]
    if 'lrfind_ext' in mem and mem['lrfind_ext'] is not None:
        ls += ["| | MB |", "|---|---:|", f"| model (parameters and buffers) | {mem['model_mb']:.1f} |",
               f"| optimizer state | {mem['opt_mb']:.1f} |", f"| allocated before the runs | {mem['resident_mb']:.1f} |"]
        ls += [f"| {k.replace('_', ' ')}: peak above that (left after) | {mem[k]:.1f} ({mem[k+'_left']:.1f}) |"
               for k in ('lrfind_ext','fastai','lrfind_ext_again') if k in mem]
    if sp.get('pairs'):
        ours,theirs = [p['lrfind_ext'] for p in sp['pairs']],[p['fastai'] for p in sp['pairs']]
        sp['ratio'] = statistics.median(a/b for a,b in zip(ours, theirs))
        ls += ["\n## Speed: the same learner\n", f"{_status(sp)}\n", f"lr_find {statistics.median(ours):.2f} s, fastai's "
               f"{statistics.median(theirs):.2f} s for {sp['num_it']} steps (medians of {len(ours)} alternating pairs, after a "
               f"warm-up of {sp['warm_up_s']:.0f} s); ratio lrfind_ext/fastai, median of the pairs: **{sp['ratio']:.2f}**.\n"]
    summ = [f"mixed precision {k}: {r['stop']}, {r['points']} points, {r['skipped']} skipped, suggestions "
            f"{'finite' if r['finite'] else 'NOT finite'}, restore {'exact' if not r['differ'] else 'differs: '+', '.join(r['differ'])}"
            for k,r in mp.items() if isinstance(r, dict)]
    summ += [f"restore after lr_find {k}: {'exact' if not v else 'differs: '+', '.join(v)}" for k,v in ex.items() if isinstance(v, list)]
    summ += [f"lr_find then fit_one_cycle = fit_one_cycle alone, {p}: {ex[f'fit_{p}']['same']} (control {ex[f'fit_{p}']['control']})"
             for p in ('fp32','fp16') if f'fit_{p}' in ex]
    if mem.get('lrfind_ext') is not None:
        summ.append(f"peak GPU memory in lr_find {mem['lrfind_ext']:.0f} MB, fastai's {mem.get('fastai', math.nan):.0f} MB "
                    f"(model {mem['model_mb']:.0f} MB, optimizer state {mem['opt_mb']:.0f} MB)")
    if 'ratio' in sp: summ.append(f"speed lrfind_ext/fastai {sp['ratio']:.2f} ({len(sp['pairs'])} pairs)")
    summ += [f"{k}: {_status(o)}" for k,o in res.items() if _status(o)]
    return '\n'.join(ls), summ, ok

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--cpu-dry-run', action='store_true', help='run every code path on the CPU, tiny, writing nothing')
    ap.add_argument('--no-write', action='store_true')
    ap.add_argument('--wheels', action='store_true', help="print the wheels fastai needs on a bare PyTorch image")
    a = ap.parse_args(argv)
    if a.wheels: print(WHEELS); return 0
    if not a.cpu_dry_run and not torch.cuda.is_available():
        print("No CUDA device here: bench/gpu_check.py measures lr_find on a GPU (CUDA mixed precision, the exact restore "
              "on CUDA, memory, speed). Run it on a machine with CUDA, or pass --cpu-dry-run to exercise its code on the CPU.",
              file=sys.stderr)
        return 2
    try: import fastai,lrfind_ext
    except ImportError as e:
        print(f"{e}: install fastai and run from the repository root with PYTHONPATH=. (the docstring says how, offline)", file=sys.stderr)
        return 3
    t0,t_end = T0,T0+TOTAL
    device,cfg = ('cpu',DRY) if a.cpu_dry_run else ('cuda',GPU)
    if a.cpu_dry_run: torch.set_num_threads(1) # on a shared CPU, more threads wait on each other
    res,path = {},None
    run_section(res, 'mixed', lambda out, dl: check_mixed(out, device, cfg), t_end)
    run_section(res, 'restore', lambda out, dl: check_restore(out, device, cfg), t_end)
    try: path = image_folder(cfg['images'], cfg['px'])
    except Exception as e: res['memory'] = res['speed'] = {'error': f'no images: {type(e).__name__}: {e}'}
    if path is not None:
        print(f"images: {cfg['images']} in {time.time()-t0:.0f} s so far", flush=True)
        run_section(res, 'memory', lambda out, dl: check_memory(out, device, cfg, path), t_end)
        run_section(res, 'speed', lambda out, dl: check_speed(out, device, cfg, path, dl), t_end)
    page,summ,ok = report(device, cfg, res, time.time()-t0)
    print(page)
    print('\nSummary:\n  ' + '\n  '.join(summ) + f"\n  {'all checks passed' if ok else 'NOT all checks passed'}; {time.time()-t0:.0f} s")
    if not (a.no_write or a.cpu_dry_run):
        (HERE/'results'/'gpu.md').write_text(page + '\n')
        print('wrote bench/results/gpu.md')
    return 0 if ok else 1

if __name__=='__main__': sys.exit(main())
