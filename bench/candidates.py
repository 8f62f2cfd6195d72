"""Ideas for suggesters that the quality benchmark measured and lrfind_ext does not ship, kept so that their figures
can be reproduced (bench/study_candidates.py). Each is a function of an `LRCurve` returning a learning rate; all are
built on the zero-lag smoother of lrfind_ext.view (`loglr_smooth`), so they differ from the shipped `basin` only in the
idea."""
import math
import numpy as np
from lrfind_ext.view import loglr_smooth,curve_xy
from lrfind_ext.rules import find_basin,ref_density

def _zl(crv, h):
    x,y,lo,hi = curve_xy(crv)
    s,slope = loglr_smooth(x, y, h)
    return x,y,s,slope,lo,lo+int(np.argmin(s[lo:hi]))

def zl_minimum(crv, h=0.2, div=3.):
    "The minimum of the zero-lag smoothed loss (+-0.2 decades), divided by 3"
    x,y,s,slope,lo,i = _zl(crv, h)
    return 10**x[i]/div

def zl_steep(crv, h=0.4):
    "The steepest fall of the zero-lag smoothed loss (+-0.4 decades), left of its minimum"
    x,y,s,slope,lo,i = _zl(crv, h)
    return 10**x[lo+int(np.argmin(slope[lo:i+1]))]

def fit_minimum(crv, h=0.2, span=0.5, div=3.):
    "The vertex of a parabola fitted to the raw losses within +-0.5 decades of the zero-lag minimum, divided by 3"
    x,y,s,slope,lo,i = _zl(crv, h)
    m = np.abs(x-x[i]) <= span
    c = np.polyfit(x[m]-x[i], y[m], 2) if m.sum()>=3 else [0.,0.,0.]
    v = x[i]-c[1]/(2*c[0]) if c[0]>0 else x[i]
    return 10**float(np.clip(v, x[i]-span, x[i]+span))/div

def basin_edge(crv, div=10.):
    "The basin's right edge (where the loss rises again), divided by 10"
    return 10**find_basin(crv).hi/div

def basin_uncorrected(crv, w=1/3):
    "`basin` without reading the left edge in the units of a 100-step run"
    b = find_basin(crv)
    return 10**(b.lo+w*(b.hi-b.lo))

def basin_half(crv):
    "`basin` half-way across rather than a third of the way"
    b = find_basin(crv)
    lo = min(b.lo+math.log10(b.density/ref_density), b.hi)
    return 10**(lo+(b.hi-lo)/2)

CANDIDATES = {f.__name__:f for f in (zl_minimum, zl_steep, fit_minimum, basin_edge, basin_uncorrected, basin_half)}

# Ideas measured on the new fine-tuning and application-learner tasks (2026-12-02): the fine-tuned curves start low
# and are noisy (batch losses from 0.003 to 1.0 on one run), so these read the raw losses more robustly.

def _zl_level(x, y, lo, hi, h):
    "Zero-lag smoothing of `y`, the index of its minimum in the window, and its starting level (median of the first half decade)"
    s,_ = loglr_smooth(x, y, h)
    k = max(3, int(np.searchsorted(x, x[lo]+0.5))-lo)
    return s,lo+int(np.argmin(s[lo:hi])),float(np.median(s[lo:lo+k]))

def _basin_xy(crv, y, h=0.4, f=0.4, w=1/3):
    "`basin`'s steps on other values `y` at the curve's points (same window, edges, and 100-step reading of the left edge)"
    x,_,lo,hi = curve_xy(crv)
    s,i,level = _zl_level(x, y, lo, hi, h)
    thr = float(s[i]+f*max(level-s[i], 0.))
    L,R = np.flatnonzero(s[lo:i]>thr),np.flatnonzero(s[i:]>thr)
    x_lo = float(x[lo+L[-1]]) if len(L) else float(x[lo])
    x_hi = float(x[i+R[0]]) if len(R) else float(x[-1])
    dx = np.diff(x); dx = dx[dx>0]
    dens = 1/float(np.median(dx)) if len(dx) else ref_density
    x_lo = min(x_lo+math.log10(dens/ref_density), x_hi)
    return 10**(x_lo+w*(x_hi-x_lo))

def basin_log(crv):
    "`basin` on the log of the raw losses (noise near a low loss is multiplicative); plain `basin` if a loss is <= 0"
    x,y,lo,hi = curve_xy(crv)
    return _basin_xy(crv, np.log(y)) if (y>0).all() else _basin_xy(crv, y)

def basin_median(crv, r=0.15):
    "`basin` on a running median of the raw losses (+-0.15 decades), so that single wild batches count for little"
    x,y,lo,hi = curve_xy(crv)
    a,b = np.searchsorted(x, x-r, 'left'),np.searchsorted(x, x+r, 'right')
    return _basin_xy(crv, np.array([np.median(y[i:j]) for i,j in zip(a,b)]))

def basin_wide(crv):
    "`basin` with a wider smoothing window (+-0.6 decades instead of 0.4)"
    x,y,lo,hi = curve_xy(crv)
    return _basin_xy(crv, y, h=0.6)

def basin_noisy(crv):
    "`basin` whose smoothing widens with the curve's noise: h = 0.4 decades, up to 0.8 where the residuals' spread nears the drop"
    x,y,lo,hi = curve_xy(crv)
    s,_ = loglr_smooth(x, y, 0.4)
    noise = 1.4826*float(np.median(np.abs((y-s)[lo:hi])))
    drop = max(float(np.median(s[lo:lo+max(3, int(np.searchsorted(x, x[lo]+0.5))-lo)]))-float(s[lo:hi].min()), 1e-12)
    return _basin_xy(crv, y, h=0.4*float(np.clip(1+noise/drop, 1, 2)))

CANDIDATES.update({f.__name__:f for f in (basin_log, basin_median, basin_wide, basin_noisy)})

def _rise(crv, h=0.4):
    "log10(lr) where the zero-lag smoothed loss, past its minimum, climbs back above its starting level (the last point if it never does)"
    x,y,lo,hi = curve_xy(crv)
    s,i,level = _zl_level(x, y, lo, hi, h)
    R = np.flatnonzero(s[i:]>level)
    return float(x[i+R[0]]) if len(R) else float(x[-1])

def rise_tenth(crv):
    "A decade below where the zero-lag smoothed loss climbs back above its starting level"
    return 10**(_rise(crv)-1)

def basin_or_rise(crv):
    "`basin`, raised to a decade and a half below the climb above the starting level where it lands lower (flat, noisy curves)"
    from lrfind_ext.rules import basin
    return max(basin(crv).lr, 10**(_rise(crv)-1.5))

CANDIDATES.update({f.__name__:f for f in (rise_tenth, basin_or_rise)})

# Ideas measured on 2026-12-02 (second session), chosen on the dev tasks, then run once on the held-out ones. On
# ft_resnet_slice_adam the loss starts near zero (0.05) and never falls by more than its noise: `basin` then reads a
# minimum of noise, three decades below the best, and moves with the seed.

def _flat(crv, t=1.2):
    "log10(lr) a decade below the window's last point if the run diverged and its fall is under `t` times the noise of its raw losses, else None"
    if crv.stop!='diverged': return None
    x,y,lo,hi = curve_xy(crv)
    s,_ = loglr_smooth(x, y, 0.4)
    b = find_basin(crv)
    noise = 1.4826*float(np.median(np.abs((y-s)[lo:hi])))
    return float(x[hi-1]-1) if b.level-float(s[lo:hi].min()) < t*noise else None

def basin_flat(crv):
    "`basin`, unless the run diverged with no fall beyond its noise: then a decade below where it diverged"
    from lrfind_ext.rules import basin
    f = _flat(crv)
    return basin(crv).lr if f is None else 10**f

def basin_min_blend(crv, a=0.8):
    "80% of the way (in log lr) from the zero-lag minimum to `basin`'s point"
    from lrfind_ext.rules import basin
    b = find_basin(crv)
    lrs = crv.lrs[crv.window]
    return float(np.clip(10**(a*math.log10(basin(crv).lr)+(1-a)*b.min), lrs[0], lrs[-1]))

def basin_flat_min(crv):
    "`basin_min_blend`, with `basin_flat`'s decade below the divergence on a run with no fall beyond its noise"
    f = _flat(crv)
    return basin_min_blend(crv) if f is None else 10**f

CANDIDATES.update({f.__name__:f for f in (basin_flat, basin_min_blend, basin_flat_min)})

def basin_up(crv, c=0.1):
    "`basin`'s point raised by a tenth of a decade (most misses lie below the best)"
    from lrfind_ext.rules import basin
    return basin(crv).lr*10**c

CANDIDATES.update({f.__name__:f for f in (basin_up,)})

# Ideas measured on 2026-12-02 (third session): let the package's own resampling (`lrfind_ext.spread`) say how sure
# each estimate is on this curve, and lean on the surer one. Chosen on the dev tasks, then run once on the held-out ones.

def _spreads(crv):
    "Seed-like spreads (std of log10 lr over the resampled runs) of `basin` and of the zero-lag minimum, and both on `crv`"
    from lrfind_ext.rules import basin
    from lrfind_ext.spread import Resamples,resampled_lrs
    from lrfind_ext.suggest import suggesters
    R = Resamples(crv)
    sd = lambda a: float(np.std(np.log10(a[np.isfinite(a)&(a>0)]))) if np.isfinite(a).sum()>2 else math.inf
    lb = resampled_lrs(suggesters['basin'], R)
    lm = np.array([zl_minimum(c, div=1.) for c in R.curves])
    return sd(lb),sd(lm),math.log10(basin(crv).lr),math.log10(zl_minimum(crv, div=1.))

def basin_ivw(crv, floor=0.03):
    "`basin` and the zero-lag minimum averaged in log lr, each weighted by the inverse square of its spread over resampled runs"
    sb,sm,b,m = _spreads(crv)
    wb,wm = 1/max(sb, floor)**2,1/max(sm, floor)**2
    return 10**((wb*b+wm*m)/(wb+wm))

def basin_min_sure(crv, a=0.8):
    "`basin_min_blend`'s fifth of the way towards the zero-lag minimum, scaled down by (basin's spread / the minimum's)^2 where the minimum is the less sure"
    sb,sm,b,m = _spreads(crv)
    return 10**(b+(1-a)*min(1., (sb/max(sm, 1e-3))**2)*(m-b))

CANDIDATES.update({f.__name__:f for f in (basin_ivw, basin_min_sure)})

def basin_pbag(crv, hs=(0.3,0.4,0.5), fs=(0.3,0.4,0.5)):
    "`basin` averaged in log lr over nine settings of its smoothing window `h` and basin level `f` (0.3, 0.4, 0.5 each), so that no one setting decides"
    from lrfind_ext.rules import basin
    return 10**float(np.mean([math.log10(basin(crv, h=h, f=f).lr) for h in hs for f in fs]))

CANDIDATES.update({f.__name__:f for f in (basin_pbag,)})

# Ideas measured on 2026-12-02 (fourth session), chosen on the dev tasks (z swept over 1, 1.25, 1.5, 1.75, 2, 3: a
# plateau from 1.25 to 1.75), then run once on the held-out ones. On a flat, noisy curve (the unfrozen fine-tunes, the
# text learner) the drop is a few times the batch noise, so `basin`'s left edge is wherever the noise first dips
# under the threshold, far left of the minimum. Bagging is the other idea: basin's median over the package's own
# resampled runs. Those are not thinned here: `Resamples` averages a longer run down to 150 points, and `basin` on such
# a run reads its left edge at the thinned density, about 0.3 decades lower at num_it=400 (the intervals only use the
# resamples' spread, which the offset leaves alone).

def _basin_sure(crv, z=1.5, h=0.4, f=0.4, w=1/3):
    "log10 of `basin`'s point, its left edge also at least `z` times the raw losses' noise under the starting level, and the zero-lag minimum"
    from lrfind_ext.rules import _cross
    x,y,lo,hi = curve_xy(crv)
    s,i,level = _zl_level(x, y, lo, hi, h)
    noise = 1.4826*float(np.median(np.abs((y-s)[lo:hi]))) # robust spread of the batch losses about their trend
    thr = float(s[i]+f*max(level-s[i], 0.))
    thr_l = max(min(thr, level-z*noise), float(s[i]))
    L,R = np.flatnonzero(s[lo:i]>thr_l),np.flatnonzero(s[i:]>thr)
    x_lo = _cross(x, s, lo+L[-1], thr_l) if len(L) else float(x[lo])
    x_hi = _cross(x, s, i+R[0]-1, thr) if len(R) else float(x[-1])
    dx = np.diff(x); dx = dx[dx>0]
    dens = 1/float(np.median(dx)) if len(dx) else ref_density
    x_lo = min(x_lo+math.log10(dens/ref_density), x_hi)
    return x_lo+w*(x_hi-x_lo),float(x[i])

def basin_sure(crv):
    "`basin` whose left edge must also lie 1.5 times the batch losses' noise under the starting level (a fall the noise can't fake)"
    return 10**_basin_sure(crv)[0]

def basin_sure_flat(crv):
    "`basin_sure`, with `basin_flat`'s decade below the divergence on a run with no fall beyond its noise"
    f = _flat(crv)
    return basin_sure(crv) if f is None else 10**f

def basin_sure_flat_min(crv, a=0.8):
    "`basin_sure_flat`, 20% of the way (in log lr) towards the zero-lag minimum as `basin_min_blend` is"
    f = _flat(crv)
    if f is not None: return 10**f
    b,m = _basin_sure(crv)
    lrs = crv.lrs[crv.window]
    return float(np.clip(10**(a*b+(1-a)*m), lrs[0], lrs[-1]))

def basin_bag(crv):
    "`basin`'s median (in log lr) over its own suggestion and 20 resampled runs like those behind its interval, at the run's own length"
    from lrfind_ext.rules import basin
    from lrfind_ext.spread import Resamples,resampled_lrs
    from lrfind_ext.suggest import suggesters
    l = np.log10(resampled_lrs(suggesters['basin'], Resamples(crv, n_max=len(crv.lrs)))) # not thinned: see below
    return 10**float(np.median(np.r_[l[np.isfinite(l)], math.log10(basin(crv).lr)]))

CANDIDATES.update({f.__name__:f for f in (basin_sure, basin_sure_flat, basin_sure_flat_min, basin_bag)})
