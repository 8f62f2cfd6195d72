"""`lr_find` leaves the learner exactly as it found it, bit for bit, however the run ends; writes no file; opens no figure.

The key property: `lr_find` then `fit_one_cycle` trains exactly as `fit_one_cycle` alone."""
import copy,functools,os,random,signal,tempfile
from functools import partial
from pathlib import Path
import numpy as np,pytest,torch
from torch import nn
import torch.nn.functional as F
from torch.utils.data import DataLoader,TensorDataset
import matplotlib,matplotlib.pyplot as plt
from fastai.basics import Learner,DataLoaders,MSELossFlat,set_seed,SGD
from fastai.callback.training import GradientAccumulation
from fastai.optimizer import OptimWrapper
from fastcore.foundation import L
import lrfind_ext
from lrfind_ext.examples import cancer_tabular_learner
from lrfind_ext.setups import CPUMixedPrecision
from lrfind_ext.finder import fastai_lr_find
from lrfind_ext.snapshot import Snapshot
from lrf_testutils import *

pytestmark = pytest.mark.filterwarnings('ignore::UserWarning')

from fastai.optimizer import ranger
OPTS = {'fastai-adam': {}, 'adamw-wrapper': dict(wrap=torch.optim.AdamW),
        'sgd-wrapper': dict(wrap=partial(torch.optim.SGD, momentum=0.9)),
        'ranger-lookahead': dict(opt_func=ranger), # fastai's Lookahead(RAdam): an optimizer wrapping another
        'prebuilt-wrapper': dict(opt_func=lambda ps, lr: OptimWrapper(opt=torch.optim.RMSprop([p for g in ps for p in g]
                                 if isinstance(ps[0], list) else list(ps), lr=lr, momentum=0.5)))} # an already built torch optimizer

def _used(opt='fastai-adam', create_opt=True, extra_cbs=(), **kwargs):
    "A digits learner with BatchNorm and Dropout, optimizer state, gradients, a module in eval mode and a custom lr"
    learn = digits(arch='bn', dropout=True, **OPTS[opt], **kwargs)
    learn.add_cbs([Counter(), *extra_cbs])
    learn.lr = 3e-3
    if create_opt:
        learn.create_opt()
        xb,yb = learn.dls.one_batch()
        for _ in range(2):
            learn.opt.zero_grad()
            learn.loss_func(learn.model(xb), yb).backward()
            learn.opt.step()
        learn.loss_func(learn.model(xb), yb).backward() # leave gradients behind
    learn.model[1].eval() # BatchNorm in eval mode, the rest in training mode
    return learn

def _check_restored(learn, before, stop=None):
    assert diff(before, capture(learn)) == []
    if stop: assert learn.recorder.lr_curve.stop == stop, learn.recorder.lr_curve

# ---- everything restored, in every way a run can end ----

SCENARIOS = {
    'normal':      (dict(stop_div=False), None, 'num_it'),
    'diverges':    (dict(start_lr=1e-2, end_lr=1e4), None, 'diverged'),
    'nan-loss':    (dict(loss='nan'), None, 'nonfinite'),
    'inf-loss':    (dict(loss='inf'), None, 'nonfinite'),
    'nan-no-stop': (dict(loss='nan', stop_div=False), None, 'num_it'),
    'callback-raises': (dict(cb=lambda: RaiseAt(4, RuntimeError('callback failed'))), RuntimeError, 'error'),
    'model-raises':    (dict(model_exc=ValueError('forward failed')), ValueError, 'error'),
    'keyboard-interrupt': (dict(cb=lambda: RaiseAt(4, KeyboardInterrupt())), KeyboardInterrupt, 'interrupted'),
    'interrupt-before-first-step': (dict(cb=lambda: RaiseAt(1, KeyboardInterrupt(), 'before_batch')), KeyboardInterrupt, 'interrupted'),
}

@pytest.mark.parametrize('opt', list(OPTS))
@pytest.mark.parametrize('scenario', list(SCENARIOS))
def test_state_restored(opt, scenario):
    kw,exc,stop = SCENARIOS[scenario]
    kw = dict(kw)
    extra = [kw.pop('cb')()] if 'cb' in kw else []
    learn = _used(opt, extra_cbs=extra)
    if 'loss' in kw: learn.loss_func = nan_after(learn.loss_func, 5, float(kw.pop('loss')))
    if 'model_exc' in kw: learn.model = FailingModule(learn.model, 4, kw.pop('model_exc'))
    with learn.no_bar():
        before = capture(learn)
        if exc is None: learn.lr_find(num_it=20, show_plot=False, **kw)
        else:
            with pytest.raises(exc): learn.lr_find(num_it=20, show_plot=False, **kw)
        _check_restored(learn, before, stop)

def test_exception_propagates_unchanged():
    "The very exception raised inside the run reaches the caller, with its traceback, after the restore"
    err = RuntimeError('boom')
    learn = _used(extra_cbs=[RaiseAt(3, err)])
    w = weights(learn)
    with learn.no_bar(), pytest.raises(RuntimeError) as ei: learn.lr_find(num_it=20, show_plot=False)
    assert ei.value is err and any(tb.name=='_hit' for tb in ei.traceback)
    assert same_weights(w, weights(learn))

def test_opt_none_stays_none():
    "No optimizer before (even with per-group learning rates to check): none after"
    learn = _used(create_opt=False, splitter=two_groups)
    assert learn.opt is None
    with learn.no_bar():
        before = capture(learn)
        learn.lr_find(start_lr=[1e-7,1e-6], end_lr=[1.,10.], num_it=12, show_plot=False)
        assert learn.opt is None
        _check_restored(learn, before)

def test_frozen_groups_restored():
    "A frozen model (2 parameter groups, `requires_grad` off for the first) comes back frozen, with its optimizer"
    learn = _used(create_opt=False, splitter=two_groups)
    learn.freeze()
    with learn.no_bar():
        before = capture(learn)
        learn.lr_find(num_it=12, show_plot=False)
        _check_restored(learn, before)
    assert not any(p.requires_grad for p in learn.model[0].parameters())

def test_restore_with_progress_bar():
    "With the progress bar on (its callback keeps state during fit), callbacks and their attributes come back"
    learn = _used()
    before = capture(learn)
    learn.lr_find(num_it=12, show_plot=False)
    _check_restored(learn, before)

def test_callbacks_added_during_fit_removed():
    "A callback that adds another one during fit: the list and the learner's attributes come back as they were"
    from fastai.callback.core import Callback
    class Child(Callback): pass
    class Parent(Callback):
        def before_fit(self): self.learn.add_cb(Child())
    learn = _used(extra_cbs=[Parent()])
    with learn.no_bar():
        before = capture(learn)
        learn.lr_find(num_it=12, show_plot=False)
        _check_restored(learn, before)
    assert not hasattr(learn, 'child')

def test_gradient_accumulation_smoke():
    "With fastai's GradientAccumulation: one point per optimizer step, and the learner restored"
    learn = digits(bs=16, cbs=GradientAccumulation(64))
    before = capture(learn)
    with learn.no_bar():
        before = capture(learn)
        res = learn.lr_find(num_it=10, show_plot=False, stop_div=False)
        _check_restored(learn, before, 'num_it')
    assert len(res.curve)==10

def test_snapshot_restores_directly():
    "`Snapshot` on its own: a fit on a fresh learner, then restore"
    learn = synth()
    before = capture(learn)
    snap = Snapshot(learn)
    with learn.no_bar(), learn.no_logging(): learn.fit(1, lr=0.1)
    assert learn.opt is not None and diff(before, capture(learn))
    snap.restore()
    assert diff(before, capture(learn)) == []

# ---- by class: whatever is reachable from the learner comes back, the same objects with their old contents ----

class _Warm(nn.Module):
    "Wraps a model with plain attributes its forward changes in place: a list, and a tensor counter (not a buffer) that warms the output up"
    def __init__(self, m): super().__init__(); self.m,self.seen,self.n = m,[],torch.zeros(())
    def forward(self, x):
        if self.training: self.seen.append(len(x)); self.n += 1
        return self.m(x)*(1-0.9**(self.n+1))

class _LossWithState(nn.Module):
    "Cross-entropy whose label smoothing decays with a counter kept in place; a list of calls; a trainable temperature"
    def __init__(self): super().__init__(); self.calls,self.n,self.temp = [],torch.zeros(()),nn.Parameter(torch.ones(()))
    def forward(self, pred, targ):
        if torch.is_grad_enabled(): self.calls.append(1); self.n += 1
        return F.cross_entropy(pred*self.temp, targ, label_smoothing=float(0.2*0.95**self.n))

def _with(learn, model=None, loss=None, **dl_attrs):
    if model is not None: learn.model = model(learn.model)
    if loss is not None: learn.loss_func = loss
    for k,v in dl_attrs.items(): setattr(learn.dls.train, k, v)
    return learn

def test_model_attributes_restored_in_place():
    "A model's own list and in-place tensor counter come back: the same objects, their old values"
    learn = _with(digits(), model=_Warm)
    m = learn.model
    seen,n = m.seen,m.n
    with learn.no_bar(): learn.lr_find(num_it=12, show_plot=False)
    assert m.seen is seen and m.n is n and m.seen == [] and m.n.item() == 0

def test_loss_module_restored():
    "A loss function that is a module: its list, its counter, and its parameter's grad (None before: None after)"
    learn = _with(digits(), loss=_LossWithState())
    lf = learn.loss_func
    with learn.no_bar(): learn.lr_find(num_it=12, show_plot=False)
    assert lf.calls == [] and lf.n.item() == 0 and lf.temp.grad is None and lf.temp.item() == 1

class _DlChanger(Callback):
    "Changes a DataLoader's own attributes in place: an array, a tensor, a list"
    def before_fit(self):
        dl = self.dls.train
        dl.wgts *= 2; dl.t.add_(1); dl.hist.append(1)

def test_dataloader_attributes_restored_in_place():
    w,t,h = np.ones(4),torch.zeros(2),[0]
    learn = _with(digits(cbs=_DlChanger()), wgts=w, t=t, hist=h)
    with learn.no_bar(): learn.lr_find(num_it=12, show_plot=False)
    dl = learn.dls.train
    assert dl.wgts is w and dl.t is t and dl.hist is h
    assert w.tolist() == [1.]*4 and t.tolist() == [0.,0.] and h == [0]

class _ParamHooks(Callback):
    "Registers hooks on the parameters themselves, of both kinds, which note when they fire"
    def __init__(self): self.fired = Log()
    def before_fit(self):
        for p in self.learn.model.parameters():
            p.register_hook(lambda g: self.fired.append('grad'))
            p.register_post_accumulate_grad_hook(lambda p: self.fired.append('post'))

def test_parameter_hooks_removed():
    "Hooks a callback put on parameters (`register_hook`, `register_post_accumulate_grad_hook`) go, and stop firing; the user's stay"
    learn,cb,mine = synth(),_ParamHooks(),[]
    learn.model.a.register_hook(lambda g: mine.append(1))
    learn.add_cb(cb)
    with learn.no_bar(): learn.lr_find(num_it=10, show_plot=False)
    n,k = len(cb.fired),len(mine)
    assert n and k and {'grad','post'} == set(cb.fired)
    learn.remove_cb(cb)
    xb,yb = learn.dls.one_batch()
    learn.loss_func(learn.model(xb), yb).backward()
    assert len(cb.fired) == n and len(mine) == k+1
    assert all(not p._backward_hooks or len(p._backward_hooks)==(p is learn.model.a) for p in learn.model.parameters())

def _opt_objects(opt)->list:
    "The optimizer's containers and tensors (not the parameters), as objects"
    res,todo,seen = [],[opt],set()
    while todo:
        o = todo.pop()
        if id(o) in seen or isinstance(o, nn.Parameter): continue
        seen.add(id(o))
        if isinstance(o, torch.Tensor): res.append(o)
        elif isinstance(o, dict): res.append(o); todo += list(o.values())
        elif isinstance(o, (list,L)): res.append(o); todo += list(o)
        elif isinstance(o, (OptimWrapper,torch.optim.Optimizer)) or type(o).__module__.startswith('fastai.optimizer'):
            todo += list(vars(o).values())
    return res

@pytest.mark.parametrize('opt', ['fastai-adam', 'adamw-wrapper', 'ranger-lookahead'])
def test_optimizer_same_objects(opt):
    "`learn.opt`'s hypers, param_lists and state (a torch optimizer's param_groups and state) come back as the same objects"
    learn = _used(opt)
    objs = _opt_objects(learn.opt)
    assert len(objs) > 10
    with learn.no_bar():
        before = capture(learn)
        learn.lr_find(num_it=12, show_plot=False)
        _check_restored(learn, before)
    after = _opt_objects(learn.opt)
    assert len(after) == len(objs) and all(a is b for a,b in zip(objs, after))

class _AddGroup(Callback):
    "Adds a parameter group to the torch optimizer behind `OptimWrapper`"
    def before_fit(self): self.opt.opt.add_param_group({'params': [nn.Parameter(torch.zeros(2))]})

def test_group_added_to_optimwrapper_goes():
    learn = _used('adamw-wrapper', extra_cbs=[_AddGroup()])
    with learn.no_bar():
        before = capture(learn)
        learn.lr_find(num_it=12, show_plot=False)
        _check_restored(learn, before)
    assert len(learn.opt.opt.param_groups) == 1

# ---- the restore itself: it finishes, and then lets go ----

@pytest.mark.parametrize('first', [None, 'KeyboardInterrupt'])
def test_ctrl_c_during_the_restore_waits(monkeypatch, first):
    "A Ctrl-C (SIGINT) that comes during the restore (sent from its first step here) is held back until every step has run"
    import lrfind_ext.snapshot as S
    real = S._set_autocast_state
    def _step(st):
        os.kill(os.getpid(), signal.SIGINT)
        real(st)
    monkeypatch.setattr(S, '_set_autocast_state', _step)
    learn = _used(extra_cbs=[RaiseAt(4, KeyboardInterrupt())] if first else [])
    with learn.no_bar():
        before = capture(learn)
        with pytest.raises(KeyboardInterrupt): learn.lr_find(num_it=12, show_plot=False)
        monkeypatch.undo()
        _check_restored(learn, before)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler

def _tensor_bytes(root, stop)->int:
    "Bytes of the tensors and arrays reachable from `root` (as the garbage collector sees it), not through `stop`, classes or modules"
    import gc,sys,types
    seen = {id(o) for o in stop} | {id(vars(m)) for m in list(sys.modules.values()) if m is not None}
    todo,res = [root],0
    while todo:
        o = todo.pop()
        if id(o) in seen or isinstance(o, (type,types.ModuleType)): continue
        seen.add(id(o))
        if isinstance(o, (torch.Tensor,np.ndarray)): res += o.nbytes
        todo += gc.get_referents(o)
    return res

def test_snapshot_lets_go_after_a_run_that_raised():
    "The exception's traceback keeps lr_find's frame, and so its snapshot, alive: restored, it holds no copy"
    learn = _used(extra_cbs=[RaiseAt(4, RuntimeError('boom'))])
    with learn.no_bar(), pytest.raises(RuntimeError) as ei: learn.lr_find(num_it=12, show_plot=False)
    tb,snaps = ei.value.__traceback__,[]
    while tb is not None:
        snaps += [o for o in tb.tb_frame.f_locals.values() if isinstance(o, Snapshot)]
        tb = tb.tb_next
    assert len(snaps) == 1
    held = _tensor_bytes(snaps[0], [learn])
    assert held == 0, f"the snapshot still holds {held:,} bytes of tensors"

def test_snapshot_holds_copies_until_restored():
    "(The measure above can fail: before its restore, a snapshot holds copies of the weights, grads and optimizer state)"
    learn = _used()
    snap = Snapshot(learn)
    w = sum(p.nbytes for p in learn.model.parameters())
    assert _tensor_bytes(snap, [learn]) >= 3*w # weights, grads, Adam's two averages
    snap.restore()
    assert _tensor_bytes(snap, [learn]) == 0

# ---- the key property: lr_find then fit trains exactly as fit alone, whatever the learner ----

class _Decay(Callback):
    "Callback state that shapes training: a loss scale it decays in place after each step"
    def __init__(self): self.scale = torch.ones(())
    def after_loss(self): self.learn.loss_grad = self.learn.loss_grad*self.scale
    def after_step(self): self.scale.mul_(0.98)

class OwnRngSampler(torch.utils.data.Sampler):
    "A sampler that shuffles with a NumPy generator of its own"
    def __init__(self, n, seed): self.n,self.rng = n,np.random.default_rng(seed)
    def __iter__(self): yield from self.rng.permutation(self.n).tolist()
    def __len__(self): return self.n

def _torch_dls_learner(own_sampler=False):
    "Plain PyTorch DataLoaders, the training one shuffling with its own `generator` (or a sampler with its own RNG)"
    torch.manual_seed(0)
    x = torch.randn(320, 5)
    ds = TensorDataset(x, x.sum(1, keepdim=True))
    kw = dict(sampler=OwnRngSampler(320, 1)) if own_sampler else dict(shuffle=True, generator=torch.Generator().manual_seed(1))
    dls = DataLoaders(DataLoader(ds, batch_size=16, **kw), DataLoader(ds, batch_size=64))
    return Learner(dls, nn.Sequential(nn.Linear(5,8), nn.ReLU(), nn.Linear(8,1)), loss_func=MSELossFlat())

def _model(f):
    "The digits learner with its model made by `f` from the plain one"
    return lambda: _with(digits(), model=f)

def _sentences(n=120, seed=0):
    "Short generated English texts"
    rng = np.random.default_rng(seed)
    subj,verb,obj = ['the cat','a dog','my friend','the teacher','our team'],['sees','likes','finds','takes','wants'],['the ball','a book','some food','the car','a tree']
    return [' '.join(f"{rng.choice(subj)} {rng.choice(verb)} {rng.choice(obj)} ." for _ in range(rng.integers(2, 5))) for _ in range(n)]

@functools.cache
def _lm_dls():
    "ULMFiT's language-model stage: `LMDataLoader`s on generated sentences (spaCy's tokenizer, in-process), never iterated"
    import pandas as pd
    from fastai.text.all import TextDataLoaders
    set_seed(0, reproducible=True)
    return TextDataLoaders.from_df(pd.DataFrame({'text':_sentences()}), text_col='text', is_lm=True, valid_pct=0.2, seed=0,
                                   bs=8, seq_len=12, num_workers=0)

def _lm_learner():
    "A small AWD-LSTM language model, on its own copy of the DataLoaders"
    from fastai.text.all import language_model_learner,AWD_LSTM,awd_lstm_lm_config,accuracy
    dls = copy.deepcopy(_lm_dls())
    set_seed(0, reproducible=True)
    return language_model_learner(dls, AWD_LSTM, config=dict(awd_lstm_lm_config, emb_sz=16, n_hid=32, n_layers=2),
                                  pretrained=False, metrics=accuracy)

def _workers(learn, n=2):
    for dl in learn.dls.loaders: dl.fake_l.num_workers = n
    return learn

_bn = partial(digits, arch='bn', dropout=True)
SETUPS = { # a fresh learner; options: pre_fit (a fit first: optimizer state), find_kw, find_exc (lr_find raises it)
    'plain': (digits, {}),
    'bn-dropout': (_bn, {}),
    'after-fit': (_bn, dict(pre_fit=True)),
    'optimwrapper-after-fit': (partial(_bn, wrap=torch.optim.AdamW), dict(pre_fit=True)),
    'ranger-lookahead-after-fit': (partial(_bn, opt_func=ranger), dict(pre_fit=True)),
    'diverging-lr_find': (_bn, dict(pre_fit=True, find_kw=dict(start_lr=1e-3, end_lr=1e4, num_it=60))),
    'interrupted-lr_find': (_bn, dict(pre_fit=True, find_exc=KeyboardInterrupt())),
    'linear-sweep-lr_find': (_bn, dict(pre_fit=True, find_kw=dict(mode='linear', start_lr=1e-4, end_lr=1., num_it=30))),
    'valid-mode-lr_find': (_bn, dict(pre_fit=True, find_kw=dict(valid=2, num_it=30))),
    'callback-state': (lambda: digits(cbs=_Decay()), {}),
    'model-warm-up-counter': (lambda: _with(digits(), model=_Warm), {}),
    'loss-module-state': (lambda: _with(digits(), loss=_LossWithState()), {}),
    'torch-dataloader-generator': (_torch_dls_learner, {}),
    'sampler-with-its-own-rng': (partial(_torch_dls_learner, own_sampler=True), {}),
    'scripted-model': (_model(torch.jit.script), {}),
    'compiled-model': (_model(lambda m: torch.compile(m, backend='eager')), {}), # (the eager backend: no compiler needed)
    'lazy-model': (_model(lambda m: nn.Sequential(nn.LazyLinear(32), nn.ReLU(), nn.Linear(32,10))), {}),
    'mixed-precision-cpu': (lambda: _bn(cbs=CPUMixedPrecision()), dict(pre_fit=True)),
    'bf16-autocast-cpu': (lambda: _bn(cbs=CPUMixedPrecision(amp_mode='bf16')), {}),
    'tabular': (lambda: no_workers(cancer_tabular_learner()), {}),
    'language-model': (_lm_learner, {}),
    'worker-processes': (lambda: _workers(_bn()), dict(pre_fit=True, find_kw={})), # and the full 100-step lr_find
}
_SLOW = ('language-model', 'worker-processes', 'compiled-model')

@pytest.mark.parametrize('setup', [pytest.param(s, marks=pytest.mark.slow) if s in _SLOW else s for s in SETUPS])
def test_lr_find_then_fit_as_fit_alone(setup):
    "lr_find then fit_one_cycle trains exactly as fit_one_cycle alone: weights, metrics and losses, bit for bit"
    mk,o = SETUPS[setup]
    assert same_fit(fit_after(mk, False, pre_fit=o.get('pre_fit', False)), fit_after(mk, True, **o))

def test_fastai_lr_find_does_change_fit(tmp_path):
    "The property above is not trivial: after fastai's own lr_find, fit trains differently"
    w0,_,_ = fit_after(_bn, False, pre_fit=True)
    learn = _bn()
    with learn.no_bar(), learn.no_logging():
        learn.path = tmp_path
        learn.fit(1, 1e-3)
        set_seed(42)
        fastai_lr_find(learn, num_it=30, show_plot=False)
        learn.fit_one_cycle(2, 1e-2)
    assert not same_weights(w0, weights(learn))

# ---- nothing written, nothing left behind ----

def _no_disk(monkeypatch):
    "Make every way fastai's lr_find writes its temporary model fail"
    def _fail(*a, **k): raise PermissionError('read-only file system (test)')
    monkeypatch.setattr(torch, 'save', _fail)
    monkeypatch.setattr(Learner, 'save', _fail)
    for n in ('TemporaryDirectory','mkdtemp','mkstemp','NamedTemporaryFile','TemporaryFile'): monkeypatch.setattr(tempfile, n, _fail)

def test_nothing_written(tmp_path):
    learn = synth(path=tmp_path)
    with learn.no_bar(): learn.lr_find(num_it=20, show_plot=False)
    assert list(tmp_path.rglob('*')) == []

def test_no_disk_access_needed(tmp_path, monkeypatch):
    "lr_find works when saving and temporary files are impossible; fastai's own lr_find does not"
    learn = synth(path=tmp_path)
    _no_disk(monkeypatch)
    w = weights(learn)
    with learn.no_bar():
        learn.lr_find(num_it=20, show_plot=False)
        assert same_weights(w, weights(learn)) and list(tmp_path.rglob('*')) == []
        with pytest.raises(PermissionError): fastai_lr_find(learn, num_it=20, show_plot=False)

def test_read_only_path(tmp_path):
    "A read-only learn.path works (as root, where chmod does not stop writes, nothing is written either)"
    ro = tmp_path/'ro'
    ro.mkdir()
    learn = synth(path=ro)
    os.chmod(ro, 0o555)
    try:
        with learn.no_bar(): res = learn.lr_find(num_it=20, show_plot=False)
        assert len(res.curve)>0 and list(ro.iterdir()) == []
    finally: os.chmod(ro, 0o755)

def test_no_temp_files(tmp_path, monkeypatch):
    "Nothing is left in (or written to) the temporary directory"
    tmp = tmp_path/'tmp'
    tmp.mkdir()
    monkeypatch.setattr(tempfile, 'tempdir', str(tmp))
    learn = synth(path=tmp_path/'learn')
    with learn.no_bar(): learn.lr_find(num_it=20, show_plot=False)
    assert list(tmp.iterdir()) == [] and not (tmp_path/'learn').exists()

def test_no_figure_without_show_plot():
    backend = matplotlib.get_backend()
    plt.close('all')
    learn = synth()
    with learn.no_bar(): res = learn.lr_find(num_it=20, show_plot=False)
    assert plt.get_fignums() == [] and matplotlib.get_backend() == backend
    learn.recorder.lr_result.plot()
    assert len(plt.get_fignums()) == 1 and matplotlib.get_backend() == backend

def test_csv_logger_writes_nothing(tmp_path):
    "A CSVLogger attached to the learner would write lr_find's fake epochs to history.csv: it stands aside"
    from fastai.callback.progress import CSVLogger
    from lrf_testutils import digits
    learn = digits(path=tmp_path, cbs=CSVLogger())
    with learn.no_bar():
        cbs = list(learn.cbs)
        learn.lr_find(show_plot=False)
        assert list(learn.cbs) == cbs and learn.csv_logger.learn is learn
    assert list(tmp_path.iterdir()) == []

# ---- issue 11 (reliability): hooks, requires_grad, grads' dtype, callback state, train-only data ----

def test_hooks_removed_when_the_run_raises():
    "ActivationStats hooks the model in before_fit; a loss that raises skips its after_fit: the hook goes anyway"
    from fastai.callback.hook import ActivationStats
    learn = synth(cbs=ActivationStats())
    def bad_loss(*a): raise RuntimeError('loss failed')
    learn.loss_func = bad_loss
    with learn.no_bar():
        before = capture(learn)
        with pytest.raises(RuntimeError, match='loss failed'): learn.lr_find(show_plot=False)
        _check_restored(learn, before, 'error')
    assert all(not o._forward_hooks for o in learn.model.modules())

def test_every_kind_of_hook_restored():
    "Module hooks of every kind (forward, pre, with kwargs, always called, backward, state-dict) and global ones"
    import torch.nn.modules.module as M
    class Hooker(Callback):
        def before_fit(self):
            m = self.learn.model
            m.register_forward_hook(lambda *a: None)
            m.register_forward_hook(lambda *a, **k: None, with_kwargs=True, always_call=True)
            m.register_forward_pre_hook(lambda *a: None)
            m.register_full_backward_hook(lambda *a: None)
            m.register_full_backward_pre_hook(lambda *a: None)
            m.register_state_dict_pre_hook(lambda *a: None)
            m.register_load_state_dict_post_hook(lambda *a: None)
            M.register_module_forward_hook(lambda *a: None)
            M.register_module_forward_pre_hook(lambda *a: None)
    learn = synth(cbs=Hooker())
    with learn.no_bar():
        before = capture(learn)
        learn.lr_find(num_it=10, show_plot=False)
        _check_restored(learn, before)
    assert before['global_hooks'] == global_hooks() and all(not v for v in global_hooks().values())
    assert M._global_is_full_backward_hook is None

class _Freezer(Callback):
    "Freezes the first parameter in before_fit, or calls learn.freeze() at batch 3"
    def __init__(self, how): self.how = how
    def before_fit(self):
        if self.how=='param': next(self.learn.model.parameters()).requires_grad_(False)
    def before_batch(self):
        if self.how=='freeze' and self.iter==3: self.learn.freeze()

@pytest.mark.parametrize('how', ['param', 'freeze'])
def test_requires_grad_restored(how):
    learn = _used(splitter=two_groups, extra_cbs=[_Freezer(how)])
    with learn.no_bar():
        before = capture(learn)
        learn.lr_find(num_it=12, show_plot=False)
        _check_restored(learn, before)
    assert all(p.requires_grad for p in learn.model.parameters())

def test_grads_keep_their_dtype():
    "A callback that casts the model to float64: weights and gradients both come back float32, with their values"
    class Double(Callback):
        def before_fit(self): self.learn.model.double()
    learn = synth(cbs=Double())
    xb,yb = learn.dls.one_batch()
    learn.loss_func(learn.model(xb), yb).backward() # gradients to keep
    with learn.no_bar():
        before = capture(learn)
        learn.lr_find(num_it=10, show_plot=False)
        _check_restored(learn, before)
    assert all(p.dtype==torch.float32 and p.grad.dtype==torch.float32 for p in learn.model.parameters())

class _Stateful(Callback):
    "Callback state a run changes in place: a tensor, a list, a nested dict, a namespace, an array, a set, an L"
    def __init__(self):
        from types import SimpleNamespace
        from fastcore.foundation import L
        self.t,self.l,self.d,self.ns = torch.zeros(3),[1],{'a':[1], 'b':(torch.ones(2),[0])},SimpleNamespace(n=0, xs=[])
        self.a,self.s,self.L = np.zeros(2),{1},L([1])
    def after_batch(self):
        self.t.add_(1); self.l.append(2); self.d['a'].append(3); self.d['b'][0].mul_(2); self.d['b'][1].append(1)
        self.d['new'] = 1; self.ns.n += 1; self.ns.xs.append(1); self.a += 1; self.s.add(2); self.L.append(5)

def test_callback_state_restored_deeply():
    "What a callback changes in place, however deep in plain containers, comes back: the same objects, their old values"
    cb = _Stateful()
    objs = [cb.t, cb.l, cb.d, cb.d['a'], cb.d['b'][0], cb.ns, cb.ns.xs, cb.a, cb.s, cb.L]
    learn = synth(cbs=cb)
    with learn.no_bar():
        before = capture(learn)
        learn.lr_find(num_it=10, show_plot=False)
        _check_restored(learn, before)
    assert all(a is b for a,b in zip(objs, [cb.t, cb.l, cb.d, cb.d['a'], cb.d['b'][0], cb.ns, cb.ns.xs, cb.a, cb.s, cb.L]))
    assert cb.t.tolist() == [0.,0.,0.] and cb.l == [1] and cb.d['a'] == [1] and 'new' not in cb.d
    assert cb.d['b'][0].tolist() == [1.,1.] and cb.d['b'][1] == [0]
    assert (cb.ns.n, cb.ns.xs, cb.a.tolist(), cb.s, list(cb.L)) == (0, [], [0.,0.], {1}, [1])

def test_callback_state_keeps_learner_and_model():
    "Deep restoring stops at what the snapshot restores itself: the learner, the model, the data, the optimizer"
    class Refs(Callback):
        def before_fit(self): self.refs = [self.learn, self.learn.model, self.learn.dls, self.learn.opt]
    learn = synth(cbs=Refs())
    cb = learn.cbs.filter(lambda o: isinstance(o, Refs))[0]
    with learn.no_bar(), learn.no_logging(): learn.fit(1)
    refs = list(cb.refs)
    with learn.no_bar(): learn.lr_find(num_it=10, show_plot=False)
    assert all(a is b for a,b in zip(cb.refs, refs))

def test_run_only_callbacks_keep_their_state():
    "Callbacks passed to lr_find(cbs=...) watch the run: their state is theirs, and they are gone after it"
    class Spy(Callback):
        order = 61
        def __init__(self): self.lrs = []
        def before_batch(self): self.lrs.append(self.opt.hypers[-1]['lr'])
    learn,spy = synth(),Spy()
    with learn.no_bar():
        before = capture(learn)
        res = learn.lr_find(num_it=10, show_plot=False, cbs=spy)
        _check_restored(learn, before)
    assert spy.lrs == res.curve.lrs.tolist() and spy not in learn.cbs

def test_train_only_dataloaders():
    "No validation set: fastai's fit fails on dls[1] after the first epoch; lr_find never validates, so it runs"
    learn = synth(n_trn=3) # 3 batches: 30 steps are 10 epochs
    learn.dls = DataLoaders(learn.dls.train)
    with learn.no_bar():
        before = capture(learn)
        res = learn.lr_find(num_it=30, stop_div=False, show_plot=False)
        _check_restored(learn, before)
    assert len(res.curve) == 30 and res.curve.stop == 'num_it'
    assert len(learn.dls.loaders) == 1

def test_promises_name_real_tests():
    "Every test the promises of nbs/05_snapshot.ipynb name exists (in tests/test_state.py unless the file is named)"
    import json,re
    root = Path(__file__).parent
    cells = json.loads((root.parent/'nbs'/'05_snapshot.ipynb').read_text())['cells']
    txt = next(''.join(c['source']) for c in cells if ''.join(c['source']).startswith('## The promises'))
    refs = re.findall(r'`(?:(test_\w+\.py)::)?(test_\w+)(?:\[[^\]]*\])?`', txt)
    assert len(refs) >= 25
    for fn,name in refs:
        assert f'def {name}(' in (root/(fn or 'test_state.py')).read_text(), (fn, name)
