"The registry of suggestion rules: registering, looking up, 'all', name clashes, replacing, removing, reserved names."
import math
from functools import partial
import numpy as np,pytest
import fastai.callback.schedule as fs
from lrfind_ext.curve import synth_curve,LRCurve
from lrfind_ext.suggest import suggesters,Suggestion,Suggester,SuggestError,UnknownSuggester,suggest_lrs
from lrf_testutils import synth

BUILTINS = ['valley', 'slide', 'minimum', 'steep']

@pytest.fixture(autouse=True)
def clean_registry():
    "The registry is global: put it back as it was after each test"
    saved = dict(suggesters._d)
    yield
    suggesters._d.clear(); suggesters._d.update(saved)

@pytest.fixture
def crv(): return synth_curve(noise=0.02)

def half_min(crv):
    "Half the learning rate at the loss minimum"
    w = crv.window
    lr = crv.lrs[w][crv.smooth[w].argmin()]
    return Suggestion(lr/2, src_lr=lr, note='minimum / 2')

def test_names():
    assert suggesters.names()[:4] == BUILTINS
    assert [s.name for s in suggesters] == suggesters.names() and len(suggesters) == len(suggesters.names())
    assert all(n in suggesters for n in BUILTINS) and 'nope' not in suggesters
    assert set(BUILTINS) <= set(dir(suggesters))

def test_register_decorator_with_name(crv):
    f = suggesters.register('half_min')(half_min)
    assert f is half_min # the decorator gives the function back
    assert suggesters.names()[-1] == 'half_min'
    s = suggesters['half_min'](crv)
    assert s.name == 'half_min' and s.lr*2 == s.src_lr and s.note == 'minimum / 2'
    assert suggesters.half_min is suggesters['half_min'] and suggesters.half_min.__doc__ == half_min.__doc__

def test_register_bare_decorator_uses_function_name(crv):
    @suggesters.register
    def first_point(crv): return crv.lrs[crv.window][0]
    assert 'first_point' in suggesters and suggesters.first_point(crv).lr == crv.lrs[crv.window][0]

def test_register_fastai_style(crv):
    @suggesters.register('last')
    def _last(lrs, losses, num_it): return float(lrs[-1]), (float(lrs[-1]), losses[-1])
    assert suggesters.last.fastai_style
    assert suggesters.last(crv).lr == pytest.approx(crv.lrs[crv.window][-1], rel=1e-6)
    # a default on num_it, as fastai always passes all three
    suggesters.add(lambda lrs, losses, num_it=100: (float(lrs[0]), (float(lrs[0]), losses[0])), 'first')
    assert suggesters.first.fastai_style and suggesters.first(crv).lr == pytest.approx(crv.lrs[crv.window][0], rel=1e-6)

def test_registered_rule_in_lr_find():
    suggesters.register('half_min')(half_min)
    learn = synth()
    with learn.no_bar(): res = learn.lr_find(num_it=30, show_plot=False, suggest_funcs=('valley', 'half_min'))
    assert res._fields == ('valley', 'half_min') and res.half_min == res.suggestions['half_min'].lr
    with learn.no_bar(): res = learn.lr_find(num_it=30, show_plot=False, suggest_funcs=(half_min,))
    assert res._fields == ('half_min',)

def test_lookup_by_function():
    "A registered function passed as itself resolves to its entry (same name)"
    suggesters.register('half_min')(half_min)
    assert suggesters.resolve(half_min) == [suggesters.half_min]

def test_unknown_name():
    with pytest.raises(UnknownSuggester) as ei: suggesters['valey']
    msg = str(ei.value)
    assert "Did you mean 'valley'" in msg and all(n in msg for n in BUILTINS) and "'all'" in msg
    assert isinstance(ei.value, KeyError) and isinstance(ei.value, SuggestError)
    with pytest.raises(UnknownSuggester, match='Registered: valley, slide, minimum, steep'): suggesters['zzz']
    with pytest.raises(AttributeError, match="Did you mean 'steep'"): suggesters.steeep
    suggesters.register('half_min')(half_min)
    with pytest.raises(UnknownSuggester, match='half_min'): suggest_lrs(synth_curve(), 'nope')

def test_unknown_name_fails_before_training():
    learn = synth()
    from lrf_testutils import Counter
    cnt = Counter()
    learn.add_cb(cnt)
    with pytest.raises(UnknownSuggester, match="Did you mean 'minimum'"):
        learn.lr_find(show_plot=False, suggest_funcs=('valley', 'minimun'))
    assert cnt.fits == 0

def test_all():
    before = suggesters.names() # the built-ins, and any rule lrfind_ext registers on import
    assert before[:4] == BUILTINS
    suggesters.register('half_min')(half_min)
    assert [s.name for s in suggesters.resolve('all')] == before + ['half_min']
    assert suggesters.resolve('all') == list(suggesters)
    res = suggest_lrs(synth_curve(), 'all')
    assert [s.name for s in res] == suggesters.names()

@pytest.mark.parametrize('funcs,clash', [
    (('valley', fs.valley), 'valley'),
    (('all', 'minimum'), 'minimum'),
    ((partial(fs.slide, adjust_value=.5), fs.slide), 'slide'),
    (('steep', fs.SuggestionMethod.Steep), 'steep'),
])
def test_duplicate_fields_refused(funcs, clash):
    with pytest.raises(SuggestError, match=f"both be called '{clash}'"): suggesters.resolve(funcs)

def test_two_user_functions_with_one_name():
    "Two different functions with the same __name__ would collide silently in a namedtuple: refused"
    def make(k):
        def rule(lrs, losses, num_it): return float(lrs[k]), (float(lrs[k]), losses[k])
        return rule
    with pytest.raises(SuggestError, match="both be called 'rule'"): suggesters.resolve((make(0), make(1)))
    learn = synth()
    with pytest.raises(SuggestError, match="register"): learn.lr_find(show_plot=False, suggest_funcs=(make(0), make(1)))

def test_register_twice_refused_replace_allowed(crv):
    suggesters.register('half_min')(half_min)
    with pytest.raises(SuggestError, match='already registered'): suggesters.register('half_min')(lambda crv: 1e-3)
    assert suggesters.add(half_min).func is half_min # the same function again (a re-run notebook cell): quietly
    suggesters.register('half_min', replace=True)(lambda crv: 1e-3)
    assert suggesters.half_min(crv).lr == 1e-3 and suggesters.names().count('half_min') == 1

def test_replace_builtin_and_remove():
    suggesters.add(lambda crv: 1e-3, 'valley', replace=True)
    assert suggesters.valley(synth_curve()).lr == 1e-3
    suggesters.remove('minimum')
    assert 'minimum' not in suggesters and 'minimum' not in [s.name for s in suggesters.resolve('all')]
    # fastai's own function still maps to the rule it stands for
    assert suggesters.resolve(fs.minimum)[0].name == 'minimum'
    with pytest.raises(UnknownSuggester): suggesters.remove('minimum')

@pytest.mark.parametrize('name', ['curve', 'suggestions', 'plot', 'table', 'count', 'index', 'all'])
def test_reserved_names(name):
    with pytest.raises(SuggestError, match='reserved'): suggesters.add(lambda crv: 1e-3, name)

@pytest.mark.parametrize('name', ['1x', 'a-b', '_private', 'class', 'with space', ''])
def test_bad_names(name):
    with pytest.raises(SuggestError, match="can't name a suggester"): suggesters.add(lambda crv: 1e-3, name)

def test_lambda_needs_a_name():
    with pytest.raises(SuggestError, match="register"): suggesters.add(lambda crv: 1e-3)
    with pytest.raises(SuggestError, match="can't name"): suggesters.resolve(lambda lrs, losses, num_it: (1., (1., 1.)))

def test_bad_signatures_and_items():
    with pytest.raises(SuggestError, match="Can't tell how to call"): suggesters.add(lambda a, b: 1e-3, 'two')
    with pytest.raises(SuggestError, match="Can't tell how to call"): suggesters.add(lambda a, b, c, d: 1e-3, 'four')
    with pytest.raises(SuggestError, match='names or functions'): suggesters.resolve((1e-3,))

@pytest.mark.parametrize('ret', [-1., 0., math.nan, math.inf])
def test_unusable_value_names_the_rule(ret):
    suggesters.add(lambda crv: ret, 'broken')
    with pytest.raises(SuggestError, match="'broken' returned"): suggesters.broken(synth_curve())

@pytest.mark.parametrize('ret', [lambda lr: lr, lambda lr: np.float32(lr), lambda lr: Suggestion(lr),
                                 lambda lr: (lr, (lr, 1.))])
def test_return_forms(ret, crv):
    "A curve rule may return a number (numpy too), a Suggestion, or fastai's (lr, point) pair"
    suggesters.add(lambda crv: ret(1e-3), 'r')
    s = suggesters.r(crv)
    assert s.name == 'r' and s.lr == pytest.approx(1e-3) and isinstance(s.lr, float) and np.isfinite(s.loss)

def test_curve_with_no_window_raises_curve_error():
    from lrfind_ext.view import CurveError
    with pytest.raises(CurveError, match='from the first step'): suggest_lrs(LRCurve([1e-3]*4, [np.nan]*4), 'all')

# ---- issue 11 (reliability): what a rule returns, and Suggestion's hash ----

import pickle,torch

@pytest.mark.parametrize('ret,shown', [(None, 'None'), ((1e-3, (1e-3, 1.), 'x'), "(0.001, (0.001, 1.0), 'x')"),
                                       ('fast', "'fast'"), (torch.tensor([1e-3, 1e-2]), 'tensor'),
                                       (object(), 'object')])
def test_bad_return_values_name_the_rule(ret, shown, crv):
    suggesters.add(lambda crv: ret, 'odd')
    with pytest.raises(SuggestError, match="'odd' returned") as ei: suggesters.odd(crv)
    assert shown in str(ei.value)

def test_bad_fastai_style_return_names_the_rule(crv):
    suggesters.add(lambda lrs, losses, num_it: None, 'odd_fa')
    with pytest.raises(SuggestError, match="'odd_fa' returned an unusable suggestion.*None is not fastai's pair"): suggesters.odd_fa(crv)

@pytest.mark.parametrize('field,kw', [('src_lr', dict(src_lr=math.nan)), ('src_lr', dict(src_lr=-0.01)), ('src_lr', dict(src_lr=0.)),
                                      ('src_lr', dict(src_lr=math.inf)), (r'span\[1\]', dict(span=(1e-4, math.inf))),
                                      (r'span\[0\]', dict(span=(0., 1e-2))), ('interval', dict(interval=(1e-2, 1e-4)))])
def test_unusable_suggestion_names_the_rule_and_the_field(field, kw, crv):
    "A rule's Suggestion with a NaN, non-positive or infinite learning rate, or a span out of order: refused at once, naming both"
    suggesters.add(lambda crv: Suggestion(1e-3, **kw), 'bad_field')
    with pytest.raises(SuggestError, match=f"Suggester 'bad_field' returned an unusable suggestion on LRCurve.*: {field} must be"):
        suggest_lrs(crv, ['valley', 'bad_field'])

@pytest.mark.parametrize('ret', [lambda: Suggestion(torch.tensor(1e-3)), lambda: torch.tensor(1e-3), lambda: np.array(1e-3),
                                 lambda: np.float64(1e-3), lambda: Suggestion(np.float32(1e-3), src_lr=torch.tensor(1e-2),
                                 span=(np.float64(1e-4), torch.tensor(1e-2)), interval=[1e-4, 1e-2])])
def test_numbers_become_floats(ret, crv):
    "numpy scalars and 0-d tensors or arrays, anywhere in what a rule returns, become Python floats"
    suggesters.add(lambda crv: ret(), 'num')
    s = suggesters.num(crv)
    assert type(s.lr) is float and s.lr == pytest.approx(1e-3)
    assert s.src_lr is None or type(s.src_lr) is float
    for t in (s.span, s.interval): assert t is None or (type(t) is tuple and all(type(o) is float for o in t))

def test_suggestion_checks_its_fields():
    assert type(Suggestion(torch.tensor(2e-3)).lr) is float
    with pytest.raises(SuggestError, match="lr must be a positive finite number, got 'fast'"): Suggestion('fast')
    with pytest.raises(SuggestError, match='span must be None or a pair'): Suggestion(1e-3, span=(1e-4,))
    with pytest.raises(SuggestError, match='loss must be a finite number'): Suggestion(1e-3, loss=math.inf)
    assert math.isnan(Suggestion(1e-3, loss=math.nan).loss) # a loss not known

def test_hash_agrees_with_eq_after_pickling():
    "NaN losses compare equal (as after pickling): they hash alike too"
    for s in (Suggestion(1e-3), Suggestion(1e-3, span=(1e-4, 1e-2), interval=(1e-4, 1e-2), src_lr=1e-2, src_loss=math.nan)):
        s2 = pickle.loads(pickle.dumps(s))
        assert s2 == s and hash(s2) == hash(s) and len({s, s2}) == 1
    assert Suggestion(1e-3) != Suggestion(2e-3) and Suggestion(1e-3, span=(1., 2.)) != Suggestion(1e-3, span=(1., 3.))
