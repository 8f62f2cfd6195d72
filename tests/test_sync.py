"""The sync check of `make test` catches a generated module or README that drifts from its notebook. (That it passes
on a tree in sync is `make test`'s own first check, scripts/run_tests.py, on the repository itself.)"""
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

def test_edited_module_and_readme_fail(tmp_path):
    "A module and README.md edited by hand in a copy of the repository: both checks fail, naming the file (one export for both)"
    d = _copy(tmp_path)
    with open(d/'lrfind_ext'/'curve.py', 'a') as f: f.write('\n# edited by hand\n')
    with open(d/'README.md', 'a') as f: f.write('\nedited by hand\n')
    res = {n:(ok,msg) for n,ok,msg in _checker(d)()}
    ok,msg = next(v for n,v in res.items() if n.startswith('lrfind_ext/'))
    assert not ok and 'curve.py' in msg
    assert res['README.md matches nbs/index.ipynb'][0] is False
