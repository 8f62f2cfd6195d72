"""lr_find under fastai's `distrib_ctx`, in each process of a CPU run: `torchrun --nproc_per_node 2 tests/ddp_lr_find.py
OUT [SCENARIO ...]`. Each process writes what it saw to OUT/rank<N>.json, one entry per scenario; tests/test_setups.py
compares the processes. Scenarios (all by default): plain, nan, diverge, valid, accum, syncbn; raise (only when named:
process 1 raises mid-run; the other must not hang)."""
import dataclasses,gc,json,os,sys,time,warnings
warnings.filterwarnings('ignore')
os.environ.setdefault('MPLBACKEND', 'Agg')
import torch,torch.distributed as dist
import matplotlib.pyplot as plt
from fastai.basics import Callback,rank_distrib,num_distrib
from fastai.callback.training import GradientAccumulation
from fastai.distributed import DistributedTrainer
import lrfind_ext
from lrfind_ext.setups import allow_cpu_distrib
from lrf_testutils import digits,capture,diff,nan_after,RaiseAt,Log

allow_cpu_distrib() # fastai's DistributedDL otherwise broadcasts through CUDA
RANK = rank_distrib()

class Spy(Callback):
    "What this process trained on: its model and loader types, each batch's first input and its local loss"
    order = 70
    def __init__(self): self.rows = Log() # kept: its class is in `lrfind_ext.snapshot.kept_types`
    def before_batch(self):
        self.rows.append(dict(model=type(self.learn.model).__name__, dl=type(self.learn.dl).__name__,
                              x0=float(self.xb[0].flatten()[:16].sum()), lr=self.opt.hypers[-1]['lr']))
    def after_loss(self): self.rows[-1]['loss'] = float(self.learn.loss)

def run(learn, sync_bn=False, **kw):
    "lr_find under fastai's distrib_ctx on CPU processes; what this process saw"
    spy = Spy()
    learn.add_cb(spy)
    plt.close('all')
    with learn.no_bar(), learn.distrib_ctx(cpu=True, sync_bn=sync_bn):
        before = capture(learn)
        mods = [type(m).__name__ for m in learn.model.modules()]
        t,err = time.perf_counter(),None
        try: res = learn.lr_find(**{'num_it':30, 'show_plot':True, **kw})
        except Exception as e: res,err = None,f'{type(e).__name__}: {e}'
        secs = time.perf_counter()-t
        after = capture(learn)
        learn.remove_cb(spy)
    crv = learn.recorder.lr_curve
    out = dict(lrs=crv.lrs.tolist(), losses=crv.losses.tolist(), smooth=crv.smooth.tolist(), stop=crv.stop,
               run=dataclasses.asdict(crv.run), rows=spy.rows, diff=diff(before, after), figs=len(plt.get_fignums()), err=err, secs=secs,
               mods_before=mods, mods_after=[type(m).__name__ for m in learn.model.modules()],
               distrib_cb_after=any(isinstance(cb, DistributedTrainer) for cb in learn.cbs))
    if res is not None: out.update(sugg={k:s.lr for k,s in res.suggestions.items()}, table=res._stop_txt())
    return out

def scenario(name):
    learn = digits()
    if name=='plain': return run(learn, suggest_funcs='all')
    if name=='nan': # only process 1's loss becomes NaN: both must stop at the same step
        if RANK==1: learn.loss_func = nan_after(learn.loss_func, 8)
        return run(learn)
    if name=='diverge': # only process 1's loss grows 50-fold: the mean diverges, both stop together
        if RANK==1: learn.loss_func = nan_after(learn.loss_func, 12, 50.) # 50 times larger: diverges
        return run(learn, num_it=60)
    if name=='valid': return run(learn, valid=2)
    if name=='accum':
        learn = digits(bs=16, cbs=GradientAccumulation(64))
        return run(learn, num_it=12, stop_div=False)
    if name=='syncbn': # fastai's default converts BatchNorm to SyncBatchNorm, which DDP refuses on the CPU: lr_find fails,
        learn = digits(arch='bn') # and the model must come back with its BatchNorm layers; then the run without works
        first = run(learn, sync_bn=True)
        return dict(first=first, second=run(learn))
    if name=='raise': # process 1 fails at its 5th batch, process 0 waits in a collective: torchrun must end both
        if RANK==1: learn.add_cb(RaiseAt(5, RuntimeError('process 1 failed')))
        learn.add_cb(Spy())
        with learn.distrib_ctx(cpu=True, sync_bn=False), learn.no_bar(): learn.lr_find(num_it=30, show_plot=False)
        return {}
    raise ValueError(name)

if __name__=='__main__':
    torch.set_num_threads(1)
    out,names = sys.argv[1],sys.argv[2:] or ['plain','nan','diverge','valid','accum','syncbn']
    res = dict(world=num_distrib())
    for n in names: res[n] = scenario(n)
    with open(os.path.join(out, f'rank{RANK}.json'), 'w') as f: json.dump(res, f)
    gc.collect() # DDP objects left to the interpreter's exit can abort a gloo process ("terminate called...")
    if dist.is_initialized(): dist.destroy_process_group()
