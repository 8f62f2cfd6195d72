#!/usr/bin/env python
"""Time of the five built-in rules with their intervals, as `lr_find` runs them after a run: each rule on the curve
through the registry, then `with_intervals` (each rule on 20 resampled runs). On a 100-step curve and on a
10,000-point one (resampled runs are thinned to 150 points). Prints, per curve, the median of 20 calls, best of 5
rounds, in milliseconds; one thread, as on a busy machine:
    PYTHONPATH=. python bench/rules_speed.py"""
import statistics,time,warnings
warnings.filterwarnings('ignore')
import torch
torch.set_num_threads(1)
from lrfind_ext.curve import synth_curve
from lrfind_ext.suggest import suggesters
from lrfind_ext.spread import with_intervals

RULES = ('basin','valley','slide','minimum','steep')

def median_ms(f, n=20, rounds=5):
    "Median time of `n` calls of `f`, the best of `rounds` rounds, in ms"
    best = float('inf')
    for _ in range(rounds):
        ts = []
        for _ in range(n):
            t = time.perf_counter(); f(); ts.append(time.perf_counter()-t)
        best = min(best, statistics.median(ts))
    return 1e3*best

def main():
    sgs = suggesters.resolve(RULES)
    for name,crv in (('100 steps', synth_curve(noise=0.05)), ('10,000 points', synth_curve(n=10_000, noise=0.05, stop_div=False))):
        rules = lambda: [sg(crv) for sg in sgs]
        both = lambda: with_intervals(crv, rules(), sgs)
        r,b = median_ms(rules),median_ms(both)
        print(f"{name:14s} five rules {r:6.2f} ms; with their intervals {b:6.2f} ms (intervals alone {b-r:6.2f} ms)")

if __name__=='__main__': main()
