"lr_find estimates every suggestion's interval (lrfind_ext.spread.with_intervals) and shows it: the table, the HTML, the repr."
import math
from dataclasses import replace
import numpy as np
import pytest
from lrfind_ext.suggest import Suggestion,suggesters
from lrfind_ext.spread import with_intervals
from lrf_testutils import digits

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

def test_intervals_off():
    r = run(digits(), intervals=False)
    assert all(s.interval is None for s in r.suggestions.values())
    assert 'another run' not in r.table() and 'another run' not in r._repr_html_()

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
