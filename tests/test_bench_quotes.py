"The speed figures the docs quote are the ones `bench/speed.py` last wrote (rerun the benchmark: update the pages too)"
import json,re
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
SPEED = ROOT/'bench'/'results'/'speed.md'

def _md(nb):
    "The markdown of notebook `nb`, joined"
    return '\n'.join(''.join(c['source']) for c in json.loads((ROOT/'nbs'/nb).read_text())['cells'] if c['cell_type']=='markdown')

def _ratios():
    "Learner name -> wall ratio, from the first table of speed.md"
    rows = [l.split('|')[1:-1] for l in SPEED.read_text().splitlines() if l.startswith('| ')]
    hdr = next(r for r in rows if r[0].strip()=='learner')
    i = [c.strip() for c in hdr].index('wall ratio')
    return {r[0].strip():float(r[i]) for r in rows[rows.index(hdr)+1:] if 'lrfind_ext wall' not in r[0] and len(r)==len(hdr)}

def test_speed_table_parsed():
    r = _ratios()
    assert len(r)==5 and any('vision_learner' in k for k in r) and any('tabular_learner' in k for k in r)

@pytest.mark.parametrize('nb', ['08_finder.ipynb', 'migrating.ipynb'])
def test_pages_quote_speed_range(nb):
    r = _ratios()
    rng = f"{min(r.values()):.2f} to {max(r.values()):.2f}"
    assert rng in re.sub(r'\s+', ' ', _md(nb)), f"{nb} should quote {rng} (bench/results/speed.md)"

def test_finder_quotes_each_application_learner():
    r,md = _ratios(),re.sub(r'\s+', ' ', _md('08_finder.ipynb'))
    for k in ('tabular_learner','vision_learner'):
        v = next(v for n,v in r.items() if k in n)
        assert f"{v:.2f} on the {'resnet18 ' if k=='vision_learner' else ''}`{k}`" in md, (k, v)
