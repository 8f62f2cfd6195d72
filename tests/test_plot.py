"The overlay plot: read the figure's own artists and check each mark sits at exactly the value lr_find returned."
import io,math
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.patches import Polygon,Rectangle
from lrfind_ext.curve import LRCurve,synth_curve
from lrfind_ext.suggest import Suggestion,suggest_lrs,suggesters
from lrfind_ext.plot import plot_lr,fmt_lr,y_range,_renderer
from lrfind_ext.examples import digits_learner
import lrfind_ext

def _arts(fig, prefix='lrfind.0'):
    "The figure's artists with an lrfind gid, by gid"
    ax = fig.axes[0]
    res = {}
    for a in [*ax.get_children(), *ax.texts]:
        g = a.get_gid()
        if g and g.startswith(prefix): res[g] = a
    return res

@pytest.fixture(scope='module')
def digits_res():
    learn = digits_learner()
    with learn.no_bar(): return learn.lr_find(suggest_funcs='all', show_plot=False)

def _check_marks(fig, suggs, prefix='lrfind.0'):
    art = _arts(fig, prefix)
    for s in suggs:
        mk,vl,lb = (art[f'{prefix}.{s.name}.{k}'] for k in ('marker','vline','label'))
        assert mk.get_xdata()[0] == s.lr, s.name      # exactly the float returned
        assert vl.get_xdata()[0] == s.lr and vl.get_xdata()[1] == s.lr
        assert fmt_lr(s.lr) in lb.get_text() and s.name in lb.get_text()
        assert lb.get_position()[0] == s.lr
        assert mk.get_label().startswith(lb.get_text()) # the legend repeats name and value
        if s.derived:
            src = art[f'{prefix}.{s.name}.src']
            assert src.get_xdata()[0] == s.src_lr and src.get_ydata()[0] == pytest.approx(s.src_loss)
            assert src.get_markerfacecolor() == 'none' # hollow

def test_marks_at_returned_values_real_run(digits_res):
    res = digits_res
    fig = res.plot()
    suggs = list(res.suggestions.values())
    assert [s.lr for s in suggs] == list(res)
    _check_marks(fig, suggs)

def test_minimum_shows_source_and_returned_value_a_decade_apart(digits_res):
    s = digits_res.suggestions['minimum']
    fig = digits_res.plot()
    art = _arts(fig)
    assert art['lrfind.0.minimum.marker'].get_xdata()[0] == s.lr
    assert art['lrfind.0.minimum.src'].get_xdata()[0] == s.src_lr
    assert math.log10(s.src_lr/s.lr) == pytest.approx(1)
    crv = digits_res.curve
    w = crv.window
    assert s.src_lr == crv.lrs[w][np.argmin(crv.smooth[w])] # the source is the loss minimum the rule read
    arrow = art['lrfind.0.minimum.arrow']
    assert arrow.xy[0] == s.lr and arrow.xyann[0] == s.src_lr # from the minimum to the returned value
    assert art['lrfind.0.minimum.note'].get_text() == 'minimum / 10'

def test_marker_on_the_curve(digits_res):
    fig = digits_res.plot()
    art = _arts(fig)
    crv = digits_res.curve
    lo,hi = fig.axes[0].get_ylim()
    for s in digits_res.suggestions.values():
        y = art[f'lrfind.0.{s.name}.marker'].get_ydata()[0]
        assert y == pytest.approx(min(crv.loss_at(s.lr), hi))

def _spans(fig, prefix='lrfind.0'):
    res = {}
    for k,a in _arts(fig, prefix).items():
        if k.endswith(('skip_start','skip_end')):
            if isinstance(a, Rectangle): xs = (a.get_x(), a.get_x()+a.get_width()) # matplotlib >= 3.9
            else: xs = np.asarray(a.get_xy())[:,0]
            res[k.rsplit('.',1)[1]] = (min(xs), max(xs))
    return res

def test_shaded_spans_match_window(digits_res):
    crv = digits_res.curve
    w = crv.window
    sp = _spans(digits_res.plot())
    assert sp['skip_start'] == (crv.lrs[0], crv.lrs[w.start])
    assert sp['skip_end'] == (crv.lrs[w.stop-1], crv.lrs[-1])

def test_spans_follow_custom_skips():
    crv = synth_curve(stop_div=False)
    crv.skip_start,crv.skip_end = 30,20
    sp = _spans(plot_lr(crv, suggest_lrs(crv, 'valley')))
    assert sp['skip_start'] == (crv.lrs[0], crv.lrs[30]) and sp['skip_end'] == (crv.lrs[79], crv.lrs[99])
    crv.skip_start,crv.skip_end = 0,0
    assert _spans(plot_lr(crv)) == {}

def test_divergence_marked_and_y_range_ignores_spike():
    crv = synth_curve(noise=0.02)
    assert crv.stop == 'diverged'
    fig = plot_lr(crv, suggest_lrs(crv, 'valley'))
    art = _arts(fig)
    assert art['lrfind.0.stop'].get_xdata()[0] == crv.lrs[-1]
    lo,hi = fig.axes[0].get_ylim()
    assert hi < crv.smooth.max() # the spike goes out of view...
    assert lo < crv.smooth.min() < hi and crv.smooth[crv.window.start] < hi # ...the useful part is in it
    assert (hi-lo) < 0.6*(crv.smooth.max()-crv.smooth.min())

def test_close_suggestions_labels_do_not_overlap():
    crv = synth_curve(noise=0.02)
    v = suggesters.valley(crv).lr
    suggs = [Suggestion(v, name='a', loss=crv.loss_at(v)), Suggestion(v*10**0.05, name='b', loss=crv.loss_at(v*10**0.05)),
             Suggestion(v*10**0.1, name='c', loss=crv.loss_at(v*10**0.1))]
    fig = plot_lr(crv, suggs)
    r = _renderer(fig)
    bbs = [t.get_window_extent(r) for t in fig.axes[0].texts if (t.get_gid() or '').endswith('.label')]
    assert len(bbs) == 3
    for i in range(3):
        for j in range(i+1, 3): assert not bbs[i].overlaps(bbs[j])
        assert fig.axes[0].get_window_extent(r).contains(bbs[i].x0, bbs[i].y0)

def test_decade_ticks():
    fig = plot_lr(synth_curve(start_lr=1e-7, end_lr=10))
    ax = fig.axes[0]
    assert ax.get_xscale() == 'log'
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    lo,hi = ax.get_xlim()
    want = [f'{10.**e:.0e}' for e in range(-7, 2) if lo <= 10.**e <= hi]
    assert [l for l in labels if l in want] == want
    assert len(ax.xaxis.get_minorticklocs()) > 30

def test_overlay_runs_labelled():
    fig,ax = plt.subplots()
    c1,c2 = synth_curve(best=1e-3, seed=1, noise=0.02),synth_curve(best=1e-2, seed=2, noise=0.02)
    s1,s2 = suggest_lrs(c1, 'valley'),suggest_lrs(c2, 'valley')
    plot_lr(c1, s1, ax=ax, label='frozen')
    plot_lr(c2, s2, ax=ax, label='unfrozen')
    _check_marks(fig, s1, 'lrfind.frozen')
    _check_marks(fig, s2, 'lrfind.unfrozen')
    a1,a2 = _arts(fig, 'lrfind.frozen'),_arts(fig, 'lrfind.unfrozen')
    assert a1['lrfind.frozen.valley.label'].get_text().startswith('frozen: ')
    assert a1['lrfind.frozen.curve'].get_linestyle() != a2['lrfind.unfrozen.curve'].get_linestyle()
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert 'frozen' in legend and 'unfrozen' in legend

def test_result_plot_into_given_axes(digits_res):
    fig,(a,b) = plt.subplots(1, 2)
    assert digits_res.plot(ax=b) is fig
    assert not a.lines and b.lines

def test_recorder_plot_lr_find_draws_same_overlay():
    learn = digits_learner()
    with learn.no_bar(): res = learn.lr_find(suggest_funcs=('valley','minimum'), show_plot=False)
    fig = learn.recorder.plot_lr_find()
    assert isinstance(fig, matplotlib.figure.Figure)
    _check_marks(fig, list(res.suggestions.values()))
    assert learn.recorder.plot_lr_find(return_fig=False) is None
    fig = learn.recorder.plot_lr_find(skip_end=5, suggestions=[(1e-3, 2.)], nms=['mine']) # fastai's arguments
    assert _arts(fig)['lrfind.0.mine.marker'].get_xdata()[0] == 1e-3

def test_recorder_plot_after_fastai_lr_find():
    "A recorder filled by fastai's own lr_find still plots"
    from lrfind_ext.finder import fastai_lr_find
    learn = digits_learner()
    with learn.no_bar(): fastai_lr_find(learn, show_plot=False)
    fig = learn.recorder.plot_lr_find()
    assert len(_arts(fig)['lrfind.0.curve'].get_xdata()) == len(learn.recorder.lrs)

def test_show_plot_false_plots_nothing():
    before_backend = matplotlib.rcParams._get_backend_or_none()
    n = len(plt.get_fignums())
    learn = digits_learner()
    with learn.no_bar(): learn.lr_find(show_plot=False)
    assert len(plt.get_fignums()) == n
    assert matplotlib.rcParams._get_backend_or_none() == before_backend

def test_show_plot_true_plots_once():
    n = len(plt.get_fignums())
    learn = digits_learner()
    with learn.no_bar(): res = learn.lr_find()
    assert len(plt.get_fignums()) == n+1
    _check_marks(plt.gcf(), list(res.suggestions.values()))

@pytest.mark.parametrize('fmt', ['png', 'svg', 'pdf'])
def test_saves(digits_res, fmt):
    buf = io.BytesIO()
    digits_res.plot().savefig(buf, format=fmt)
    assert buf.tell() > 1000

@pytest.mark.parametrize('style', ['default', 'ggplot', 'dark_background', 'seaborn-v0_8-whitegrid', 'classic'])
def test_styles(digits_res, style):
    with plt.style.context(style):
        fig = digits_res.plot()
        fig.canvas.draw()
        _check_marks(fig, list(digits_res.suggestions.values()))

def test_curve_without_raw_or_window():
    crv = LRCurve(np.geomspace(1e-5, 1, 4), smooth=[2., 1.9, 1.8, 5.], num_it=100)
    fig = plot_lr(crv) # 4 points: a window, but fastai's skips don't apply
    assert 'lrfind.0.raw' not in _arts(fig)
    crv = LRCurve([1e-5, 1e-4], smooth=[np.nan, np.nan], stop='nonfinite')
    plot_lr(crv) # nothing usable: draws without raising
    assert y_range(crv) is None

def test_colours_distinct_per_suggestion(digits_res):
    art = _arts(digits_res.plot())
    cols = [art[f'lrfind.0.{n}.marker'].get_color() for n in digits_res._fields]
    marks = [art[f'lrfind.0.{n}.marker'].get_marker() for n in digits_res._fields]
    assert len(set(cols)) == len(cols) and len(set(marks)) == len(marks)
