"""A hostile but fair pass over every public function and every promise of the docs: bad inputs, odd learners, runs
that end every way, callbacks that change everything, data that is not what it claims. Organised by what the attacks
target; each attack is one test case (a parametrized case counts once): 200 in all.

- arguments of `lr_find` (105): one table of 90 bad values run against `check_args` (the learner built once), each
  refused with an error naming the argument, showing the value and saying what is wanted; five of them end to end,
  before any training (no callback event, nothing moved); four bad learners; values that are fine in another type
  (numpy, tensors) are taken, as plain Python values.
- the restore (27): a callback changes the model, optimizer, data, hooks, classes, global torch state...; the run
  raises at every stage, a rule or the plot or the restore itself fails; everything comes back. (The attacks on the
  snapshot itself are tests/test_snapshot_hostile.py; lr_find then fit against fit alone, tests/test_state.py.)
- the registry and what rules return (14), a rule that tries to change the curve included
- the result (18), `_replace` with values that are not learning rates included
- the curve: construction, window, slicing, save/load, reading, the divergence rule (27)
- the setups: mixed precision, accumulation, groups, validation mode, train-only data (9)

Run against the code as it was before issue 11, 69 of the 204 there were then fail (some only because they use the new `cbs` argument
or the new messages). Run after the issue's own fixes, 16 found defects, fixed since: `div=True` refused with the
wrong exception type; another callback moving the learning rate went unnoticed (now a warning, and a curve whose
learning rates go down has no window); a module's class changed in place and a DataLoader's attributes (`bs`) were
not put back; a rule could write into the curve's arrays, which also aliased the caller's; a result pickled after
`_replace` forgot the rule's own value; `LRCurve` flattened 2-d input and took `beta='x'`, `num_it=-1` or `10.7`,
`skip_start=True`; `loss_at(0)` gave NaN silently; `read('zerolag')` failed on a 1-point curve; `smooth_losses(beta=1)`
gave inf; `loglr_smooth` took unsorted positions, `h<=0` and mismatched lengths."""
import copy,dataclasses,json,math,pickle
import numpy as np,pytest,torch
from torch import nn
from hypothesis import given,settings,strategies as st,HealthCheck
from fastai.basics import DataLoaders,MSELossFlat,Callback
from fastai.callback.core import CancelFitException,CancelStepException
from fastai.callback.training import GradientAccumulation
from fastai.optimizer import OptimWrapper
import lrfind_ext
from lrfind_ext.curve import LRCurve,RunInfo,synth_curve,smooth_losses,div_stop,div_start
from lrfind_ext.view import CurveError
from lrfind_ext.checks import check_args
from lrfind_ext.view import loglr_smooth
from lrfind_ext.suggest import suggesters,Suggestion,SuggestError,UnknownSuggester,suggest_lrs
from lrfind_ext.result import lr_result
import lrfind_ext.snapshot as snapshot
from lrfind_ext.setups import CPUMixedPrecision
from lrf_testutils import *

pytestmark = pytest.mark.filterwarnings('ignore::UserWarning', 'ignore::DeprecationWarning')

def _run(learn, **kw):
    with learn.no_bar(): return learn.lr_find(**{'show_plot':False, 'num_it':12, **kw})

def _restored(learn, f, exc=None):
    "Run `f(learn)` (expecting `exc`, if any) inside no_bar; assert everything came back; return f's result"
    with learn.no_bar():
        before = capture(learn)
        if exc is None: res = f(learn)
        else:
            with pytest.raises(exc): f(learn)
            res = None
        assert diff(before, capture(learn)) == []
    return res

def two_group_synth(**kw):
    "fastai's synthetic regression learner with its two parameters in two groups"
    return synth(splitter=lambda m: [[m.a], [m.b]], **kw)

# ---- arguments of lr_find: one table run against check_args, a few end to end ----

def three_groups(m):
    "The digits MLP's parameters in three groups"
    return [list(m[0].parameters())[:1], list(m[0].parameters())[1:], list(m[2].parameters())]

@pytest.fixture(scope='module')
def three():
    "A learner with three parameter groups, built once: checking arguments changes nothing"
    return digits(splitter=three_groups)

class _B: pass
POS,INT = 'a positive finite number','a positive integer'
BAD_ARGS = { # the arguments, the exception, what its message says (about the learner above: three groups, validation data)
    'start-none': (dict(start_lr=None), TypeError, rf'start_lr must be {POS}, got None'),
    'start-string': (dict(start_lr='1e-7'), TypeError, r"start_lr must be a number, a list of numbers \(one per parameter group\) or a slice, got '1e-7'"),
    'start-empty-list': (dict(start_lr=[]), TypeError, r'start_lr must be a number.*got \[\]'),
    'start-nested-list': (dict(start_lr=[[1e-7, 1e-6]]), TypeError, rf'start_lr must be {POS}, got \[1e-07, 1e-06\]'),
    'start-2d-array': (dict(start_lr=np.full((1,2), 1e-7)), TypeError, r'start_lr must be a number'),
    'start-zero': (dict(start_lr=0), ValueError, rf'start_lr must be {POS}, got 0: a learning rate is a finite number above 0'),
    'start-negative-zero': (dict(start_lr=-0.), ValueError, rf'start_lr must be {POS}, got -0.0'),
    'start-nan': (dict(start_lr=math.nan), ValueError, rf'start_lr must be {POS}, got nan'),
    'start-nan-in-list': (dict(start_lr=[1e-7, math.nan, 1e-6]), ValueError, rf'start_lr\[1\] must be {POS}, got nan'),
    'start-list-of-strings': (dict(start_lr=['a', 'b', 'c']), TypeError, rf"start_lr\[0\] must be {POS}, got 'a'"),
    'start-list-too-long': (dict(start_lr=[1e-7, 1e-6, 1e-5, 1e-4]), ValueError, '4 learning rates but the optimizer has 3'),
    'start-tensor-4-for-3-groups': (dict(start_lr=torch.tensor([1e-7, 1e-6, 1e-5, 1e-4])), ValueError, '4 learning rates but the optimizer has 3'),
    'start-subnormal': (dict(start_lr=5e-324), ValueError, r'overflows a float'),
    'start-equals-end': (dict(start_lr=1., end_lr=1.), ValueError, 'below end_lr'),
    'start-above-end': (dict(start_lr=10, end_lr=1e-7), ValueError, 'below end_lr'),
    'start-one-group-above-end': (dict(start_lr=[1e-7, 1e-7, 2.], end_lr=[1., 1., 1.]), ValueError, 'below end_lr'),
    'span-overflows': (dict(start_lr=1e-300, end_lr=1e10), ValueError, r'overflows a float'),
    'schedule-overflows': (dict(start_lr=1e-310, end_lr=10), ValueError, r'start_lr=1e-310.*overflow'),
    'slice-negative-stop-3-groups': (dict(start_lr=slice(1e-7, -1e-6)), ValueError, # was "must be real number, not complex"
                                     rf'the stop of start_lr=slice\(1e-07, -1e-06\) must be {POS}, got -1e-06'),
    'slice-bad-start': (dict(start_lr=slice('x', 1e-5)), TypeError, r"the start of start_lr=slice\('x', 1e-05\) must be a non-negative finite number"),
    'slice-bad-stop': (dict(end_lr=slice(1e-3, [1.])), TypeError, rf'the stop of end_lr=slice\(0.001, \[1.0\]\) must be {POS}'),
    'slice-of-strings': (dict(end_lr=slice('a', 'b')), TypeError, r"the stop of end_lr=slice\('a', 'b'\)"),
    'slice-no-stop': (dict(end_lr=slice(1e-3, None)), ValueError, 'needs a stop'),
    'end-bool': (dict(end_lr=True), TypeError, rf'end_lr must be {POS}, got True'),
    'end-complex': (dict(end_lr=1+1j), TypeError, rf'end_lr must be {POS}, got \(1\+1j\)'),
    'end-object': (dict(end_lr=_B()), TypeError, rf'end_lr must be {POS}, got <'),
    'end-negative': (dict(end_lr=-1.), ValueError, rf'end_lr must be {POS}, got -1.0'),
    'end-inf': (dict(end_lr=math.inf), ValueError, rf'end_lr must be {POS}, got inf'),
    'end-overflows-to-inf': (dict(end_lr=1e309), ValueError, rf'end_lr must be {POS}, got inf'),
    'end-int-too-large': (dict(end_lr=10**400), ValueError, rf'end_lr must be {POS}, got an integer of 401 digits \(too large for a float\)'), # was a bare OverflowError
    'end-array-too-short': (dict(end_lr=np.array([1., 2.])), ValueError, '2 learning rates but the optimizer has 3'),
    'num_it-zero': (dict(num_it=0), ValueError, rf'num_it must be {INT}, got 0: the number of optimizer steps'),
    'num_it-negative': (dict(num_it=-5), ValueError, rf'num_it must be {INT}, got -5'),
    'num_it-float': (dict(num_it=10.5), TypeError, rf'num_it must be {INT}, got 10.5'),
    'num_it-numpy-float': (dict(num_it=np.float64(100)), TypeError, rf'num_it must be {INT}, got 100.0'),
    'num_it-bool': (dict(num_it=True), TypeError, rf'num_it must be {INT}, got True'),
    'num_it-string': (dict(num_it='100'), TypeError, rf"num_it must be {INT}, got '100'"),
    'num_it-none': (dict(num_it=None), TypeError, rf'num_it must be {INT}, got None'),
    'stop_div-string': (dict(stop_div='no'), TypeError, r"stop_div must be True or False, got 'no'"),
    'stop_div-none': (dict(stop_div=None), TypeError, r'stop_div must be True or False, got None'),
    'stop_div-2': (dict(stop_div=2), TypeError, r'stop_div must be True or False, got 2'),
    'show_plot-string': (dict(show_plot='yes'), TypeError, r"show_plot must be True or False, got 'yes'"),
    'intervals-string': (dict(intervals='yes'), TypeError, r"intervals must be True or False, got 'yes'"),
    'div-bool': (dict(div=True), TypeError, r'div must be a finite number above 1, got True'),
    'div-string': (dict(div='4'), TypeError, r"div must be a finite number above 1, got '4': the run stops when"),
    'div-list': (dict(div=[4]), TypeError, r'div must be a finite number above 1, got \[4\]'),
    'div-zero': (dict(div=0), ValueError, r'div must be a finite number above 1, got 0'),
    'div-one': (dict(div=1), ValueError, r'div must be a finite number above 1, got 1'),
    'div-half': (dict(div=.5), ValueError, r'div must be a finite number above 1, got 0.5'),
    'div-inf': (dict(div=math.inf), ValueError, r'div must be a finite number above 1, got inf'),
    'div-numpy-nan': (dict(div=np.float64('nan')), ValueError, r'div must be a finite number above 1, got nan'),
    'div-int-too-large': (dict(div=10**400), ValueError, r'div must be a finite number above 1, got an integer of 401 digits \(too large'), # was a bare OverflowError
    'group-bool': (dict(group=True), TypeError, r'group must be an integer in \[-3, 2\], got True'),
    'group-string': (dict(group='0'), TypeError, r"group must be an integer in \[-3, 2\], got '0'"),
    'group-float': (dict(group=0.5), TypeError, r'group must be an integer in \[-3, 2\], got 0.5'),
    'group-numpy-float': (dict(group=np.float64(0)), TypeError, r'group must be an integer'),
    'group-none': (dict(group=None), TypeError, r'group must be an integer in \[-3, 2\], got None'),
    'group-above-range': (dict(group=3), ValueError, r'group must be an integer in \[-3, 2\], got 3: the index of a parameter group \(-1 for the last\); the optimizer has 3'),
    'group-below-range': (dict(group=-4), ValueError, r'group must be an integer in \[-3, 2\], got -4'),
    'skip_start-bool': (dict(skip_start=True), TypeError, r'skip_start must be a non-negative integer or None, got True'),
    'skip_start-float': (dict(skip_start=2.0), TypeError, r'skip_start must be a non-negative integer or None, got 2.0'),
    'skip_start-negative': (dict(skip_start=-1), ValueError, r'skip_start must be a non-negative integer or None, got -1'),
    'skip_end-none': (dict(skip_end=None), TypeError, r'skip_end must be a non-negative integer, got None'),
    'skip_end-float': (dict(skip_end=2.5), TypeError, r'skip_end must be a non-negative integer, got 2.5'),
    'suggest-float': (dict(suggest_funcs=3.5), SuggestError, r"suggest_funcs must be a name, a function, 'all' or a list of them, got 3.5"),
    'suggest-set': (dict(suggest_funcs={'valley'}), SuggestError, r'a set has no order'),
    'suggest-dict': (dict(suggest_funcs={'valley': 1}), SuggestError, r'suggest_funcs must be a name'),
    'suggest-none-item': (dict(suggest_funcs=[None]), SuggestError, r'items must be names or functions, got None'),
    'suggest-int-item': (dict(suggest_funcs=['valley', 7]), SuggestError, r'items must be names or functions, got 7'),
    'suggest-empty-name': (dict(suggest_funcs=''), UnknownSuggester, r"No suggester named ''"),
    'suggest-bytes': (dict(suggest_funcs=b'valley'), SuggestError, r'must be names or functions'),
    'suggest-misspelt': (dict(suggest_funcs=('valley', 'steap')), UnknownSuggester, r"Did you mean 'steep'"),
    'suggest-twice': (dict(suggest_funcs=('valley', 'valley')), SuggestError, 'both be called'),
    'mode-lightning-name': (dict(mode='exponential'), ValueError, r"'exponential' is Lightning's name for 'exp'"),
    'mode-unknown': (dict(mode='lin'), ValueError, r"mode must be 'exp' \(fastai's exponential sweep\) or 'linear', got 'lin'"),
    'mode-int': (dict(mode=1), ValueError, r'mode must be .*got 1'),
    'set_lr-not-run': (dict(set_lr='steep', suggest_funcs='valley'), ValueError, r"set_lr='steep' is not one of the rules lr_find will run \(valley\)"),
    'set_lr-with-no-rule': (dict(set_lr=True, suggest_funcs=None), ValueError, 'asks for none'),
    'set_lr-number': (dict(set_lr=1e-2), TypeError, 'set_lr must be False, True'),
    'valid-zero': (dict(valid=0), ValueError, r'valid must be a positive integer, got 0: a number of batches of learn.dls.valid'),
    'valid-negative': (dict(valid=-1), ValueError, r'valid must be a positive integer, got -1'),
    'valid-float': (dict(valid=2.), TypeError, r'valid must be a positive integer, got 2.0'),
    'valid-numpy-bool': (dict(valid=np.bool_(True)), TypeError, r'valid must be a positive integer, got True'),
    'valid-empty-list': (dict(valid=[]), ValueError, r'valid gave no batches'),
    'valid-list-of-ints': (dict(valid=[1, 2]), TypeError, r"valid's batch 0 is a int"),
    'valid-a-tensor': (dict(valid=torch.zeros(3)), TypeError, r'valid looks like one batch'),
    'valid-one-batch': (lambda l: dict(valid=l.dls.valid.one_batch()), TypeError, r'valid looks like one batch.*valid=\[batch\]'),
    'valid-batch-of-one': (dict(valid=[(torch.zeros(2, 1),)]), TypeError, r"valid's batch 0 is a tuple of length 1"),
    'cbs-int': (dict(cbs=5), TypeError, r'cbs must be callbacks.*got 5'),
    'cbs-string': (dict(cbs='ProgressCallback'), TypeError, r"cbs must be callbacks.*got 'ProgressCallback'"),
}

@pytest.mark.parametrize('case', list(BAD_ARGS))
def test_bad_argument(case, three):
    "Each bad argument: an error that names it, shows the value and says what is wanted"
    kw,exc,msg = BAD_ARGS[case]
    with pytest.raises(exc, match=msg): check_args(three, **(kw(three) if callable(kw) else kw))

@pytest.mark.parametrize('kw', [dict(div=0), dict(start_lr=slice(1e-7, -1e-6)), dict(suggest_funcs=('valley', 'steap')),
                                dict(valid=[(torch.zeros(2, 1),)]), dict(mode='lin')])
def test_bad_argument_fails_before_training(kw):
    "lr_find checks before anything moves: no callback event, the learner as it was, no curve"
    learn,cnt = digits(splitter=three_groups),Counter()
    learn.add_cb(cnt)
    with learn.no_bar():
        before = capture(learn)
        with pytest.raises((TypeError,ValueError)): learn.lr_find(show_plot=False, **kw)
        assert diff(before, capture(learn)) == []
    assert cnt.events == [] and not hasattr(learn.recorder, 'lr_curve')

BAD_LEARNERS = {
    'no-loss': (lambda l: setattr(l, 'loss_func', None), 'loss_func is None'),
    'no-parameters': (lambda l: setattr(l, 'model', nn.Sequential(nn.ReLU())), 'no parameters'),
    'callback-already-attached': (None, 'already one of the learner'),
    'valid-count-without-valid-data': (lambda l: setattr(l, 'dls', DataLoaders(l.dls.train)), 'no validation data'),
}

@pytest.mark.parametrize('case', list(BAD_LEARNERS))
def test_bad_learner(case):
    f,msg = BAD_LEARNERS[case]
    learn,cnt = synth(),Counter()
    learn.add_cb(cnt)
    if f: f(learn)
    kw = dict(cbs=cnt) if case=='callback-already-attached' else dict(valid=2) if case.startswith('valid') else {}
    with pytest.raises((ValueError,TypeError), match=msg): check_args(learn, **kw)

GOOD_ARGS = {
    'numpy-everything': dict(start_lr=np.float32(1e-6), end_lr=np.float64(1.), num_it=np.int32(12), stop_div=np.bool_(False),
                             group=np.int8(0), div=np.float32(3.), skip_start=np.int64(1), skip_end=np.uint8(2)),
    'tensor-lrs': dict(start_lr=torch.tensor([1e-6, 1e-5], dtype=torch.float64), end_lr=torch.tensor(1., requires_grad=True)),
    'tensor-everything-else': dict(div=torch.tensor(4.), num_it=torch.tensor(12), group=torch.tensor(0), valid=torch.tensor(1)), # div: was refused
    'slice-from-zero': dict(end_lr=slice(0, 1.)), # fastai's "stop/10 for all but the last" (start 0 counts as none)
    'stop_div-int-0': dict(stop_div=0),
}

@pytest.mark.parametrize('case', list(GOOD_ARGS))
def test_good_odd_arguments_plain_values(case):
    "Values that are fine in another type run, and reach the curve's record as plain Python values (it saves to JSON)"
    learn = two_group_synth()
    res = _run(learn, **GOOD_ARGS[case])
    r = res.curve.run
    assert all(type(v) is float for v in (*r.start_lrs, *r.end_lrs, r.div)) and type(r.group) is int
    assert type(res.curve.num_it) is int and type(res.curve.skip_start) is int
    json.dumps(res.curve.to_dict())

def test_callback_class_in_cbs_is_instantiated():
    "fastai's add_cb takes a class too: so does cbs"
    class Marker(Callback):
        def before_fit(self): type(self).seen = True
    learn = synth()
    _run(learn, cbs=Marker)
    assert Marker.seen and not any(isinstance(c, Marker) for c in learn.cbs)

# ---- the restore: nothing lost, however the run ends and whatever a callback changes ----

class Do(Callback):
    "Calls `f(self)` at `event` (on the `at`-th time), optionally raising `exc` afterwards"
    order = 65
    def __init__(self, event, f, at=1, exc=None):
        self.f,self.at,self.exc,self.n = f,at,exc,0
        setattr(self, event, self._hit)
    def _hit(self):
        self.n += 1
        if self.n==self.at:
            self.f(self)
            if self.exc is not None: raise self.exc

def _swap_model(cb): cb.learn.model = nn.Sequential(nn.Linear(1, 1))
def _new_opt(cb): cb.learn.create_opt()
def _register(cb): cb.learn.model.register_buffer('extra', torch.ones(2)); cb.learn.model.register_parameter('p2', nn.Parameter(torch.ones(1)))
def _set_attr(cb): cb.learn.model.flag = 'changed'
def _default_dtype(cb): torch.set_default_dtype(torch.float64)
def _grad_off(cb): torch.set_grad_enabled(False)
def _swap_dls(cb): cb.learn.dls = DataLoaders(cb.learn.dls.train, cb.learn.dls.train)
def _dl_attr(cb): cb.learn.dls.train.bs = 4
def _set_wd(cb): cb.learn.opt.set_hyper('wd', 0.5)
def _learn_lr(cb): cb.learn.lr = 99.
def _metric(cb): cb.learn.metrics.append(MSELossFlat())
def _eval(cb): cb.learn.model.eval()
def _class(cb): cb.learn.model.__class__ = type('Changed', (type(cb.learn.model),), {})
def _cast_half_data(cb):
    for p in cb.learn.model.parameters(): p.data = p.data.half().float().double()

_ok = lambda l: True
RESTORE = { # event, what the callback does, what it raises then, a check after the restore (beyond `capture`'s)
    'model-replaced': ('before_fit', _swap_model, None, lambda l: type(l.model).__name__=='RegModel'),
    'optimizer-recreated': ('before_batch', _new_opt, None, _ok),
    'buffer-and-parameter-registered': ('before_batch', _register, None, lambda l: not hasattr(l.model, 'extra') and len(list(l.model.parameters()))==2),
    'module-attribute-set': ('before_fit', _set_attr, None, lambda l: not hasattr(l.model, 'flag')),
    'default-dtype-changed': ('before_fit', _default_dtype, RuntimeError('then fails'), _ok),
    'grad-mode-off-then-fails': ('before_batch', _grad_off, RuntimeError('then fails'), _ok),
    'dataloaders-replaced': ('before_fit', _swap_dls, None, _ok),
    'dataloader-attribute-changed': ('before_fit', _dl_attr, None, lambda l: l.dls.train.bs==16),
    'hyper-parameter-changed': ('before_batch', _set_wd, None, lambda l: all(h['wd']!=0.5 for h in l.opt.hypers)),
    'learner-lr-changed': ('before_fit', _learn_lr, None, lambda l: l.lr!=99.),
    'metric-appended': ('before_fit', _metric, None, lambda l: len(l.metrics)==0),
    'model-put-in-eval-mode': ('before_batch', _eval, None, _ok), # (capture checks every module's flag)
    'module-class-changed': ('before_fit', _class, None, lambda l: type(l.model).__name__=='RegModel'),
    'parameters-data-replaced': ('before_fit', _cast_half_data, RuntimeError('then fails'), lambda l: l.model.a.dtype==torch.float32),
    'cancel-fit-in-before-fit': ('before_fit', lambda cb: None, CancelFitException(), _ok),
    'exception-in-after-fit': ('after_fit', lambda cb: None, RuntimeError('late'), _ok),
    'keyboard-interrupt-in-after-step': ('after_step', lambda cb: None, KeyboardInterrupt(), _ok),
}

@pytest.mark.parametrize('case', list(RESTORE))
def test_restore_whatever_a_callback_changes(case):
    event,f,exc,check = RESTORE[case]
    learn = synth()
    with learn.no_bar(), learn.no_logging(): learn.fit(1) # an optimizer with state, gradients
    learn.add_cb(Do(event, f, at=3 if event in ('before_batch','after_step') else 1, exc=exc))
    dtype,grad = torch.get_default_dtype(),torch.is_grad_enabled()
    def find(l):
        try: l.lr_find(num_it=10, show_plot=False)
        except CurveError: pass # (cancelled before the first step, or learning rates changed: no window, said so)
    _restored(learn, find, None if exc is None or isinstance(exc, CancelFitException) else type(exc))
    assert torch.get_default_dtype() == dtype and torch.is_grad_enabled() == grad and check(learn)

def test_restore_with_failing_suggester():
    "A rule that raises after the run: the learner is already back, the curve is in the recorder, the error names the rule"
    @suggesters.register('boom_rule')
    def boom_rule(crv): raise ZeroDivisionError('rule bug')
    try:
        learn = synth()
        with pytest.raises(ZeroDivisionError) as ei: _restored(learn, lambda l: l.lr_find(suggest_funcs='boom_rule', show_plot=False))
    finally: suggesters.remove('boom_rule')
    learn = synth()
    with learn.no_bar():
        before = capture(learn)
        with pytest.raises(ZeroDivisionError) as ei: learn.lr_find(suggest_funcs=boom_rule, show_plot=False)
        assert diff(before, capture(learn)) == []
    assert any("boom_rule" in n for n in ei.value.__notes__) and len(learn.recorder.lr_curve) > 10

def test_restore_when_the_plot_fails(monkeypatch):
    "show_plot=True and the plot raises: the learner was put back before, and the result is in the recorder"
    import lrfind_ext.result as R
    monkeypatch.setattr(R.LRFindResult, 'plot', lambda self, *a, **k: 1/0)
    learn = synth()
    _restored(learn, lambda l: l.lr_find(num_it=12), ZeroDivisionError)
    assert learn.recorder.lr_result is not None

def test_a_failing_restore_step_does_not_stop_the_others(monkeypatch):
    "If one part of the restore fails, every other part is still put back, and the error says so"
    learn = synth()
    with learn.no_logging(), learn.no_bar(): learn.fit(1)
    w = weights(learn)
    monkeypatch.setattr(snapshot, '_set_rng_state', lambda st: 1/0)
    with learn.no_bar(), pytest.raises(RuntimeError, match='could not put back all') as ei: learn.lr_find(num_it=10, show_plot=False)
    assert isinstance(ei.value.__cause__, ZeroDivisionError) and same_weights(w, weights(learn))

def test_user_hooks_survive():
    "Hooks the user registered before lr_find are still there, and still fire, after it"
    learn,seen = synth(),[]
    h = learn.model.register_forward_hook(lambda m, i, o: seen.append(1))
    _run(learn)
    n = len(seen)
    learn.model(torch.zeros(2, 1))
    assert n >= 12 and len(seen) == n+1
    h.remove()
    assert not learn.model._forward_hooks

def test_tied_weights_stay_tied():
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.a,self.b = nn.Linear(1, 1),nn.Linear(1, 1)
            self.b.weight = self.a.weight
        def forward(self, x): return self.b(self.a(x))
    learn = synth()
    learn.model = Tied()
    _restored(learn, lambda l: l.lr_find(num_it=10, show_plot=False))
    assert learn.model.a.weight is learn.model.b.weight

def test_sparse_gradients():
    "An Embedding with sparse gradients (torch's SGD) keeps its sparse gradient"
    class Emb(nn.Module):
        def __init__(self): super().__init__(); self.e = nn.Embedding(4, 1, sparse=True)
        def forward(self, x): return self.e((x.abs()*3).long().clamp(0, 3)).view(-1, 1)
    learn = synth()
    learn.model,learn.opt_func = Emb(),(lambda ps, lr: OptimWrapper(opt=torch.optim.SGD(list(ps), lr=lr)))
    learn.model(torch.ones(2, 1)).sum().backward()
    assert learn.model.e.weight.grad.is_sparse
    _restored(learn, lambda l: l.lr_find(num_it=10, show_plot=False))
    assert learn.model.e.weight.grad.is_sparse

def test_lr_find_twice_same_curve():
    learn = synth()
    a,b = _run(learn, num_it=30),_run(learn, num_it=30)
    assert a.curve.losses.tolist() == b.curve.losses.tolist() and tuple(a) == tuple(b)

def test_fit_after_lr_find_records_normally():
    "The recorder holds lr_find's run, and the next fit records its own as usual"
    learn = synth()
    _run(learn)
    with learn.no_bar(), learn.no_logging(): learn.fit(1)
    assert len(learn.recorder.values) == 1 and len(learn.recorder.lrs) == len(learn.dls.train)

def test_parameter_outside_the_optimizer():
    "A parameter the splitter leaves out of the optimizer still comes back"
    learn = synth(splitter=lambda m: [m.a])
    _restored(learn, lambda l: l.lr_find(num_it=10, show_plot=False))

def test_another_callback_moving_the_lr_warns():
    "A scheduler of the user's that sets the learning rate after lr_find's: a warning, and the curve records what was used"
    class Fixed(Callback):
        order = 70
        def before_batch(self): self.opt.set_hyper('lr', 1e-3)
    learn = synth(cbs=Fixed())
    with learn.no_bar(), pytest.warns(UserWarning, match='Another callback changed the learning rate'):
        learn.lr_find(num_it=10, show_plot=False)
    assert set(learn.recorder.lr_curve.lrs.tolist()) == {1e-3}


# ---- the registry and what rules return ----

def test_register_a_non_callable():
    with pytest.raises(SuggestError, match="Can't tell how to call 5"): suggesters.add(5, 'five')

def test_remove_unknown():
    with pytest.raises(UnknownSuggester, match="No suggester named 'nope'"): suggesters.remove('nope')

def test_missing_attribute_is_attribute_error():
    assert not hasattr(suggesters, 'nope') and hasattr(suggesters, 'valley')

def test_rule_cannot_corrupt_the_curve():
    "A rule that writes into the curve's arrays fails, rather than changing what later rules and the plot read"
    def vandal(crv):
        crv.smooth[:] = 0
        return 1e-3
    crv = synth_curve()
    with pytest.raises(ValueError, match='read-only'): suggest_lrs(crv, [suggesters.resolve('valley')[0], lrfind_ext.suggest.Suggester('vandal', vandal)])

def test_rule_cannot_change_what_later_rules_and_the_saved_curve_see():
    "A rule that sets the curve's skips or its record: refused, or changing a copy; the next rule and the saved curve unaffected"
    def skip0(crv):
        try: crv.skip_start = 0 # refused (it moved `minimum` from 5.75e-3 to 1e-8)
        except AttributeError: pass
        return 1e-3
    def relabel(crv):
        try: crv.run.sweep = 'linear'
        except dataclasses.FrozenInstanceError: pass
        return 1e-3
    learn = synth()
    with learn.no_bar(): ref = learn.lr_find(show_plot=False, suggest_funcs='minimum').minimum
    with learn.no_bar(): res = learn.lr_find(show_plot=False, suggest_funcs=(skip0, relabel, 'minimum'))
    c = res.curve
    assert res.minimum == ref and (c.skip_start, c.sweep) == (10, 'exp') and LRCurve.from_dict(c.to_dict()).sweep == 'exp'
    with pytest.raises(AttributeError, match=r'read-only.*crv.replace\(skip_start=...\)'): c.skip_start = 0
    with pytest.raises(AttributeError, match='read-only'): del c.run

def test_curve_does_not_alias_the_callers_arrays():
    lrs,losses = np.geomspace(1e-5, 1, 10),np.linspace(2, 1, 10)
    crv = LRCurve(lrs, losses)
    losses[0] = 100.
    assert crv.losses[0] == 2. and lrs.flags.writeable

def test_rule_raising_curve_error_passes_through():
    def picky(crv): raise CurveError('too few points for me')
    with pytest.raises(CurveError, match='too few points for me'): lrfind_ext.suggest.Suggester('picky', picky)(synth_curve())

def test_callable_object_and_bound_method_rules():
    class Rule:
        def __call__(self, crv): return 1e-3
        def method(self, crv): return 2e-3
    r = Rule()
    assert [s.name for s in suggesters.resolve([lrfind_ext.suggest.Suggester('obj', r), r.method])] == ['obj', 'method']
    assert suggest_lrs(synth_curve(), [r.method])[0].lr == 2e-3

def test_fastai_rule_returning_numpy():
    def np_rule(lrs, losses, num_it): return np.float32(1e-3), (np.float64(1e-3), np.float32(1.))
    s = suggest_lrs(synth_curve(), np_rule)[0]
    assert type(s.lr) is float and not s.derived

def test_generator_of_rules():
    assert [s.name for s in suggesters.resolve(n for n in ('valley', 'steep'))] == ['valley', 'steep']

@pytest.mark.parametrize('name', ['_replace', '_fields', 'curve'])
def test_names_that_would_shadow_the_result(name):
    with pytest.raises(SuggestError): suggesters.add(lambda crv: 1e-3, name)

def test_unicode_rule_name():
    s = lrfind_ext.suggest.Suggester('λ', lambda crv: 1e-3)(synth_curve())
    res = lr_result(synth_curve(), [s])
    assert res.λ == 1e-3

# ---- the result ----

@pytest.fixture(scope='module')
def res():
    learn = synth()
    with learn.no_bar(): return learn.lr_find(show_plot=False, suggest_funcs=('valley', 'minimum'))

def test_copy_and_deepcopy_keep_the_curve(res):
    for r in (copy.copy(res), copy.deepcopy(res)):
        assert tuple(r) == tuple(res) and r.curve is not None and r.suggestions == res.suggestions

def test_tuple_semantics(res):
    assert res == tuple(res) and hash(res) == hash(tuple(res)) and res + (1,) == (*res, 1) and res._asdict()['valley'] == res.valley

def test_no_suggestions_result():
    learn = synth()
    with learn.no_bar(): r = learn.lr_find(show_plot=False, suggest_funcs=())
    assert tuple(r) == () and r.table().startswith('suggester') and '<table>' in r._repr_html_() and r.plot() is not None

def test_direct_construction_without_curve(res):
    r = type(res)(1e-3, 1e-4)
    assert r.curve is None and r.suggestions['minimum'].lr == 1e-4 and 'set by hand' in r.table()

def test_replace_unknown_field(res):
    with pytest.raises(ValueError, match='nope'): res._replace(nope=1e-3)

def test_replace_with_numpy_value(res):
    r = res._replace(valley=np.float32(1e-3))
    assert type(r.suggestions['valley'].lr) is float and r.curve is res.curve

@pytest.mark.parametrize('v', [math.nan, -1e-3, 0., math.inf, 'fast', None])
def test_replace_with_a_value_that_is_not_a_learning_rate(res, v):
    "Refused when given, rather than breaking the table, the HTML, `.suggestions` or the plot later"
    with pytest.raises(SuggestError, match='valley must be a positive finite number'): res._replace(valley=v)

def test_replace_with_a_tensor_stores_a_float(res):
    r = res._replace(valley=torch.tensor(1e-3))
    assert type(r.valley) is float and r.valley == pytest.approx(1e-3) and r.suggestions['valley'].lr == r.valley

def test_replace_of_the_applied_rule_keeps_what_learn_lr_holds():
    "After set_lr='basin', replacing basin's value: the table still says what learn.lr holds (basin's own suggestion)"
    learn = synth()
    with learn.no_bar(): r = learn.lr_find(show_plot=False, set_lr='basin')
    line = f"learn.lr = {learn.lr:.2e} (basin's suggestion, set by set_lr)"
    assert r.table().splitlines()[-1] == line and r._replace(basin=1e-5).table().splitlines()[-1] == line
    assert '1.00e-05 (basin' not in r._replace(basin=1e-5)._repr_html_()

def test_replace_then_pickle_then_replace_back(res):
    r = pickle.loads(pickle.dumps(res._replace(valley=1e-3)))._replace(valley=res.valley)
    assert r.suggestions['valley'] == res.suggestions['valley']

def test_stop_text_of_each_stop_reason():
    for stop in LRCurve.stops:
        r = lr_result(LRCurve([1e-3, 1e-2], [1., 2.], stop=stop), [])
        assert LRCurve.stops[stop] in r._stop_txt()

def test_html_of_a_curve_with_nan_loss():
    s = Suggestion(1e-3, name='x', loss=math.nan)
    assert 'nan' in lr_result(synth_curve(), [s])._repr_html_()

def test_suggestion_equality_with_other_types():
    assert Suggestion(1e-3) != 1e-3 and Suggestion(1e-3) != (1e-3,)

# ---- the curve ----

BAD_CURVES = {
    '2d-lrs': (lambda: LRCurve(np.ones((2, 2))*1e-3, np.ones((2, 2))), 'one-dimensional'),
    'nan-lr': (lambda: LRCurve([1e-3, math.nan], [1., 1.]), 'finite, positive'),
    'negative-lr': (lambda: LRCurve([-1e-3, 1e-2], [1., 1.]), 'positive'),
    'decreasing-lrs': (lambda: LRCurve([1e-2, 1e-3], [1., 1.]).window, 'do not increase'),
    'beta-one': (lambda: LRCurve([1e-3], [1.], beta=1.), r'beta must be a finite number in \[0, 1\), got 1.0'),
    'beta-string': (lambda: LRCurve([1e-3], [1.], beta='x'), r"beta must be a finite number in \[0, 1\), got 'x'"),
    'num_it-negative': (lambda: LRCurve([1e-3], [1.], num_it=-1), 'num_it must be a non-negative integer or None, got -1'),
    'num_it-float': (lambda: LRCurve([1e-3], [1.], num_it=10.7), 'num_it must be'),
    'skip_start-bool': (lambda: LRCurve([1e-3], [1.], skip_start=True), 'skip_start must be'),
    'run-not-a-record': (lambda: LRCurve([1e-3], [1.], run=dict(div=4.)), 'run must be a RunInfo'),
    'run-bad-field': (lambda: LRCurve([1e-3], [1.], run=RunInfo(stop='bored')), 'stop must be one of'),
    'losses-strings': (lambda: LRCurve([1e-3], ['a']), 'could not convert'),
    'reversed-slice': (lambda: synth_curve()[::-1].window, 'do not increase'),
    'lengths-differ': (lambda: LRCurve([1e-3, 1e-2], [1.]), 'lrs, losses and smooth must have the same length, got 2, 1 and'),
}

@pytest.mark.parametrize('case', list(BAD_CURVES))
def test_bad_curve(case):
    f,msg = BAD_CURVES[case]
    with pytest.raises((ValueError,TypeError), match=msg): f()

def test_curve_indexing_forms():
    c = synth_curve()
    assert len(c[3]) == 1 and len(c[[0, 2, 4]]) == 3 and len(c[c.smooth < 2]) < len(c) and len(c[5:2]) == 0

def test_load_not_a_curve(tmp_path):
    (tmp_path/'a.json').write_text('[1, 2]')
    (tmp_path/'b.json').write_text(json.dumps(dict(lrs=[1e-3], losses=[1.], colour='red')))
    with pytest.raises(ValueError, match='Not a saved LRCurve'): LRCurve.load(tmp_path/'a.json')
    with pytest.raises(ValueError, match=r"unknown keys \['colour'\]"): LRCurve.load(tmp_path/'b.json')
    d = synth_curve().to_dict()
    with pytest.raises(ValueError, match="Not a saved LRCurve: .*unexpected keyword argument 'colour'"): LRCurve.from_dict(dict(d, run=dict(d['run'], colour='red')))
    with pytest.raises(ValueError, match='saved in format 3: this lrfind_ext reads formats 1 and 2'): LRCurve.from_dict(dict(d, version=3))

@pytest.mark.parametrize('crv', [LRCurve([], []), LRCurve([1e-3, 1e-2], smooth=[1., 2.]),
                                 LRCurve([1e-3, 1e-2], [1., math.nan], run=RunInfo(stop='nonfinite', stopped_by='X'))])
def test_save_load_edge_curves(crv, tmp_path):
    c2 = LRCurve.load(crv.save(tmp_path/'c.json'))
    assert len(c2) == len(crv) and (c2.losses is None) == (crv.losses is None)
    json.loads((tmp_path/'c.json').read_text(), parse_constant=lambda c: pytest.fail(f'not strict JSON: {c}'))

def test_loss_at_non_positive_lr():
    with pytest.raises(ValueError, match='lr must be positive'): synth_curve().loss_at(0.)
    with pytest.raises(ValueError, match='lr must be positive'): synth_curve().loss_at(-1e-3)

def test_read_unknown_and_tiny_curves():
    with pytest.raises(ValueError, match='reads must be one of'): synth_curve().read('ema')
    for c in (LRCurve([], []), LRCurve([1e-3], [1.])):
        for what in ('smooth', 'raw', 'zerolag'):
            lrs,ys = c.read(what)
            assert len(lrs) == len(ys) <= 1
    assert LRCurve([1e-3], [1.]).loss_at(1e-3, reads='zerolag') == 1. # too few points to smooth: the point itself

def test_smooth_losses_bad_beta():
    with pytest.raises(ValueError, match=r'beta must be a finite number in \[0, 1\), got 1.0'): smooth_losses([1., 2.], beta=1.)

def test_loglr_smooth_checks():
    with pytest.raises(ValueError, match='sorted'): loglr_smooth([0., -1.], [1., 2.])
    with pytest.raises(ValueError, match='h must be'): loglr_smooth([0., 1.], [1., 2.], h=0)
    with pytest.raises(ValueError, match='same length'): loglr_smooth([0., 1.], [1.])

@pytest.mark.parametrize('n', [0, 1, 2])
def test_synth_curve_tiny(n):
    assert len(synth_curve(n=n)) <= n

@settings(max_examples=300, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.lists(st.one_of(st.floats(-1e6, 1e6), st.sampled_from([math.nan, math.inf, -math.inf])), min_size=0, max_size=60),
       st.floats(1.01, 100))
def test_cut_at_divergence_is_div_stop(losses, div):
    "cut_at_divergence stops exactly where stepping div_stop through the curve does, for any losses"
    crv = LRCurve(np.geomspace(1e-6, 1, len(losses)) if losses else [], smooth=losses)
    cut,best,n = crv.cut_at_divergence(div),math.inf,len(losses)
    for i,sm in enumerate(losses):
        start = div_start(losses[:i+1], crv.num_it)
        why = div_stop(sm, best, div, start)
        if why: n = i+1; break
        if start is not None: best = min(best, sm)
    assert len(cut) == n and (cut.stop == why if n < len(losses) or (losses and why) else cut.stop == crv.stop)

# ---- the setups ----

def test_fp16_and_accumulation_together():
    learn = digits(bs=16, cbs=[CPUMixedPrecision(init_scale=2.**24), GradientAccumulation(32)])
    res = _restored(learn, lambda l: l.lr_find(num_it=20, stop_div=False, show_plot=False))
    r = res.curve.run
    assert len(res.curve) == 20 and r.skipped > 0 and r.batches == 2*(20+r.skipped)

def test_fp16_and_valid_mode():
    learn = digits(cbs=CPUMixedPrecision(init_scale=2.**24))
    res = _restored(learn, lambda l: l.lr_find(num_it=15, stop_div=False, valid=1, show_plot=False))
    assert len(res.curve) == 15 and res.curve.run.mode == 'valid'

def test_accumulation_smaller_than_a_batch():
    "n_acc below the batch size: every batch is a step"
    learn = digits(bs=64, cbs=GradientAccumulation(16))
    res = _run(learn, num_it=15, stop_div=False)
    assert len(res.curve) == res.curve.run.batches == 15

def test_accumulation_not_a_multiple():
    learn = digits(bs=24, cbs=GradientAccumulation(64)) # 3 batches (72 items) make a step
    res = _run(learn, num_it=10, stop_div=False)
    assert len(res.curve) == 10 and res.curve.run.batches == 30

def test_three_groups_slice():
    learn = digits(arch='bn', splitter=lambda m: [list(m[0].parameters()), list(m[1].parameters()), list(m[3].parameters())])
    res = _run(learn, start_lr=slice(1e-7, 1e-5), end_lr=slice(1e-3, 1.), stop_div=False)
    assert res.curve.run.n_groups == 3 and res.curve.lrs[0] == pytest.approx(1e-5)

def test_train_only_with_valid_batches():
    "No validation set, but batches given to score on: works"
    learn = digits()
    b = learn.dls.valid.one_batch()
    learn.dls = DataLoaders(learn.dls.train)
    res = _restored(learn, lambda l: l.lr_find(num_it=12, valid=[b], show_plot=False))
    assert res.curve.run.mode == 'valid' and len(res.curve) == 12

def test_train_only_with_progress_bar(capsys):
    learn = synth(n_trn=2)
    learn.dls = DataLoaders(learn.dls.train)
    res = learn.lr_find(num_it=10, stop_div=False, show_plot=False)
    assert len(res.curve) == 10

def test_valid_as_one_shot_generator():
    learn = digits()
    bs = [learn.dls.valid.one_batch()]
    res = _run(learn, valid=(b for b in bs), stop_div=False)
    assert res.curve.run.valid_batches == 1

def test_cancel_step_once():
    "A callback that skips one step: one skipped, still num_it points"
    learn = synth(cbs=Do('before_step', lambda cb: None, at=4, exc=CancelStepException()))
    res = _run(learn, num_it=20, stop_div=False)
    assert len(res.curve) == 20 and res.curve.run.skipped == 1
