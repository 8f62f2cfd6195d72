"lr_find(mode='linear'): the schedule, what the curve records, how every built-in rule and the intervals read it, and the plot's label."
import math,warnings
import numpy as np
import pytest
import torch
import lrfind_ext
from lrfind_ext.curve import LRCurve,RunInfo,synth_curve,sweep_lr
from lrfind_ext.view import LogView
from lrfind_ext.suggest import suggesters,suggest_lrs
from lrfind_ext.spread import with_intervals
from lrfind_ext.examples import digits_learner
from lrf_testutils import digits,two_groups

BUILTINS = ('basin','valley','slide','minimum','steep')

def run(learn, *args, **kw):
    with learn.no_bar(): return learn.lr_find(*args, show_plot=False, **kw)

def dlog(a, b): return abs(math.log10(a/b))

def test_exp_is_the_default_and_fastai_s_schedule():
    res = run(digits(), num_it=30)
    assert res.curve.sweep == res.curve.run.sweep == 'exp'
    assert res.curve.lrs.tolist() == [1e-7*(10/1e-7)**(k/30) for k in range(30)] # bit for bit

def test_linear_schedule_is_recorded_and_saved(tmp_path):
    res = run(digits(), 1e-3, 1., num_it=40, mode='linear', stop_div=False)
    c = res.curve
    assert c.sweep == 'linear' and c.run.mode == 'train' # the loss scored has its own field
    assert c.lrs.tolist() == [1e-3+(1.-1e-3)*(k/40) for k in range(40)]
    c2 = LRCurve.load(c.save(tmp_path/'lin.json'))
    assert c2.sweep == 'linear' and c2.lrs.tolist() == c.lrs.tolist() and c2.window == c.window
    assert 'linear sweep' in repr(c2) and 'linear sweep' in res._repr_html_()

def test_old_curve_files_load_as_exponential():
    "A file saved before curves named their sweep (format 1, no meta['sweep']) is an exponential sweep, read as before"
    crv = synth_curve(noise=0.05)
    old = LRCurve.from_dict(dict(lrs=crv.lrs.tolist(), losses=crv.losses.tolist(), num_it=100, stop='diverged', meta={'group': -1}))
    assert old.sweep == 'exp' and old.log_view() is old and old.window == crv.window
    assert [s.lr for s in suggest_lrs(old, BUILTINS)] == [s.lr for s in suggest_lrs(crv, BUILTINS)]

def test_linear_groups_grow_linearly():
    learn = digits(splitter=two_groups)
    res = run(learn, [1e-4, 1e-3], [1e-1, 1.], num_it=20, mode='linear', stop_div=False)
    assert res.curve.lrs.tolist() == [1e-3+(1.-1e-3)*(k/20) for k in range(20)] # the recorded group, the last
    assert res.curve.run.start_lrs == (1e-4, 1e-3) and res.curve.run.end_lrs == (1e-1, 1.)

@pytest.mark.parametrize('noise', [0., 0.05])
@pytest.mark.parametrize('n', [100, 300])
def test_synthetic_sweeps_agree(noise, n):
    "A curve whose loss depends on the learning rate alone, swept both ways over 1e-3..1: the rules land close"
    tol = dict(basin=0.1, minimum=0.25, slide=0.2 if n==300 else 0.35, steep=0.75, valley=0.6)
    kw = dict(n=n, start_lr=1e-3, end_lr=1., best=0.1, noise=noise)
    ce,cl = synth_curve(**kw),synth_curve(**kw, sweep='linear')
    for e,l in zip(suggest_lrs(ce, BUILTINS), suggest_lrs(cl, BUILTINS)):
        assert dlog(e.lr, l.lr) < tol[e.name], (e, l)

def test_without_the_binned_view_the_rules_read_a_squeezed_curve():
    "The view is what makes them agree: read as recorded (the points bunched at the top, the EMA lagging by steps), they don't"
    kw = dict(n=100, start_lr=1e-3, end_lr=1., best=0.1, noise=0.05)
    ce,cl = synth_curve(**kw),synth_curve(**kw, sweep='linear')
    raw = LogView(cl.lrs, cl.losses, run=cl.run) # taken for its own view
    far = [dlog(e.lr, r.lr) for e,r in zip(suggest_lrs(ce, BUILTINS), suggest_lrs(raw, BUILTINS))]
    near = [dlog(e.lr, l.lr) for e,l in zip(suggest_lrs(ce, BUILTINS), suggest_lrs(cl, BUILTINS))]
    assert sum(far) > 2*sum(near)

def test_density_of_a_linear_sweep_without_its_schedule():
    "A curve whose record lacks the schedule (made by hand): the density of the exponential sweep its recorded learning rates imply"
    c = synth_curve(n=300, start_lr=1e-3, end_lr=1., best=0.1, sweep='linear', stop_div=False)
    bare = LRCurve(c.lrs, c.losses, run=RunInfo(sweep='linear'))
    assert bare.bins_per_decade == pytest.approx(c.bins_per_decade, rel=1e-9) == pytest.approx(100.)
    assert LRCurve(c.lrs[:1], c.losses[:1], run=RunInfo(sweep='linear')).bins_per_decade == 1. # one point: no range

def test_view_keeps_the_window_and_the_density():
    c = synth_curve(n=300, start_lr=1e-3, end_lr=1., best=0.1, noise=0.05, sweep='linear', stop_div=False)
    v = c.log_view()
    assert v.log_view() is v and v.sweep == 'linear' and len(v) < len(c)
    assert v.lrs[v.window][0] == pytest.approx(c.lrs[c.window][0], rel=1e-2)
    assert v.lrs[v.window][-1] == pytest.approx(c.lrs[c.window][-1], rel=5e-2)
    dx = np.diff(np.log10(v.lrs[v.window]))
    assert np.median(dx) == pytest.approx(1/c.bins_per_decade, rel=0.05) and c.bins_per_decade == pytest.approx(100.)
    assert (dx > 0).all()

def test_real_learner_with_adam_differs_as_the_training_does():
    "With Adam the linear sweep has trained less by the time it reaches a learning rate: its loss there is higher"
    learn = digits()
    ex,lin = run(learn, 1e-3, 1.),run(learn, 1e-3, 1., mode='linear')
    at = 0.1
    assert lin.curve.loss_at(at, reads='zerolag') > ex.curve.loss_at(at, reads='zerolag') + 0.2
    assert ex.basin < lin.basin < 10*ex.basin

@pytest.mark.filterwarnings('ignore:mode=.linear.')
def test_linear_from_1e_7_does_not_crash():
    "fastai's default range swept linearly: all but one point in the last two decades; every rule still answers"
    learn = digits()
    with pytest.warns(UserWarning, match="mode='linear' from 1e-07 to 1e"):
        with learn.no_bar(): res = learn.lr_find(mode='linear', suggest_funcs='all', show_plot=False)
    c = res.curve
    assert (c.lrs[1:] > 0.09).all() and len(c.log_view()) < len(c)
    w = c.lrs[c.window]
    for s in res.suggestions.values():
        assert math.isfinite(s.lr) and math.isfinite(s.loss), s
        assert w[0]/10.01 <= s.lr <= w[-1], s # minimum returns a tenth of a point in the window
        assert s.interval is not None and s.interval[0] <= s.lr <= s.interval[1]
    assert res.plot() is not None

@pytest.mark.filterwarnings('ignore:mode=.linear.')
@pytest.mark.parametrize('kw', [dict(num_it=6), dict(num_it=12, end_lr=1e3), dict(num_it=50, start_lr=1e-12)])
def test_short_and_wild_linear_runs(kw):
    "Few points, an early divergence, a first step of eleven decades: a result or a CurveError that says why, never a crash"
    learn = digits()
    try: res = run(learn, mode='linear', suggest_funcs='all', **kw)
    except lrfind_ext.CurveError as e: assert 'lr_find' in str(e)
    else:
        for s in res.suggestions.values(): assert math.isfinite(s.lr) and s.lr > 0

def test_linear_nonfinite_and_smooth_only_curves():
    c = synth_curve(start_lr=1e-3, end_lr=1., best=0.1, noise=0.05, sweep='linear', stop_div=False)
    nan = LRCurve(c.lrs, np.r_[c.losses[:70], [np.nan]*30], stop='nonfinite', run=c.run)
    sm = LRCurve(c.lrs, smooth=c.smooth, run=c.run)
    for crv in (nan, sm):
        for s in suggest_lrs(crv, BUILTINS): assert math.isfinite(s.lr) and crv.lrs[0] <= s.lr*10.01
    assert nan.log_view().lrs[nan.log_view().window][-1] <= nan.lrs[69]

def test_intervals_on_a_linear_sweep():
    "Resampled in the view: each holds its suggestion, spans less than a decade where the sweep has points, reaches down where it has none"
    c = synth_curve(n=100, start_lr=1e-3, end_lr=1., best=0.1, noise=0.05, sweep='linear')
    sgs = suggesters.resolve(BUILTINS)
    for s in with_intervals(c, suggest_lrs(c, sgs), sgs):
        lo,hi = s.interval
        assert lo <= s.lr <= hi and math.log10(hi/lo) < 1.2, s
    far = synth_curve(start_lr=1e-7, end_lr=10., best=1e-2, noise=0.05, sweep='linear', stop_div=False)
    v, = with_intervals(far, suggest_lrs(far, 'valley'), suggesters.resolve('valley'))
    assert v.lr == pytest.approx(far.lrs[1]) and v.interval[0] < v.lr/100 # the point before it is at 1e-7

def test_intervals_on_exp_sweeps_unchanged():
    "The stretch nearest a point widens intervals on linear sweeps only"
    c = synth_curve(noise=0.05)
    sgs = suggesters.resolve(BUILTINS)
    a = with_intervals(c, suggest_lrs(c, sgs), sgs)
    from lrfind_ext.spread import Resamples,resampled_lrs,interval
    R = Resamples(c)
    assert [s.interval for s in a] == [interval(s.lr, resampled_lrs(sg, R)) for s,sg in zip(a, sgs)]

def test_plot_says_linear_sweep():
    res = run(digits(), 1e-3, 1., num_it=40, mode='linear')
    fig = res.plot()
    assert fig.axes[0].get_xlabel() == 'learning rate (linear sweep)'
    assert run(digits(), num_it=40).plot().axes[0].get_xlabel() == 'learning rate'

def test_sweep_lr():
    t = np.arange(5)/5
    assert sweep_lr(1e-3, 1., t, 'linear').tolist() == (1e-3+(1.-1e-3)*t).tolist()
    assert sweep_lr(1e-7, 10., 0.3) == 1e-7*(10/1e-7)**0.3
