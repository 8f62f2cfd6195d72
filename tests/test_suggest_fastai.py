"""The four built-in rules give fastai's answers exactly: property tests on thousands of random curves, fed the same
float32 values as fastai's own `valley`, `slide`, `minimum` and `steep` from `fastai.callback.schedule`.

Then end to end: fastai's original `lr_find` and the patched one, on two identically seeded learners."""
import math,warnings
from functools import partial
import numpy as np,pytest,torch
from hypothesis import given,settings,strategies as st,HealthCheck,example
import fastai.callback.schedule as fs
from lrfind_ext.curve import LRCurve
from lrfind_ext import suggest as sg
from lrfind_ext.suggest import Suggester,suggesters
from lrfind_ext.finder import fastai_lr_find
from lrf_testutils import synth,digits

N_EXACT = 400 # examples of the exact-equality property (about 36 of each kind of curve; --runslow runs 20,000 fresh ones)
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::RuntimeWarning")

# ---- random curves ----

def _lrs(n, lo, decades):
    "n learning rates on fastai's schedule, rounded to float32 as `lr_find` hands them to fastai's rules"
    return np.float32(lo*(10.**decades)**(np.arange(n)/n))

@st.composite
def curves(draw, min_n=3, max_n=200):
    "(lrs, losses) as float32 arrays: many shapes, with ties, plateaus, monotone runs, noise, integers, extremes"
    kind = draw(st.sampled_from(['floats','ints','plateaus','increasing','decreasing','realistic','noisy','ulps',
                                 'constant','extreme','v-shape']))
    n = draw(st.integers(min_n, max_n if kind not in ('floats','ints') else min(max_n, 60)))
    if kind=='floats': ys = draw(st.lists(st.floats(-1e4, 1e4, width=32, allow_nan=False), min_size=n, max_size=n))
    elif kind=='ints': ys = draw(st.lists(st.integers(0, 4), min_size=n, max_size=n))
    else:
        rng = np.random.default_rng(draw(st.integers(0, 2**32-1)))
        x = np.linspace(0, 1, n)
        if kind=='plateaus': ys = np.repeat(rng.integers(0, 5, n), rng.integers(1, 8, n))[:n]*rng.choice([1., .1, 1e-3])
        elif kind=='increasing': ys = np.sort(rng.random(n))
        elif kind=='decreasing': ys = -np.sort(rng.random(n))*rng.choice([1., 100.])
        elif kind=='realistic': ys = 2.3 - 2/(1+np.exp(-12*(x-rng.uniform(.3,.7)))) + rng.uniform(0,3)*np.exp(8*(x-1))
        elif kind=='noisy': ys = 2.3 - 2/(1+np.exp(-12*(x-.5))) + rng.uniform(0,.3)*rng.standard_normal(n)
        elif kind=='ulps': ys = np.nextafter(np.float32(1.), np.float32(2.)) + rng.integers(-3, 4, n)*np.finfo(np.float32).eps
        elif kind=='constant': ys = np.full(n, rng.uniform(-3, 3))
        elif kind=='extreme': ys = rng.choice([-1., 1.])*10.**rng.uniform(-30, 30, n)
        else: ys = np.abs(x-rng.uniform(.2, .8))*rng.uniform(.01, 10) + rng.uniform(0, .01)*rng.standard_normal(n)
    lo,dec = draw(st.floats(1e-9, 1e-3)),draw(st.floats(1., 10.))
    ys = np.asarray(ys, dtype=np.float32)
    assert np.isfinite(ys).all()
    return _lrs(n, lo, dec),ys

def _curve(lrs, losses):
    "The package's view of the same points: every point in the window"
    return LRCurve(lrs.astype(np.float64), smooth=losses.astype(np.float64), skip_start=0, skip_end=0)

def _fastai(f, lrs, losses):
    "Call fastai's rule `f` as its lr_find does, on float32 tensors"
    return f(torch.from_numpy(lrs), torch.from_numpy(losses), len(lrs))

def _fastai_valley(lrs, losses):
    "fastai's valley on the same float32 values, as Python floats: its O(n^2) loop on tensors is too slow for thousands of runs"
    return fs.valley(lrs.tolist(), losses.tolist(), len(lrs))

# derandomize: the same examples on every run, so that a failure reproduces (run with a seed to explore more)
SETTINGS = dict(deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))

# ---- exact equality ----

@settings(max_examples=N_EXACT, **SETTINGS)
@given(curves())
def test_same_lr_as_fastai(c):
    "Each built-in rule returns exactly fastai's learning rate, and its points are fastai's plotted points"
    lrs,losses = c
    crv,n = _curve(lrs, losses),len(lrs)
    # valley: returns the point it plots
    lr,(x,y) = _fastai_valley(lrs, losses)
    s = suggesters.valley(crv)
    assert s.lr == lr == x and not s.derived and s.loss == y
    # minimum: returns a tenth of the point it plots
    lr,(x,y) = _fastai(fs.minimum, lrs, losses)
    s = suggesters.minimum(crv)
    assert s.lr == lr and s.src_lr == x and s.src_loss == float(y) and s.note == 'minimum / 10'
    # steep: returns the point it plots
    lr,(x,y) = _fastai(fs.steep, lrs, losses)
    s = suggesters.steep(crv)
    assert s.lr == lr == x and s.loss == float(y)
    # slide: fastai raises IndexError below lr_diff+1 points (tested separately)
    if n > 15:
        lr,(x,y) = _fastai(fs.slide, lrs, losses)
        s = suggesters.slide(crv)
        assert s.lr == lr == x
        # fastai interpolates its plotted loss in float32 log10, slightly off the grid point: allow for it
        i = lrs.tolist().index(np.float32(s.lr))
        assert s.loss == losses[i]
        near = np.abs(losses[max(i-1,0):i+2].astype(np.float64)-losses[i]).max()
        assert abs(s.loss-float(y)) <= 1e-3*near

@settings(max_examples=100, **SETTINGS)
@given(curves(min_n=16, max_n=120), st.sampled_from([.1, .5, 2.]), st.integers(2, 15), st.sampled_from([.005, .05, 1e-4]))
def test_slide_options_as_fastai(c, adjust, lr_diff, thresh):
    "`partial(slide, ...)` of fastai's function maps to the built-in with the same options, and gives fastai's value"
    lrs,losses = c
    f = partial(fs.slide, lr_diff=lr_diff, thresh=thresh, adjust_value=adjust)
    lr,(x,_) = _fastai(f, lrs, losses)
    s = suggesters.resolve(f)[0](_curve(lrs, losses))
    assert s.lr == lr == x and s.src_lr == float(lrs[lrs.tolist().index(np.float32(s.src_lr))])
    assert s.note == f'slide × {adjust:g}' and s.lr == s.src_lr*adjust

@settings(max_examples=100, **SETTINGS) # how a fastai-style function is called, not what it computes
@given(curves(max_n=80))
def test_fastai_functions_called_as_fastai_does(c):
    "A fastai-style function, registered as is (not mapped to a built-in), sees fastai's window and gives fastai's value"
    lrs,losses = c
    crv = _curve(lrs, losses)
    for f in (fs.minimum, fs.steep) + ((fs.slide,) if len(lrs)>15 else ()):
        lr,(x,_) = _fastai(f, lrs, losses)
        s = Suggester('f', f)(crv)
        assert s.lr == lr and (s.src_lr is None) == math.isclose(x, lr, rel_tol=1e-6)

def test_fastai_valley_on_tensors_same_as_on_floats():
    "The shortcut of `_fastai_valley` (Python floats instead of tensors) changes nothing"
    rng = np.random.default_rng(0)
    for n in (3, 10, 40, 80):
        for ys in (rng.random(n), rng.integers(0, 3, n), np.sort(rng.random(n))[::-1]):
            lrs,ys = _lrs(n, 1e-7, 8),np.float32(ys)
            a,(xa,ya) = _fastai(fs.valley, lrs, ys)
            b,(xb,yb) = _fastai_valley(lrs, ys)
            assert a == b and xa == xb and float(ya) == yb
            assert suggesters.valley(_curve(lrs, ys)).lr == a

@settings(max_examples=50, **SETTINGS)
@given(curves(min_n=3, max_n=15))
def test_slide_short_curve(c):
    "Where fastai's slide raises IndexError (fewer than lr_diff+1 points), the built-in returns the first point"
    lrs,losses = c
    with pytest.raises(IndexError): _fastai(fs.slide, lrs, losses)
    assert suggesters.slide(_curve(lrs, losses)).lr == float(lrs[0])

@settings(max_examples=150, **SETTINGS)
@given(curves(max_n=100), st.one_of(st.none(), st.integers(0, 30)), st.integers(0, 8), st.integers(1, 120))
def test_window_as_fastai(c, skip_start, skip_end, num_it):
    "Whenever fastai's window `lrs[num_it//10:-5]` has 3 points or more, the rules read exactly it"
    lrs,losses = c
    n = len(lrs)
    crv = LRCurve(lrs.astype(np.float64), smooth=losses.astype(np.float64), num_it=num_it, skip_start=skip_start,
                  skip_end=skip_end)
    w = slice(num_it//10 if skip_start is None else skip_start, -skip_end if skip_end else None)
    if len(range(n)[w]) < 3: return
    assert range(n)[crv.window] == range(n)[w]
    lr,_ = _fastai(fs.minimum, lrs[w], losses[w])
    assert suggesters.minimum(crv).lr == lr

# ---- end to end: fastai's lr_find against the patched one ----

def _pair(mk, **kw):
    "Run fastai's lr_find and the patched one on two identical learners"
    from fastai.callback.schedule import valley,slide,minimum,steep
    a,b = mk(),mk()
    with a.no_bar(),b.no_bar():
        ra = fastai_lr_find(a, show_plot=False, suggest_funcs=(valley,slide,minimum,steep), **kw)
        rb = b.lr_find(show_plot=False, suggest_funcs=(valley,slide,minimum,steep), **kw)
    return (a,ra),(b,rb)

@pytest.mark.parametrize('name,mk,kw', [
    ('synth', lambda: synth(seed=1), dict()),
    ('digits-bs50', lambda: digits(bs=50), dict(num_it=60)),
    ('digits-nostop', lambda: digits(bs=37), dict(num_it=40, stop_div=False)),
])
def test_end_to_end_as_fastai(tmp_path, name, mk, kw):
    (a,ra),(b,rb) = _pair(lambda: _at(mk(), tmp_path), **kw)
    la,lb = [float(o) for o in a.recorder.losses],[float(o) for o in b.recorder.losses]
    assert la == lb and a.recorder.lrs == b.recorder.lrs
    assert ra._fields == rb._fields
    for x,y in zip(ra, rb): assert np.float32(x) == np.float32(y) or x == pytest.approx(y, rel=1e-6)
    # the raw losses recorded next to them give back fastai's smoothed losses
    from lrfind_ext.curve import smooth_losses
    assert smooth_losses(rb.curve.losses).tolist() == lb

def _at(learn, path):
    learn.path = path
    return learn

@pytest.mark.slow
@settings(max_examples=20_000, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(curves())
def test_same_lr_as_fastai_many(c):
    "The exact-equality property on 20,000 fresh random curves each run (about a minute)"
    test_same_lr_as_fastai.hypothesis.inner_test(c)
