"""Ideas for suggesters that bench/quality.py measured and lrfind_ext does not ship, kept so that the benchmark's
table of them can be reproduced. Each is a function of an `LRCurve` returning a learning rate; all are built on the
zero-lag smoother of lrfind_ext.rules (`loglr_smooth`), so they differ from the shipped `basin` only in the idea."""
import math
import numpy as np
from lrfind_ext.rules import loglr_smooth,curve_xy,find_basin,ref_density

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
