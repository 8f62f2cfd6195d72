"Behaviour of lrfind_ext.rules: the zero-lag smoother and `basin` (num_it invariance, robustness, registration)."
import math
import numpy as np
import pytest
from hypothesis import given,settings,strategies as st,HealthCheck
import lrfind_ext
from lrfind_ext.curve import LRCurve,synth_curve
from lrfind_ext.view import CurveError
from lrfind_ext.suggest import suggesters,suggest_lrs
from lrfind_ext.rules import loglr_smooth,curve_xy,find_basin,ref_density

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

def phys_curve(n=100, start_lr=1e-7, end_lr=10., noise=0.02, seed=0, stop_div=True):
    """A curve with lr_find's physics: the model learns in proportion to the learning rate summed over the steps
    taken (so a run with more steps per decade falls at a lower learning rate) and becomes unstable above a
    learning rate that does not depend on the steps (1e-1)"""
    lrs = start_lr*(end_lr/start_lr)**(np.arange(n)/n)
    learnt = np.exp(-np.cumsum(lrs)/5e-3)
    loss = 0.2 + 2.1*learnt + 0.5*(lrs/0.1)**3
    loss = loss*(1+noise*np.random.default_rng(seed).standard_normal(n))
    crv = LRCurve(lrs, loss, num_it=n)
    return crv.cut_at_divergence() if stop_div else crv

def lr(crv, name='basin'): return suggesters[name](crv).lr
def dec(a, b): return abs(math.log10(a/b))

# --- the smoother -------------------------------------------------------------------------------------------------

@FAST
@given(st.floats(-3, 3), st.floats(-5, 5), st.lists(st.integers(-8000, 2000), min_size=2, max_size=200, unique=True),
       st.floats(0.05, 1.))
def test_smooth_keeps_lines(a, b, xs, h):
    "A straight line comes back unchanged, with its slope, at any spacing (here, multiples of 0.001 decade)"
    x = np.sort(np.array(xs))/1000
    sm,slope = loglr_smooth(x, a*x+b, h)
    np.testing.assert_allclose(sm, a*x+b, atol=1e-6)
    many = np.array([((x>=v-h) & (x<=v+h)).sum()>1 for v in x])
    np.testing.assert_allclose(slope[many], a, atol=1e-5)

def test_smooth_no_lag():
    "The smoothed steepest point sits at the raw one; fastai's EMA puts it half a decade later"
    lrs = np.geomspace(1e-7, 10, 100, endpoint=False)
    x = np.log10(lrs)
    raw = 2.3-2/(1+np.exp(-3*(x+3)))
    _,slope = loglr_smooth(x, raw)
    ema = LRCurve(lrs, raw).smooth
    assert abs(x[np.argmin(slope)]+3) < 0.1
    assert x[np.argmin(np.diff(ema))]+3 > 0.4

def test_smooth_window_in_decades():
    "The same window in decades averages 4 times as many points of a 4 times denser curve: less noise, same level"
    rng = np.random.default_rng(0)
    sds = []
    for n in 100,400:
        x = np.linspace(-7, 1, n)
        sm,_ = loglr_smooth(x, 1+0.1*rng.standard_normal(n), 0.4)
        sds.append(sm[n//4:-n//4].std())
        assert abs(sm.mean()-1) < 0.02
    assert sds[1] < 0.7*sds[0]

# --- basin: num_it and start_lr invariance, seeds -------------------------------------------------------------------

@pytest.mark.parametrize('seed', [0, 1, 2])
def test_basin_num_it_invariant(seed):
    "From num_it=100 to 400 the curve falls 0.6 decades earlier; basin moves less than 0.1 decades"
    c100,c400 = phys_curve(100, seed=seed),phys_curve(400, seed=seed)
    assert find_basin(c400).lo < find_basin(c100).lo-0.4 # the physics: the fall moves
    assert abs(find_basin(c400).hi-find_basin(c100).hi) < 0.1 # the blow-up does not
    assert dec(lr(c100), lr(c400)) < 0.1

def test_basin_start_lr_invariant():
    "A run from 1e-5 (more steps per decade) gives the same suggestion as one from 1e-7"
    a,b = phys_curve(100, start_lr=1e-7),phys_curve(100, start_lr=1e-5)
    assert dec(lr(a), lr(b)) < 0.1

def test_basin_seeds():
    "Noise of 5% per step moves the suggestion by under 0.1 decades (std over seeds)"
    xs = [math.log10(lr(phys_curve(100, noise=0.05, seed=s))) for s in range(8)]
    assert np.std(xs) < 0.1

def test_basin_synth_where_expected():
    "On synth_curve (minimum at 1e-2), basin lands below the minimum and above the fall's start"
    crv = synth_curve(noise=0.02)
    s = suggesters.basin(crv)
    b = find_basin(crv)
    assert 1e-4 < s.lr < 1e-2 and b.lo < math.log10(s.lr) < b.hi
    assert not s.derived and s.span == pytest.approx((10**b.lo, 10**b.hi)) and s.note.startswith('a third into the basin')

def test_basin_equivariant():
    "Scaling the learning rates scales the suggestion; an affine change of the loss changes nothing"
    crv = synth_curve(noise=0.02)
    a = lr(crv)
    assert lr(LRCurve(crv.lrs*10, crv.losses, num_it=crv.num_it)) == pytest.approx(10*a, rel=1e-6)
    assert lr(LRCurve(crv.lrs, 3*crv.losses-1, num_it=crv.num_it)) == pytest.approx(a, rel=1e-6)

# --- robustness -------------------------------------------------------------------------------------------------------

def _check(crv):
    "basin gives a finite learning rate inside the window, or CurveError when the curve has no window"
    try: w = crv.lrs[crv.window]
    except CurveError:
        with pytest.raises(CurveError): suggesters.basin(crv)
        return None
    s = suggesters.basin(crv)
    assert math.isfinite(s.lr) and w[0] <= s.lr <= w[-1]
    return s

@FAST
@given(st.integers(1, 300), st.integers(0, 10**6), st.floats(0, 0.5), st.integers(0, 300),
       st.sampled_from([np.nan, np.inf, -np.inf, 1e30]), st.booleans())
def test_basin_any_curve(n, seed, noise, n_bad, bad, raw):
    "Random lengths, noise, NaN/infinite/huge tails, raw or smoothed only: an answer in the window, or CurveError"
    crv = synth_curve(n=max(n, 1), noise=noise, seed=seed, stop_div=False)
    losses = crv.losses.copy()
    if n_bad: losses[max(0, n-n_bad):] = bad
    crv = LRCurve(crv.lrs, losses, num_it=100) if raw else LRCurve(crv.lrs, smooth=losses, num_it=100)
    _check(crv)

@FAST
@given(st.lists(st.floats(-10, 10), min_size=3, max_size=150))
def test_basin_arbitrary_losses(ls):
    "Any finite losses, even negative or flat, give a learning rate in the window"
    lrs = np.geomspace(1e-7, 10, len(ls), endpoint=False)
    _check(LRCurve(lrs, ls))

def test_basin_short_and_cut():
    "A run diverged after 12 steps of 100, and one cut by a NaN, still get a suggestion"
    lrs = np.geomspace(1e-7, 10, 100, endpoint=False)
    short = LRCurve(lrs[:12], np.linspace(2.3, 1, 12), num_it=100, stop='diverged')
    assert _check(short)
    cut = LRCurve(lrs[:60], np.r_[np.linspace(2.3, 1, 50), [np.nan]*10], num_it=100, stop='nonfinite')
    assert _check(cut).lr <= lrs[49]

def test_basin_reads_raw_losses():
    "With raw losses the EMA is not read: the same raw losses under any smoothed curve give the same answer"
    crv = synth_curve(noise=0.02, stop_div=False)
    other = LRCurve(crv.lrs, crv.losses, smooth=crv.smooth[::-1].copy(), num_it=crv.num_it)
    assert lr(crv) == pytest.approx(lr(other))
    only_smooth = LRCurve(crv.lrs, smooth=crv.smooth, num_it=crv.num_it)
    assert lr(only_smooth) != pytest.approx(lr(crv))

def test_curve_xy_caps_blowup():
    lrs = np.geomspace(1e-7, 10, 100, endpoint=False)
    losses = np.r_[np.linspace(2.3, 0.5, 90), [1e30]*10]
    x,y,lo,hi = curve_xy(LRCurve(lrs, losses))
    assert y.max() < 20 and (lo,hi) == (10,95)

# --- registration ----------------------------------------------------------------------------------------------------

def test_registered():
    assert 'basin' in suggesters and 'basin' in [s.name for s in suggesters.resolve('all')]
    assert lrfind_ext.recommended == 'basin' and ref_density == 12.5
    res = suggest_lrs(synth_curve(), ('basin', 'valley'))
    assert [s.name for s in res] == ['basin', 'valley']

# --- valley's longest decreasing subsequence ----------------------------------------------------------------------

def _lds_brute(xs):
    "fastai's O(n²) lengths, then the first index of the longest and its length"
    lds = [1]*len(xs)
    for i in range(1, len(xs)):
        for j in range(i):
            if xs[i]<xs[j] and lds[i]<lds[j]+1: lds[i] = lds[j]+1
    return (int(np.argmax(lds)), max(lds)) if xs else (0, 0)

@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 6), max_size=60) | st.lists(st.floats(-1e3, 1e3), max_size=60))
def test_lds_end_as_fastai_double_loop(xs):
    "Patience sorting with its shortcut for a run that grows gives fastai's end and length, ties and plateaus included"
    from lrfind_ext.rules import _lds_end
    assert _lds_end(xs)==_lds_brute(xs)
