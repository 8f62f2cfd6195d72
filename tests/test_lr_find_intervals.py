"lr_find estimates every suggestion's interval (lrfind_ext.spread.with_intervals) and shows it: the table, the HTML, the repr."
import math
from dataclasses import replace
import numpy as np
import pytest
from lrfind_ext.suggest import Suggestion,suggesters
from lrfind_ext.curve import LRCurve,synth_curve
from lrfind_ext.spread import Resamples,with_intervals
from lrf_testutils import digits,synth

def run(learn, **kw):
    with learn.no_bar(): return learn.lr_find(show_plot=False, **kw)

@pytest.fixture(scope='module')
def res(): return run(digits(), suggest_funcs='all')

def test_every_suggestion_has_its_interval(res):
    for s in res.suggestions.values():
        assert s.interval is not None, s.name
        lo,hi = s.interval
        assert lo <= s.lr <= hi and math.log10(hi/lo) < 3, s

def test_it_is_with_intervals_on_the_rules_suggestions(res):
    "The same as calling with_intervals after the rules: lr_find adds nothing of its own"
    crv,sgs = res.curve,suggesters.resolve(res._fields)
    bare = [replace(s, interval=None) for s in res.suggestions.values()]
    assert with_intervals(crv, bare, sgs) == list(res.suggestions.values())

def test_shown_in_table_html_and_repr(res):
    t,h = res.table(),res._repr_html_()
    assert t.splitlines()[0].split('  ')[-1].strip() == 'another run' and '<th>another run</th>' in h
    for s in res.suggestions.values():
        lo,hi = s.interval
        assert f'{lo:.1e} to {hi:.1e}' in t and f'{lo:.1e} to {hi:.1e}' in h
        assert repr(s).endswith(f'; another run: {lo:.1e} to {hi:.1e})')
    b = res.suggestions['basin']
    assert b.note.startswith('a third into the basin') and b.note in repr(b) # a span rule's note, in its repr too

def test_a_custom_rule_gets_one_and_a_failing_one_does_not_break_lr_find():
    calls = []
    def third_of_min(crv):
        "A third of the learning rate at the smoothed minimum"
        w = crv.window
        calls.append(len(crv))
        return float(crv.lrs[w][np.argmin(crv.smooth[w])])/3
    first = []
    def fragile(crv):
        "Fails on any curve but the first it is given, the recorded run"
        first.append(first[0] if first else crv)
        if crv is not first[0]: raise RuntimeError('not this one')
        return 1e-3
    suggesters.add(third_of_min); suggesters.add(fragile)
    try: r = run(digits(), suggest_funcs=('third_of_min','fragile'))
    finally: suggesters.remove('third_of_min'); suggesters.remove('fragile')
    assert len(calls) > 10 # the generic loop: the rule on each resampled run
    assert r.suggestions['third_of_min'].interval is not None
    lo,hi = r.suggestions['third_of_min'].interval
    assert lo <= r.third_of_min <= hi
    assert r.fragile == 1e-3 and r.suggestions['fragile'].interval is None # its resampled runs all failed: no interval
    assert len(first) > 10

def test_the_intervals_use_the_runs_own_div(tmp_path):
    "lr_find(div=10): the saved curve holds div 10, and the intervals come from resampled runs each stopped where div 10 stops it"
    learn = synth(seed=5) # a run that diverges
    with learn.no_bar(): res = learn.lr_find(show_plot=False, div=10, suggest_funcs='all')
    crv = LRCurve.load(res.curve.save(tmp_path/'c.json'))
    assert crv.run.div == 10 and crv.stop == 'diverged'
    sgs,bare = suggesters.resolve(res._fields),[replace(s, interval=None) for s in res.suggestions.values()]
    ivs = lambda c: [s.interval for s in with_intervals(c, bare, sgs)]
    assert [s.interval for s in res.suggestions.values()] == ivs(crv)
    lrs = np.geomspace(1e-7, 10, 100, endpoint=False) # a curve that rises steeply enough for div to decide where runs stop
    loss = 2.3 - 2/(1+np.exp(-3*(np.log10(lrs)+5))) + 0.1*np.exp(4*(np.log10(lrs)+1)) + 0.05*np.random.default_rng(0).standard_normal(100)
    c = LRCurve(lrs, loss, stop='diverged', run=crv.run)
    lens = {d:[len(r) for r in Resamples(c.replace(div=d)).curves] for d in (4., 10.)}
    assert all(a <= b for a,b in zip(lens[4.], lens[10.])) and sum(lens[4.]) < sum(lens[10.]), lens
    assert ivs(c) != ivs(c.replace(div=4.))

def test_a_long_run_is_resampled_thinned_and_a_short_one_not_at_all():
    "A 10,000-point run is resampled at 149 points (bins of 67), as its rules read them; a curve too short to resample keeps its suggestions"
    long = synth_curve(n=10_000, noise=0.05, stop_div=False)
    R = Resamples(long)
    assert len(R.crv) == 149 and (R.crv.num_it, R.crv.run.sweep) == (149, 'exp') and R.crv.beta == pytest.approx(.98**67)
    sgs = suggesters.resolve(('basin', 'valley'))
    for s in with_intervals(long, [sg(long) for sg in sgs], sgs): assert s.interval[0] <= s.lr <= s.interval[1], s
    short,s = LRCurve([1e-3, 1e-2], [2., 1.]),Suggestion(1e-3)
    assert with_intervals(short, [s], sgs[:1]) == [s]
