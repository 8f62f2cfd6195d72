"""Rule names (issue 22, item 13): a name is what Python reads (NFKC, as it normalises identifiers), so two
spellings of one identifier clash before a run, not in namedtuple after it; a rule may be called `self`."""
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
    """A rule may be called `self`: the result holds it and `_replace(self=...)` sets it.
    NEEDS nbs/06_result.ipynb's `_replace(self, /, **kw)` (positional-only `self`; owned by w-core): fails until then."""
    crv = synth_curve()
    res = lr_result(crv, [Suggester('self', first)(crv), Suggester('other', last)(crv)])
    r = res._replace(self=1e-3)
    assert (r.self, r.other, r.curve) == (1e-3, res.other, crv)
