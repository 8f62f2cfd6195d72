#!/usr/bin/env python
"""Do two versions of lrfind_ext give the same answers on the committed benchmark curves? Each tree is imported in a
process of its own; every curve of bench/results/{curves,fresh_curves,valid_curves}.json.gz is loaded with that tree's
`LRCurve.from_dict`, the five built-in rules run on it, and their intervals estimated. Prints, per rule, how many
suggestions are identical (bit for bit), and how far the intervals' edges moved (median and largest, in log10):
    python bench/same_answers.py OLD_TREE [NEW_TREE (default: this one)]"""
import gzip,json,math,os,subprocess,sys,tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FILES = ('curves','fresh_curves','valid_curves')
RULES = ('basin','valley','slide','minimum','steep')

def dump(out):
    "In a child process: every rule's suggestion and interval on every curve, as JSON"
    import warnings
    warnings.filterwarnings('ignore')
    import torch
    torch.set_num_threads(1)
    from lrfind_ext.curve import LRCurve
    from lrfind_ext.suggest import suggesters
    from lrfind_ext.spread import with_intervals
    sgs,res = suggesters.resolve(RULES),{}
    for f in FILES:
        for k,rec in json.load(gzip.open(ROOT/f'bench/results/{f}.json.gz')).items():
            crv = LRCurve.from_dict(rec['curve'])
            try: ss = with_intervals(crv, [sg(crv) for sg in sgs], sgs)
            except Exception as e: res[f'{f}:{k}'] = repr(e); continue
            res[f'{f}:{k}'] = {s.name:[s.lr, s.interval] for s in ss}
    Path(out).write_text(json.dumps(res))

def run(tree):
    "The answers of the tree at `tree`, computed in a process of its own"
    with tempfile.TemporaryDirectory() as d:
        out = Path(d)/'a.json'
        env = dict(os.environ, PYTHONPATH=str(tree))
        py = Path(tree)/'.venv/bin/python'
        subprocess.run([str(py if py.exists() else sys.executable), __file__, '--dump', str(out)], env=env, check=True, cwd=tree)
        return json.loads(out.read_text())

def main(old, new=ROOT):
    a,b = run(old),run(new)
    print(f"{len(a)} curves ({', '.join(FILES)})")
    for r in RULES:
        both = [k for k in a if isinstance(a[k], dict) and isinstance(b.get(k), dict)]
        same = sum(a[k][r][0]==b[k][r][0] for k in both)
        moves = sorted(abs(math.log10(b[k][r][1][i]/a[k][r][1][i])) for k in both for i in (0,1) if a[k][r][1] and b[k][r][1])
        med = moves[len(moves)//2] if moves else math.nan
        print(f"{r:8s} identical {same} of {len(both)}; interval edges moved by a median {med:.3f} and at most "
              f"{max(moves, default=math.nan):.3f} decades")
    bad = [k for k in a if not isinstance(a[k], dict) or not isinstance(b.get(k), dict)]
    for k in bad: print(f"{k}: old {a[k] if not isinstance(a[k], dict) else 'ok'}, new {b.get(k) if not isinstance(b.get(k), dict) else 'ok'}")

if __name__=='__main__':
    if sys.argv[1]=='--dump': dump(sys.argv[2])
    else: main(*sys.argv[1:])
