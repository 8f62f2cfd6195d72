"""`Learner.lr_find` as a fastai user sees it: the same signature, every `suggest_funcs` form fastai accepts, the same
result tuple, the progress bar, the recorder, the schedule, parameter groups; fastai's documented examples unchanged.
Then the result object: curve, suggestions, stop reason, plot, table, pickling, saving the curve."""
import inspect,io,json,math,pickle,re,subprocess,sys,tempfile,textwrap
from contextlib import redirect_stdout
from functools import partial
from pathlib import Path
import numpy as np,pytest,torch
import matplotlib.pyplot as plt
from fastai.basics import Learner,tensor,L,range_of,set_seed
from fastai.callback.core import Callback,CancelFitException
from fastai.callback.schedule import valley,slide,minimum,steep,SuggestionMethod,LRFinder,SchedExp
from fastcore.test import test_eq as _test_eq # (imported as test_eq, pytest would collect it)
import lrfind_ext
from lrfind_ext.curve import LRCurve,RunInfo,smooth_losses
from lrfind_ext.view import CurveError
from lrfind_ext.suggest import suggesters,Suggestion,SuggestError
from lrfind_ext.finder import fastai_lr_find
from lrfind_ext.result import lr_result,LRFindResult
from lrf_testutils import synth,digits,two_groups,Counter,RaiseAt,Log

pytestmark = pytest.mark.filterwarnings('ignore::DeprecationWarning')

# ---- the call ----

def test_signature_as_fastai():
    "The first six parameters: same names, order, kinds and defaults as fastai's; everything new is keyword-only"
    ours = list(inspect.signature(Learner.lr_find).parameters.values())
    theirs = list(inspect.signature(fastai_lr_find).parameters.values())
    assert Learner.lr_find is not fastai_lr_find and len(theirs) == 7
    assert [(p.name,p.kind) for p in ours[:7]] == [(p.name,p.kind) for p in theirs]
    assert [p.default for p in ours[1:6]] == [p.default for p in theirs[1:6]]
    # suggest_funcs: fastai's default is its `valley` function; ours lists the benchmark's winner first, then valley
    assert [s.name for s in suggesters.resolve(theirs[6].default)] == ['valley']
    assert [s.name for s in suggesters.resolve(ours[6].default)] == ['basin', 'valley']
    assert all(p.kind is p.KEYWORD_ONLY for p in ours[7:])

# The modules of this package whose pages show signatures of their own (the plot's are tested with it)
_MODS = ('curve','view','suggest','rules','spread','snapshot','result','checks','finder','examples')

def _documented_callables():
    "(name, function) of what the API pages show a signature for: exported functions, exported classes' constructors, public methods and properties, and the methods patched onto fastai's and this package's classes"
    import importlib
    seen = {}
    def add(nm, f):
        f = getattr(f, 'fget', None) or getattr(f, '__func__', None) or f
        if inspect.isfunction(f): seen.setdefault(nm, f)
    for m in _MODS:
        mod = importlib.import_module(f'lrfind_ext.{m}')
        for n in mod.__all__:
            o = getattr(mod, n)
            if getattr(o, '__module__', None)!=mod.__name__: continue
            if inspect.isclass(o):
                add(n, o.__init__)
                for k,v in vars(o).items():
                    if not k.startswith('_'): add(f'{n}.{k}', v)
            else: add(n, o)
    for k,v in vars(LRCurve).items():
        if not k.startswith('_'): add(f'LRCurve.{k}', v)
    add('Learner.lr_find', Learner.lr_find)
    return seen

def test_no_parameter_reads_nonetype():
    """A parameter that defaults to None has a type: fastcore's show_doc gives an unannotated one the type of its default,
    and the docs read `valid:NoneType=None` (issue 23)"""
    fs = _documented_callables()
    assert {'Learner.lr_find', 'LRCurve.loss_at', 'LRFindResult.plot', 'Suggesters.add', 'check_num'} <= set(fs)
    bad = [f'{nm}({p.name}=None)' for nm,f in fs.items() for p in inspect.signature(f).parameters.values()
           if p.default is None and p.annotation is p.empty]
    assert not bad, 'parameters the docs would type NoneType: ' + ', '.join(bad)

def test_result_and_registry_members_documented():
    "Every public method and property of the result, the registry and the probes' result has its `show_doc` on the page of the module that defines it (issue 23)"
    from lrfind_ext.suggest import Suggesters
    root = Path(__file__).resolve().parent.parent/'nbs'
    src = lambda nb: '\n'.join(''.join(c['source']) for c in json.loads(nb.read_text())['cells'] if c['cell_type']=='code')
    page = {f"lrfind_ext.{m[1]}":src(nb) for nb in root.glob('*.ipynb') if (m := re.search(r'#\| default_exp (\w+)', nb.read_text()))}
    from lrfind_ext.probes import LRProbes
    for cls in LRFindResult,Suggesters,LRProbes:
        members = {k:getattr(v, 'fget', v) for k,v in vars(cls).items() if not k.startswith('_') and (inspect.isfunction(v) or isinstance(v, property))}
        assert len(members) >= 4, members
        shown = lambda k,src: f'show_doc({cls.__name__}.{k})' in src or f'def {k}(self:{cls.__name__}' in src # (nbdev documents a @patch)
        missing = [(k,f.__module__) for k,f in members.items() if not shown(k, page[f.__module__])]
        assert not missing, missing

def test_default_result_keeps_valley():
    "Code written for fastai, `learn.lr_find().valley`, keeps working with the new default"
    learn = digits()
    with learn.no_bar(): res = learn.lr_find(show_plot=False)
    assert res._fields == ('basin', 'valley')
    with learn.no_bar(): v = learn.lr_find(suggest_funcs='valley', show_plot=False).valley
    assert res.valley == v

def pct_drop(lrs, losses, num_it, pct_reduction):
    "A user rule of fastai's form (fastai's docs example): the first lr where the loss fell by `pct_reduction`"
    i = int(torch.nonzero(losses < losses[0]*(1-pct_reduction))[0]) if (losses < losses[0]*(1-pct_reduction)).any() else 0
    return float(lrs[i]), (float(lrs[i]), losses[i])

def last_third(lrs, losses, num_it):
    "A user rule of fastai's form"
    i = 2*len(lrs)//3
    return float(lrs[i])/3, (float(lrs[i]), losses[i])

FORMS = {
    'fastai-four': (minimum, steep, valley, slide),
    'suggestion-method': (SuggestionMethod.Valley, SuggestionMethod.Minimum),
    'one-function': valley,
    'one-function-in-parens': (steep),
    'list': [slide, minimum],
    'partial-of-fastai': (partial(slide, adjust_value=.5), valley),
    'user-function': (last_third, steep),
    'partial-of-user-function': (partial(pct_drop, pct_reduction=.2),),
}

@pytest.mark.parametrize('form', list(FORMS))
def test_suggest_funcs_forms_as_fastai(form, tmp_path):
    "Every form fastai accepts gives fastai's fields and (to float32 rounding) fastai's values"
    funcs = FORMS[form]
    a,b = synth(seed=3, path=tmp_path),synth(seed=3)
    with a.no_bar(),b.no_bar():
        ra = fastai_lr_find(a, num_it=50, show_plot=False, suggest_funcs=funcs)
        rb = b.lr_find(num_it=50, show_plot=False, suggest_funcs=funcs)
    assert type(rb).__name__ == 'SuggestedLRs' and isinstance(rb, tuple) and isinstance(rb, LRFindResult)
    assert rb._fields == ra._fields
    assert list(rb) == pytest.approx(list(ra), rel=1e-6)
    assert rb._asdict() == dict(zip(rb._fields, rb))
    for i,f in enumerate(rb._fields): assert getattr(rb, f) == rb[i] == rb.suggestions[f].lr
    *_, last = rb
    assert last == rb[-1]

def test_names_and_all():
    learn = synth()
    with learn.no_bar():
        r1 = learn.lr_find(num_it=50, show_plot=False, suggest_funcs=('valley', 'minimum'))
        r2 = learn.lr_find(num_it=50, show_plot=False, suggest_funcs='all')
        r3 = learn.lr_find(num_it=50, show_plot=False, suggest_funcs=(valley, minimum))
    assert r1._fields == ('valley', 'minimum') and r2._fields == tuple(suggesters.names())
    assert tuple(r1) == tuple(r3) and r2.valley == r1.valley and r2.minimum == r1.minimum
    lr_min,lr_steep = learn.lr_find(num_it=50, show_plot=False, suggest_funcs=(minimum, steep))
    assert lr_min == r2.minimum and lr_steep == r2.steep

# ---- fastai's documented examples, unchanged ----

def test_fastai_doc_example_lr_find(capsys):
    "fastai's nbs/14_callback.schedule.ipynb, the lr_find cell"
    test_eq = _test_eq
    with tempfile.TemporaryDirectory() as d:
        learn = synth_learner(path=Path(d))
        weights_pre_lr_find = L(learn.model.parameters())
        lr_min, lr_steep, lr_valley, lr_slide = learn.lr_find(suggest_funcs=(minimum, steep, valley, slide))
        weights_post_lr_find = L(learn.model.parameters())
    test_eq(weights_pre_lr_find, weights_post_lr_find)
    print(f"Minimum/10:\t{lr_min:.2e}\nSteepest point:\t{lr_steep:.2e}\nLongest valley:\t{lr_valley:.2e}\nSlide interval:\t{lr_slide:.2e}")
    assert 'Longest valley' in capsys.readouterr().out

def test_fastai_doc_example_lrfinder_callback():
    "fastai's LRFinder cell and its suggestion-method cells, with lrfind_ext imported"
    test_eq = _test_eq
    with tempfile.TemporaryDirectory() as d:
        learn = synth_learner(path=Path(d))
        init_a,init_b = learn.model.a,learn.model.b
        with learn.no_logging(): learn.fit(20, cbs=LRFinder(num_it=100))
        assert len(learn.recorder.lrs) <= 100
        test_eq(len(learn.recorder.lrs), len(learn.recorder.losses))
        #Check stop if diverge
        if len(learn.recorder.lrs) < 100: assert learn.recorder.losses[-1] > 4 * min(learn.recorder.losses)
        #Test schedule
        test_eq(learn.recorder.lrs, [SchedExp(1e-7, 10)(i/100) for i in range_of(learn.recorder.lrs)])
        #No validation data
        test_eq([len(v) for v in learn.recorder.values], [1 for _ in range_of(learn.recorder.values)])
        #Model loaded back properly
        test_eq(learn.model.a, init_a)
        test_eq(learn.model.b, init_b)
        test_eq(learn.opt.state_dict()['state'], [{}, {}])
    lrs,losses = tensor(learn.recorder.lrs[100//10:-5]),tensor(learn.recorder.losses[100//10:-5])
    for f in (valley, slide, minimum, steep): f(lrs, losses, 100)

def test_fastai_tutorial_usage(capsys):
    "The forms of fastai's tutorials and fastbook: unpack two rules, print them, train with `.valley`, plot again"
    learn = synth_learner()
    lr_min,lr_steep = learn.lr_find(suggest_funcs=(minimum, steep))
    print(f"Minimum/10: {lr_min:.2e}, steepest point: {lr_steep:.2e}")
    lrs = learn.lr_find(suggest_funcs=(valley))
    learn.fit_one_cycle(1, lrs.valley)
    learn.lr_find(suggest_funcs=(valley, slide))
    learn.recorder.plot_lr_find()
    assert 'Minimum/10' in capsys.readouterr().out

from fastai.test_utils import synth_learner

# ---- during the run: progress bar, no logging ----

class BarSpy(Callback):
    "Notes whether fastai's progress bar is running during the batches (in a `Log`, which the restore leaves alone)"
    order = 70
    def __init__(self): self.seen = Log()
    def after_pred(self): self.seen.append(hasattr(self.learn, 'progress') and getattr(self.learn.progress, 'pbar', None) is not None)

def test_progress_bar_and_no_log_line(capsys):
    learn = synth()
    spy = BarSpy()
    learn.add_cb(spy)
    capsys.readouterr()
    learn.lr_find(num_it=20, show_plot=False)
    out = capsys.readouterr().out
    assert len(spy.seen) == 20 and all(spy.seen)
    assert 'Epoch 1/' in out and '%' in out # fastprogress's bar on a console
    assert 'train_loss' not in out and not re.search(r"\[0, ", out) # no metrics header, no epoch log line
    learn.fit(1) # (a real fit does log: the check above can fail)
    assert 'train_loss' in capsys.readouterr().out

def test_no_bar_hides_it(capsys):
    learn = synth()
    capsys.readouterr()
    spy = BarSpy()
    learn.add_cb(spy)
    with learn.no_bar(): learn.lr_find(num_it=20, show_plot=False)
    assert capsys.readouterr().out == '' and len(spy.seen) == 20 and not any(spy.seen)

# ---- the recorder and the schedule ----

def test_recorder_holds_lrs_and_losses():
    learn = synth()
    with learn.no_bar(): res = learn.lr_find(num_it=40, show_plot=False, stop_div=False)
    rec = learn.recorder
    assert len(rec.lrs) == len(rec.losses) == len(res.curve) == 40
    assert rec.lrs == res.curve.lrs.tolist()
    assert all(isinstance(o, torch.Tensor) and o.dtype == torch.float32 for o in rec.losses)
    assert [float(o) for o in rec.losses] == res.curve.smooth.tolist()
    assert rec.lr_curve is res.curve and rec.lr_result is res

@pytest.mark.parametrize('start,end,num_it', [(1e-7, 10, 100), (1e-5, 1., 37), (3e-4, 0.5, 8)])
def test_schedule(start, end, num_it):
    "The learning rate of step k is fastai's `start*(end/start)**(k/num_it)`, exactly"
    learn = synth(n_trn=3)
    with learn.no_bar(): res = learn.lr_find(start, end, num_it, stop_div=False, show_plot=False)
    lrs = learn.recorder.lrs
    assert len(lrs) == num_it
    assert lrs == [start*(end/start)**(k/num_it) for k in range(num_it)]
    assert lrs == [SchedExp(start, end)(k/num_it) for k in range(num_it)]

class HyperSpy(Callback):
    "Records the learning rate of every parameter group at each batch"
    order = 61
    def __init__(self): self.lrs = Log()
    def before_batch(self): self.lrs.append([h['lr'] for h in self.opt.hypers])

@pytest.mark.parametrize('group', [0, 1, -1])
def test_list_lrs_per_group(group):
    learn = digits(splitter=two_groups)
    spy = HyperSpy()
    learn.add_cb(spy)
    starts,ends,n = [1e-6, 1e-4],[1e-2, 1.],20
    with learn.no_bar(): res = learn.lr_find(starts, ends, n, stop_div=False, show_plot=False, group=group)
    assert len(spy.lrs) == n
    for k,row in enumerate(spy.lrs): assert row == [s*(e/s)**(k/n) for s,e in zip(starts, ends)]
    assert learn.recorder.lrs == [row[group] for row in spy.lrs]
    assert res.curve.run.group == group and res.curve.run.start_lr == starts[group] and res.curve.run.start_lrs == tuple(starts)

def test_slice_lrs_like_fastai():
    "A slice spreads over the groups as fastai's `set_hyper` spreads `lr_max=slice(...)`"
    learn = digits(splitter=two_groups)
    spy = HyperSpy()
    learn.add_cb(spy)
    with learn.no_bar(): learn.lr_find(slice(1e-7, 1e-5), slice(1e-3, 1.), 12, stop_div=False, show_plot=False)
    learn.create_opt()
    learn.opt.set_hyper('lr', slice(1e-7, 1e-5))
    assert spy.lrs[0] == pytest.approx([h['lr'] for h in learn.opt.hypers], rel=1e-12)
    learn.opt.set_hyper('lr', slice(1e-3, 1.))
    assert [s*(e/s)**(12/12) for s,e in zip(spy.lrs[0], [h['lr'] for h in learn.opt.hypers])] == pytest.approx(
        [h['lr'] for h in learn.opt.hypers], rel=1e-12)
    spy.lrs.clear()
    with learn.no_bar(): learn.lr_find(slice(None, 1e-5), slice(None, 1.), 12, stop_div=False, show_plot=False)
    learn.opt.set_hyper('lr', slice(None, 1e-5)) # fastai's "stop/10 for all but the last"
    assert spy.lrs[0] == [h['lr'] for h in learn.opt.hypers] == pytest.approx([1e-6, 1e-5], rel=1e-12)

# ---- the result ----

@pytest.fixture(scope='module')
def diverged():
    "A run that diverges"
    learn = synth(seed=5)
    with learn.no_bar(): res = learn.lr_find(show_plot=False, suggest_funcs='all')
    return learn,res

def test_result_carries_curve(diverged):
    learn,res = diverged
    c = res.curve
    assert isinstance(c, LRCurve) and len(c.lrs) == len(c.losses) == len(c.smooth) > 10
    assert c.smooth.tolist() == smooth_losses(c.losses).tolist() # raw and smoothed agree, bit for bit
    assert c.num_it == 100 and c.stop == 'diverged' and len(c) < 100
    assert c.smooth[-1] > 4*c.smooth.min() and not (c.smooth[:-1] > 4*np.minimum.accumulate(c.smooth)[:-1]).any()
    assert 'loss diverged' in res._stop_txt() and f'{c.lrs[-1]:.1e}' in res._stop_txt()

def test_result_num_it_stop():
    learn = synth()
    with learn.no_bar(): res = learn.lr_find(num_it=30, stop_div=False, show_plot=False)
    assert res.curve.stop == 'num_it' and len(res.curve) == 30 and 'reached num_it' in res._repr_html_()

def test_suggestions_with_points(diverged):
    _,res = diverged
    assert list(res.suggestions) == list(res._fields)
    for name,s in res.suggestions.items():
        assert isinstance(s, Suggestion) and s.name == name and s.lr == getattr(res, name)
        assert math.isfinite(s.loss) and s.loss == pytest.approx(res.curve.loss_at(s.lr, reads=s.reads))
    m = res.suggestions['minimum']
    assert m.derived and m.note == 'minimum / 10' and m.src_lr == pytest.approx(10*m.lr)
    w = res.curve.window
    assert m.src_loss == res.curve.smooth[w].min()
    assert not res.suggestions['valley'].derived and not res.suggestions['steep'].derived

def test_plot_without_rerunning(diverged, monkeypatch):
    learn,res = diverged
    def _no_fit(*a, **k): raise AssertionError('plot ran a fit')
    monkeypatch.setattr(Learner, 'fit', _no_fit)
    assert res.plot() is not None
    assert learn.recorder.lr_result.plot() is not None

def test_html_and_table(diverged):
    _,res = diverged
    h = res._repr_html_()
    assert h.startswith('<table>') and h.count('<tr>') == len(res._fields)+1
    for s in res.suggestions.values(): assert f'<td>{s.name}</td><td>{s.lr:.2e}</td>' in h
    assert 'minimum / 10' in h and 'loss diverged' in h
    t = res.table().splitlines()
    assert len(t) == len(res._fields)+1 and t[0].split()[0] == 'suggester'

def test_html_escapes_notes():
    crv = lrfind_ext.curve.synth_curve()
    res = lr_result(crv, [Suggestion(1e-3, src_lr=1e-2, note='lr < 2 & >1', name='odd', loss=1., src_loss=1.)])
    assert 'lr &lt; 2 &amp; &gt;1' in res._repr_html_()

def test_pickle(diverged):
    _,res = diverged
    r2 = pickle.loads(pickle.dumps(res))
    assert type(r2).__name__ == 'SuggestedLRs' and r2._fields == res._fields and tuple(r2) == tuple(res)
    assert r2.curve.lrs.tolist() == res.curve.lrs.tolist() and r2.curve.stop == res.curve.stop
    assert r2.suggestions == res.suggestions

def test_recorder_pickles_without_lrfind_ext(diverged):
    "A learner exported after lr_find must load where lrfind_ext is not installed"
    learn,_ = diverged
    assert b'lrfind_ext' not in pickle.dumps(learn.recorder)
    assert learn.recorder.lr_curve is not None # still there in memory

def test_curve_save_load(tmp_path):
    lrs = np.geomspace(1e-7, 1, 12)
    losses = [2., 1.9, 1.5, 1.2, 1., .9, np.inf, -np.inf, np.nan, 3., 4., 5.]
    crv = LRCurve(lrs, losses, num_it=100, stop='nonfinite', run=RunInfo(start_lrs=[1e-7], end_lrs=[10.], mode='valid', valid_items=64))
    fn = crv.save(tmp_path/'c.json')
    json.loads(fn.read_text(), parse_constant=lambda c: pytest.fail(f'not strict JSON: {c}'))
    c2 = LRCurve.load(fn)
    for k in ('lrs','losses','smooth'): np.testing.assert_array_equal(getattr(c2, k), getattr(crv, k)) # NaN == NaN here
    assert np.isposinf(c2.losses[6]) and np.isneginf(c2.losses[7]) and np.isnan(c2.losses[8])
    assert (c2.num_it, c2.stop, c2.beta, c2.skip_start, c2.skip_end, c2.run) == (100, 'nonfinite', .98, 10, 5, crv.run)

def test_saved_run_suggests_the_same(diverged, tmp_path):
    "A curve saved from a real run, loaded back, gives the same suggestions"
    _,res = diverged
    c2 = LRCurve.load(res.curve.save(tmp_path/'run.json'))
    assert [s.lr for s in lrfind_ext.suggest.suggest_lrs(c2, 'all')] == list(res)

# ---- fastai callbacks that stand aside during lr_find ----

@pytest.mark.parametrize('cb', ['SaveModelCallback', 'EarlyStoppingCallback', 'ReduceLROnPlateau', 'ShowGraphCallback'])
def test_fastai_callbacks_stand_aside(cb, tmp_path):
    "fastai's trackers and graph look for `learn.lr_finder`: they must see an lr_find run as one (and not fail or save)"
    import fastai.callback.tracker as tr,fastai.callback.progress as pr
    cls = getattr(tr, cb, None) or getattr(pr, cb)
    learn = synth(path=tmp_path, cbs=cls())
    seen = []
    class Spy(Callback):
        def before_batch(self): seen.append(hasattr(self.learn, 'lr_finder'))
    learn.add_cb(Spy())
    res = learn.lr_find(num_it=30, show_plot=False)
    assert len(res.curve) > 10 and seen and all(seen)
    assert not hasattr(learn, 'lr_finder') and list(tmp_path.rglob('*')) == []
    assert learn.cbs.filter(lambda o: isinstance(o, cls))[0].run

# ---- issue 11 (reliability): the stop reason, the result's namedtuple methods, numpy arguments ----

def test_terminate_on_nan_is_a_stop_reason():
    from fastai.callback.tracker import TerminateOnNaNCallback
    from lrf_testutils import nan_after
    learn = synth(cbs=TerminateOnNaNCallback())
    learn.loss_func = nan_after(learn.loss_func, 12)
    with learn.no_bar(): res = learn.lr_find(show_plot=False, stop_div=False)
    assert res.curve.stop == 'cancelled' and res.curve.run.stopped_by == 'TerminateOnNaNCallback'
    assert 'ran out of batches' not in res._stop_txt()

def test_cancelled_before_the_first_step_says_so():
    class CancelFit(Callback):
        def before_fit(self): raise CancelFitException()
    learn = synth(cbs=CancelFit())
    with learn.no_bar(), pytest.raises(CurveError, match=r'stopped by a callback \(CancelFit\)'): learn.lr_find(show_plot=False)

def test_replace_keeps_curve_and_says_what_changed(diverged):
    _,res = diverged
    r2 = res._replace(valley=1e-3)
    assert r2.valley == 1e-3 and r2.curve is res.curve and r2._fields == res._fields
    s = r2.suggestions['valley']
    assert s.lr == 1e-3 and 'replaced' in s.note and f"{res.valley:.2e}" in s.note
    assert s.loss == pytest.approx(res.curve.loss_at(1e-3, reads=s.reads))
    assert r2.suggestions['minimum'] == res.suggestions['minimum'] # the others unchanged
    assert 'replaced' in r2.table() and 'replaced' in r2._repr_html_() and r2.plot() is not None
    assert pickle.loads(pickle.dumps(r2)).suggestions == r2.suggestions
    with pytest.raises(SuggestError, match='valley'): res._replace(valley='fast')

def test_make_works_without_curve(diverged):
    _,res = diverged
    r2 = type(res)._make(list(res))
    assert tuple(r2) == tuple(res) and r2.curve is None
    assert list(r2.suggestions) == list(res._fields) and r2.suggestions['valley'].lr == res.valley
    assert r2.table().splitlines()[1].split()[0] == res._fields[0] and '<table>' in r2._repr_html_()
    with pytest.raises(ValueError, match='no curve'): r2.plot()

def test_numpy_arguments_save(tmp_path):
    "numpy scalars as arguments become Python numbers in the curve's record, which saves to JSON and loads back the same"
    learn = synth()
    with learn.no_bar(): res = learn.lr_find(show_plot=False, group=np.int64(0), start_lr=np.float32(1e-6), num_it=np.int64(20))
    r = res.curve.run
    assert type(r.group) is int and type(r.start_lr) is float and type(res.curve.num_it) is int
    assert LRCurve.load(res.curve.save(tmp_path/'c.json')).run == r

def test_the_record_of_the_run(tmp_path):
    "lr_find writes every fact of the run once, in the curve's RunInfo; the saved curve holds it"
    learn = digits(splitter=two_groups)
    with learn.no_bar(): res = learn.lr_find(slice(1e-7, 1e-5), 1., num_it=30, div=10, show_plot=False, valid=1, mode='linear')
    r = LRCurve.load(res.curve.save(tmp_path/'c.json')).run
    assert r == res.curve.run == RunInfo(num_it=30, sweep='linear', start_lrs=(1e-7, 1e-5), end_lrs=(1., 1.), group=-1, div=10., mode='valid',
                                         stop=res.curve.stop, batches=len(res.curve), valid_batches=1, valid_items=64)

def test_files_saved_before_the_record_load(tmp_path):
    "A curve saved by lrfind_ext before RunInfo (format 1: a meta dict, NaN and inf as strings) loads, and suggests as it did then"
    c = LRCurve.load(Path(__file__).parent/'data'/'curve_v1.json') # lr_find with two groups, linear, a loss inf then NaN
    assert c.run == RunInfo(num_it=30, sweep='linear', start_lrs=(1e-5, 1e-4), end_lrs=(.1, 1.), batches=30) # its note left out
    assert np.isposinf(c.losses[26]) and np.isnan(c.losses[27:]).all() and np.isposinf(c.smooth[26])
    assert [s.lr for s in lrfind_ext.suggest.suggest_lrs(c, ('basin', 'valley'))] == [0.16208598981690137, 0.03343000000000001] # as then
    c2 = LRCurve.load(c.save(tmp_path/'c.json')) # and in today's format, exactly
    assert c2.run == c.run and c2.to_dict() == c.to_dict() and json.loads((tmp_path/'c.json').read_text())['version'] == 2
