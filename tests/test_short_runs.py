"""Short and odd runs give a clear answer, never an IndexError (bad arguments: test_hostile.py's table)."""
import math
import numpy as np,pytest
from hypothesis import given,settings,strategies as st,HealthCheck
from lrfind_ext.curve import LRCurve,min_pts
from lrfind_ext.view import CurveError
from lrfind_ext.suggest import suggesters
from lrfind_ext.finder import fastai_lr_find
from lrf_testutils import synth,capture,diff,nan_after

pytestmark = pytest.mark.filterwarnings('ignore::DeprecationWarning')

def _run(learn, **kw):
    with learn.no_bar(): return learn.lr_find(show_plot=False, **kw)

# ---- short runs still suggest ----

def test_early_divergence():
    "Fewer points than fastai's skip window (num_it//10 + 5): suggestions from what was recorded"
    learn = synth()
    res = _run(learn, start_lr=1., end_lr=1e4, suggest_funcs='all')
    c = res.curve
    assert c.stop == 'diverged' and len(c) < c.num_it//10 + 5 + min_pts
    w = range(len(c))[c.window]
    assert len(w) >= min_pts and w[-1] < len(c)
    assert all(c.lrs[0] <= s.lr <= c.lrs[-1] or s.derived for s in res.suggestions.values())

def test_early_divergence_breaks_fastai(tmp_path):
    "The same run with fastai's own lr_find: its suggesters get an empty slice (fastai issue 3658)"
    learn = synth(path=tmp_path)
    with learn.no_bar(), pytest.raises(IndexError): fastai_lr_find(learn, start_lr=1., end_lr=1e4, show_plot=False)

@pytest.mark.parametrize('num_it', [25, 7])
def test_dataloader_shorter_than_num_it(num_it):
    "A training set of 2 batches: several epochs, exactly num_it points"
    learn = synth(n_trn=2)
    assert len(learn.dls.train) == 2
    res = _run(learn, num_it=num_it, stop_div=False)
    assert len(res.curve) == num_it and res.curve.stop == 'num_it'
    assert learn.recorder.lrs == [1e-7*(10/1e-7)**(k/num_it) for k in range(num_it)]

def test_one_batch_dataloader():
    learn = synth(n_trn=1)
    res = _run(learn, num_it=12, stop_div=False)
    assert len(res.curve) == 12

@pytest.mark.parametrize('num_it', [1, 3, 5])
def test_num_it_below_6(num_it):
    "As fastai: 6 steps at least, and a warning that says so"
    learn = synth()
    with pytest.warns(UserWarning, match='runs 6'): res = _run(learn, num_it=num_it, stop_div=False)
    assert len(res.curve) == 6 and res.curve.num_it == 6 and res._fields == ("basin", "valley")

def test_nan_from_first_batch():
    learn = synth()
    learn.loss_func = nan_after(learn.loss_func, 1)
    with learn.no_bar():
        before = capture(learn)
        with pytest.raises(CurveError, match='from the first step') as ei: learn.lr_find(num_it=20, show_plot=False)
        assert diff(before, capture(learn)) == []
    assert 'check the data' in str(ei.value) and 'learn.recorder.lr_curve' in str(ei.value)
    c = learn.recorder.lr_curve
    assert c.stop == 'nonfinite' and len(c) == 1 and math.isnan(c.losses[0])

def test_nan_from_first_batch_without_stop_div():
    learn = synth()
    learn.loss_func = nan_after(learn.loss_func, 1)
    with pytest.raises(CurveError, match='from the first step'): _run(learn, num_it=10, stop_div=False)
    assert len(learn.recorder.lr_curve) == 10

@pytest.mark.parametrize('at', [2, 3])
def test_nan_after_too_few_points(at):
    learn = synth()
    learn.loss_func = nan_after(learn.loss_func, at)
    with pytest.raises(CurveError, match=f'only {at-1} finite point'): _run(learn, num_it=20)

def test_inf_mid_run_cuts_window():
    learn = synth()
    learn.loss_func = nan_after(learn.loss_func, 30, math.inf)
    res = _run(learn, num_it=50, stop_div=False)
    c = res.curve
    assert len(c) == 50 and np.isinf(c.losses[29]) and c.window.stop <= 29
    assert all(s.lr <= c.lrs[28] for s in res.suggestions.values())

def test_no_suggestions():
    "Empty suggest_funcs: an empty result, with its curve; None: None, as fastai returns (the curve in the recorder); no error even on an unusable curve"
    learn = synth()
    for funcs in ((), []):
        res = _run(learn, num_it=10, suggest_funcs=funcs)
        assert tuple(res) == () and res._fields == () and len(res.curve) == 10 and res.suggestions == {}
    assert _run(learn, num_it=10, suggest_funcs=None) is None and len(learn.recorder.lr_curve) == 10
    learn.loss_func = nan_after(learn.loss_func, 1)
    assert _run(learn, num_it=10, suggest_funcs=None) is None and learn.recorder.lr_result.curve is learn.recorder.lr_curve

def test_empty_dataloader():
    learn = synth()
    learn.dls.train.n = 0
    with pytest.raises(ValueError, match='dataloader is empty'): _run(learn)

# ---- one divergence rule: lr_find's and the curve's ----

@pytest.mark.parametrize('shift', [0., -3., -50.])
def test_cut_at_divergence_agrees_with_lr_find(shift):
    "A full run cut where lr_find would have stopped is the run that stopped there, also when the loss is negative"
    def mk():
        learn = synth(seed=5)
        f = learn.loss_func
        learn.loss_func = lambda p, *y: f(p, *y)+shift
        return learn
    with mk().no_bar() as learn: full = learn.lr_find(show_plot=False, stop_div=False).curve
    with mk().no_bar() as learn: stopped = learn.lr_find(show_plot=False).curve
    cut = full.cut_at_divergence()
    assert stopped.stop == cut.stop == 'diverged' and len(stopped) < 100
    assert cut.lrs.tolist() == stopped.lrs.tolist() and cut.smooth.tolist() == stopped.smooth.tolist()

def test_cut_at_divergence_negative_losses_not_cut():
    "Losses that fall through zero and rise above their start, but less than (div-1) times the best's size, have not diverged"
    lrs = np.geomspace(1e-5, 1, 40)
    crv = LRCurve(lrs, smooth=np.r_[np.linspace(1, -2, 30), np.linspace(-2, 1.5, 10)])
    assert crv.cut_at_divergence() is crv
    assert len(crv.cut_at_divergence(div=1.5)) < 40

# ---- the window suggesters read, on any curve ----

BUILTINS = [suggesters[n] for n in ('valley', 'slide', 'minimum', 'steep')]

@settings(max_examples=200, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.integers(0, 150), st.integers(0, 150), st.integers(1, 200), st.one_of(st.none(), st.integers(0, 40)),
       st.integers(0, 10), st.sampled_from([math.nan, math.inf, -math.inf]))
def test_window_property(n, n_finite, num_it, skip_start, skip_end, bad):
    "A window of at least min_pts finite points whenever there are min_pts, inside them; a clear CurveError otherwise"
    nf = min(n, n_finite)
    lrs = np.geomspace(1e-7, 10, n) if n else np.array([])
    losses = np.r_[np.linspace(3, 1, nf), np.full(n-nf, bad)]
    crv = LRCurve(lrs, losses, num_it=num_it, skip_start=skip_start, skip_end=skip_end, stop='diverged')
    if nf < min_pts:
        with pytest.raises(CurveError) as ei: crv.window
        assert 'lr_find' in str(ei.value) or 'first step' in str(ei.value)
        if nf == 0 and n: assert 'from the first step' in str(ei.value)
        for s in BUILTINS:
            with pytest.raises(CurveError): s(crv)
        return
    w = crv.window
    idx = range(n)[w]
    assert len(idx) >= min_pts and idx[0] >= 0 and idx[-1] < nf and idx.step == 1
    for s in BUILTINS:
        r = s(crv)
        assert r.lr > 0 and math.isfinite(r.loss)
