"Helpers shared by lrfind_ext's tests: small learners, and a deep capture of everything `lr_find` must leave as it was."
import copy,random
from functools import partial
import numpy as np,torch
from torch import nn
from fastai.basics import Callback,Recorder,set_seed,Path
from fastai.optimizer import OptimWrapper
from fastai.test_utils import synth_learner

# Tiny models gain nothing from intra-op threads, and on a busy 2-core machine torch's waiting threads make them 10 to 40
# times slower (measured here): one thread keeps these tests fast and their timings steady.
torch.set_num_threads(1)

def no_workers(learn):
    "Load batches in the main process: faster and steadier for tiny models"
    for dl in learn.dls.loaders:
        if hasattr(dl, 'fake_l'): dl.fake_l.num_workers = 0
    return learn

def synth(seed=0, **kwargs):
    "fastai's `synth_learner`, seeded (its data is drawn from torch's global RNG)"
    set_seed(seed, reproducible=True)
    return synth_learner(**kwargs)

def digits(arch='mlp', dropout=False, wrap=None, opt_func=None, seed=0, **kwargs):
    "A digits learner in the main process; `dropout` adds a Dropout layer, `wrap` a torch optimizer behind `OptimWrapper`"
    from lrfind_ext.examples import digits_learner
    learn = no_workers(digits_learner(arch=arch, seed=seed, **kwargs))
    if dropout: learn.model.insert(len(learn.model)-1, nn.Dropout(0.3))
    if wrap is not None: learn.opt_func = partial(OptimWrapper, opt=wrap)
    if opt_func is not None: learn.opt_func = opt_func
    return learn

def two_groups(m):
    "A splitter giving each Linear layer of a Sequential MLP its own parameter group"
    return [list(o.parameters()) for o in m if isinstance(o, nn.Linear)]

class Log(list):
    "A list that `lr_find`'s restore leaves alone (its class is in `kept_types`): what a spy saw during the run stays"

import lrfind_ext.snapshot
getattr(lrfind_ext.snapshot, 'kept_types', []).append(Log) # (before it existed, list subclasses were kept by reference anyway)

class Counter(Callback):
    "Counts the events of `fit` it sees, in a `Log`, which `lr_find`'s restore of callback attributes leaves alone"
    order = 0
    def __init__(self): self.events = Log()
    def before_fit(self): self.events.append('fit')
    def before_batch(self): self.events.append('batch')
    @property
    def fits(self): return self.events.count('fit')
    @property
    def batches(self): return self.events.count('batch')

class RaiseAt(Callback):
    "Raises `exc` in `event` on the `at`-th training batch"
    order = 70
    def __init__(self, at, exc, event='after_batch'):
        self.at,self.exc,self.n = at,exc,0
        setattr(self, event, self._hit)
    def _hit(self):
        self.n += 1
        if self.n==self.at: raise self.exc

class FailingModule(nn.Module):
    "Wraps a module; its forward raises `exc` on the `at`-th call in training mode"
    def __init__(self, m, at, exc): super().__init__(); self.m,self.at,self.exc,self.calls = m,at,exc,0
    def forward(self, x):
        if self.training:
            self.calls += 1
            if self.calls==self.at: raise self.exc
        return self.m(x)

def nan_after(loss_func, k, value=float('nan'), every=False):
    "A loss function multiplied by `value` (NaN unless told otherwise) from its `k`-th call in training on (`every`: on every `k`-th only)"
    n = [0]
    def _f(pred, *yb):
        l = loss_func(pred, *yb)
        if torch.is_grad_enabled():
            n[0] += 1
            if (n[0]%k==0 if every else n[0]>=k): l = l*value
        return l
    return _f

# ---- capturing state ----

def _clone(o):
    "Deep copy with tensors cloned (detached); containers become plain dicts and lists"
    if isinstance(o, torch.Tensor): return o.detach().clone()
    if isinstance(o, dict): return {k:_clone(v) for k,v in o.items()}
    if isinstance(o, (list,tuple)): return [_clone(v) for v in o]
    return copy.deepcopy(o)

def _opt_state(opt):
    if opt is None: return None
    if isinstance(opt, OptimWrapper): return ('wrapper', type(opt.opt).__name__, _clone(opt.opt.state_dict()))
    if 'opt' in opt.__dict__: # a fastai optimizer wrapping another (Lookahead): its own attributes, then the inner one
        # (`__stored_args__`, fastcore < 2's record of constructor arguments, holds the inner optimizer itself)
        return ('wrapped', {k:_clone(v) for k,v in opt.__dict__.items() if k not in ('opt','__stored_args__')}, _opt_state(opt.opt))
    ps = [p for pl in opt.param_lists for p in pl]
    return ('fastai', [_clone(opt.state.get(p, {})) for p in ps], _clone([dict(h) for h in opt.hypers]),
            len(opt.param_lists), opt.frozen_idx)

def _generators(dls):
    res = []
    for dl in getattr(dls, 'loaders', []):
        for o in (dl, getattr(dl, 'sampler', None), getattr(getattr(dl, 'batch_sampler', None), 'sampler', None)):
            g = getattr(o, 'generator', None)
            if isinstance(g, torch.Generator): res.append(g.get_state().clone())
    return res

def _hook_keys(o):
    "The keys of every hook dict of module `o` (forward, backward, state-dict... hooks)"
    return {k:list(v) for k,v in vars(o).items() if 'hooks' in k and isinstance(v, dict)}

def global_hooks():
    "The keys of torch's global module hook dicts"
    import torch.nn.modules.module as M
    return {k:list(v) for k,v in vars(M).items() if k.startswith('_global') and isinstance(v, dict)}

def _plain(o, depth=0):
    "`o` copied where it is plain data (numbers, strings, tensors, arrays, and containers of them); None elsewhere"
    if depth>6: return None
    if o is None or isinstance(o, (bool,int,float,str,bytes)): return o
    if isinstance(o, torch.Tensor): return o.detach().clone()
    if isinstance(o, np.ndarray): return o.copy()
    if type(o) is dict: return {k:_plain(v, depth+1) for k,v in o.items()}
    if type(o) in (list,tuple,set): return [_plain(v, depth+1) for v in o]
    return None

def capture(learn):
    "Everything `lr_find` must put back, copied"
    m = learn.model
    return dict(
        hooks=[(n,_hook_keys(o)) for n,o in m.named_modules()], global_hooks=global_hooks(),
        cb_values=[(type(cb).__name__,{k:_plain(v) for k,v in cb.__dict__.items()}) for cb in learn.cbs if not isinstance(cb, Recorder)],
        weights={k:v.detach().clone() for k,v in m.state_dict(keep_vars=True).items()},
        grads=[None if p.grad is None else p.grad.detach().clone() for p in m.parameters()],
        requires_grad=[p.requires_grad for p in m.parameters()],
        training=[(n,o.training) for n,o in m.named_modules()],
        opt=_opt_state(learn.opt), opt_obj=learn.opt,
        lr=learn.lr, wd=learn.wd,
        learn_dict=dict(learn.__dict__),
        cbs=list(learn.cbs),
        cb_dicts=[(cb,dict(cb.__dict__)) for cb in learn.cbs if not isinstance(cb, Recorder)],
        py_rng=random.getstate(), np_rng=np.random.get_state(), torch_rng=torch.get_rng_state().clone(),
        dl_rngs=[dl.rng.getstate() for dl in getattr(learn.dls, 'loaders', []) if isinstance(getattr(dl, 'rng', None), random.Random)],
        generators=_generators(learn.dls),
    )

def _eq(a, b):
    "Exact equality of nested containers of tensors, arrays and plain values"
    if isinstance(a, torch.Tensor):
        if a.is_sparse: return isinstance(b, torch.Tensor) and b.is_sparse and _eq(a.to_dense(), b.to_dense())
        return isinstance(b, torch.Tensor) and a.dtype==b.dtype and a.shape==b.shape and a.device==b.device and \
               bool(torch.equal(a, b) or (torch.isnan(a).any() and torch.equal(a.nan_to_num(), b.nan_to_num())))
    if isinstance(a, np.ndarray): return isinstance(b, np.ndarray) and np.array_equal(a, b)
    if isinstance(a, dict): return isinstance(b, dict) and a.keys()==b.keys() and all(_eq(a[k], b[k]) for k in a)
    if isinstance(a, (list,tuple)): return isinstance(b, (list,tuple)) and len(a)==len(b) and all(_eq(x,y) for x,y in zip(a,b))
    return a is b or a==b

def diff(before, after)->list:
    "Names of the parts of two `capture`s that differ"
    bad = []
    for k in before:
        a,b = before[k],after[k]
        if k=='opt_obj': ok = a is b
        elif k=='learn_dict': ok = a.keys()==b.keys() and all(a[n] is b[n] for n in a)
        elif k=='cbs': ok = len(a)==len(b) and all(x is y for x,y in zip(a,b))
        elif k=='cb_dicts': ok = len(a)==len(b) and all(c1 is c2 and d1.keys()==d2.keys() and all(d1[n] is d2[n] for n in d1)
                                                       for (c1,d1),(c2,d2) in zip(a,b))
        elif k=='np_rng': ok = a[0]==b[0] and np.array_equal(a[1], b[1]) and a[2:]==b[2:]
        else: ok = _eq(a, b)
        if not ok: bad.append(k)
    return bad

def weights(learn): return [v.detach().clone() for v in learn.model.state_dict().values()]
def same_weights(a, b): return len(a)==len(b) and all(torch.equal(x, y) for x,y in zip(a, b))

def fit_after(mk, find:bool, pre_fit=False, find_kw=None, find_exc=None, epochs=2):
    "Weights, metrics and losses of `fit_one_cycle` on a fresh learner `mk()`, with or without an `lr_find` (raising `find_exc`) before it"
    import pytest
    learn = mk()
    with learn.no_bar(), learn.no_logging():
        if pre_fit: learn.fit(1, 1e-3)
        set_seed(42)
        if find and find_exc is not None:
            learn.add_cb(RaiseAt(6, find_exc))
            with pytest.raises(type(find_exc)): learn.lr_find(num_it=30, show_plot=False)
            learn.remove_cbs(learn.cbs.filter(lambda c: isinstance(c, RaiseAt)))
        elif find: learn.lr_find(show_plot=False, **(find_kw or dict(num_it=30)))
        learn.fit_one_cycle(epochs, 1e-2)
    return weights(learn),learn.recorder.values,[float(l) for l in learn.recorder.losses]

def same_fit(a, b)->bool:
    "Whether two `fit_after` results are the same, bit for bit"
    return same_weights(a[0], b[0]) and a[1]==b[1] and a[2]==b[2]
