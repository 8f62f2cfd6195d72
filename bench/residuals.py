#!/usr/bin/env python
"""Can the default's remaining error be read off the run? Where `basin` lands against each task's best rate,
against what lr_find sees: the curve's shape and the learner (`learner_meta`).

Reads the cached truths and curves of bench/quality.py (grid.json, curves.json.gz; nothing is trained) and writes
bench/results/residuals.md (and prints it). Takes a few seconds:
    python bench/residuals.py [--no-write]
For each task, the error is the mean over the lr_find seeds of log10(basin's rate / the best rate) at num_it=100.
For each feature (a mean over the same runs): its correlation with the error on the dev tasks and on the held-out
ones, and what a correction fitted on the dev tasks (error = a + b * feature, Theil-Sen, one feature at a time,
with the feature read run by run) does to the held-out figures, against a constant correction (b = 0) fitted the same way."""
import argparse,math,time,warnings
warnings.filterwarnings('ignore')
import numpy as np
import harness as H
from harness import LRF_SEEDS,NUM_ITS
from lrfind_ext.rules import basin,find_basin
from lrfind_ext.view import curve_xy,loglr_smooth

def curve_feats(crv)->dict:
    "What the curve shows around its basin, in decades and in units of its noise"
    b = find_basin(crv)
    x,y,lo,hi = curve_xy(crv)
    s,_ = loglr_smooth(x, y, 0.4)
    i = lo+int(np.argmin(s[lo:hi]))
    drop = b.level-s[i]
    noise = float(np.std((y-s)[lo:hi]))
    j = min(len(x)-1, int(np.searchsorted(x, x[i]+0.3)))
    return {'basin width (dec)': b.hi-b.lo, 'minimum to right edge (dec)': b.hi-b.min, 'left edge to minimum (dec)': b.min-b.lo,
            'drop / noise': drop/max(noise, 1e-12), 'rise 0.3 dec past the minimum / drop': (s[j]-s[i])/max(drop, 1e-12),
            'drop / starting level': drop/max(abs(b.level), 1e-12), 'right edge to the last point (dec)': x[-1]-b.hi,
            'window (dec)': x[hi-1]-x[lo]}

def meta_feats(m:dict)->dict:
    "What lr_find knows of the learner, as numbers"
    l10 = lambda v: math.log10(v) if v else float('nan')
    return {'adaptive optimizer (Adam-like)': float(bool(m.get('adaptive'))), 'SGD with momentum': float(m.get('opt_family')=='sgd_momentum'),
            'trainable share of parameters': m.get('trainable_frac', float('nan')), 'log10 trainable parameters': l10(m.get('n_trainable')),
            'log10 batch size': l10(m.get('bs')), 'log10 training items': l10(m.get('n_train')),
            'log10 batches per epoch': l10(m.get('batches_per_epoch')), 'normalisation layers': float(bool(m.get('norm_layers'))),
            'regression (MSE loss)': float('MSE' in (m.get('loss_func') or '') or 'mse' in (m.get('loss_inner') or '').lower())}

def feats(rec:dict, crv)->dict: return {**curve_feats(crv), **meta_feats(rec['learner'])}

def _corr(a, b):
    ok = np.isfinite(a)&np.isfinite(b)
    if ok.sum()<3 or np.std(a[ok])==0 or np.std(b[ok])==0: return float('nan')
    return float(np.corrcoef(a[ok], b[ok])[0,1])

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--no-write', action='store_true', help='print only')
    a = ap.parse_args()
    from tasks import TASKS
    t0 = time.time()
    _,curves,tasks,truths = H.load_bench(TASKS)
    runs = {} # (task, seed, num_it) -> (log10 basin lr, features)
    for t in tasks:
        for s in LRF_SEEDS:
            for k in NUM_ITS:
                r = curves[f'{t.name}/{s}/{k}']
                c = H.load_curve(r)
                runs[t.name,s,k] = (math.log10(basin(c).lr), feats(r, c))
    names = list(next(iter(runs.values()))[1])
    err = {t.name:np.mean([runs[t.name,s,100][0] for s in LRF_SEEDS])-math.log10(truths[t.name].best_lr) for t in tasks}
    fmean = {t.name:{n:np.mean([runs[t.name,s,100][1][n] for s in LRF_SEEDS]) for n in names} for t in tasks}
    dev,ho = [t for t in tasks if not t.heldout],[t for t in tasks if t.heldout]

    def corrected(a_, b_, n):
        "Rows for quality.score: basin moved by -(a + b * feature), run by run"
        return {'c': {t.name:{k:[10**(runs[t.name,s,k][0]-a_-b_*np.nan_to_num(runs[t.name,s,k][1].get(n, 0.))) for s in LRF_SEEDS]
                               for k in NUM_ITS} for t in tasks}}
    def fit(n):
        "a, b of error = a + b * feature over the dev tasks, robust to one wild task (Theil-Sen: the median of the pairs' slopes; b = 0 for the constant)"
        e = np.array([err[t.name] for t in dev])
        if n is None: return float(np.median(e)),0.
        f = np.array([fmean[t.name][n] for t in dev])
        ok = np.flatnonzero(np.isfinite(f))
        sl = [(e[j]-e[i])/(f[j]-f[i]) for i in ok for j in ok if j>i and f[j]!=f[i]]
        b_ = float(np.median(sl)) if sl else 0.
        return float(np.median(e[ok]-b_*f[ok])),b_
    sc = lambda rows, ts: H.score(rows, truths, ts)['c']
    fmt = lambda s: f"{s['within']}/{s['n_tasks']}, {s['geomean']:.3f}"
    base = {'c': {t.name:{k:[10**runs[t.name,s,k][0] for s in LRF_SEEDS] for k in NUM_ITS} for t in tasks}}
    b_dev,b_ho = sc(base, dev),sc(base, ho)
    a0,_ = fit(None)
    c_dev,c_ho = sc(corrected(a0, 0., names[0]), dev),sc(corrected(a0, 0., names[0]), ho)
    md = ["# Can basin's remaining error be read off the run?", "",
          f"Generated by `python bench/residuals.py` ({time.strftime('%Y-%m-%d')}) from the cached truths and curves of "
          f"`bench/quality.py`: {len(dev)} dev and {len(ho)} held-out tasks, {len(LRF_SEEDS)} lr_find seeds each. Error: "
          "mean log10(basin's rate / the best rate) at num_it=100 (decades; + is above the best). A feature that could "
          "correct basin would correlate with the error with the same sign, and clearly, on both sets.", "",
          "Each correction is fitted on the dev tasks only (error = a + b * feature, Theil-Sen: the median of the slopes "
          "between pairs of tasks, then the median intercept, so that one wild task does not set it) and applied run by "
          "run. Its held-out figures (tasks within 10% of the best, geometric-mean loss ratio) are the test.", "",
          f"basin as it is: dev {fmt(b_dev)}; held-out {fmt(b_ho)}. A constant correction ({-a0:+.2f} decades): dev "
          f"{fmt(c_dev)}; held-out {fmt(c_ho)}.", "",
          "| feature | correlation, dev | correlation, held-out | b (dec per unit) | corrected: dev | corrected: held-out |",
          "|---|---:|---:|---:|---|---|"]
    for n in names:
        e_d,e_h = [np.array([err[t.name] for t in ts]) for ts in (dev,ho)]
        f_d,f_h = [np.array([fmean[t.name][n] for t in ts]) for ts in (dev,ho)]
        a_,b_ = fit(n)
        md.append(f"| {n} | {_corr(f_d, e_d):+.2f} | {_corr(f_h, e_h):+.2f} | {b_:+.3f} | {fmt(sc(corrected(a_, b_, n), dev))} | "
                  f"{fmt(sc(corrected(a_, b_, n), ho))} |")
    md += ["", "Per task (means over the seeds at num_it=100):", "",
           "| task | family | held out | error (dec) | " + " | ".join(names) + " |",
           "|---|---|---|---:|" + "---:|"*len(names)]
    for t in tasks:
        md.append(f"| {t.name} | {t.family} | {'yes' if t.heldout else ''} | {err[t.name]:+.2f} | " +
                  " | ".join(f"{fmean[t.name][n]:.2f}" for n in names) + " |")
    md += ["", f"This run took {time.time()-t0:.1f} s."]
    H.report(md, 'residuals.md', write=not a.no_write)

if __name__=='__main__': main()
