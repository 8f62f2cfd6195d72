"The sync check of `make test` catches a generated module or README that drifts from its notebook."
import importlib.util,shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def _checker(root):
    spec = importlib.util.spec_from_file_location('run_tests', ROOT/'scripts'/'run_tests.py')
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    m.ROOT = root
    return m.check_sync

def _copy(tmp_path):
    d = tmp_path/'repo'
    for p in 'nbs','lrfind_ext','scripts','README_files':
        if (ROOT/p).exists(): shutil.copytree(ROOT/p, d/p, ignore=shutil.ignore_patterns('__pycache__'))
    for p in 'pyproject.toml','settings.ini','README.md': shutil.copy(ROOT/p, d/p)
    return d

def test_in_sync_copy_passes(tmp_path):
    d = _copy(tmp_path)
    assert all(ok for _,ok,_ in _checker(d)())

def test_edited_module_fails(tmp_path):
    d = _copy(tmp_path)
    with open(d/'lrfind_ext'/'curve.py', 'a') as f: f.write('\n# edited by hand\n')
    res = {n:(ok,msg) for n,ok,msg in _checker(d)()}
    ok,msg = next(v for n,v in res.items() if n.startswith('lrfind_ext/'))
    assert not ok and 'curve.py' in msg

def test_edited_readme_fails(tmp_path):
    d = _copy(tmp_path)
    with open(d/'README.md', 'a') as f: f.write('\nedited by hand\n')
    res = {n:ok for n,ok,_ in _checker(d)()}
    assert res['README.md matches nbs/index.ipynb'] is False
