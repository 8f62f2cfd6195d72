"`import lrfind_ext` patches fastai's Learner.lr_find and Recorder.plot_lr_find, adds the probes (Learner.lr_probe, LRFindResult.refine), and does nothing else."
import os,subprocess,sys,textwrap
from pathlib import Path

def _run(code, cwd):
    return subprocess.run([sys.executable, '-c', textwrap.dedent(code)], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, 'PYTHONWARNINGS': 'ignore::FutureWarning'})

def test_import_patches_and_nothing_else(tmp_path):
    r = _run('''
        import matplotlib, sys, os
        import fastai.callback.schedule
        from fastai.learner import Learner, Recorder
        orig = Learner.lr_find, Recorder.plot_lr_find
        before = matplotlib.rcParams._get_backend_or_none(), sorted(os.listdir('.'))
        import lrfind_ext
        after = matplotlib.rcParams._get_backend_or_none(), sorted(os.listdir('.'))
        assert before == after, (before, after)
        assert Learner.lr_find.__module__ == 'lrfind_ext.finder' and Learner.lr_find is not orig[0]
        assert Recorder.plot_lr_find.__module__ == 'lrfind_ext.plot' and Recorder.plot_lr_find is not orig[1]
        from lrfind_ext.result import LRFindResult
        assert Learner.lr_probe.__module__ == LRFindResult.refine.__module__ == 'lrfind_ext.probes' # the probes, opt-in by call
        assert 'matplotlib.pyplot' not in sys.modules or matplotlib.pyplot.get_fignums() == []
        print('OK')
    ''', tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout == 'OK\n', f"import printed something: {r.stdout!r}"
    assert list(tmp_path.iterdir()) == []

def test_import_alone_patches(tmp_path):
    "Importing lrfind_ext without importing fastai's schedule first still patches"
    r = _run('''
        import lrfind_ext
        from fastai.learner import Learner
        assert Learner.lr_find.__module__ == 'lrfind_ext.finder'
    ''', tmp_path)
    assert r.returncode == 0, r.stderr

def test_star_import_does_not_shadow_fastai():
    import fastai.callback.schedule as fs
    import lrfind_ext
    shadowed = set(lrfind_ext.__all__) & set(vars(fs))
    assert not shadowed, shadowed
    assert {'valley', 'slide', 'minimum', 'steep'}.isdisjoint(lrfind_ext.__all__)
