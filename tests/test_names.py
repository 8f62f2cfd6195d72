"""Rule names (issue 22, items 13 and 14): a name is what Python reads (NFKC, as it normalises identifiers), so two
spellings of one identifier clash before a run, not in namedtuple after it; a rule may be called `self`; registering
the same function again (a re-run notebook cell) replaces it quietly, while another function under a taken name is
refused."""
import pytest
from lrfind_ext.curve import synth_curve
from lrfind_ext.suggest import suggesters,Suggesters,Suggester,SuggestError
from lrfind_ext.result import lr_result
from lrf_testutils import synth

def first(crv): return float(crv.lrs[crv.window][0])
def last(crv): return float(crv.lrs[crv.window][-1])

# ---- item 13: names as Python reads them ----

def test_nfkc_spellings_are_one_name():
    "'ﬁ' (U+FB01) is 'fi' to Python: registered as 'fi', found under either spelling, and the other spelling is taken"
    reg = Suggesters()
    sg = reg.add(first, 'ﬁ')
    assert sg.name == 'fi' and reg.names() == ['fi'] and reg['ﬁ'] is reg['fi'] is sg and 'ﬁ' in reg
    with pytest.raises(SuggestError, match="'fi' is already registered"): reg.add(last, 'fi')
    reg.remove('ﬁ')
    assert len(reg) == 0

def test_nfkc_spellings_clash_before_the_run():
    "Two rules spelt 'ﬁ' and 'fi' get the name-clash error from resolve, before lr_find trains (not namedtuple's SyntaxError after)"
    sgs = [Suggester('ﬁ', first), Suggester('fi', last)]
    with pytest.raises(SuggestError, match="both be called 'fi'"): suggesters.resolve(sgs)
    learn = synth()
    w = learn.model.a.detach().clone()
    with pytest.raises(SuggestError, match="both be called 'fi'"): learn.lr_find(show_plot=False, suggest_funcs=sgs)
    assert learn.opt is None and learn.model.a == w # refused before anything trained

@pytest.mark.parametrize('name,msg', [('ﬁnally', "'ﬁnally' \\(Python reads it as 'finally'\\) can't name a suggester"),
                                      ('ｐｌｏｔ', "'ｐｌｏｔ' \\(Python reads it as 'plot'\\) is reserved")])
def test_nfkc_keywords_and_reserved_names(name, msg):
    "A spelling of a keyword or of a reserved name is refused, and the message says how Python reads it"
    with pytest.raises(SuggestError, match=msg): Suggester(name, first)

def test_rule_named_self():
    """A rule may be called `self`: the result holds it and `_replace(self=...)` sets it (the result's `_replace` takes
    its own `self` positional-only, as namedtuple's does)"""
    crv = synth_curve()
    res = lr_result(crv, [Suggester('self', first)(crv), Suggester('other', last)(crv)])
    r = res._replace(self=1e-3)
    assert (r.self, r.other, r.curve) == (1e-3, res.other, crv)

# ---- item 14: registering again ----

SRC = '''
@reg.register
def my_rule(crv):
    "A rule defined in a notebook cell"
    return float(crv.lrs[crv.window][0])
'''

def test_rerun_cell_replaces_quietly():
    "Running the cell that registers a rule again (a new function, same module and qualified name) replaces it"
    reg = Suggesters()
    ns = dict(reg=reg, __name__='__main__')
    exec(SRC, ns); f1 = ns['my_rule']
    exec(SRC, ns); f2 = ns['my_rule']
    assert f1 is not f2 and reg.names() == ['my_rule'] and reg['my_rule'].func is f2
    reg.add(f2, 'my_rule') # the same function again: quietly too
    assert reg['my_rule'].func is f2

def test_another_function_under_a_taken_name_refused():
    "A different function under a taken name is refused, naming the function that holds it and the ways out"
    reg = Suggesters()
    reg.add(first, 'rule')
    with pytest.raises(SuggestError, match=r"'rule' is already registered \(test_names.first\)\. Pass replace=True"):
        reg.register('rule')(last)
    reg.add(last, 'rule', replace=True)
    assert reg['rule'].func is last
