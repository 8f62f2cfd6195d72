"""lr_find in the training setups users have: mixed precision, gradient accumulation, parameter groups and
discriminative learning rates, a validation loss, several processes (two CPU processes under fastai's `distrib_ctx`).
Each checks the curve (one point per optimizer step, at the schedule's learning rate), the suggestions, and that the
learner comes back exactly."""
import json,math,os,subprocess,sys,time,warnings
from pathlib import Path
from types import SimpleNamespace
import numpy as np,pytest,torch
from torch import nn
from torch.utils.data import DataLoader,TensorDataset
from fastai.basics import Callback,DataLoaders
from fastai.torch_core import find_bs
from fastai.callback.fp16 import MixedPrecision
from fastai.callback.training import GradientAccumulation
import lrfind_ext
from lrfind_ext.curve import LRCurve
from lrfind_ext.suggest import suggest_lrs
from lrfind_ext.finder import valid_sample
from lrfind_ext.snapshot import _autocast_state,_set_autocast_state,_ac_nesting
from lrfind_ext.setups import CPUMixedPrecision
from lrf_testutils import *
from lrf_testutils import _eq

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.filterwarnings('ignore::UserWarning', 'ignore::DeprecationWarning')

def sched(k, n, start=1e-7, end=10.): return start*(end/start)**(k/n)

class Events(Callback):
    """Per batch: each group's learning rate, the loss and batch size, whether the step was taken, skipped (or neither:
    an accumulated micro-batch), module flags, autocast. In a `Log`, which lr_find's restore leaves alone. Training
    batches only: `valid`'s sample batches run the events of the callbacks that run in validation, as in `validate`."""
    order,run_valid = 61,False
    def __init__(self): self.rows = Log()
    def before_batch(self):
        self.rows.append(dict(lrs=[h['lr'] for h in self.opt.hypers], step=None,
                              flags=[m.training for m in self.learn.model.modules()]))
    def after_pred(self): self.rows[-1]['autocast'] = torch.is_autocast_enabled('cpu')
    def after_loss(self): self.rows[-1].update(loss=float(self.learn.loss), bs=find_bs(self.yb))
    def after_cancel_step(self): self.rows[-1]['step'] = 'skipped'
    def after_step(self):
        if self.rows[-1]['step'] is None: self.rows[-1]['step'] = 'taken'
    def steps(self):
        "The batches grouped by optimizer step, the last of each the one that stepped (or was skipped)"
        res,cur = [],[]
        for r in self.rows:
            cur.append(r)
            if r['step']: res.append(cur); cur = []
        return res

def _run(learn, **kw):
    "lr_find on `learn`, checking that it comes back exactly; the result"
    with learn.no_bar():
        before = capture(learn)
        res = learn.lr_find(**{'show_plot':False, **kw})
        assert diff(before, capture(learn)) == []
    return res

def _suggests_from(res, lrs, losses):
    "The run's suggestions are those of a curve of exactly these points"
    c = res.curve
    ref = LRCurve(lrs, losses, num_it=c.num_it, stop=c.stop, skip_start=c.skip_start, skip_end=c.skip_end)
    assert [s.lr for s in suggest_lrs(ref, tuple(res._fields))] == list(res)
    assert all(math.isfinite(s.lr) and c.lrs[0] <= s.lr <= c.lrs[-1] for s in res.suggestions.values())

# ---- mixed precision ----

def test_fp16_skipped_steps_make_no_points():
    "float16 autocast and a real GradScaler on the CPU: the first steps overflow and are skipped; none is a point"
    ev = Events()
    learn = digits(cbs=[CPUMixedPrecision(init_scale=2.**24), ev])
    res = _run(learn, num_it=30, stop_div=False, suggest_funcs='all')
    crv,steps = res.curve,ev.steps()
    taken,skipped = [s[-1] for s in steps if s[-1]['step']=='taken'],[s[-1] for s in steps if s[-1]['step']=='skipped']
    assert len(skipped) >= 3 and len(taken) == len(crv) == 30 and all(r['autocast'] for r in ev.rows)
    assert (crv.run.skipped, crv.run.batches) == (len(skipped), len(ev.rows)) == (len(skipped), 30+len(skipped))
    assert crv.lrs.tolist() == [sched(k, 30) for k in range(30)] == [r['lrs'][-1] for r in taken]
    assert crv.losses.tolist() == [r['loss'] for r in taken]
    for a,b in zip(ev.rows, ev.rows[1:]): # a skipped step is tried again at the same learning rate
        if a['step']=='skipped': assert b['lrs'] == a['lrs']
    _suggests_from(res, [r['lrs'][-1] for r in taken], [r['loss'] for r in taken])
    assert not hasattr(learn, 'scaler') and 'skipped steps not counted' in res._stop_txt()

def test_bf16_autocast_on_cpu():
    "bfloat16 autocast for real (no scaler, nothing skipped): the curve of the float32 run, to bfloat16's precision"
    ev = Events()
    plain,learn = digits(),digits(cbs=[CPUMixedPrecision(amp_mode='bf16'), ev])
    r0,r1 = _run(plain, num_it=30, stop_div=False),_run(learn, num_it=30, stop_div=False)
    assert all(r['autocast'] and r['step']=='taken' for r in ev.rows) and len(ev.rows) == 30
    assert r1.curve.lrs.tolist() == r0.curve.lrs.tolist() and r1.curve.run.skipped == 0
    assert r1.curve.losses.tolist() != r0.curve.losses.tolist() # bfloat16 did compute
    np.testing.assert_allclose(r1.curve.losses[:24], r0.curve.losses[:24], rtol=0.01) # (before the loss blows up)
    _suggests_from(r1, r1.curve.lrs, r1.curve.losses)
    assert not torch.is_autocast_enabled('cpu')

@pytest.mark.parametrize('how', ['to_fp16', 'to_bf16'])
def test_fastai_mixed_precision_without_cuda(how):
    "fastai's own callback on a machine without CUDA: its autocast and scaler switch off, lr_find gives the plain curve"
    if torch.cuda.is_available(): pytest.skip("with CUDA, fastai's MixedPrecision really computes in half precision")
    plain,learn = digits(),getattr(digits(), how)()
    r0,r1 = _run(plain, num_it=30),_run(learn, num_it=30)
    assert r1.curve.losses.tolist() == r0.curve.losses.tolist() and tuple(r1) == tuple(r0)
    assert any(isinstance(cb, MixedPrecision) for cb in learn.cbs) and getattr(learn, 'scaler', None) is None

def test_autocast_closed_when_the_run_raises():
    "An exception inside a mixed-precision forward pass would leave autocast on for the session; lr_find closes it"
    st = _autocast_state()
    learn = digits(cbs=CPUMixedPrecision(amp_mode='bf16'))
    learn.model = FailingModule(learn.model, 5, RuntimeError('forward failed'))
    with learn.no_bar(), pytest.raises(RuntimeError, match='forward failed'): learn.lr_find(num_it=20, show_plot=False)
    assert _autocast_state() == st and not torch.is_autocast_enabled('cpu') and _ac_nesting() == 0
    learn.model.calls = 0 # fastai's own fit, failing the same way, leaves it on: the check above is not trivial
    try:
        with learn.no_bar(), learn.no_logging(), pytest.raises(RuntimeError): learn.fit(1)
        assert torch.is_autocast_enabled('cpu') and torch.get_autocast_dtype('cpu') == torch.bfloat16
    finally: _set_autocast_state(st)

class KeptScaler(CPUMixedPrecision):
    "A mixed-precision callback whose scaler lives across fits, held by another object, as Accelerate's `Accelerator` holds it"
    def __init__(self, **kw):
        super().__init__(**kw)
        self.accel = SimpleNamespace(scaler=torch.amp.GradScaler('cpu', init_scale=2.**24))
    def before_fit(self):
        super().before_fit()
        self.learn.scaler = self.accel.scaler

def _scaler_state(s): return {k:(v.clone() if isinstance(v, torch.Tensor) else v) for k,v in s.__dict__.items() if k!='_per_optimizer_states'}

class Peek(Callback):
    "The scale and growth tracker of `holder.scaler` at the end of each fit"
    def __init__(self, holder): self.holder,self.seen = holder,Log()
    def after_fit(self): self.seen.append((self.holder.scaler.get_scale(), int(self.holder.scaler._growth_tracker)))

@pytest.mark.parametrize('used', [False, True])
def test_scaler_kept_across_fits_restored(used):
    "A scaler that outlives the fit gets its scale and growth tracker back (whether it had been used yet or not)"
    cb = KeptScaler()
    peek = Peek(cb.accel)
    learn = digits(cbs=[cb, peek])
    sc = cb.accel.scaler
    if used:
        with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3)
    before,ids = _scaler_state(sc),(id(sc._scale),id(sc._growth_tracker))
    res = _run(learn, num_it=30, stop_div=False)
    if used: assert peek.seen[-1] != peek.seen[-2] # the run moved the scaler...
    else: assert res.curve.run.skipped >= 3 and peek.seen[-1][0] < 2.**24
    assert cb.accel.scaler is sc and (id(sc._scale),id(sc._growth_tracker)) == ids
    after = _scaler_state(sc)
    assert after.keys() == before.keys() and all(_eq(after[k], before[k]) for k in before) # ...and it came back
    assert (sc._scale is None) == (not used)

# ---- gradient accumulation ----

@pytest.mark.parametrize('case', ['even', 'uneven'])
def test_accumulation_one_point_per_step(case):
    """fastai's GradientAccumulation: num_it optimizer steps, the learning rate fixed within a step, the point's loss
    the size-weighted mean of its micro-batches (uneven: the epoch's short last batch joins a step)"""
    ev = Events()
    if case=='even': learn,n_acc,num_it = digits(bs=16, cbs=[GradientAccumulation(64), ev]),64,20
    else:
        learn,n_acc,num_it = digits(bs=16, cbs=[GradientAccumulation(32), ev]),32,50
        learn.dls.train.drop_last = False # 89 batches of 16 and one of 13: step 45 spans the epoch's end
    res = _run(learn, num_it=num_it, stop_div=False)
    crv,steps = res.curve,ev.steps()
    assert len(crv) == len(steps) == num_it and crv.run.batches == len(ev.rows) and crv.run.skipped == 0
    if case=='even': assert [len(s) for s in steps] == [4]*num_it
    else: assert any(len({r['bs'] for r in s})>1 for s in steps)
    for k,(s,lr,loss) in enumerate(zip(steps, crv.lrs, crv.losses)):
        assert [r['step'] for r in s] == [None]*(len(s)-1)+['taken'] and sum(r['bs'] for r in s[:-1]) < n_acc <= sum(r['bs'] for r in s)
        assert lr == sched(k, num_it) and all(r['lrs'][-1] == lr for r in s)
        assert loss == pytest.approx(sum(r['loss']*r['bs'] for r in s)/sum(r['bs'] for r in s), rel=1e-6)
    _suggests_from(res, crv.lrs, crv.losses)

# ---- parameter groups and discriminative learning rates ----

def test_frozen_groups_list_lrs():
    "A frozen two-group learner, lrs as lists: every group on its schedule, the last one recorded and named on the plot"
    ev = Events()
    learn = digits(splitter=two_groups, cbs=ev)
    learn.freeze()
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        res = _run(learn, start_lr=[1e-8, 1e-7], end_lr=[1., 10.], num_it=20, stop_div=False)
    assert not [o for o in w if 'frozen' in str(o.message)] # the group recorded trains
    assert [r['lrs'] for r in ev.rows] == [[sched(k, 20, 1e-8, 1.), sched(k, 20)] for k in range(20)]
    c = res.curve
    assert c.lrs.tolist() == [sched(k, 20) for k in range(20)]
    assert (c.run.group, c.run.n_groups, c.run.start_lr, c.run.end_lr) == (-1, 2, 1e-7, 10.)
    assert res.plot().axes[0].get_xlabel() == 'learning rate (parameter group 2 of 2)'
    assert not any(p.requires_grad for p in learn.model[0].parameters()) and learn.opt.frozen_idx == 1
    _suggests_from(res, c.lrs, c.losses)

def test_frozen_group_recorded_warns():
    learn = digits(splitter=two_groups)
    learn.freeze()
    with pytest.warns(UserWarning, match='group 0 is frozen'): res = _run(learn, num_it=12, group=0)
    assert res.curve.run.group == 0

def test_unfrozen_slices_group_choice():
    """Discriminative slices; recording the first group instead of the last changes only the x axis: the same losses,
    every suggestion a decade lower, the plot says which group"""
    learn = digits(splitter=two_groups)
    learn.freeze()
    learn.unfreeze()
    kw = dict(start_lr=slice(1e-8, 1e-7), end_lr=slice(1., 10.), num_it=40)
    last,first = _run(learn, **kw),_run(learn, group=0, **kw)
    assert first.curve.losses.tolist() == last.curve.losses.tolist() and first.curve.stop == last.curve.stop
    np.testing.assert_allclose(first.curve.lrs*10, last.curve.lrs, rtol=1e-12)
    assert list(first) == pytest.approx([v/10 for v in last], rel=1e-9)
    labels = [r.plot().axes[0].get_xlabel() for r in (first, last)]
    assert labels == ['learning rate (parameter group 1 of 2)', 'learning rate (parameter group 2 of 2)']
    assert all(p.requires_grad for p in learn.model.parameters())

def test_overlay_labels_say_group_and_loss():
    "The axis labels name the parameter group and the kind of loss when every run on the axes shares them"
    import matplotlib.pyplot as plt
    from lrfind_ext.curve import synth_curve
    from lrfind_ext.plot import plot_lr
    def crv(**kw): return synth_curve(noise=0.02).replace(start_lrs=(1e-9, 1e-7), end_lrs=(.1, 10.), **kw)
    fig,ax = plt.subplots()
    plot_lr(crv(mode='valid', group=0), ax=ax, label='a')
    assert (ax.get_xlabel(), ax.get_ylabel()) == ('learning rate (parameter group 1 of 2)', 'validation loss')
    plot_lr(crv(mode='valid', group=-1), ax=ax, label='b')
    assert (ax.get_xlabel(), ax.get_ylabel()) == ('learning rate', 'validation loss')
    plot_lr(crv(mode='train', group=-1), ax=ax, label='c')
    assert ax.get_ylabel() == 'loss'

# ---- validation loss ----

class KeepBNEval(Callback):
    "Keeps the BatchNorm layer in eval mode while training, as callbacks that freeze BatchNorm do"
    order = 1
    def before_train(self): self.learn.model[1].eval()

class Score(Callback):
    "Scores the model on `batches` after each optimizer step, independently of lr_find (eval mode, flags put back)"
    order = 70
    def __init__(self, batches): self.batches,self.scores = batches,Log()
    @torch.no_grad()
    def after_step(self):
        m = self.learn.model
        flags = [o.training for o in m.modules()]
        m.eval()
        tot = sum(float(self.learn.loss_func(m(*xb), *yb))*find_bs(yb) for xb,yb in self.batches)
        self.scores.append(tot/sum(find_bs(yb) for _,yb in self.batches))
        for o,f in zip(m.modules(), flags): o.training = f

def _val_learner(): return digits(arch='bn', dropout=True, cbs=KeepBNEval())

def test_valid_mode_scores_a_fixed_sample():
    learn = _val_learner()
    batches = valid_sample(learn, 2)
    sc = Score(batches)
    learn.add_cb(sc)
    res = _run(learn, num_it=30, stop_div=False, valid=2)
    c = res.curve
    assert len(c) == 30 and c.lrs.tolist() == [sched(k, 30) for k in range(30)]
    np.testing.assert_allclose(c.losses, sc.scores, rtol=1e-6)
    assert (c.run.mode, c.run.valid_batches, c.run.valid_items) == ('valid', 2, 128)
    assert res.plot().axes[0].get_ylabel() == 'validation loss' and 'validation loss on 128 items' in res._stop_txt()
    _suggests_from(res, c.lrs, c.losses)

def test_valid_mode_trains_as_the_plain_run():
    "Drawing the sample and scoring move no RNG and leave every module's mode: the same batches, dropout masks, losses"
    runs = []
    for valid in (None, 3):
        ev = Events()
        learn = _val_learner()
        learn.add_cb(ev)
        res = _run(learn, num_it=30, stop_div=False, valid=valid)
        runs.append((ev.rows, res))
    (r0,t),(r1,v) = runs
    assert [r['loss'] for r in r1] == [r['loss'] for r in r0] and len(r0) == 30
    assert [r['flags'] for r in r1] == [r['flags'] for r in r0]
    assert all(not r['flags'][2] and r['flags'][0] for r in r1) # BatchNorm in eval mode, the model in training mode
    assert t.curve.run.mode == 'train' and v.curve.run.mode == 'valid'
    assert v.curve.losses.tolist() != t.curve.losses.tolist()

def test_valid_scored_under_the_learners_autocast():
    "With mixed precision, the validation sample is scored under the same autocast as training, then autocast is off"
    learn = digits(cbs=CPUMixedPrecision(amp_mode='bf16'))
    seen = []
    learn.model[0].register_forward_hook(lambda m,i,o: seen.append((m.training, o.dtype, torch.is_grad_enabled())))
    res = _run(learn, num_it=20, stop_div=False, valid=2)
    scoring = [o for o in seen if not o[0]]
    assert len(scoring) == 2*20 and set(scoring) == {(False, torch.bfloat16, False)} # eval mode, bfloat16, no gradients
    assert {o[1] for o in seen if o[0]} == {torch.bfloat16}
    assert res.curve.run.mode == 'valid' and not torch.is_autocast_enabled('cpu')
    r32 = _run(digits(), num_it=20, stop_div=False, valid=2)
    np.testing.assert_allclose(res.curve.losses[:15], r32.curve.losses[:15], rtol=0.01) # (before it blows up)

def test_valid_forms_agree():
    "A number of batches, a PyTorch DataLoader over the same items, a list of batches: the same curve"
    learn = digits()
    ds = learn.dls.valid.dataset
    x,y = ds.tensors[0][:128],ds.tensors[1][:128]
    forms = {'n': 2, 'torch-dl': DataLoader(TensorDataset(x, y), batch_size=64), 'list': [(x[:64], y[:64]), (x[64:], y[64:])]}
    res = {k:_run(learn, num_it=20, valid=v) for k,v in forms.items()}
    for k in forms: assert res[k].curve.losses.tolist() == res['n'].curve.losses.tolist(), k
    with pytest.warns(UserWarning, match='has 6 batches'): r = _run(learn, num_it=20, valid=50)
    assert r.curve.run.valid_batches == 6 and r.curve.run.valid_items == 360

class TupleNet(nn.Module):
    "The digits MLP returning what fastai's RNNs return: the output, then lists of the raw and the dropped-out hidden states"
    def __init__(self, m): super().__init__(); self.m = m
    def forward(self, x):
        h = self.m[:-1](x)
        return self.m[-1](h),[h],[h]

def test_valid_through_after_pred():
    "The sample is scored as fastai's validation scores it, through the callbacks' `after_pred` (fastai's RNNCallback)"
    from fastai.callback.rnn import RNNCallback
    runs = {}
    for k,valid in (('plain',2),('tuple',2),('tuple-train',None)):
        learn = digits(cbs=RNNCallback() if k!='plain' else None)
        if k!='plain': learn.model = TupleNet(learn.model)
        ev = Events()
        learn.add_cb(ev)
        runs[k] = _run(learn, num_it=20, stop_div=False, valid=valid),ev.rows
    (p,pr),(t,tr),(_,r0) = runs.values()
    assert t.curve.run.mode == 'valid' and len(t.curve) == 20
    assert t.curve.losses.tolist() == p.curve.losses.tolist() # the first output scored, as without the tuple
    assert [r['loss'] for r in tr] == [r['loss'] for r in r0] == [r['loss'] for r in pr] # and the same training steps

@pytest.mark.parametrize('valid,exc,msg', [(0, ValueError, 'positive'), (True, TypeError, 'number of batches'),
    (0.5, TypeError, 'number of batches'), (object(), TypeError, 'number of batches'), ([], ValueError, 'no batches'),
    (2, ValueError, 'no validation data')])
def test_valid_bad_values(valid, exc, msg):
    learn = digits()
    if msg=='no validation data': learn.dls = DataLoaders(learn.dls.train, device='cpu')
    with learn.no_bar():
        before = capture(learn)
        with pytest.raises(exc, match=msg): learn.lr_find(num_it=10, show_plot=False, valid=valid)
        assert diff(before, capture(learn)) == []

# ---- what a distributed run does to a model ----

class Rewire(Callback):
    "What fastai's distrib_ctx and Accelerate do in before_fit: BatchNorm converted in place, a buffer replaced"
    order = 11
    def before_fit(self):
        self.learn.model = nn.SyncBatchNorm.convert_sync_batchnorm(self.learn.model)
        bn = self.learn.model[1]
        bn.running_mean = bn.running_mean.clone()

def test_modules_and_buffers_come_back():
    learn = digits(arch='bn', cbs=[Rewire(), RaiseAt(3, RuntimeError('stop'))])
    mods = [(type(m),id(m)) for m in learn.model.modules()]
    bufs = [id(b) for b in learn.model.buffers()]
    with learn.no_bar():
        before = capture(learn)
        with pytest.raises(RuntimeError): learn.lr_find(num_it=10, show_plot=False)
        assert diff(before, capture(learn)) == []
    assert [(type(m),id(m)) for m in learn.model.modules()] == mods and [id(b) for b in learn.model.buffers()] == bufs

# ---- several processes: fastai's distrib_ctx, two CPU processes, gloo ----

def _torchrun(out, *names, timeout=300):
    "Run tests/ddp_lr_find.py in two processes; the completed process and its seconds"
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2',
           str(ROOT/'tests'/'ddp_lr_find.py'), str(out), *names]
    t = time.perf_counter()
    r = subprocess.run(cmd, cwd=ROOT/'tests', capture_output=True, text=True, timeout=timeout,
                       env={**os.environ, 'PYTHONWARNINGS': 'ignore'})
    return r,time.perf_counter()-t

@pytest.fixture(scope='module')
def ddp(tmp_path_factory):
    "Every scenario of tests/ddp_lr_find.py in one 2-process run: what each process saw"
    pytest.importorskip('accelerate')
    out = tmp_path_factory.mktemp('ddp')
    r,_ = _torchrun(out)
    assert r.returncode == 0, r.stderr[-4000:]
    return [json.loads((out/f'rank{i}.json').read_text()) for i in (0,1)]

def _same(a, b):
    for k in ('lrs','losses','smooth','stop','run','sugg'): assert a.get(k) == b.get(k), k

def test_ddp_same_curve_and_suggestions(ddp):
    a,b = ddp[0]['plain'],ddp[1]['plain']
    assert ddp[0]['world'] == 2 and a['err'] is None and b['err'] is None
    for p in (a,b): assert {r['model'] for r in p['rows']} == {'DistributedDataParallel'} and {r['dl'] for r in p['rows']} == {'DistributedDL'}
    _same(a, b)
    assert a['stop'] == 'num_it' and a['lrs'] == [sched(k, 30) for k in range(30)] and a['run']['world_size'] == 2
    assert [r['x0'] for r in a['rows']] != [r['x0'] for r in b['rows']] # each process trains on its own share
    mean = [(ra['loss']+rb['loss'])/2 for ra,rb in zip(a['rows'], b['rows'])]
    assert a['losses'] == pytest.approx(mean, rel=1e-6) # each point is the mean over the processes
    assert a['losses'] != [r['loss'] for r in a['rows']]
    assert set(a['sugg']) == set(lrfind_ext.suggesters.names())
    assert a['diff'] == [] and b['diff'] == [] # each process's learner restored
    assert (a['figs'], b['figs']) == (1, 0) # only process 0 plots

@pytest.mark.parametrize('case,stop', [('nan', 'nonfinite'), ('diverge', 'diverged')])
def test_ddp_one_process_goes_bad_both_stop(ddp, case, stop):
    "A NaN or a divergence in process 1 only: both processes stop at the same step, with the same curve"
    a,b = ddp[0][case],ddp[1][case]
    _same(a, b)
    assert a['stop'] == stop and len(a['lrs']) < (30 if case=='nan' else 60)
    assert all(math.isfinite(r['loss']) for r in a['rows']) and a['diff'] == b['diff'] == []
    if case=='nan': assert not math.isfinite(b['rows'][-1]['loss']) and not math.isfinite(a['losses'][-1])

def test_ddp_valid_and_accumulation(ddp):
    v0,v1 = ddp[0]['valid'],ddp[1]['valid']
    _same(v0, v1)
    assert v0['run']['mode'] == 'valid' and v0['run']['valid_items'] == 256 and v0['diff'] == v1['diff'] == []
    a0,a1 = ddp[0]['accum'],ddp[1]['accum']
    _same(a0, a1)
    assert len(a0['lrs']) == 12 and a0['run']['batches'] == 48 and a0['diff'] == a1['diff'] == []
    assert a0['lrs'] == [sched(k, 12) for k in range(12)]

def test_ddp_syncbn_failure_restores_batchnorm(ddp):
    "distrib_ctx's SyncBatchNorm conversion fails on CPUs: lr_find raises, the BatchNorm layers come back, a run without works"
    for p in ddp:
        first,second = p['syncbn']['first'],p['syncbn']['second']
        assert 'SyncBatchNorm' in first['err'] and first['stop'] == 'error' and first['diff'] == []
        assert first['mods_after'] == first['mods_before'] and 'BatchNorm1d' in first['mods_before']
        assert second['err'] is None and second['stop'] in ('num_it','diverged') and second['diff'] == []
    _same(ddp[0]['syncbn']['second'], ddp[1]['syncbn']['second'])

def test_ddp_one_process_raises_none_hangs(tmp_path):
    "Process 1 raises mid-run while process 0 waits in a collective: torchrun ends both, promptly"
    pytest.importorskip('accelerate')
    r,secs = _torchrun(tmp_path, 'raise', timeout=180)
    assert r.returncode != 0 and 'process 1 failed' in r.stderr
    assert secs < 90, f'took {secs:.0f}s'

# ---- issue 11 (reliability): many skipped steps ----

def test_many_skipped_steps_still_reach_num_it():
    "A scale of 2**40 overflows float16 for some 25 steps: the run goes on until it has num_it points"
    learn = digits(cbs=[CPUMixedPrecision(init_scale=2.**40)])
    res = _run(learn, num_it=20, stop_div=False)
    c = res.curve
    assert len(c) == 20 and c.stop == 'num_it' and c.run.skipped > 20
    assert c.lrs.tolist() == [sched(k, 20) for k in range(20)]

def test_skipped_steps_are_bounded():
    "A run whose every step is skipped ends, after a bounded number of them, and says why"
    from fastai.callback.core import CancelStepException
    class SkipAll(Callback):
        def before_step(self): raise CancelStepException()
    learn = digits(cbs=SkipAll())
    with learn.no_bar(), pytest.raises(Exception, match='skipped'): learn.lr_find(num_it=20, show_plot=False)
    c = learn.recorder.lr_curve
    assert c.stop == 'skipped' and len(c) == 0 and c.run.skipped == lrfind_ext.finder.max_skipped(20)
    assert 'skipped' in c.stops[c.stop]

# ---- the GPU check script: prepared here, run where there is a GPU ----

def test_gpu_check_script_without_cuda():
    "bench/gpu_check.py imports without CUDA and, without a GPU, says so and exits with status 2"
    if torch.cuda.is_available(): pytest.skip('a GPU is here: run bench/gpu_check.py itself')
    r = subprocess.run([sys.executable, str(ROOT/'bench'/'gpu_check.py'), '--no-write'], capture_output=True, text=True, cwd=ROOT/'bench')
    assert r.returncode == 2 and 'No CUDA device here' in r.stderr and '--cpu-dry-run' in r.stderr
