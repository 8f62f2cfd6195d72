"lr_find(set_lr=...): a suggestion put in learn.lr after the restore, where fastai's fit and fit_one_cycle read it; and a suggestion for every parameter group of a discriminative sweep."
import math,pickle
import numpy as np
import pytest
from fastai.callback.core import Callback
from fastai.learner import load_learner
from lrfind_ext.result import fit_form,group_values
from lrf_testutils import digits,two_groups,capture,diff

class HyperSpy(Callback):
    "The learning rate of every parameter group at each training batch"
    order = 99
    def before_fit(self): self.lrs = []
    def before_batch(self):
        if self.training: self.lrs.append([h['lr'] for h in self.opt.hypers])

def run(learn, *args, **kw):
    with learn.no_bar(): return learn.lr_find(*args, show_plot=False, **kw)

def test_default_applies_nothing():
    "Without set_lr, learn.lr stays and the table says nothing of it (that the whole learner is as it was: test_state.py)"
    learn = digits()
    res = run(learn, num_it=30)
    assert res.applied is None and learn.lr == 1e-3 and 'learn.lr' not in res.table()

@pytest.mark.parametrize('set_lr,name', [(True, 'basin'), ('valley', 'valley'), ('minimum', 'minimum')])
def test_set_lr_sets_that_suggestion_and_nothing_else(set_lr, name):
    learn = digits()
    with learn.no_bar():
        learn.fit(1, 1e-3) # an optimizer with state, which the restore must still put back
        before = capture(learn)
        res = learn.lr_find(suggest_funcs=('basin','valley','minimum'), set_lr=set_lr, show_plot=False)
        after = capture(learn)
    assert res.applied == name and learn.lr == getattr(res, name)
    assert diff(before, after) == ['lr', 'learn_dict'] # learn.lr, a value in learn.__dict__; all else as it was
    assert res.table().splitlines()[-1] == f"learn.lr = {getattr(res, name):.2e} ({name}'s suggestion, set by set_lr)"
    assert f"learn.lr = {getattr(res, name):.2e}" in res._repr_html_()

def test_fit_one_cycle_trains_at_it():
    "fastai's fit_one_cycle(n, lr_max=None) takes learn.lr as its peak: the schedule rises to it and falls from it"
    learn = digits()
    res = run(learn, set_lr='valley')
    spy = HyperSpy()
    with learn.no_bar(): learn.fit_one_cycle(2, cbs=spy)
    lrs = np.array(spy.lrs)[:,0]
    assert lrs.max() == pytest.approx(res.valley, rel=1e-2) and lrs[0] == pytest.approx(res.valley/25, rel=1e-2)
    other = digits() # the same schedule without set_lr peaks at fastai's default, 1e-3
    spy2 = HyperSpy()
    with other.no_bar(): other.fit_one_cycle(2, cbs=spy2)
    assert np.array(spy2.lrs)[:,0].max() == pytest.approx(1e-3, rel=1e-2)

def test_a_failed_run_applies_nothing():
    "A run that fails applies nothing: the learner is restored, learn.lr included"
    class Boom(Callback):
        def after_batch(self):
            if self.train_iter==5: raise RuntimeError('boom')
    learn = digits()
    with pytest.raises(RuntimeError, match='boom'): run(learn, set_lr=True, cbs=Boom())
    assert learn.lr == 1e-3

# ---- every parameter group ----

def grouped(**kw): return digits(splitter=two_groups, **kw)

def test_discriminative_sweep_gives_a_slice_and_applies_it():
    learn = grouped()
    res = run(learn, slice(1e-9, 1e-7), slice(1e-1, 10), set_lr='basin', suggest_funcs=('basin','minimum'))
    v = res.fit_lr('basin')
    assert isinstance(v, slice) and v.stop == res.basin and v.start == pytest.approx(res.basin/100)
    assert learn.lr == v and res.per_group
    m = res.suggestions['minimum'] # derived: each group's learning rate at the minimum, a tenth of it
    assert res.group_lrs('minimum') == pytest.approx([m.src_lr/100/10, m.src_lr/10])
    assert f'slice({v.start:.1e}, {v.stop:.1e})' in res.table() and 'per parameter group' in res.table()
    spy = HyperSpy()
    with learn.no_bar(): learn.fit(1, cbs=spy)
    assert spy.lrs[0] == pytest.approx([res.basin/100, res.basin]) # fastai spreads the slice as the sweep did

def test_uneven_groups_give_a_list_fastai_accepts():
    "Three groups not spread evenly in log lr: a list, one per group, which fit trains with as it is"
    def three(m): return [list(m[0].parameters())[:1], list(m[0].parameters())[1:], list(m[2].parameters())]
    learn = digits(splitter=three)
    res = run(learn, [1e-9, 1e-9, 1e-7], [1e-1, 1e-1, 10.], set_lr=True)
    v = res.fit_lr()
    assert isinstance(v, list) and v == pytest.approx([res.basin/100, res.basin/100, res.basin]) and learn.lr == v
    spy = HyperSpy()
    with learn.no_bar(): learn.fit(1, cbs=spy)
    assert spy.lrs[0] == pytest.approx(v)

def test_linear_discriminative_sweep():
    "Linear: each group grows by its own step, so a suggestion gives each group its learning rate at that step"
    learn = grouped()
    res = run(learn, [1e-4, 1e-3], [2e-1, 1.], mode='linear', set_lr=True)
    c = res.curve
    t = (res.basin-1e-3)/(1.-1e-3)
    assert res.group_lrs() == pytest.approx([1e-4+t*(2e-1-1e-4), res.basin])
    assert isinstance(res.fit_lr(), slice) # two groups are always evenly spread in log lr
    assert learn.lr == res.fit_lr()

def test_same_lr_for_every_group_is_a_number():
    learn = grouped()
    res = run(learn, set_lr=True)
    assert not res.per_group and res.fit_lr() == res.basin and learn.lr == res.basin
    assert 'per parameter group' not in res.table()

def tab_groups(m):
    "fastai's TabularModel in two parameter groups: embeddings and input BatchNorm, then the layers"
    return [list(m.embeds.parameters())+list(m.bn_cont.parameters()), list(m.layers.parameters())]

def test_result_with_applied_pickles(tmp_path):
    from lrfind_ext.examples import cancer_tabular_learner
    learn = cancer_tabular_learner(splitter=tab_groups)
    res = run(learn, slice(1e-9, 1e-7), slice(1e-1, 10), set_lr='basin')
    r2 = pickle.loads(pickle.dumps(res))
    assert r2.applied == 'basin' and r2.fit_lr('basin') == res.fit_lr('basin')
    learn.export(tmp_path/'l.pkl') # learn.lr is a slice now: the learner still exports and loads
    assert load_learner(tmp_path/'l.pkl').lr == res.fit_lr('basin')

def test_fit_form():
    assert fit_form([2e-3]) == 2e-3 and fit_form([1e-3, 1e-3]) == 1e-3
    assert fit_form([1e-4, 1e-3, 1e-2]) == slice(1e-4, 1e-2)
    assert fit_form([1e-4, 1e-4, 1e-2]) == [1e-4, 1e-4, 1e-2]
