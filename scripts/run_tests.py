#!/usr/bin/env python
"""Run every check of lrfind_ext and end with one line, `N passed, N failed`, counting all of them.

Checks, in order: the generated modules and README match their notebooks (an export into a scratch copy leaves no
diff); then pytest on tests/, in two processes (pytest-xdist) when there are two cores: the notebooks' own tests
(tests/test_notebooks.py: nbdev's, one result per page; `#| slow` cells only with --slow), the tutorial pages run as a
reader runs them with their tests beside them (tests/test_tutorials.py; each page once), the unit tests, the pip
install, and tests/test_docs_site.py, which builds the docs site into _docs/ (scripts/docs.py, incremental) and opens
every page in headless Chromium. Any failure makes the exit status non-zero."""
import argparse,filecmp,os,shutil,subprocess,sys,tempfile,time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

def _same_tree(a, b, glob='*.py'):
    "Names of files under `glob` that differ between folders `a` and `b`"
    fa = {p.relative_to(a) for p in a.rglob(glob) if '__pycache__' not in p.parts}
    fb = {p.relative_to(b) for p in b.rglob(glob) if '__pycache__' not in p.parts}
    return sorted(str(p) for p in fa ^ fb) + sorted(str(p) for p in fa & fb if not filecmp.cmp(a/p, b/p, shallow=False))

def check_sync():
    "Export the notebooks and build README.md in a scratch copy; compare with the committed files"
    res = []
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        for p in 'nbs','lrfind_ext','scripts': shutil.copytree(ROOT/p, d/p, ignore=shutil.ignore_patterns('__pycache__', '.ipynb_checkpoints'))
        for p in 'pyproject.toml','settings.ini': shutil.copy(ROOT/p, d/p)
        env = {k:v for k,v in os.environ.items() if k!='IN_TEST'} # nbdev-export does nothing when IN_TEST is set
        r = subprocess.run([BIN/'nbdev-export'], cwd=d, capture_output=True, text=True, env=env)
        diff = _same_tree(ROOT/'lrfind_ext', d/'lrfind_ext') if r.returncode==0 else [r.stderr[-2000:]]
        res.append(('lrfind_ext/ matches the notebooks (nbdev-export leaves no diff)', not diff,
                    'differs: ' + ', '.join(diff) + '\n  Run `make export` and commit the result.'))
        r = subprocess.run([sys.executable, 'scripts/readme.py', '--out', str(d)], cwd=d, capture_output=True, text=True)
        diff = [r.stderr[-2000:]] if r.returncode else []
        if not diff:
            if not filecmp.cmp(ROOT/'README.md', d/'README.md', shallow=False): diff.append('README.md')
            if (d/'README_files').exists(): diff += _same_tree(ROOT/'README_files', d/'README_files', '*')
        res.append(('README.md matches nbs/index.ipynb', not diff,
                    'differs: ' + ', '.join(diff) + '\n  Run `make export` and commit the result.'))
    return res

def workers()->list:
    "pytest-xdist's options for two worker processes (tests/conftest.py orders and groups the tests), if it is installed and there are two cores"
    import importlib.util
    n = min(2, os.cpu_count() or 1)
    if n<2: return []
    if importlib.util.find_spec('xdist') is None:
        print('pytest-xdist is not installed (`make venv` installs it): the tests run in one process', flush=True)
        return []
    return ['-n', str(n)]

def run_pytest(extra):
    "Run pytest on tests/; one result per test"
    with tempfile.TemporaryDirectory() as d:
        xml = Path(d)/'junit.xml'
        subprocess.run([sys.executable, '-m', 'pytest', 'tests', '-p', 'no:cacheprovider', f'--junitxml={xml}',
                        '--durations=10', *workers(), *extra], cwd=ROOT)
        if not xml.exists(): return [('pytest ran', False, 'pytest produced no report')]
        res = []
        for tc in ET.parse(xml).getroot().iter('testcase'):
            name = f"{tc.get('classname')}::{tc.get('name')}"
            if tc.find('skipped') is not None: continue
            bad = tc.find('failure') if tc.find('failure') is not None else tc.find('error')
            res.append((name, bad is None, (bad.get('message') or '')[:300] if bad is not None else ''))
        return res

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--slow', action='store_true', help='also run the notebook cells marked `#| slow` and the tests marked slow')
    ap.add_argument('pytest_args', nargs='*', help='extra arguments for pytest')
    a = ap.parse_args()
    t0,res = time.time(),[]
    for name,fn in (('sync',check_sync),
                    ('pytest',lambda: run_pytest(a.pytest_args + (['--runslow'] if a.slow else [])))):
        t = time.time()
        r = fn()
        res += r
        print(f"== {name}: {sum(ok for _,ok,_ in r)} passed, {sum(not ok for _,ok,_ in r)} failed ({time.time()-t:.0f}s)", flush=True)
        for n,ok,msg in r:
            if not ok: print(f"   FAILED {n}: {msg}")
    npass,nfail = sum(ok for _,ok,_ in res),sum(not ok for _,ok,_ in res)
    print(f"== all checks in {time.time()-t0:.0f}s")
    print(f"{npass} passed, {nfail} failed")
    sys.exit(1 if nfail or not res else 0)

if __name__=='__main__': main()
