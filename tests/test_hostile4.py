"""A fourth hostile pass (issue 22's last ask): attacks a demanding fastai user would make on the run record and its
files, the read-only curve, the registry, the intervals, the result, the validation sample, the batch accounting, the
argument checks, the plot, interrupts, threads, re-entrancy and patching. Each asserts what such a user expects: a clear
error naming the argument and what to do, or correct behaviour, and nothing of the learner lost."""
import copy,dataclasses,io,json,math,pickle,random,threading,importlib
from decimal import Decimal
from fractions import Fraction
from functools import partial
import numpy as np,pytest,torch
from torch import nn
import matplotlib.pyplot as plt
from fastai.basics import Callback,Learner,DataLoaders,set_seed
from fastai.callback.core import CancelBatchException,CancelStepException,CancelValidException
from fastai.callback.rnn import ModelResetter
from fastai.callback.schedule import SuggestionMethod
from fastai.callback.training import GradientAccumulation
from fastai.torch_core import find_bs
import lrfind_ext
from lrfind_ext.curve import LRCurve,RunInfo,synth_curve,check_num
from lrfind_ext.suggest import suggesters,Suggesters,Suggestion,SuggestError,suggest_lrs
from lrfind_ext.spread import with_intervals,Resamples
from lrfind_ext.result import lr_result
from lrfind_ext.plot import plot_lr
from lrf_testutils import *
from test_records import Weights,_sample,_validated

pytestmark = pytest.mark.filterwarnings('ignore::UserWarning', 'ignore::DeprecationWarning')

def run(learn, **kw):
    "`learn.lr_find` quietly: no bar, no plot"
    with learn.no_bar(): return learn.lr_find(**{'show_plot':False, **kw})

def mid(crv): return float(crv.lrs[crv.window][len(crv.lrs[crv.window])//2])

@pytest.fixture
def reg():
    "Names this test registers in the global registry, removed after it"
    names = []
    def add(f, name, **kw):
        suggesters.add(f, name, **kw); names.append(name)
    yield add
    for n in names:
        if n in suggesters: suggesters.remove(n)

# ---- the run record and its files ----

def test_record_of_odd_number_types_is_plain_and_saves():
    "A record built from numpy, torch, Fraction and Decimal values holds plain Python values, and a strict-JSON file of it loads equal"
    r = RunInfo(num_it=np.int64(50), start_lrs=torch.tensor([1e-7, 1e-6], dtype=torch.float64), end_lrs=(Fraction(1, 10), np.float32(1.)),
                group=np.int8(0), beta=Decimal('0.98'), div=np.float16(4), stop_div=np.bool_(True), batches=torch.tensor(50))
    vals = [r.num_it, *r.start_lrs, *r.end_lrs, r.group, r.beta, r.div, r.stop_div, r.batches]
    assert [type(v) for v in vals] == [int, float, float, float, float, int, float, float, bool, int]
    crv = LRCurve(np.geomspace(1e-7, 1, 50), np.linspace(2, 1, 50), run=r)
    back = LRCurve.from_dict(json.loads(json.dumps(crv.to_dict(), allow_nan=False)))
    assert back.run == r and hash(back.run) == hash(r)

@pytest.mark.parametrize('key,val', [('lrs', 5), ('lrs', ['abc']*3), ('lrs', None), ('smooth', 'x'), ('losses', {'a': 1})])
def test_tampered_file_says_which_field(key, val):
    "A file whose arrays were edited by hand is refused as not a saved curve, naming the field, not with Python's own TypeError"
    d = LRCurve([1e-5, 1e-4, 1e-3], [2., 1.5, 1.]).to_dict()
    d[key] = val
    with pytest.raises(ValueError, match=f"Not a saved LRCurve: {key} "): LRCurve.from_dict(d)

@pytest.mark.parametrize('v', [True, '2', 2.5, None])
def test_tampered_version_says_the_format(v):
    "A version that isn't one of the format numbers is named as such (True is not format 1)"
    d = LRCurve([1e-5, 1e-4, 1e-3], [2., 1.5, 1.]).to_dict()
    d['version'] = v
    with pytest.raises(ValueError, match='format'): LRCurve.from_dict(d)

def test_old_format_file_with_odd_meta_loads_and_saves_anew(tmp_path):
    "A format-1 file with unknown meta keys, a group out of range and one start_lr loads; saved again it loads the same"
    lrs = np.geomspace(1e-6, 1, 30)
    d = dict(lrs=lrs.tolist(), losses=np.linspace(3, 1, 30).tolist(), smooth=None, num_it=30, stop='num_it', beta=0.98,
             skip_start=3, skip_end=5, meta=dict(start_lr=1e-6, end_lr=1.5, group=7, sweep='exp', seed='x', extra=[1, 2]))
    fn = tmp_path/'old.json'
    fn.write_text(json.dumps(d))
    crv = LRCurve.load(fn)
    assert crv.run.start_lrs == (1e-6,) and crv.run.group == -1 and crv.skip_start == 3
    again = LRCurve.load(crv.save(tmp_path/'new.json'))
    assert again.run == crv.run and np.array_equal(again.lrs, crv.lrs)

def test_unicode_paths_round_trip(tmp_path):
    "A folder and file named in several scripts, as a str or a Path"
    crv = synth_curve(noise=0.05)
    d = tmp_path/'données'/'курс 曲线'
    d.mkdir(parents=True)
    for fn in (d/'λ.json', str(d/'학습률 1.json')):
        back = LRCurve.load(crv.save(fn))
        assert np.array_equal(back.smooth, crv.smooth) and back.run == crv.run

def test_gzipped_file_is_gzip(tmp_path):
    "A file named .json.gz is gzip (as the benchmark's curve files are), and loads back equal"
    import gzip
    crv = synth_curve(noise=0.05)
    fn = crv.save(tmp_path/'c.json.gz')
    assert json.loads(gzip.decompress(fn.read_bytes())) == json.loads(json.dumps(crv.to_dict())) and LRCurve.load(fn).to_dict() == crv.to_dict()

def test_file_edited_in_a_windows_editor_loads(tmp_path):
    "A saved curve re-saved by Notepad (UTF-8 with a byte-order mark) loads; a file cut short says it is not a saved curve, and which"
    crv = synth_curve(noise=0.05)
    (tmp_path/'bom.json').write_text(json.dumps(crv.to_dict()), encoding='utf-8-sig')
    assert LRCurve.load(tmp_path/'bom.json').to_dict() == crv.to_dict()
    (tmp_path/'cut.json').write_text(crv.save(tmp_path/'c.json').read_text()[:50])
    with pytest.raises(ValueError, match=r'Not a saved LRCurve: .*cut.json is not JSON'): LRCurve.load(tmp_path/'cut.json')

def test_tilde_is_the_home_folder(tmp_path, monkeypatch):
    "save('~/x.json') and load('~/x.json') use the home folder, as pandas and matplotlib do, not a folder named ~"
    monkeypatch.setenv('HOME', str(tmp_path))
    monkeypatch.chdir(tmp_path)
    crv = synth_curve()
    assert crv.save('~/x.json') == tmp_path/'x.json' and LRCurve.load('~/x.json').to_dict() == crv.to_dict()

def test_pickle_and_deepcopy_stay_read_only():
    "A pickled or deep-copied curve is as read-only as the original, with the same record and window"
    crv = synth_curve(noise=0.05)
    for c in (pickle.loads(pickle.dumps(crv)), copy.deepcopy(crv), copy.copy(crv)):
        assert not c.lrs.flags.writeable and not c.smooth.flags.writeable and not c.losses.flags.writeable
        assert c.run == crv.run and c.window == crv.window
        with pytest.raises(AttributeError, match='read-only'): c.skip_start = 0

# ---- the read-only curve: no rule changes what later rules, the plot and the file see ----

def _guarded(harm):
    "Every built-in rule's suggestions on a curve, before and after a rule that runs `harm` on its curve (then answers)"
    crv = synth_curve(noise=0.05)
    before = [s.lr for s in suggest_lrs(crv, 'all')]
    d0 = crv.to_dict()
    def bad(c): harm(c); return mid(c)
    reg = Suggesters()
    sgs = [reg.add(bad, 'bad'), *suggesters.resolve('all')]
    after = [sg(crv).lr for sg in sgs][1:]
    assert after == before and crv.to_dict() == d0

@pytest.mark.parametrize('harm', [
    lambda c: torch.from_numpy(c.smooth).mul_(0), # a tensor sharing the curve's memory, written in place
    lambda c: object.__setattr__(c, 'skip_start', 0), # past the curve's __setattr__
    lambda c: object.__setattr__(c.run, 'num_it', 7), # into the frozen record
    lambda c: vars(c).update(losses=np.zeros(len(c))), # into the instance dict
], ids=['torch-from-numpy', 'object-setattr', 'record-setattr', 'vars'])
def test_no_rule_changes_what_others_read(harm):
    _guarded(harm)

def test_a_rule_harming_resampled_curves_does_not_move_others_intervals():
    "The intervals' resampled runs are shared by the rules: one that writes into each it reads leaves the others' intervals alone"
    crv = synth_curve(noise=0.05)
    sgs = suggesters.resolve(['valley', 'basin'])
    alone = with_intervals(crv, [sg(crv) for sg in sgs], sgs)
    def bad(c):
        for a in (c.losses, c.smooth): t = torch.from_numpy(a); t.copy_(t.flip(0)) # the curve backwards, in place
        return mid(c)
    reg = Suggesters()
    bsg = reg.add(bad, 'bad')
    both = with_intervals(crv, [sg(crv) for sg in (bsg, *sgs)], [bsg, *sgs])
    assert [s.interval for s in both[1:]] == [s.interval for s in alone]

def test_numpy_views_are_read_only():
    "Every numpy way to a curve's array gives a read-only array"
    crv = synth_curve(noise=0.05)
    for a in (crv.lrs.view(), crv.lrs[::2], np.asarray(crv.smooth), crv.losses.reshape(-1, 1), crv.read('raw')[1], crv[:10].lrs):
        with pytest.raises(ValueError, match='read-only'): a[0] = 1.

# ---- the registry ----

class Half:
    "A rule as a class with `__call__`"
    def __init__(self, k=2): self.k = k
    def __call__(self, crv): return mid(crv)/self.k

def test_rerun_cell_registering_a_callable_object_replaces_it():
    "A notebook cell that registers an instance of a class, run again, replaces the rule (as for a function)"
    reg = Suggesters()
    reg.add(Half(), 'half')
    sg = reg.add(Half(4), 'half')
    assert reg['half'] is sg and reg['half'].func.k == 4
    class Other:
        def __call__(self, crv): return mid(crv)
    with pytest.raises(SuggestError, match="already registered"): reg.add(Other(), 'half')

def test_rerun_cell_registering_a_partial_replaces_it():
    "A cell that registers `partial(rule, k=...)`, run again (edited or not), replaces it; a partial of another function is refused"
    def scaled(crv, k=2): return mid(crv)/k
    def other(crv, k=2): return mid(crv)*k
    reg = Suggesters()
    reg.add(partial(scaled, k=3), 'scaled')
    sg = reg.add(partial(scaled, k=5), 'scaled')
    assert reg['scaled'] is sg
    with pytest.raises(SuggestError, match="already registered"): reg.add(partial(other, k=5), 'scaled')

def test_rerun_cell_registering_a_lambda_replaces_it():
    """Two lambdas under one name in one module are what a re-run (or edited and re-run) cell gives: the second replaces
    the first quietly, and lr_find uses it"""
    reg = Suggesters()
    reg.add(lambda crv: 1e-3, 'lam')
    reg.add(lambda crv: 2e-3, 'lam')
    assert reg['lam'](synth_curve()).lr == 2e-3

def test_classmethod_and_staticmethod_rules():
    "A rule defined on a class (class or static method) registers, runs, and registers again when the class is defined again"
    def mk():
        class Rules:
            @classmethod
            def cm(cls, crv): return mid(crv)
            @staticmethod
            def sm(crv): return mid(crv)/10
        return Rules
    reg = Suggesters()
    for R in (mk(), mk()): reg.add(R.cm, 'cm'); reg.add(R.sm, 'sm')
    crv = synth_curve()
    assert reg['cm'](crv).lr == mid(crv) and reg['sm'](crv).lr == pytest.approx(mid(crv)/10)

@pytest.mark.parametrize('v', [Fraction(1, 1000), np.float16(1e-3), torch.tensor(1e-3, requires_grad=True), Decimal('0.001'), 1],
                         ids=['Fraction', 'float16', 'tensor-grad', 'Decimal', 'int'])
def test_rule_returning_any_kind_of_number(v):
    "Any real number a rule returns is a learning rate, kept as a Python float"
    reg = Suggesters()
    s = reg.add(lambda crv: v, 'num')(synth_curve())
    assert type(s.lr) is float and s.lr == pytest.approx(float(v), rel=1e-3)

@pytest.mark.parametrize('v', [1e-3+0j, True, [1e-3]], ids=['complex', 'bool', 'list'])
def test_rule_returning_a_non_number_names_the_rule(v):
    reg = Suggesters()
    with pytest.raises(SuggestError, match="Suggester 'odd' returned an unusable suggestion"): reg.add(lambda crv: v, 'odd')(synth_curve())

def test_rule_drawing_from_the_global_rngs_changes_no_later_fit(reg):
    """A rule that draws from Python's, numpy's and torch's global RNGs (a bootstrap, say), called on every resampled run
    too, leaves them where they were: lr_find then fit trains as fit alone"""
    def noisy(crv): random.random(); np.random.rand(); torch.rand(1); return mid(crv)
    reg(noisy, 'noisy')
    learn = synth()
    st = random.getstate(),np.random.get_state()[1].copy(),torch.get_rng_state()
    run(learn, num_it=20, suggest_funcs=['noisy', 'valley'])
    assert random.getstate() == st[0] and np.array_equal(np.random.get_state()[1], st[1]) and torch.equal(torch.get_rng_state(), st[2])

def test_rule_that_changes_the_registry_while_running(reg):
    "A rule that registers another and removes itself during lr_find: the run returns what it asked for, the registry keeps the change"
    def grabby(crv):
        if 'grabby' in suggesters: suggesters.remove('grabby')
        if 'late' not in suggesters: suggesters.add(lambda c: mid(c), 'late')
        return mid(crv)
    reg(grabby, 'grabby')
    try:
        res = run(synth(), num_it=20, suggest_funcs=['grabby', 'valley'])
        assert res._fields == ('grabby', 'valley') and 'grabby' not in suggesters and 'late' in suggesters
    finally:
        if 'late' in suggesters: suggesters.remove('late')

def test_keyboard_interrupt_in_a_rule_loses_nothing(reg):
    "Ctrl-C while a rule runs (after the training): the learner is as it was, learn.lr untouched by set_lr, the curve kept"
    calls = []
    def slow(crv):
        calls.append(1)
        if len(calls)==3: raise KeyboardInterrupt # on a resampled run, while the intervals are estimated
        return mid(crv)
    reg(slow, 'slow')
    learn = synth()
    with learn.no_bar():
        learn.lr_find(num_it=20, show_plot=False)
        before,lr = capture(learn),learn.lr
        with pytest.raises(KeyboardInterrupt): learn.lr_find(num_it=20, show_plot=False, suggest_funcs=['slow'], set_lr=True)
        assert diff(before, capture(learn)) == [] and learn.lr == lr and len(learn.recorder.lr_curve) == 20

# ---- intervals ----

@pytest.mark.parametrize('sweep', ['exp', 'linear'])
def test_intervals_on_a_huge_curve(sweep):
    "20,000 points: every rule answers, and its interval holds its suggestion (the resampled runs are thinned to 150 points)"
    crv = synth_curve(n=20_000, noise=0.05, sweep=sweep, stop_div=False)
    sgs = suggesters.resolve(['valley', 'basin', 'minimum'])
    ss = with_intervals(crv, [sg(crv) for sg in sgs], sgs)
    assert all(s.interval and s.interval[0] <= s.lr <= s.interval[1] for s in ss)
    assert len(Resamples(crv.log_view(), 2).curves[0]) <= 150

@pytest.mark.parametrize('n', [6, 7, 8, 12])
@pytest.mark.parametrize('sweep', ['exp', 'linear'])
def test_intervals_on_the_shortest_runs(n, sweep):
    "lr_find's shortest runs: every rule answers or says why not, and an interval, when there is one, holds its suggestion"
    crv = synth_curve(n=n, noise=0.05, sweep=sweep, stop_div=False)
    sgs = suggesters.resolve('all')
    ss = with_intervals(crv, [sg(crv) for sg in sgs], sgs)
    assert all(s.interval is None or s.interval[0] <= s.lr <= s.interval[1] for s in ss)

def test_a_rule_failing_on_half_the_resampled_runs_still_gets_an_interval():
    "A rule that raises on every other call gets an interval from the runs it could read"
    n = [0]
    def flaky(crv):
        n[0] += 1
        if n[0]%2==0: raise RuntimeError('flaky')
        return mid(crv)
    reg = Suggesters()
    sg = reg.add(flaky, 'flaky')
    crv = synth_curve(noise=0.05)
    s, = with_intervals(crv, [sg(crv)], [sg])
    assert s.interval is not None and s.lr == mid(crv)

# ---- the result ----

@pytest.fixture(scope='module')
def res():
    learn = synth()
    return run(learn, num_it=30, suggest_funcs=['valley', 'minimum'], set_lr='minimum')

@pytest.mark.parametrize('v', [math.nan, -1e-3, 0., math.inf, 'x'])
def test_make_and_constructor_check_the_values(res, v):
    "`_make` and the class itself refuse what `_replace` refuses, naming the field"
    with pytest.raises(SuggestError, match='valley'): res._make([v, 1e-3])
    with pytest.raises(SuggestError, match='valley'): type(res)(valley=v, minimum=1e-3)
    with pytest.raises(SuggestError, match='valley'): type(res)(v, 1e-3)

def test_make_and_constructor_store_floats(res):
    "Numbers of any kind become floats, and a result made from values has no curve nor applied rule"
    for r in (res._make([torch.tensor(1e-3), Fraction(1, 100)]), type(res)(np.float32(1e-3), minimum=Decimal('0.01'))):
        assert [type(v) for v in r] == [float, float] and r.curve is None and r.applied is None
        assert 'learn.lr' not in r.table()
    with pytest.raises(TypeError): res._make([1e-3])

def test_tuple_methods_order_and_pickle(res):
    """What a namedtuple gives beyond test_hostile's tuple checks: slicing, index and count, ordering; a pickled copy of a
    changed result equal and hashed alike, still saying what learn.lr holds"""
    v,m = res
    assert res[::-1] == (m, v) and type(res[:1]) is tuple and res.index(m) == 1 and res.count(v) == 1
    assert res._field_defaults == {} and res._replace(valley=v*2) > res
    r = res._replace(minimum=1e-6)
    p = pickle.loads(pickle.dumps(r))
    assert p == r and hash(p) == hash(r) and p.applied == 'minimum' and f"{m:.2e}" in p.table().splitlines()[-1]

# ---- the validation sample ----

class InPlace(Callback):
    "Doubles the inputs in place, in training and validation (a normalising callback written with `mul_`)"
    def before_batch(self): self.xb[0].mul_(2)

def test_valid_sample_changed_in_place_by_a_callback():
    "Each step scores the sample as it was drawn: a callback's in-place change doesn't pile up from step to step"
    learn = digits(cbs=InPlace())
    dl = _sample(learn, 64)
    w = Weights()
    res = run(learn, num_it=6, stop_div=False, valid=dl, cbs=w)
    np.testing.assert_allclose(res.curve.losses, _validated(learn, w.sds, dl), rtol=1e-5)

class Stateful(nn.Module):
    "An RNN-like model: a hidden state carried from batch to batch, reset by fastai's ModelResetter"
    def __init__(self, m): super().__init__(); self.m = m; self.reset()
    def reset(self): self.h = torch.zeros(10)
    def forward(self, x):
        out = self.m(x) + self.h
        self.h = out.detach().mean(0)
        return out

def _stateful(valid):
    learn = digits(cbs=ModelResetter())
    learn.model = Stateful(learn.model)
    dl,w = _sample(learn, 64),Weights()
    res = run(learn, num_it=6, stop_div=False, valid=dl if valid else None, cbs=w)
    return learn,res,w,dl

def test_valid_with_a_hidden_state_is_validate_and_trains_as_without():
    """A model with a hidden state: each point is `validate`'s (which resets it first), and scoring the sample leaves the
    training's hidden state as it was, so the run trains as one without `valid`"""
    learn,res,w,dl = _stateful(True)
    np.testing.assert_allclose(res.curve.losses, _validated(learn, w.sds, dl), rtol=1e-5)
    _,_,w0,_ = _stateful(False)
    assert all(torch.equal(a[k], b[k]) for a,b in zip(w.sds, w0.sds) for k in a)

class TwoIn(nn.Module):
    def __init__(self): super().__init__(); self.a,self.b = nn.Linear(1, 1),nn.Linear(1, 1)
    def forward(self, x1, x2): return self.a(x1)+self.b(x2)

def test_valid_with_two_inputs_and_two_targets():
    "n_inp=2 and a loss of two targets: the sample is split as fastai splits a batch, and each point is `validate`'s"
    from torch.utils.data import TensorDataset
    class DS(TensorDataset): n_inp = 2
    set_seed(0)
    x1,x2 = torch.randn(320, 1),torch.randn(320, 1)
    y = 2*x1-x2+0.1*torch.randn(320, 1)
    dls = DataLoaders.from_dsets(DS(x1, x2, y, -y), DS(x1[:64], x2[:64], y[:64], -y[:64]), bs=32, num_workers=0)
    learn = Learner(dls, TwoIn(), loss_func=lambda p, t1, t2: ((p-t1)**2).mean()+((p+t2)**2).mean())
    w = Weights()
    res = run(learn, num_it=8, stop_div=False, valid=2, cbs=w)
    assert res.curve.run.valid_items == 64
    np.testing.assert_allclose(res.curve.losses, _validated(learn, w.sds, learn.dls.valid), rtol=1e-5)

class CancelAll(Callback):
    "Cancels every validation batch (with `exc`)"
    run_train = False
    def __init__(self, exc): self.exc = exc
    def before_batch(self): raise self.exc()

@pytest.mark.parametrize('exc', [CancelBatchException, CancelValidException])
def test_valid_sample_entirely_cancelled_says_so(exc):
    "A callback that cancels every batch of the sample leaves nothing to score: the error says that, not 'loss was nan'"
    learn = digits(cbs=CancelAll(exc))
    with learn.no_bar():
        before = capture(learn)
        with pytest.raises(ValueError, match='scored no batch of the validation sample'): learn.lr_find(num_it=6, valid=2, show_plot=False)
        assert diff(before, capture(learn)) == []

# ---- batch accounting: a point per optimizer step, the loss of the batches whose gradients it applies ----

class Spy(Callback):
    "Each training batch: its loss, whether its backward ran, whether the optimizer stepped (first of the callbacks)"
    order = -10
    def __init__(self): self.log = Log()
    def before_fit(self):
        step = self.learn.opt.step
        def counted(*a, **k): self.cur['step'] = True; return step(*a, **k)
        self.learn.opt.step = counted # (an attribute of the optimizer: the restore takes it away)
    def before_batch(self): self.cur = dict(loss=None, bwd=False, step=False, zeroed=False)
    def after_loss(self): self.cur['loss'] = float(self.learn.loss)
    def after_backward(self): self.cur['bwd'] = True
    def after_cancel_step(self): self.cur['zeroed'] = True # fastai zeroes the gradients after a cancelled step
    def after_batch(self):
        if self.training: self.log.append(self.cur)

def expected_points(log)->list:
    pts,acc = [],[]
    for b in log:
        if b['loss'] is not None and b['bwd']: acc.append(b['loss'])
        if b['step'] and acc: pts.append(np.mean(acc))
        if b['step'] or b['zeroed']: acc = []
    return pts

class Cancel(Callback):
    "Raises `exc` in `event` on every third training batch (default order: before lr_find's callback)"
    def __init__(self, event, exc): self.n,self.exc = 0,exc; setattr(self, event, self._hit)
    def _hit(self):
        if not self.training: return
        self.n += 1
        if self.n%3==0: raise self.exc()

@pytest.mark.parametrize('event,exc', [(e, CancelBatchException) for e in ('before_batch', 'after_pred', 'before_step')]
                                      + [('before_step', CancelStepException)])
def test_cancel_at_every_event(event, exc):
    "Whatever event a callback cancels in, each point is the mean loss of the batches whose gradients the step applies"
    learn,spy = synth(),Spy()
    res = run(learn, num_it=20, stop_div=False, cbs=[spy, Cancel(event, exc)])
    np.testing.assert_allclose(res.curve.losses, expected_points(spy.log)[:len(res.curve)], rtol=1e-6)
    assert len(res.curve) == 20

class GradGuard(Callback):
    "A NaN-gradient guard: on a batch whose gradients are not finite, zeroes them and skips the step (CancelBatchException in after_backward)"
    def __init__(self): self.n = 0
    def after_backward(self):
        if all(p.grad is None or torch.isfinite(p.grad).all() for p in self.learn.model.parameters()): return
        self.n += 1
        self.learn.opt.zero_grad()
        raise CancelBatchException()

def test_nan_gradient_guard_in_after_backward():
    "Every third batch's gradients NaN, zeroed and skipped by a guard ordered before lr_find's callback: a finite curve to num_it"
    learn,g = synth(),GradGuard()
    n = [0]
    def poison(grad):
        n[0] += 1
        return grad*float('nan') if n[0]%3==0 else grad
    learn.model.a.register_hook(poison)
    res = run(learn, num_it=20, stop_div=False, cbs=g)
    assert g.n >= 6 and len(res.curve) == 20 and res.curve.stop == 'num_it' and np.isfinite(res.curve.losses).all()

def test_gradient_accumulation_with_cancelled_micro_batches():
    "fastai's GradientAccumulation with a micro-batch in three cancelled after its loss: each point averages the micro-batches stepped on"
    learn,spy = synth(),Spy()
    res = run(learn, num_it=12, stop_div=False, cbs=[spy, Cancel('after_loss', CancelBatchException), GradientAccumulation(32)])
    pts = expected_points(spy.log)
    n_loss,n_bwd = sum(b['loss'] is not None for b in spy.log),sum(b['bwd'] for b in spy.log)
    assert len(res.curve) == 12 and n_bwd == 2*12 and n_loss > n_bwd # two micro-batches of 16 a step, cancelled ones not among them
    np.testing.assert_allclose(res.curve.losses, pts[:12], rtol=1e-6)

# ---- argument checks ----

def test_decimal_arguments_are_numbers():
    "Decimal learning rates and div are numbers: the run takes them as floats (not 'must be a finite number, got Decimal')"
    res = run(synth(), start_lr=Decimal('1e-6'), end_lr=Decimal('1'), div=Decimal('5'), num_it=10, stop_div=False)
    r = res.curve.run
    assert r.start_lrs == (1e-6,) and r.end_lrs == (1.,) and r.div == 5. and type(r.div) is float

def test_fraction_and_zero_d_arguments():
    "Fractions, numpy 0-d arrays and torch 0-d tensors are taken as the plain values they hold"
    learn = digits(splitter=two_groups)
    res = run(learn, start_lr=slice(torch.tensor(1e-7), np.float32(1e-5)), end_lr=Fraction(1), num_it=np.array(10),
              skip_start=np.uint8(1), skip_end=torch.tensor(2), group=np.int64(0), stop_div=torch.tensor(False), div=Fraction(9, 2))
    r = res.curve.run
    assert r.start_lrs == pytest.approx((1e-7, 1e-5)) and r.end_lrs == (1., 1.) and r.group == 0 and r.num_it == 10
    assert (res.curve.skip_start, res.curve.skip_end, r.stop_div, r.div) == (1, 2, False, 4.5)

@pytest.mark.parametrize('kw,msg', [(dict(num_it=np.bool_(True)), 'num_it must be'), (dict(group=True), 'group must be'),
                                    (dict(skip_end=torch.tensor(True)), 'skip_end must be'), (dict(num_it=Fraction(50)), 'num_it must be'),
                                    (dict(group=10**30), 'an integer of 31 digits'), (dict(end_lr=10**400), 'too large for a float'),
                                    (dict(start_lr=slice(None, torch.tensor([1e-3, 1e-2]))), 'stop of')])
def test_odd_types_refused_before_training(kw, msg):
    "Bools for integers, non-integral Fractions, huge integers, a 1-d tensor in a slice: refused before training, naming the argument"
    learn = synth()
    before = capture(learn)
    with pytest.raises((TypeError, ValueError), match=msg): learn.lr_find(show_plot=False, **kw)
    assert diff(before, capture(learn)) == []

def test_same_callback_twice_in_cbs():
    "cbs=[cb, cb] would run cb's events twice per batch: refused before training, naming it"
    learn,c = synth(),Counter()
    with pytest.raises(ValueError, match='Counter.*twice'): run(learn, num_it=10, cbs=[c, c])
    assert c.batches == 0

@pytest.mark.parametrize('ctx', [torch.no_grad, torch.inference_mode, partial(torch.set_grad_enabled, False)],
                         ids=['no_grad', 'inference_mode', 'set_grad_enabled'])
def test_gradients_off_refused_before_training(ctx):
    "lr_find called where gradients are off (a notebook cell inside `torch.no_grad()`): said so before training, not torch's 'does not require grad'"
    learn = synth()
    with learn.no_bar():
        before = capture(learn)
        with ctx(), pytest.raises(RuntimeError, match='Gradients are off here'): learn.lr_find(num_it=10, show_plot=False)
        assert diff(before, capture(learn)) == []

def test_every_parameter_frozen_refused_before_training():
    "A model with every parameter frozen: said so before training, not fastai's IndexError from its optimizer"
    learn = synth()
    for p in learn.model.parameters(): p.requires_grad_(False)
    with pytest.raises(ValueError, match='Every parameter of the model is frozen'): run(learn, num_it=10)
    assert learn.opt is None

def test_float64_default_dtype():
    "Under `torch.set_default_dtype(torch.float64)` (fastai's own lr_find runs): a run with a validation sample, the learner put back"
    from lrfind_ext.curve import smooth_losses
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        learn = synth()
        w = weights(learn)
        c = run(learn, num_it=20, stop_div=False, valid=1).curve
    finally: torch.set_default_dtype(old)
    assert len(c) == 20 and same_weights(w, weights(learn)) and np.array_equal(c.smooth, smooth_losses(c.losses))

def test_fastai_call_forms():
    "fastai's positional order, and its default `suggest_funcs=(SuggestionMethod.Valley)`, which is no tuple"
    learn = synth()
    with learn.no_bar():
        a = learn.lr_find(1e-6, 1, 30, False, False, (SuggestionMethod.Valley))
        lr_min,lr_steep = learn.lr_find(1e-6, 1, 30, False, False, (SuggestionMethod.Minimum, SuggestionMethod.Steep))
    assert a._fields == ('valley',) and a.curve.run.num_it == 30 and lr_min > 0 and lr_steep > 0

# ---- the plot ----

@pytest.mark.parametrize('crv', [LRCurve([1e-3], [1.]), LRCurve(np.geomspace(1e-7, 1, 50), [np.nan]*50),
                                 LRCurve([1e-3]*50, np.linspace(2, 1, 50)), LRCurve(np.geomspace(1e-7, 1, 100), [1.]*100),
                                 LRCurve(np.geomspace(1e-7, 1, 100), -np.geomspace(1e-3, 1e3, 100))],
                         ids=['one-point', 'all-nan', 'identical-lrs', 'flat', 'negative-falling'])
def test_plot_degenerate_curves(crv):
    "Curves a run can leave: each draws, with whatever suggestions the rules can make on it"
    try: ss = suggest_lrs(crv, 'all')
    except ValueError: ss = []
    plot_lr(crv, ss).canvas.draw()

@pytest.mark.parametrize('v', [1e-300, 1e300])
def test_plot_suggestions_far_from_the_curve(v):
    "A rule's suggestion, its source and its span anywhere in the floats: drawn, the axis stretched to show them"
    crv = synth_curve(noise=0.05)
    fig = plot_lr(crv, [Suggestion(v, name='far', src_lr=1e-3, span=(min(v, 1e-3), max(v, 1e-3)))])
    fig.canvas.draw()
    lo,hi = fig.axes[0].get_xlim()
    assert lo <= min(v, crv.lrs[0]) and hi >= max(v, crv.lrs[-1])

@pytest.mark.slow
def test_plot_every_style_sheet():
    "Every style sheet matplotlib ships (28 here): the overlay draws"
    crv = synth_curve(noise=0.05)
    ss = suggest_lrs(crv, 'all')
    for st in plt.style.available:
        with plt.style.context(st): plot_lr(crv, ss).canvas.draw()
        plt.close('all')

@pytest.mark.parametrize('fs', [(0.5, 0.5), (1, 0.3), (40, 30)])
def test_plot_tiny_and_huge_figures(fs):
    "Figures from half an inch to 40 inches: the overlay draws"
    crv = synth_curve(noise=0.05)
    plot_lr(crv, suggest_lrs(crv, 'all'), figsize=fs).canvas.draw()

# ---- interrupts, threads, re-entrancy, patching, export ----

def test_keyboard_interrupt_in_the_plot(monkeypatch):
    "Ctrl-C while the plot draws: the learner is restored, the result is in the recorder, learn.lr is what it says"
    import lrfind_ext.plot
    def boom(*a, **k): raise KeyboardInterrupt
    monkeypatch.setattr(lrfind_ext.plot, 'plot_lr', boom)
    learn = synth()
    w = weights(learn)
    with learn.no_bar(), pytest.raises(KeyboardInterrupt): learn.lr_find(num_it=20, set_lr=True)
    r = learn.recorder.lr_result
    assert same_weights(w, weights(learn)) and r is not None and learn.lr == r.fit_lr() and r.applied == r._fields[0]

def test_two_threads_give_what_one_gives():
    "lr_find on two learners in two threads at once: each curve is the one it gives alone, each learner restored"
    def go(l, out): out.append(run(l, num_it=30).curve.losses.tolist())
    alone = [[], []]
    for i in range(2): go(synth(seed=i), alone[i])
    ls,outs = [synth(seed=i) for i in range(2)],[[], []]
    ws = [weights(l) for l in ls]
    th = [threading.Thread(target=go, args=(l, o)) for l,o in zip(ls, outs)]
    for t in th: t.start()
    for t in th: t.join()
    assert outs == alone and all(same_weights(w, weights(l)) for w,l in zip(ws, ls))

class Nested(Callback):
    "Runs lr_find on the same learner from inside a batch of another lr_find"
    def __init__(self): self.done = False
    def after_batch(self):
        if self.iter==3 and not self.done:
            self.done = True
            with self.learn.no_bar(): self.inner = self.learn.lr_find(num_it=10, show_plot=False)

def test_lr_find_inside_a_callback_of_lr_find():
    "The inner run puts back what it found, mid-run: the outer curve and the learner are as without it"
    a,b,cb = synth(),synth(),Nested()
    ra,rb = run(a, num_it=20, stop_div=False, cbs=cb),run(b, num_it=20, stop_div=False)
    assert len(cb.inner.curve) == 10 and ra.curve.losses.tolist() == rb.curve.losses.tolist()
    assert same_weights(weights(a), weights(b)) and a.opt is None

def test_unpatch_repatch_twice_and_after_a_reload():
    "unpatch and repatch are idempotent, and still give fastai's own functions after the modules are reloaded"
    from fastai.learner import Learner,Recorder
    import lrfind_ext.finder,lrfind_ext.plot
    fa = lrfind_ext.finder.fastai_lr_find
    try:
        for m in (lrfind_ext.finder, lrfind_ext.plot): importlib.reload(m)
        importlib.reload(lrfind_ext)
        lrfind_ext.unpatch(); lrfind_ext.unpatch()
        assert Learner.lr_find is fa and Learner.lr_find.__module__ == 'fastai.callback.schedule'
        assert Recorder.plot_lr_find.__module__ == 'fastai.callback.schedule'
        r = run(synth(), num_it=20)
        assert not hasattr(r, 'curve')
    finally:
        lrfind_ext.repatch(); lrfind_ext.repatch()
    assert Learner.lr_find.__module__ == 'lrfind_ext.finder' and hasattr(run(synth(), num_it=20), 'curve')

def test_pickled_learner_after_every_option_refers_to_nothing_of_lrfind_ext():
    "After lr_find with valid=, cbs=, set_lr= and intervals, the learner pickles (as `export` does) without a reference to lrfind_ext"
    learn = synth()
    run(learn, num_it=20, valid=1, cbs=[Counter()], set_lr=True)
    assert b'lrfind_ext' not in pickle.dumps(learn)
