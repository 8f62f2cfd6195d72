"Probes (lrfind_ext.probes): short fit_one_cycle runs around lr_find's suggestion, the learner put back after each."
import gc,io,json,math,os,pickle,subprocess,sys,weakref
from pathlib import Path
import numpy as np,pytest,torch
import matplotlib.pyplot as plt
from fastai.basics import Callback,set_seed
from fastai.callback.training import GradientAccumulation
import lrfind_ext
from lrfind_ext.probes import ProbeCallback,LRProbes,keep,probe_one,probe_look
from lrfind_ext.result import lr_result
from lrfind_ext.setups import CPUMixedPrecision
from lrf_testutils import digits,capture,diff,weights,same_weights,RaiseAt,Log,two_groups

ROOT = Path(__file__).resolve().parents[1]

class Steps(Callback):
    "What each training batch did: its learning rates (every group) and whether it ended in an optimizer step, in a `Log`"
    order,run_valid = 70,False
    def __init__(self): self.rows = Log()
    def before_batch(self): self.rows.append(dict(lrs=[h['lr'] for h in self.opt.hypers], step=None))
    def after_cancel_step(self): self.rows[-1]['step'] = False # skipped (fastai calls after_step all the same)
    def after_step(self):
        if self.rows[-1]['step'] is None: self.rows[-1]['step'] = True

def _found(learn, **kw):
    with learn.no_bar(): return learn.lr_find(show_plot=False, **kw)

def _probe(learn, res=None, **kw):
    with learn.no_bar(): return learn.lr_probe(res, show_plot=False, **kw)

# ---- one probe: fit_one_cycle over exactly `steps` optimizer steps ----

def test_probe_over_whole_epochs_is_fit_one_cycle():
    "A probe of 2 epochs' steps trains exactly as fit_one_cycle(2): same weights, same validation loss"
    a,b = digits(arch='bn'),digits(arch='bn')
    n = len(a.dls.train)
    with a.no_bar(), a.no_logging(): a.fit_one_cycle(2, 1e-2); la = float(a.validate()[0])
    with b.no_bar(): _,lb = probe_one(b, 1e-2, 2*n)
    assert same_weights(weights(a), weights(b))
    assert lb == pytest.approx(la, rel=1e-6)

def test_probe_counts_optimizer_steps_with_accumulation():
    "With gradient accumulation over 4 batches, a 6-step probe takes 24 batches, its schedule moving once per step"
    learn = digits(bs=16, cbs=GradientAccumulation(64))
    spy = Steps()
    learn.add_cb(spy)
    with learn.no_bar(): probe_one(learn, 1e-2, 6)
    assert len(spy.rows) == 24 and sum(r['step'] is True for r in spy.rows) == 6
    lrs = [r['lrs'][-1] for r in spy.rows]
    assert all(len(set(lrs[i:i+4])) == 1 for i in range(0, 24, 4)) # one rate per accumulated step
    assert len(set(lrs)) == 6

def test_probe_skipped_steps_do_not_count():
    "Mixed precision with a scale far too large: the scaler skips steps, the probe still takes `steps` real ones"
    learn = digits(cbs=CPUMixedPrecision(init_scale=2.**24))
    spy = Steps()
    learn.add_cb(spy)
    with learn.no_bar(): probe_one(learn, 1e-2, 10)
    assert sum(r['step'] is True for r in spy.rows) == 10 and sum(r['step'] is False for r in spy.rows) >= 3

# ---- which probe is kept ----

def test_keep_favours_the_lower_rate():
    assert keep([0.5, 0.4, 0.3]) == 2
    assert keep([0.5, 0.495, 0.492]) == 0 # within tol: stays low
    assert keep([0.5, 0.3, 0.31]) == 1
    assert keep([0.5, math.nan, math.inf]) == 0
    assert keep([math.inf, 0.4, 0.3]) == 2
    a = np.array([1., 0.]*50)
    noisy = a + np.tile([-1., 1.], 50)*2 - 0.05
    assert keep([0.5, 0.45], [a, noisy]) == 1 # by default (z=0) the noise is not read
    assert keep([0.5, 0.45], [a, noisy], z=1.) == 0 # 10% lower, but inside the noise of the difference
    assert keep([0.5, 0.45], [a, a-0.05], z=1.) == 1 # the same gain, item by item: kept

# ---- lr_probe on a learner ----

def test_lr_find_then_probes_then_fit_one_cycle_same_as_fit_one_cycle():
    "The key property: lr_find + lr_probe, then fit_one_cycle trains bit for bit as fit_one_cycle alone"
    def run(probe):
        learn = digits(arch='bn', dropout=True)
        with learn.no_bar(), learn.no_logging():
            learn.fit(1, 1e-3)
            set_seed(42)
            if probe:
                learn.lr_find(num_it=30, show_plot=False)
                learn.lr_probe(n=3, steps=8, show_plot=False)
            learn.fit_one_cycle(2, 1e-2)
        return weights(learn),learn.recorder.values,[float(o) for o in learn.recorder.losses]
    w0,v0,l0 = run(False)
    w1,v1,l1 = run(True)
    assert same_weights(w0, w1) and v0 == v1 and l0 == l1

def test_learner_restored_after_probes():
    learn = digits(arch='bn', dropout=True)
    res = _found(learn, num_it=30)
    rec = (list(learn.recorder.lrs), [float(o) for o in learn.recorder.losses], learn.recorder.lr_result)
    with learn.no_bar(): # (no_bar puts back a new ProgressCallback: capture inside it)
        before = capture(learn)
        pr = learn.lr_probe(n=3, steps=8, show_plot=False)
        assert diff(before, capture(learn)) == []
    assert (list(learn.recorder.lrs), [float(o) for o in learn.recorder.losses], learn.recorder.lr_result) == rec # lr_find's run, as left
    assert isinstance(pr, LRProbes) and len(pr.probes) == 3 and pr.probes[0].steps == 8

def test_interrupted_probe_leaves_learner_restored():
    "Ctrl-C in the second probe: the exception comes out, and the learner is as it was"
    learn = digits(arch='bn')
    res = _found(learn, num_it=30)
    learn.add_cb(RaiseAt(12, KeyboardInterrupt())) # 8 batches per probe: the second probe's 4th
    with learn.no_bar():
        before = capture(learn)
        with pytest.raises(KeyboardInterrupt): learn.lr_probe(res, n=3, steps=8, show_plot=False)
        assert diff(before, capture(learn)) == []

def test_probes_start_from_the_same_state():
    "The same rate twice gives the same loss: each probe starts from exactly the learner's state"
    learn = digits()
    res = _found(learn, num_it=30)
    pr = _probe(learn, res, lrs=[1e-2, 1e-2, 1e-2], steps=10)
    assert len({p.loss for p in pr.probes}) == 1

def test_spread_around_the_suggestion_and_default_steps():
    learn = digits()
    res = _found(learn, num_it=20)
    pr = _probe(learn, res, n=3, spread=0.5)
    b = res.suggestions['basin'].lr
    assert [p.lr for p in pr.probes] == pytest.approx([b/10**0.5, b, b*10**0.5])
    assert pr.probes[0].steps == len(res.curve)//2 == 10 # half the sweep: 2.5x its steps in all
    assert pr.base.name == 'basin' and pr.suggestion.name == 'probed' and pr.suggestion.lr == pr.lr

def test_parameter_groups_get_the_sweeps_ratio():
    "A discriminative sweep: each probe trains with a slice of the sweep's ratio between groups"
    learn = digits(splitter=two_groups)
    res = _found(learn, num_it=20, start_lr=slice(1e-8, 1e-7), end_lr=slice(1., 10.))
    spy = Steps()
    learn.add_cb(spy)
    pr = _probe(learn, res, lrs=[1e-3, 1e-2], steps=6)
    assert [p.fit for p in pr.probes] == [slice(pytest.approx(1e-4), pytest.approx(1e-3)), slice(pytest.approx(1e-3), pytest.approx(1e-2))]
    for r in spy.rows: assert r['lrs'][1]/r['lrs'][0] == pytest.approx(10.)
    assert max(r['lrs'][1] for r in spy.rows) == pytest.approx(1e-2, rel=0.05)

def test_recorder_back_when_a_restore_fails(monkeypatch):
    "A restore that fails (it raises after putting back all it can) still leaves the recorder as lr_find left it"
    import lrfind_ext.probes as P
    class Failing(P.Snapshot):
        def restore(self): super().restore(); raise RuntimeError('restore failed')
    learn = digits()
    res = _found(learn, num_it=20)
    before = dict(learn.recorder.__dict__)
    monkeypatch.setattr(P, 'Snapshot', Failing)
    with pytest.raises(RuntimeError, match='restore failed'): _probe(learn, res, n=1, steps=4)
    assert learn.recorder.__dict__ == before and learn.recorder.lr_result is res

def test_set_lr_through_refine():
    learn = digits()
    res = _found(learn, num_it=20)
    lr0 = learn.lr
    pr = res.refine(learn, n=2, steps=6, show_plot=False, set_lr=True)
    assert learn.lr == pr.fit_lr() and learn.lr != lr0

def test_refine_probes_the_learner_lr_find_ran_on():
    "`learn.lr_find().refine()` needs no learner, `_replace` keeps it; an unpickled or hand-made result asks for it"
    learn = digits()
    spy = Steps()
    learn.add_cb(spy)
    res = _found(learn, num_it=20)
    del spy.rows[:]
    pr = res.refine(n=2, steps=6, show_plot=False)
    assert pr.res is res and len(pr.probes) == 2 and len(spy.rows) == 12 # the probes trained `learn`
    assert len(res._replace(basin=res.basin*2).refine(lrs=[1e-2], steps=2, show_plot=False).probes) == 1
    for r in pickle.loads(pickle.dumps(res)),lr_result(res.curve, list(res.suggestions.values())):
        with pytest.raises(ValueError, match=r'holds no learner.*pass the learner: res.refine\(learn\)'): r.refine(n=2, steps=2)
    assert pickle.loads(pickle.dumps(res)).refine(learn, lrs=[1e-2], steps=2, show_plot=False).probes[0].steps == 2

def test_result_does_not_keep_the_learner_alive():
    "The result's reference to its learner is weak: once the learner is gone, refine says so and asks for one"
    learn = digits()
    res = _found(learn, num_it=20)
    ref = weakref.ref(learn)
    del learn
    gc.collect()
    assert ref() is None
    with pytest.raises(ValueError, match=r'is gone.*pass the learner: res.refine\(learn\)'): res.refine(n=2, steps=2)

def test_fit_one_cycle_arguments_reach_the_probes():
    "`**kwargs` go to fit_one_cycle: div=1e9 starts the schedule near zero"
    learn = digits()
    res = _found(learn, num_it=20)
    spy = Steps()
    learn.add_cb(spy)
    _probe(learn, res, lrs=[1e-2], steps=6, div=1e9)
    assert spy.rows[0]['lrs'][-1] == pytest.approx(1e-11)

def test_errors_say_what_to_do():
    learn = digits()
    with pytest.raises(ValueError, match='call learn.lr_find'): learn.lr_probe(show_plot=False)
    res = _found(learn, num_it=20)
    with pytest.raises(ValueError, match='positive learning rate'): _probe(learn, res, lrs=[-1.])
    learn.dls.loaders = learn.dls.loaders[:1]
    with pytest.raises(ValueError, match='no validation set'): _probe(learn, res, n=2, steps=4)

def test_plot_shows_the_probes_on_the_sweep_axis():
    learn = digits()
    res = _found(learn, num_it=30)
    pr = _probe(learn, res, n=3, steps=6)
    fig = pr.plot()
    ax = fig.axes[0]
    ax2 = next(a for a in fig.axes if a.get_gid()=='lrprobe.axes')
    assert ax2.get_xscale() == 'log' and ax2.get_shared_x_axes().joined(ax, ax2)
    pts = sorted((l for l in ax2.lines if l.get_gid() in ('lrprobe.probe','lrprobe.kept')), key=lambda l: l.get_xdata()[0])
    assert [float(l.get_xdata()[0]) for l in pts] == pytest.approx([p.lr for p in pr.probes])
    assert [float(l.get_ydata()[0]) for l in pts] == pytest.approx([p.loss for p in pr.probes])
    kept = next(l for l in ax2.lines if l.get_gid()=='lrprobe.kept')
    assert float(kept.get_xdata()[0]) == pytest.approx(pr.lr) and kept.get_marker() == probe_look[2]
    x0,x1 = ax.get_xlim()
    assert x0 < pr.probes[0].lr and pr.probes[-1].lr < x1
    lab = next(t for t in ax.texts if t.get_gid()=='lrprobe.label') # the kept rate, labelled at the top as a suggestion is
    assert lab.get_text() == f'probed {pr.lr:.1e}'
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert 'probes: 6 steps of fit_one_cycle each' in legend and f'probe kept: {pr.lr:.1e}' in legend
    assert [t.get_text() for t in ax2.texts] == [f'{p.loss:.3g}' for p in pr.probes]

def test_probes_look_apart_and_read_at_column_width():
    "The probes' colour is no rule's; every text of the figure, the probes' included, is at least 17 px shown 640 px wide"
    from matplotlib.colors import to_rgb
    from lrfind_ext.plot import rule_looks,_user_looks
    assert to_rgb(probe_look[0]) not in {to_rgb(c) for c,_ in [*rule_looks.values(), *_user_looks]}
    learn = digits()
    res = _found(learn, num_it=30)
    fig = _probe(learn, res, n=3, steps=6).plot()
    buf = io.BytesIO()
    fig.savefig(buf, format='png', bbox_inches='tight') # as a notebook shows it
    buf.seek(0)
    px = fig.dpi/72*640/plt.imread(buf).shape[1]
    texts = [t for a in fig.axes for t in [*a.texts, a.xaxis.label, a.yaxis.label, *a.get_yticklabels(),
             *(a.get_xticklabels() if a.xaxis.get_visible() else [])] if t.get_text()]
    small = [(t.get_text(), round(t.get_fontsize()*px, 1)) for t in texts+list(fig.axes[0].get_legend().get_texts()) if t.get_fontsize()*px < 17]
    assert not small, small

# ---- several processes ----

@pytest.mark.slow
def test_ddp_processes_keep_the_same_probe(tmp_path):
    pytest.importorskip('accelerate')
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2',
           str(ROOT/'tests'/'ddp_probes.py'), str(tmp_path)]
    r = subprocess.run(cmd, cwd=ROOT/'tests', capture_output=True, text=True, timeout=300, env={**os.environ, 'PYTHONWARNINGS': 'ignore'})
    assert r.returncode == 0, r.stderr[-4000:]
    a,b = [json.loads((tmp_path/f'rank{i}.json').read_text()) for i in (0,1)]
    assert a['world'] == 2 and a['lrs'] == b['lrs'] and a['kept'] == b['kept'] and a['lr'] == b['lr']
    assert a['diff'] == [] and b['diff'] == []
    assert all(math.isfinite(o) for o in a['losses'])

# ---- the docs quote the benchmark ----

def test_page_quotes_the_benchmark():
    "The table on the probes page is bench/results/probes.json's (rerun bench/probes.py report: update the page too)"
    d = json.loads((ROOT/'bench'/'results'/'probes.json').read_text())['sets']
    md = '\n'.join(''.join(c['source']) for c in json.loads((ROOT/'nbs'/'08a_probes.ipynb').read_text())['cells']
                   if c['cell_type']=='markdown')
    f = lambda x: f"{x['within']}/{x['n']}, {x['geomean']:.3f}"
    for k,lab in (('dev','dev'), ('heldout','held-out'), ('fresh','second held-out'), ('third','third held-out')):
        a = d[k]['all']
        assert f"| {lab} ({a['basin']['n']}) | {f(a['basin'])} | {f(a['probes'])} | {f(a['one_seed'])} |" in md, k
