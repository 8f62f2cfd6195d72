"""A hostile pass on the snapshot's classes of state, and beyond them (issue 22): odd attribute types, shared objects,
cycles, views and aliases, in-place changes of dtype and shape, sparse, meta and inference tensors, RNGs and generators,
callbacks that replace what the learner holds, hooks of every kind, optimizer subclasses, compiled, scripted,
parametrized, pruned and lazy models, live objects, pathological graphs, the data boundary.

Each attack is one test case; `ATTACKS` changes something during the run and checks, after `lr_find`, that it came back
(beyond `capture`'s own checks); the rest are tests of their own."""
import array,collections,dataclasses,gc,logging,random,threading,types,warnings,weakref
from functools import partial
import numpy as np,pandas as pd,pytest,torch
from torch import nn
from fastai.basics import Learner,DataLoaders,Callback,L,MSELossFlat
from fastai.data.load import DataLoader as FaDataLoader
from fastai.optimizer import OptimWrapper,Adam
import lrfind_ext
import lrfind_ext.snapshot as snapshot
from lrfind_ext.snapshot import Snapshot
from lrf_testutils import *

pytestmark = pytest.mark.filterwarnings('ignore::UserWarning', 'ignore::DeprecationWarning', 'ignore::FutureWarning')

class Harm(Callback):
    "Calls `f(self)` at `event`, once"
    order = 65
    def __init__(self, f, event='before_fit'): self.f,self.done = f,False; setattr(self, event, self._hit)
    def _hit(self):
        if not self.done: self.done = True; self.f(self)

def _lr_find(learn, harm=None, event='before_fit', check=True, **kw):
    "lr_find with `harm` done during the run; assert `capture` sees everything back"
    if harm is not None: learn.add_cb(Harm(harm, event))
    with learn.no_bar():
        before = capture(learn) if check else None
        res = learn.lr_find(**{'num_it':8, 'show_plot':False, 'stop_div':False, **kw})
        if check: assert diff(before, capture(learn)) == []
    return res

def _opt(learn, opt_func):
    learn.opt_func = opt_func
    return learn

class Slotted:
    __slots__ = ('n','xs','unset')
    def __init__(self): self.n,self.xs = 0,[1]

@dataclasses.dataclass(frozen=True)
class Frozen: xs:list; n:int=0

class Node:
    def __init__(self, nxt=None): self.nxt,self.v = nxt,0

class Picky:
    "Slots, and a `__getattr__` that raises KeyError for any other name (as some dict-like objects do)"
    __slots__ = ('d',)
    def __init__(self): self.d = {}
    def __getattr__(self, k): raise KeyError(k)

class Shouty(dict):
    "A dict subclass with attributes of its own"

class Holder(Callback):
    "Callback state: whatever it is given"
    def __init__(self, thing): self.thing = thing

def _plain_attack(make, harm, check, event='before_fit'):
    "An attack on an object `make()` a callback holds: `harm(obj, cb)` during the run, `check(obj)` after"
    def _run():
        learn = synth(cbs=Holder(make()))
        obj = learn.holder.thing
        _lr_find(learn, lambda cb: harm(learn.holder.thing, cb), event)
        assert learn.holder.thing is obj and check(obj)
    return _run

def _t(): return torch.arange(4.)

ATTACKS = {
    # odd attribute types
    'slots-object': _plain_attack(lambda: Slotted(), lambda o,cb: (setattr(o, 'n', 5), o.xs.append(2), setattr(o, 'unset', 1)),
                                  lambda o: o.n==0 and o.xs==[1] and not hasattr(o, 'unset')),
    'frozen-dataclass-forced': _plain_attack(lambda: Frozen([1]), lambda o,cb: (object.__setattr__(o, 'n', 3), o.xs.append(2)),
                                             lambda o: o == Frozen([1])),
    'dict-subclass-with-attributes': _plain_attack(lambda: Shouty(a=1), lambda o,cb: (o.update(b=2), setattr(o, 'tag', 'x')),
                                                   lambda o: o == {'a':1} and not hasattr(o, 'tag')),
    'counter-chainmap-ordereddict': _plain_attack(lambda: [collections.Counter(a=1), collections.ChainMap({'a':1}), collections.OrderedDict(a=1, b=2)],
                                   lambda o,cb: (o[0].update(a=5), o[1].maps.insert(0, {'a':2}), o[2].move_to_end('a')),
                                   lambda o: o[0]==collections.Counter(a=1) and o[1]['a']==1 and list(o[2])==['a','b']),
    'bytearray-and-deque-maxlen': _plain_attack(lambda: [bytearray(b'ab'), collections.deque([1,2], maxlen=2)],
                                  lambda o,cb: (o[0].extend(b'cd'), o[1].append(3)),
                                  lambda o: o[0]==bytearray(b'ab') and list(o[1])==[1,2] and o[1].maxlen==2),
    'array-module-array': _plain_attack(lambda: array.array('d', [1.,2.]), lambda o,cb: o.append(3.),
                                        lambda o: list(o)==[1.,2.]),
    'object-class-changed': _plain_attack(lambda: Node(), lambda o,cb: setattr(o, '__class__', type('Other', (Node,), {})),
                                          lambda o: type(o) is Node),
    'defaultdict-factory-changed': _plain_attack(lambda: collections.defaultdict(list), lambda o,cb: (setattr(o, 'default_factory', dict), o['k']),
                                                 lambda o: o.default_factory is list and dict(o)=={}),
    'numpy-object-array': _plain_attack(lambda: np.array([[1], 'x', None], dtype=object), lambda o,cb: (o[0].append(2), o.__setitem__(1, 'y')),
                                        lambda o: o[0]==[1] and o[1]=='x'),
    'partial-keywords-and-bound-method': _plain_attack(lambda: [partial(int, base=2), Node().__init__], lambda o,cb: (o[0].keywords.update(base=8), setattr(o[1].__self__, 'v', 9)),
                                        lambda o: o[0].keywords=={'base':2} and o[1].__self__.v==0),
    'getattr-that-raises': _plain_attack(lambda: Picky(), lambda o,cb: o.d.update(x=1), lambda o: o.d=={}),
    'magic-mock-claims-to-be-an-iterator': _plain_attack(lambda: __import__('unittest.mock').mock.MagicMock(), lambda o,cb: (o(1), o.child(2)),
                                lambda o: o.call_count==1), # (it has `__next__`: kept by reference, as iterators are)
    # shared objects and cycles
    'cycles': _plain_attack(lambda: [], lambda o,cb: (o.append(o), o.append(cb.learn)), lambda o: o==[]),
    'long-linked-list': _plain_attack(lambda: _chain(20_000), lambda o,cb: setattr(_last(o), 'v', 1), lambda o: _last(o).v==0),
    # tensors: views, aliases, dtype and shape in place, layouts
    'tensor-resized-in-place': _plain_attack(lambda: _t(), lambda o,cb: o.resize_(10).fill_(7), lambda o: o.tolist()==[0.,1.,2.,3.]),
    'tensor-dtype-changed-in-place': _plain_attack(lambda: _t(), lambda o,cb: setattr(o, 'data', o.data.double()*2), lambda o: o.dtype==torch.float32 and o.tolist()==[0.,1.,2.,3.]),
    'tensor-as-dict-key': _plain_attack(lambda: {_t(): 1}, lambda o,cb: next(iter(o)).add_(1), lambda o: next(iter(o)).tolist()==[0.,1.,2.,3.]),
    'tensor-subclass-metadata': _plain_attack(lambda: _meta_tensor(), lambda o,cb: (o.__dict__.update(tag='run'), o.mul_(3)),
                                              lambda o: o.tag=='before' and o.tolist()==[0.,1.,2.,3.]),
    'sparse-tensor': _plain_attack(lambda: torch.eye(3).to_sparse(), lambda o,cb: o.mul_(5), lambda o: torch.equal(o.to_dense(), torch.eye(3))),
    'meta-tensor': _plain_attack(lambda: types.SimpleNamespace(t=torch.empty(3, device='meta')), lambda o,cb: setattr(o.t, 'tag', 1),
                                 lambda o: not hasattr(o.t, 'tag') and o.t.is_meta),
    'self-overlapping-tensors': lambda: _self_overlapping(),
    'inference-tensor': _plain_attack(lambda: _inference_t(), lambda o,cb: _in_inference(o.add_, 1), lambda o: o.tolist()==[0.,1.,2.,3.]),
    'leaf-tensor-grad-and-retain': _plain_attack(lambda: torch.ones(2, requires_grad=True), lambda o,cb: (o*2).sum().backward(),
                                                 lambda o: o.grad is None),
    'requires-grad-of-plain-tensor': _plain_attack(lambda: torch.ones(2), lambda o,cb: o.requires_grad_(), lambda o: not o.requires_grad),
    # RNGs and generators
    'python-numpy-torch-rngs': _plain_attack(lambda: [random.Random(0), np.random.default_rng(0), np.random.RandomState(0), torch.Generator().manual_seed(0)],
                                  lambda o,cb: (o[0].random(), o[1].random(), o[2].rand(), torch.rand(1, generator=o[3])),
                                  lambda o: o[0].random()==random.Random(0).random() and o[1].random()==np.random.default_rng(0).random()
                                            and o[2].rand()==np.random.RandomState(0).rand() and torch.equal(torch.rand(1, generator=o[3]), torch.rand(1, generator=torch.Generator().manual_seed(0)))),
    'python-generator-kept': _plain_attack(lambda: (i for i in range(10)), lambda o,cb: next(o), lambda o: next(o)==1), # (its position is not state we can put back: documented)
    # live objects: kept by reference, and nothing breaks
    'locks-threads-loggers-files-weakrefs': _plain_attack(lambda: [threading.Lock(), threading.Event(), logging.getLogger('lrf-test'), weakref.WeakValueDictionary(), open(__file__)],
                                  lambda o,cb: (o[1].set(), o[2].setLevel(logging.ERROR)),
                                  lambda o: o[1].is_set() and o[2].level==logging.ERROR and not o[4].closed),
    'pandas-frame-is-data': _plain_attack(lambda: pd.DataFrame({'a':[1,2]}), lambda o,cb: o.__setitem__('a', [5,6]), lambda o: o['a'].tolist()==[5,6]),
}

def _chain(n):
    o = None
    for _ in range(n): o = Node(o)
    return o

def _last(o):
    while o.nxt is not None: o = o.nxt
    return o

def _meta_tensor():
    from fastai.torch_core import TensorBase
    t = TensorBase(torch.arange(4.))
    t.tag = 'before'
    return t

def _self_overlapping():
    """Tensors whose elements share memory (`expand`, an overlapping `as_strided`) in a callback and in a DataLoader's batch
    transforms (as fastai's `Flip` keeps one): unchanged, written through a view, given new data"""
    from fastai.data.transforms import Transform
    def mk(): return [torch.arange(4.).expand(3,4), torch.arange(4.).expand(3,4), torch.arange(4.).expand(3,4),
                      torch.arange(6.).as_strided((3,3), (1,1))]
    tfm = Transform(lambda x: x)
    tfm.pts = mk()
    learn = synth(cbs=Holder(mk()))
    learn.dls.train.after_batch.add(tfm)
    def harm(cb):
        for ts in (learn.holder.thing, tfm.pts): ts[1][0].add_(1); ts[2].data = torch.ones(2); ts[3][0].fill_(9)
    _lr_find(learn, harm)
    for ts in (learn.holder.thing, tfm.pts):
        assert [t.stride() for t in ts] == [(0,1)]*3+[(1,1)] and all(torch.equal(t, u) for t,u in zip(ts, mk()))

def _inference_t():
    with torch.inference_mode(): return torch.arange(4.)

def _in_inference(f, *a):
    with torch.inference_mode(): f(*a)

@pytest.mark.parametrize('name', list(ATTACKS))
def test_attack(name):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        ATTACKS[name]()

def test_shared_between_model_and_callback():
    "One list held by the model and a callback, grown during the run: back once, still one object"
    shared = [0]
    class Holder(Callback):
        def __init__(self): self.xs = shared
    learn = synth(cbs=Holder())
    learn.model.xs = shared
    _lr_find(learn, lambda cb: shared.append(1))
    assert learn.model.xs is shared and learn.holder.xs is shared and shared == [0]

def test_view_of_a_parameter():
    "A callback's view of a parameter stays a view of it, with the parameter's old values"
    class Viewer(Callback):
        def __init__(self): self.v = None
    learn = synth()
    cb = Viewer()
    learn.add_cb(cb)
    cb.v = learn.model.a.detach()[:]
    a0 = learn.model.a.item()
    _lr_find(learn, lambda c: c.learn.model.a.data.add_(1))
    assert cb.v.item() == a0 and cb.v.data_ptr() == learn.model.a.data_ptr()

# ---- callbacks that replace what the learner holds ----

def test_callback_replaces_loss_and_mutates_the_old_one():
    class Ls(nn.Module):
        def __init__(self): super().__init__(); self.calls = []
        def forward(self, p, y): self.calls.append(1); return ((p-y)**2).mean()
    learn = synth()
    old = learn.loss_func = Ls()
    def harm(cb): old.calls.append('x'); cb.learn.loss_func = MSELossFlat()
    _lr_find(learn, harm)
    assert learn.loss_func is old and old.calls == []

def test_callback_replaces_a_parameter():
    "A parameter swapped for a new one: the old one back in the module and in the optimizer, with its state"
    learn = synth()
    with learn.no_bar(), learn.no_logging(): learn.fit(1)
    a = learn.model.a
    _lr_find(learn, lambda cb: setattr(cb.learn.model, 'a', nn.Parameter(torch.zeros(1))))
    assert learn.model.a is a and any(p is a for p in learn.opt.param_lists[0]) and a in learn.opt.state

def test_callback_grows_the_pipeline_and_param_lists():
    "A DataLoader's batch transforms and the optimizer's parameter lists, grown in place"
    from fastai.data.transforms import Transform
    learn = synth()
    learn.create_opt()
    n_tfms,n_ps = len(learn.dls.train.after_batch.fs),len(learn.opt.param_lists[0])
    def harm(cb):
        cb.learn.dls.train.after_batch.add(Transform(lambda x: x))
        cb.learn.opt.param_lists[0].append(nn.Parameter(torch.zeros(1)))
    _lr_find(learn, harm)
    assert len(learn.dls.train.after_batch.fs) == n_tfms and len(learn.opt.param_lists[0]) == n_ps

# ---- hooks of every kind ----

def test_global_optimizer_hooks_removed():
    "torch's global optimizer step hooks (`register_optimizer_step_pre_hook`) registered during the run go"
    import torch.optim.optimizer as O
    learn = _opt(synth(), partial(OptimWrapper, opt=torch.optim.SGD))
    learn.create_opt()
    def harm(cb):
        O.register_optimizer_step_pre_hook(lambda *a: None)
        O.register_optimizer_step_post_hook(lambda *a: None)
        cb.learn.opt.opt.register_step_pre_hook(lambda *a: None)
    _lr_find(learn, harm, 'before_batch')
    assert not O._global_optimizer_pre_hooks and not O._global_optimizer_post_hooks and not learn.opt.opt._optimizer_step_pre_hooks

def test_hooks_on_a_callbacks_own_tensor():
    "Hooks put on a callback's own trainable tensor during the run (both kinds) go, and stop firing"
    fired = Log()
    learn = synth(cbs=Holder(torch.ones(2, requires_grad=True)))
    t = learn.holder.thing
    def harm(cb):
        t.register_hook(lambda g: fired.append(1))
        t.register_post_accumulate_grad_hook(lambda p: fired.append(2))
        (t*2).sum().backward()
    _lr_find(learn, harm)
    assert fired == [1,2] and t.grad is None
    (t*2).sum().backward()
    assert fired == [1,2]

@pytest.mark.parametrize('how', ['parametrize', 'weight_norm', 'prune', 'spectral_norm'])
def test_model_surgery_during_the_run(how):
    "torch's model surgery during the run (a parametrization, weight norm, pruning, spectral norm): the model comes back as it was"
    import torch.nn.utils.parametrize as P, torch.nn.utils.prune as prune
    learn = digits()
    lin = learn.model[0]
    w,cls = lin.weight,type(lin)
    def harm(cb):
        if how=='parametrize': P.register_parametrization(lin, 'weight', nn.Identity())
        elif how=='weight_norm': torch.nn.utils.parametrizations.weight_norm(lin)
        elif how=='prune': prune.l1_unstructured(lin, 'weight', amount=0.5)
        else: torch.nn.utils.spectral_norm(lin)
    _lr_find(learn, harm)
    assert type(lin) is cls and lin.weight is w and list(lin._parameters) == ['weight','bias'] and not lin._buffers
    assert not lin._forward_pre_hooks and not hasattr(lin, 'parametrizations')

# ---- optimizer subclasses ----

class CountingSGD(torch.optim.SGD):
    "A torch optimizer subclass with state of its own, outside `state`"
    def __init__(self, *a, **k): super().__init__(*a, **k); self.steps,self.log = 0,[]
    def step(self, closure=None): self.steps += 1; self.log.append(self.steps); return super().step(closure)

def test_torch_optimizer_subclass_state():
    learn = _opt(synth(), partial(OptimWrapper, opt=partial(CountingSGD, momentum=0.9)))
    with learn.no_bar(), learn.no_logging(): learn.fit(1)
    o = learn.opt.opt
    steps,log = o.steps,list(o.log)
    _lr_find(learn)
    assert o.steps == steps and o.log == log

def test_fastai_optimizer_subclass_state():
    from fastai.optimizer import Optimizer,sgd_step
    class Tracked(Optimizer):
        def __init__(self, ps, lr): super().__init__(ps, [sgd_step], lr=lr); self.norms = []
        def step(self, *a, **k): self.norms.append(1); super().step(*a, **k)
    learn = _opt(synth(), Tracked)
    with learn.no_bar(), learn.no_logging(): learn.fit(1)
    n = len(learn.opt.norms)
    _lr_find(learn)
    assert len(learn.opt.norms) == n

# ---- models: lazy (scripted and compiled ones: test_state's matrix) ----

def _with_model(f):
    def _mk():
        learn = digits()
        learn.model = f(learn.model)
        return learn
    return _mk

def test_lazy_model_stays_lazy():
    "A lazy module materialised by the run's first batch: uninitialised again after lr_find (fit trains as without it: test_state's matrix)"
    mk = _with_model(lambda m: nn.Sequential(nn.LazyLinear(32), nn.ReLU(), nn.Linear(32,10)))
    learn = mk()
    _lr_find(learn, check=False) # (capture can't copy an uninitialised parameter)
    assert isinstance(learn.model[0], nn.LazyLinear) and isinstance(learn.model[0].weight, nn.parameter.UninitializedParameter)

# ---- the restore itself ----

def test_a_container_whose_restore_raises():
    "A dict subclass whose `clear` raises: that step fails and says so; every other one is still done"
    class Stubborn(dict):
        def clear(self): raise RuntimeError('no')
    learn = synth()
    learn.model.d = Stubborn(a=1)
    learn.model.xs = [1]
    learn.add_cb(Harm(lambda cb: (learn.model.d.__setitem__('b', 2), learn.model.xs.append(2))))
    with learn.no_bar(), pytest.raises(RuntimeError, match='could not put back all'): learn.lr_find(num_it=8, show_plot=False)
    assert learn.model.xs == [1]

class Sulky(list):
    "A list that refuses to be sliced"
    def __getitem__(self, i): raise TypeError('no slicing')

def test_an_object_that_cannot_be_saved():
    "An object the snapshot can't save is kept by reference, with a warning naming it; lr_find runs, the rest comes back"
    learn = synth(cbs=Holder(Sulky([1])))
    learn.model.xs = [1]
    learn.add_cb(Harm(lambda cb: learn.model.xs.append(2)))
    with learn.no_bar(), pytest.warns(UserWarning, match='could not save a Sulky'): learn.lr_find(num_it=8, show_plot=False)
    assert learn.model.xs == [1]

def test_walk_limit_warns_on_a_pathological_graph(monkeypatch):
    "Beyond `deep_limit` objects, a warning; what was walked (the learner's own attributes first) still comes back"
    monkeypatch.setattr(snapshot, 'deep_limit', 50)
    learn = synth()
    learn.model.many = [[i] for i in range(200)]
    learn.add_cb(Harm(lambda cb: setattr(cb.learn, 'lr', 99.)))
    with learn.no_bar(), pytest.warns(UserWarning, match='deep_limit'): learn.lr_find(num_it=8, show_plot=False)
    assert learn.lr != 99.

def test_restore_twice_refused():
    learn = synth()
    snap = Snapshot(learn)
    snap.restore()
    with pytest.raises(RuntimeError, match='restored already'): snap.restore()

# ---- the data boundary: the data is not copied ----

def _snap_bytes(learn)->int:
    "Bytes of the CPU copies a snapshot of `learn` holds"
    from lrfind_ext.snapshot import _TCopy
    w = Snapshot(learn).walk
    return sum(f.func.__self__.c.nbytes for f in w.vals if isinstance(getattr(f.func, '__self__', None), _TCopy)) + \
           sum(f.args[1].nbytes for f in w.vals if f.func is snapshot._put_array)

def test_datasets_not_copied():
    "A 4 MB TensorDataset, a fastai DataLoader over a plain list, a DataFrame: none is copied (the model's 100 bytes are)"
    x = torch.randn(100_000, 10)
    ds = torch.utils.data.TensorDataset(x, x[:,:1])
    items = [(torch.randn(10), torch.randn(1)) for _ in range(2000)]
    learn = Learner(DataLoaders(torch.utils.data.DataLoader(ds, batch_size=64), FaDataLoader(items, bs=64)), nn.Linear(10,1), loss_func=MSELossFlat())
    learn.model.frame = pd.DataFrame(np.zeros((100_000, 5)))
    assert _snap_bytes(learn) < 1000

def test_tabular_and_vision_data_not_copied():
    "fastai's tabular and vision learners: the snapshot copies the model (and what the loaders hold), never the items"
    from lrfind_ext.examples import cancer_tabular_learner,digits_vision_learner
    for learn in (cancer_tabular_learner(), digits_vision_learner()):
        model = sum(t.nbytes for t in learn.model.state_dict().values())
        assert _snap_bytes(learn) < model + 10_000
