"The overlay plot: read the figure's own artists and check each mark sits on its rule's curve at exactly the value lr_find returned."
import io,math,pickle
from dataclasses import replace
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_rgb
from matplotlib.patches import Rectangle
from lrfind_ext.curve import LRCurve,synth_curve
from lrfind_ext.suggest import Suggestion,suggest_lrs,suggesters
from lrfind_ext.result import lr_result
from lrfind_ext.spread import with_intervals
from lrfind_ext.finder import default_suggest,fastai_lr_find
from lrfind_ext.plot import plot_lr,fmt_lr,y_range,curve_labels,_renderer,_gids
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

@pytest.fixture(scope='module')
def default_res(digits_res):
    "The same run with lr_find's default rules (basin, valley)"
    crv = digits_res.curve
    return lr_result(crv, suggest_lrs(crv, default_suggest))

@pytest.fixture(scope='module')
def diverged():
    "The digits model at batch size 16: noisy, and diverges before the end of the schedule"
    learn = digits_learner(bs=16)
    with learn.no_bar(): return learn.lr_find(suggest_funcs='all', show_plot=False)

def _line_y(line, x):
    "The y of a drawn line at `x`, as the eye reads it on a log-x axis: linear in log x between its points"
    xs,ys = np.asarray(line.get_xdata(), float),np.asarray(line.get_ydata(), float)
    ok = np.isfinite(ys)
    return float(np.interp(np.log(x), np.log(xs[ok]), ys[ok]))

def _check_marks(fig, suggs, prefix='lrfind.0'):
    art = _arts(fig, prefix)
    for s in suggs:
        mk,vl,lb = (art[f'{prefix}.{s.name}.{k}'] for k in ('marker','vline','label'))
        assert mk.get_xdata()[0] == s.lr, s.name      # exactly the float returned
        assert vl.get_xdata()[0] == s.lr and vl.get_xdata()[1] == s.lr
        assert fmt_lr(s.lr) in lb.get_text() and s.name in lb.get_text()
        assert lb.get_position()[0] == s.lr
        assert mk.get_label().startswith(f'{s.name} {fmt_lr(s.lr)}') # the legend repeats name and value
        line = art[f'{prefix}.{_gids[s.reads]}']     # the rule's own curve, drawn
        assert mk.get_ydata()[0] == pytest.approx(_line_y(line, s.lr), abs=1e-9), s.name
        if s.derived and not s.span:
            src = art[f'{prefix}.{s.name}.src']
            assert src.get_xdata()[0] == s.src_lr and src.get_ydata()[0] == pytest.approx(s.src_loss)
            assert src.get_ydata()[0] == pytest.approx(_line_y(line, s.src_lr), abs=1e-9) # on the rule's curve too
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

def test_each_marker_on_its_rules_curve(digits_res):
    "fastai's four sit on fastai's EMA, basin on the zero-lag smoothing, each at its returned lr, all in view"
    fig = digits_res.plot()
    art = _arts(fig)
    crv = digits_res.curve
    lo,hi = fig.axes[0].get_ylim()
    for s in digits_res.suggestions.values():
        want = 'zerolag' if s.name=='basin' else 'smooth'
        assert s.reads == want
        y = art[f'lrfind.0.{s.name}.marker'].get_ydata()[0]
        assert y == pytest.approx(crv.loss_at(s.lr, reads=want), abs=1e-9) == pytest.approx(s.loss)
        assert y == pytest.approx(_line_y(art[f'lrfind.0.{_gids[want]}'], s.lr), abs=1e-9)
        assert lo < y < hi, s.name

def test_default_rules_draw_the_zerolag_curve(default_res):
    "With lr_find's default (basin, valley): three curves drawn and labelled for what they are, basin on the zero-lag one"
    fig = default_res.plot()
    art = _arts(fig)
    crv = default_res.curve
    zl = art['lrfind.0.zerolag']
    assert np.array_equal(zl.get_xdata(), crv.read('zerolag')[0]) and np.array_equal(zl.get_ydata(), crv.read('zerolag')[1])
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    for k in 'smooth','zerolag','raw': assert curve_labels[k] in legend
    assert "smoothed loss (fastai's EMA)" in legend and 'zero-lag smoothing' in legend and 'raw loss per step' in legend
    b = default_res.suggestions['basin']
    assert art['lrfind.0.basin.marker'].get_ydata()[0] == pytest.approx(_line_y(zl, b.lr), abs=1e-9)
    _check_marks(fig, list(default_res.suggestions.values()))

def test_no_zerolag_curve_unless_read(digits_res):
    crv = digits_res.curve
    art = _arts(plot_lr(crv, suggest_lrs(crv, ('valley','minimum'))))
    assert 'lrfind.0.zerolag' not in art and 'lrfind.0.curve' in art and 'lrfind.0.raw' in art

def test_registered_rules_drawn_on_what_they_read():
    "A user's rule says what it reads when it registers; a fastai-style rule reads fastai's EMA"
    crv = synth_curve(noise=0.03)
    @suggesters.register('raw_min', reads='raw')
    def raw_min(c):
        "The raw loss minimum"
        lrs,ys = c.read('raw')
        w = c.window
        return Suggestion(float(lrs[w][np.argmin(ys[w])]))
    def fa_third(lrs, losses, num_it): # fastai's form
        i = int(np.argmin(losses.numpy()))
        return float(lrs[i])/3, (float(lrs[i]), float(losses[i]))
    try:
        suggs = suggest_lrs(crv, ('raw_min', fa_third))
        assert [s.reads for s in suggs] == ['raw', 'smooth']
        fig = plot_lr(crv, suggs, label='mine') # an overlay's run: raw losses hidden, unless a rule reads them
        art = _arts(fig, 'lrfind.mine')
        assert 'lrfind.mine.raw' in art
        _check_marks(fig, suggs, 'lrfind.mine')
    finally: suggesters.remove('raw_min')

def _read_part(crv):
    """The raw losses the rules read, up to the divergence: the read window, cut where the zero-lag curve, past its
    minimum, climbs back above its value at the start of the window"""
    w = crv.window
    zz = crv.read('zerolag')[1][w.start:w.stop]
    i = int(np.argmin(zz))
    up = np.flatnonzero(zz[i:] > zz[0])
    return crv.losses[w.start:w.start+i+(int(up[0]) if len(up) else len(zz)-i)]

def _check_raw_in_view(res):
    fig = res.plot()
    lo,hi = fig.axes[0].get_ylim()
    crv = res.curve
    r = _read_part(crv)
    assert len(r) > 0.6*len(crv.losses[crv.window])
    inside = ((r >= lo) & (r <= hi)).mean()
    assert inside >= 0.95, f'{inside:.0%} of the raw losses the rules read are in view'
    assert crv.losses[crv.window].max() > hi # the divergence spike still leaves the plot
    return fig

def test_raw_losses_of_the_read_window_in_view(digits_res, default_res, diverged):
    "At least 95% of the raw losses the rules read (up to the divergence) lie inside the axes; the spike doesn't set the range"
    for res in digits_res, default_res, diverged: _check_raw_in_view(res)
    fig = digits_res.plot()
    lo,hi = fig.axes[0].get_ylim()
    crv = digits_res.curve
    assert lo < crv.losses[crv.window][crv.lrs[crv.window] > 1e-2].min() # where the run matters most

def test_few_wild_points_dont_squash_the_plot():
    "Two raw losses fifty times the rest: the range stays where it was"
    crv = synth_curve(noise=0.03)
    spiky = crv.losses.copy()
    spiky[[40,55]] = 50.
    wild = LRCurve(crv.lrs, spiky, smooth=crv.smooth, stop=crv.stop)
    assert y_range(wild) == pytest.approx(y_range(crv))
    assert plot_lr(wild).axes[0].get_ylim()[1] < 5

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
    crv = crv.replace(skip_start=30, skip_end=20)
    sp = _spans(plot_lr(crv, suggest_lrs(crv, 'valley')))
    assert sp['skip_start'] == (crv.lrs[0], crv.lrs[30]) and sp['skip_end'] == (crv.lrs[79], crv.lrs[99])
    crv = crv.replace(skip_start=0, skip_end=0)
    assert _spans(plot_lr(crv)) == {}

def test_divergence_marked_and_y_range_ignores_spike():
    crv = synth_curve(noise=0.02)
    assert crv.stop == 'diverged'
    fig = plot_lr(crv, suggest_lrs(crv, 'valley'))
    art = _arts(fig)
    stop = art['lrfind.0.stop']
    lo,hi = fig.axes[0].get_ylim()
    assert stop.get_xdata()[0] == crv.lrs[-1] and lo <= stop.get_ydata()[0] <= hi # in view
    assert hi < crv.smooth.max() # the spike goes out of view...
    assert lo < crv.smooth.min() < hi and crv.smooth[crv.window.start] < hi # ...the useful part is in it
    r = crv.losses[crv.window]
    assert y_range(crv)[1] < r.max()

def test_basin_draws_its_basin(default_res):
    "basin's basin: a band along the zero-lag curve from edge to edge, the marker inside, a note a user can read"
    s = default_res.suggestions['basin']
    assert not s.derived and s.span is not None
    lo,hi = s.span
    assert lo < s.lr < hi
    assert s.note == f'a third into the basin {lo:.1e}–{hi:.1e}'
    fig = default_res.plot()
    art = _arts(fig)
    band,zl = art['lrfind.0.basin.span'],art['lrfind.0.zerolag']
    xs,ys = band.get_xdata(),band.get_ydata()
    assert (xs[0],xs[-1]) == (lo,hi) and np.all(np.diff(xs) > 0)
    assert np.allclose(ys, [_line_y(zl, x) for x in xs], atol=1e-9) # along its curve
    assert to_rgb(band.get_color()) == to_rgb(art['lrfind.0.basin.marker'].get_color())
    assert art['lrfind.0.basin.note'].get_text() == s.note
    assert not any(k in art for k in ('lrfind.0.basin.src', 'lrfind.0.basin.arrow')) # no point of its own to draw

def test_span_rules_of_any_kind():
    "A registered rule with a span gets a band; one derived from a point inside its span also keeps its source point"
    crv = synth_curve(noise=0.03)
    def lrs_at(c, a, b):
        lrs = c.read('smooth')[0][c.window]
        return float(lrs[a]),float(lrs[b])
    @suggesters.register('mid_span')
    def mid_span(c):
        "Half-way into a span of the smoothed loss"
        lo,hi = lrs_at(c, 20, 60)
        return Suggestion(math.sqrt(lo*hi), note='half-way', span=(lo, hi))
    @suggesters.register('from_mid', reads='zerolag')
    def from_mid(c):
        "A tenth of a point inside a span"
        lo,hi = lrs_at(c, 20, 60)
        x = float(c.read('smooth')[0][c.window][40])
        return Suggestion(x/10, src_lr=x, note='point / 10', span=(lo, hi))
    try: suggs = suggest_lrs(crv, ('mid_span', 'from_mid'))
    finally: suggesters.remove('mid_span'); suggesters.remove('from_mid')
    fig = plot_lr(crv, suggs)
    art = _arts(fig)
    for s,g in zip(suggs, ('curve', 'zerolag')):
        band = art[f'lrfind.0.{s.name}.span']
        assert (band.get_xdata()[0],band.get_xdata()[-1]) == s.span
        assert np.allclose(band.get_ydata(), [_line_y(art[f'lrfind.0.{g}'], x) for x in band.get_xdata()], atol=1e-9)
    assert 'lrfind.0.mid_span.src' not in art
    src = art['lrfind.0.from_mid.src'] # its source is a point of its own: hollow, on its curve, with an arrow
    assert src.get_ydata()[0] == pytest.approx(_line_y(art['lrfind.0.zerolag'], suggs[1].src_lr), abs=1e-9)
    assert 'lrfind.0.from_mid.arrow' in art

def _intervals(suggs):
    return [replace(s, interval=(s.lr/10**0.3, s.lr*10**0.25)) for s in suggs]

def test_interval_bands_readable_with_five_rules(digits_res):
    "Each rule's interval: a light band in its colour along the bottom, one row each, all inside the axes"
    suggs = _intervals(digits_res.suggestions.values())
    assert len(suggs) == 5
    fig = plot_lr(digits_res.curve, suggs)
    ax,art = fig.axes[0],_arts(fig)
    r = _renderer(fig)
    axb = ax.get_window_extent(r)
    boxes = []
    for s in suggs:
        band = art[f'lrfind.0.{s.name}.interval']
        assert (band.get_x(), band.get_x()+band.get_width()) == pytest.approx(s.interval)
        assert to_rgb(band.get_facecolor()) == to_rgb(art[f'lrfind.0.{s.name}.marker'].get_color())
        assert band.get_alpha() < 0.5 # light
        bb = band.get_window_extent(r)
        assert axb.y0 <= bb.y0 and bb.y1 <= axb.y0 + (3+7*5)*fig.dpi/72 + 1 # along the bottom: five rows of 7 points
        assert art[f'lrfind.0.{s.name}.interval_lr'].get_xdata()[0] == s.lr
        boxes.append(bb)
    for i,a in enumerate(boxes):
        for b in boxes[i+1:]: assert a.y1 <= b.y0 or b.y1 <= a.y0 # rows apart
    lo,_ = ax.get_ylim()
    y_bands = ax.transData.inverted().transform((0, max(b.y1 for b in boxes)))[1]
    r_ = _read_part(digits_res.curve)
    assert (r_ > y_bands).mean() >= 0.95 # the bands sit below the curves
    assert any(t.get_text() == 'where another run may land' for t in ax.get_legend().get_texts())

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
    want = [f'1e{e}' for e in range(-7, 2) if lo <= 10.**e <= hi]
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
    l1,l2 = a1['lrfind.frozen.curve'],a2['lrfind.unfrozen.curve']
    assert (to_rgb(l1.get_color()),l1.get_linestyle()) != (to_rgb(l2.get_color()),l2.get_linestyle())
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert 'frozen' in legend and 'unfrozen' in legend

def _legend_groups(ax):
    "The legend's entries, run by run: each run's name followed by its entries, as the legend lists them column by column"
    leg = ax.get_legend()
    texts,n = [t.get_text() for t in leg.get_texts()],leg._ncols
    rows = math.ceil(len(texts)/n)
    return [texts[i*rows:(i+1)*rows] for i in range(n)]

def test_overlays_stay_readable(digits_res, diverged):
    "Three runs on one axes: no two texts overlap, each run's legend entries stand together, each stop marker is in view"
    crv = digits_res.curve
    # With their intervals: the runs share one row per rule at the bottom (5 rows, not one per run and rule: 12)
    sgs = lambda r: suggesters.resolve(tuple(r.suggestions))
    ivs = lambda r: lr_result(r.curve, with_intervals(r.curve, [replace(s, interval=None) for s in r.suggestions.values()], sgs(r)))
    again = lr_result(crv, suggest_lrs(crv, default_suggest))
    runs = {'adam': ivs(digits_res), 'bs16': ivs(diverged), 'again': ivs(again)}
    assert all(s.interval for res in runs.values() for s in res.suggestions.values())
    fig,ax = plt.subplots(figsize=(8,5))
    for k,res in runs.items(): res.plot(ax=ax, label=k)
    fig.canvas.draw()
    r = _renderer(fig)
    lanes = {}
    for k,res in runs.items():
        for s in res.suggestions.values():
            bb = _arts(fig, f'lrfind.{k}')[f'lrfind.{k}.{s.name}.interval'].get_window_extent(r)
            lanes.setdefault(s.name, set()).add((round(bb.y0, 3), round(bb.y1, 3)))
    assert all(len(v) == 1 for v in lanes.values()) # every run's band of a rule in that rule's row
    rows = sorted(v for vs in lanes.values() for v in vs)
    assert len(rows) == len(lanes) == len({n for res in runs.values() for n in res.suggestions}) == 5 and all(a[1] <= b[0] for a,b in zip(rows, rows[1:])) # rows apart
    axb = ax.get_window_extent(r)
    assert axb.y0 <= rows[0][0] and rows[-1][1] <= axb.y0 + 0.2*axb.height # along the bottom
    texts = [t for t in ax.texts if (t.get_gid() or '').endswith(('.label','.note'))]
    assert sum(t.get_gid().endswith('.label') for t in texts) == 12
    notes = [t.get_text() for t in texts if t.get_gid().endswith('.note')]
    assert sorted(notes) == sorted({s.note for res in runs.values() for s in res.suggestions.values() if s.note}) # each said once
    bbs = [t.get_window_extent(r) for t in texts]
    for i,a in enumerate(bbs):
        for j in range(i+1, len(bbs)): assert not a.overlaps(bbs[j]), (texts[i].get_text(), texts[j].get_text())
    for k,res in runs.items():
        if res.curve.stop=='diverged':
            stop = _arts(fig, f'lrfind.{k}')[f'lrfind.{k}.stop']
            lo,hi = ax.get_ylim()
            assert stop.get_visible() and lo <= stop.get_ydata()[0] <= hi and stop.get_xdata()[0] == res.curve.lrs[-1]
    flat = [t for g in _legend_groups(ax) for t in g]
    assert all(flat.count(k) == 1 for k in runs)
    labels = [t.get_text() for t in texts]
    for k,res in runs.items(): # a run's entries come right after its name, before the next run's; its values are on its labels
        i = flat.index(k)
        nxt = min([flat.index(o) for o in runs if flat.index(o) > i], default=len(flat))
        mine = flat[i+1:nxt]
        assert curve_labels['smooth'] in mine
        for s in res.suggestions.values(): assert f'{k}: {s.name} {fmt_lr(s.lr)}' in labels, (k, s.name)
        if res.curve.stop=='diverged': assert any(t.startswith('stopped: loss diverged') for t in mine)
    assert all(flat.count(n) == 1 for n in lanes) # each rule once: every run draws it alike
    assert fig.bbox.contains(*ax.get_legend().get_window_extent(r).p0) # the legend fits in the figure
    assert fig.bbox.contains(*ax.get_legend().get_window_extent(r).p1)

def test_legend_below_fits_in_the_figure(digits_res):
    "The legend goes below the axes and the figure grows to hold it: a plain savefig shows all of it"
    fig = digits_res.plot()
    r = _renderer(fig)
    ax = fig.axes[0]
    lb,axb = ax.get_legend().get_window_extent(r),ax.get_window_extent(r)
    assert lb.y1 < axb.y0 and fig.bbox.contains(lb.x0, lb.y0) and fig.bbox.contains(lb.x1, lb.y1)
    assert fig.get_size_inches()[0] == 6 and fig.get_size_inches()[1] > 4
    rc = plt.rcParams
    assert axb.height == pytest.approx((rc['figure.subplot.top']-rc['figure.subplot.bottom'])*4*fig.dpi) # the axes' own size

def test_panels_side_by_side(digits_res, default_res):
    "Two panels in a row: each legend below its own axes, apart from the other's, inside the figure; notes inside their axes"
    fig,axs = plt.subplots(1, 2, figsize=(11, 4))
    for ax,res in zip(axs, (digits_res, default_res)): res.plot(ax=ax)
    r = _renderer(fig)
    legs = [ax.get_legend().get_window_extent(r) for ax in axs]
    assert not legs[0].overlaps(legs[1])
    for ax,lb in zip(axs, legs):
        axb = ax.get_window_extent(r)
        assert lb.y1 < axb.y0 and fig.bbox.contains(lb.x0, lb.y0) and fig.bbox.contains(lb.x1, lb.y1)
        for t in ax.texts:
            if (t.get_gid() or '').endswith('.note'):
                bb = t.get_window_extent(r)
                assert axb.x0 <= bb.x0 and bb.x1 <= axb.x1, t.get_text()
    fig,axs = plt.subplots(2, 1)
    for ax in axs: default_res.plot(ax=ax)
    r = _renderer(fig)
    top,bottom = (ax.get_legend().get_window_extent(r) for ax in axs)
    assert axs[0].get_window_extent(r).contains(top.x0, top.y0) # axes below it: the top legend stays inside
    assert bottom.y1 < axs[1].get_window_extent(r).y0

def test_result_plot_into_given_axes(digits_res):
    fig,(a,b) = plt.subplots(1, 2)
    assert digits_res.plot(ax=b) is fig
    assert not a.lines and b.lines and b.get_legend() is not None

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
    learn = digits_learner()
    with learn.no_bar(): fastai_lr_find(learn, show_plot=False)
    fig = learn.recorder.plot_lr_find()
    assert len(_arts(fig)['lrfind.0.curve'].get_xdata()) == len(learn.recorder.lrs)

def test_recorder_plot_not_stale_after_a_later_fastai_run():
    "Issue 11 (3): after lr_find, fastai's own LRFinder runs again; the plot draws the run recorder.lrs holds, not the old one"
    learn = digits_learner()
    with learn.no_bar():
        res = learn.lr_find(num_it=30, show_plot=False)
        fastai_lr_find(learn, num_it=20, show_plot=False)
    rec = learn.recorder
    assert len(rec.lrs) == 20 != len(res.curve)
    fig = rec.plot_lr_find()
    art = _arts(fig)
    assert list(art['lrfind.0.curve'].get_xdata()) == list(rec.lrs)
    assert np.allclose(art['lrfind.0.curve'].get_ydata(), [float(o) for o in rec.losses])
    assert not any(k.endswith('.marker') for k in art) # the old run's suggestions belong to the old run
    with learn.no_bar(): res2 = learn.lr_find(num_it=25, show_plot=False) # ours again: its own curve and rules
    _check_marks(rec.plot_lr_find(), list(res2.suggestions.values()))

def test_recorder_plot_suggestions_need_names():
    "Issue 11 (11): fastai's suggestions without nms raise, as fastai does, instead of drawing no marker"
    learn = digits_learner()
    with learn.no_bar(): learn.lr_find(num_it=30, show_plot=False)
    with pytest.raises(TypeError, match='nms'): learn.recorder.plot_lr_find(suggestions=[(1e-3, 1.)])
    with pytest.raises(ValueError, match='one name per point'):
        learn.recorder.plot_lr_find(suggestions=[(1e-3, 1.), (1e-2, 1.)], nms=['a'])
    learn.recorder.plot_lr_find(suggestions=[], nms=None) # nothing to name: fine, as in fastai

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

def test_figure_pickles(default_res):
    "The figure keeps working as a Figure: it pickles, and comes back with its axes and its marks"
    fig = pickle.loads(pickle.dumps(default_res.plot()))
    _check_marks(fig, list(default_res.suggestions.values()))

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
    s = Suggestion(1e-3, name='raw_rule', reads='raw') # reads raw losses the curve doesn't have: drawn on the EMA
    art = _arts(plot_lr(crv, [s]))
    assert art['lrfind.0.raw_rule.marker'].get_ydata()[0] == pytest.approx(crv.loss_at(1e-3))
    crv = LRCurve([1e-5, 1e-4], smooth=[np.nan, np.nan], stop='nonfinite')
    plot_lr(crv) # nothing usable: draws without raising
    assert y_range(crv) is None

def test_colours_distinct_per_suggestion(digits_res):
    art = _arts(digits_res.plot())
    cols = [art[f'lrfind.0.{n}.marker'].get_color() for n in digits_res._fields]
    marks = [art[f'lrfind.0.{n}.marker'].get_marker() for n in digits_res._fields]
    assert len(set(cols)) == len(cols) and len(set(marks)) == len(marks)

# One look per rule (issue 23)
from pathlib import Path
from lrfind_ext.rules import recommended

body_px = 17 # The docs' body text: smalldocs' `html {font-size: 17px}`, Bootstrap's (cosmo) body at 1rem
column_px = 640 # A narrow docs column, or a phone's

def _marker_looks(fig, prefix='lrfind.0'):
    "Each rule's marker on the axes: its colour and shape"
    return {k[len(prefix)+1:-len('.marker')]:(to_rgb(a.get_color()),a.get_marker()) for k,a in _arts(fig, prefix).items()
            if k.endswith('.marker')}

def test_one_look_per_rule(digits_res):
    "A rule keeps its colour and marker whichever rules are drawn with it, in which order, and on every run of an overlay"
    crv = digits_res.curve
    figs = [plot_lr(crv, suggest_lrs(crv, f)) for f in (('basin','valley'), 'all', ('minimum','steep'), ('steep','minimum'), 'valley')]
    looks = {}
    for fig in figs:
        for k,v in _marker_looks(fig).items(): looks.setdefault(k, set()).add(v)
    assert all(len(v) == 1 for v in looks.values()), looks
    assert len({v for vs in looks.values() for v in vs}) == len(looks) == 5 # the five built-ins: each its own colour and shape
    from lrfind_ext.plot import rule_looks
    assert {k:(to_rgb(c),m) for k,(c,m) in rule_looks.items()} == {k:v.pop() for k,v in looks.items()}
    fig,ax = plt.subplots()
    for k,f in ('a', 'all'), ('b', ('valley','basin')): plot_lr(crv, suggest_lrs(crv, f), ax=ax, label=k)
    a,b = _marker_looks(fig, 'lrfind.a'),_marker_looks(fig, 'lrfind.b')
    assert all(a[k] == b[k] for k in b)

def test_users_rules_look_apart_and_stay():
    "A user's rule gets a look no built-in has, the same with any other rules; two of them, two looks"
    crv = synth_curve(noise=0.03)
    @suggesters.register('u_one')
    def u_one(c): return Suggestion(suggesters.valley(c).lr*2)
    @suggesters.register('u_two')
    def u_two(c): return Suggestion(suggesters.valley(c).lr*3)
    try:
        figs = [plot_lr(crv, suggest_lrs(crv, f)) for f in (('u_two',), ('u_one','u_two','basin'), 'all')]
    finally: suggesters.remove('u_one'); suggesters.remove('u_two')
    l1,l2,l3 = map(_marker_looks, figs)
    assert l1['u_two'] == l2['u_two'] == l3['u_two'] and l2['u_one'] == l3['u_one'] != l2['u_two']
    from lrfind_ext.plot import rule_look,rule_looks
    builtin = {(to_rgb(c),m) for c,m in rule_looks.values()}
    assert l2['u_one'] not in builtin and l2['u_two'] not in builtin
    assert rule_look('u_two') == rule_look('u_two')

def test_recommended_rule_drawn_first_and_strongest(digits_res):
    "basin, last of 'all' in the registry, comes first in the legend, with the biggest marker, the heaviest line, a bold label in the top row"
    assert recommended == 'basin' and list(digits_res.suggestions)[-1] == 'basin'
    fig = digits_res.plot()
    ax,art = fig.axes[0],_arts(fig)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    names = [n for n in legend if n.split(' ')[0] in digits_res.suggestions]
    assert names[0].startswith('basin ')
    others = [n for n in digits_res.suggestions if n != 'basin']
    size,lw = (lambda n: art[f'lrfind.0.{n}.marker'].get_markersize()),(lambda n: art[f'lrfind.0.{n}.vline'].get_linewidth())
    assert all(size('basin') > size(n) and lw('basin') > lw(n) for n in others)
    lab = art['lrfind.0.basin.label']
    assert lab.get_fontweight() == 'bold' and lab.get_position()[1] == max(art[f'lrfind.0.{n}.label'].get_position()[1] for n in others)
    assert ax.get_legend().get_texts()[legend.index(names[0])].get_text() == f"basin {fmt_lr(digits_res.basin)}"

def _shown_px(fig):
    "What one point of text measures in pixels when the figure is shown `column_px` wide, as a notebook saves it (bbox_inches='tight')"
    buf = io.BytesIO()
    fig.savefig(buf, format='png', bbox_inches='tight')
    buf.seek(0)
    return fig.dpi/72 * column_px/plt.imread(buf).shape[1]

def _all_texts(fig):
    ax = fig.axes[0]
    ticks = [t for t in ax.get_xticklabels()+ax.get_yticklabels() if t.get_text() and t.get_visible()]
    return [*ax.texts, *ax.get_legend().get_texts(), ax.xaxis.label, ax.yaxis.label, *ticks]

def test_texts_readable_at_column_width(digits_res, default_res):
    "Every text of the default figure, the digits run with lr_find's rules and with all, is at least the docs' body size shown 640 px wide"
    for res in default_res, digits_res:
        fig = res.plot()
        k = _shown_px(fig)
        small = [(t.get_text(), round(t.get_fontsize()*k, 1)) for t in _all_texts(fig) if t.get_text() and t.get_fontsize()*k < body_px]
        assert not small, small
        r = _renderer(fig)
        ticks = [t.get_window_extent(r) for t in fig.axes[0].get_xticklabels() if t.get_text()]
        assert len(ticks) >= 8 and all(a.x1 < b.x0 for a,b in zip(ticks, ticks[1:])) # a label at every decade, apart

def test_no_text_said_twice(digits_res):
    "A rule's note is on the plot or in the legend, not both; a rule with both a band and an arrow says it once"
    fig = digits_res.plot()
    ax = fig.axes[0]
    said = [t.get_text() for t in ax.texts] + [t.get_text() for t in ax.get_legend().get_texts()]
    for s in digits_res.suggestions.values():
        if s.note: assert sum(s.note in t for t in said) == 1, (s.name, s.note)
    crv = synth_curve(noise=0.03)
    @suggesters.register('from_band', reads='zerolag')
    def from_band(c):
        lrs = c.read('smooth')[0][c.window]
        return Suggestion(float(lrs[40])/10, src_lr=float(lrs[40]), note='point / 10', span=(float(lrs[20]), float(lrs[60])))
    try: fig = plot_lr(crv, suggest_lrs(crv, ('from_band', 'valley')))
    finally: suggesters.remove('from_band')
    ax = fig.axes[0]
    said = [t.get_text() for t in ax.texts] + [t.get_text() for t in ax.get_legend().get_texts()]
    assert sum('point / 10' in t for t in said) == 1 and 'lrfind.0.from_band.arrow' in _arts(fig)

def test_band_swatch_in_each_rules_colour(digits_res):
    "The interval bands' legend entry shows each rule's colour, as the bands are drawn; no grey swatch stands for them"
    fig = digits_res.plot()
    ax,art = fig.axes[0],_arts(fig)
    fig.canvas.draw()
    r = _renderer(fig)
    leg = ax.get_legend()
    tb = next(t for t in leg.get_texts() if 'another run' in t.get_text()).get_window_extent(r)
    swatch = [p for p in leg.findobj(Rectangle) if p.get_visible() and p.get_figure(root=True) is fig and p.get_window_extent(r).x1 <= tb.x0
              and abs((p.get_window_extent(r).y0+p.get_window_extent(r).y1)/2 - (tb.y0+tb.y1)/2) < tb.height/2] # the entry's swatch
    drawn = {to_rgb(art[f'lrfind.0.{n}.interval'].get_facecolor()) for n in digits_res.suggestions}
    assert len(drawn) == 5 and {to_rgb(p.get_facecolor()) for p in swatch} == drawn

def _marks_px(fig):
    "Centre and radius in pixels of every marker inside the axes: the rules' markers and source points, the band edges, the stop"
    ax,r = fig.axes[0],_renderer(fig)
    axb = ax.get_window_extent(r)
    return [(l.get_gid(), xy, l.get_markersize()*fig.dpi/72/2) for l in ax.lines
            if (l.get_gid() or '').endswith(('.marker', '.src', '.edges', '.stop'))
            for xy in l.get_transform().transform(l.get_xydata()) if axb.contains(*xy)]

def _seg_dist(p, a, b):
    "Distance from point `p` to segment `ab`"
    d = b-a
    t = np.clip(np.dot(p-a, d)/max(np.dot(d, d), 1e-12), 0, 1)
    return float(np.hypot(*(p-a-t*d)))

def _check_clear(fig, case=''):
    "No label or note box covers a marker, and no arrow passes over a marker other than those at its ends"
    fig.canvas.draw()
    ax,r = fig.axes[0],_renderer(fig)
    marks = _marks_px(fig)
    for t in ax.texts:
        g = t.get_gid() or ''
        if g.endswith(('.label', '.note')):
            bb = t.get_bbox_patch().get_window_extent(r)
            for mg,xy,rad in marks:
                assert not (bb.x0-rad < xy[0] < bb.x1+rad and bb.y0-rad < xy[1] < bb.y1+rad), (case, t.get_text(), mg)
        if g.endswith('.arrow'):
            ends = ax.transData.transform([t.xyann, t.xy])
            path = t.arrow_patch.get_transform().transform_path(t.arrow_patch.get_path())
            for poly in path.to_polygons(closed_only=False):
                for mg,xy,rad in marks:
                    if min(np.hypot(*(ends-xy).T)) < 1: continue # its own source point and returned value
                    d = min(_seg_dist(xy, a, b) for a,b in zip(poly, poly[1:]))
                    assert d > rad, (case, g, mg, d, rad)

def test_nothing_crosses_a_marker(digits_res, default_res):
    "With every rule, on the digits run, on the recorded runs of nbs/data and on synthetic curves: labels, notes and arrows miss the markers"
    _check_clear(digits_res.plot())
    _check_clear(default_res.plot())
    for fn in sorted((Path(__file__).parent.parent/'nbs'/'data').glob('*.json')):
        crv = LRCurve.load(fn)
        _check_clear(plot_lr(crv, suggest_lrs(crv, 'all')), fn.name)
        plt.close('all')
    for seed,best,noise in [(0, 1e-2, 0.03), (1, 1e-3, 0.05), (2, 3e-2, 0.02), (3, 1e-4, 0.08), (4, 0.3, 0.03)]:
        crv = synth_curve(best=best, noise=noise, seed=seed)
        _check_clear(plot_lr(crv, suggest_lrs(crv, 'all')), f'synth {seed}')
        plt.close('all')
