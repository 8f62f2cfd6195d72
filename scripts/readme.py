#!/usr/bin/env python
"""Build README.md (and README_files/, its pictures) from nbs/index.ipynb, the home page of the docs.

Markdown cells are copied; code cells become fenced blocks; outputs follow them (text fenced, HTML as is, PNG
pictures written to README_files/ and linked by absolute URL to the repository's raw files, so that the package
index's page shows them too). Cells marked `#| hide` are left out, `#| echo: false` shows only the output,
`#| output: false` only the code."""
import argparse,base64,configparser,json,shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def raw_url(root=ROOT)->str:
    "Where the package index finds the README's pictures: the repository's raw files on its branch (settings.ini)"
    cfg = configparser.ConfigParser(delimiters=['='])
    cfg.read(Path(root)/'settings.ini')
    c = cfg['DEFAULT']
    return c['git_url'].replace('https://github.com/', 'https://raw.githubusercontent.com/').rstrip('/') + f"/{c['branch']}/"

def _directives(src):
    "nbdev/Quarto directives at the top of a code cell, and the code without them"
    lines,d = src.splitlines(),{}
    while lines and lines[0].startswith('#|'):
        k,_,v = lines.pop(0)[2:].strip().partition(':')
        d[k.strip()] = v.strip() or True
    return d,'\n'.join(lines).strip()

def _txt(o): return ''.join(o) if isinstance(o, list) else o

def build(nb_path, out):
    "Write README.md and README_files/ for `nb_path` into folder `out`"
    nb,out,base = json.loads(Path(nb_path).read_text()),Path(out),raw_url()
    imgs = out/'README_files'
    if imgs.exists(): shutil.rmtree(imgs)
    parts,n_img = ['<!-- Generated from nbs/index.ipynb by scripts/readme.py (`make export`): edit the notebook, not this file. -->'],0
    for i,c in enumerate(nb['cells']):
        src = _txt(c['source'])
        if c['cell_type']=='markdown': parts.append(src.strip()); continue
        if c['cell_type']!='code': continue
        d,code = _directives(src)
        if d.get('hide') or d.get('include')=='false': continue
        if code and d.get('echo')!='false': parts.append(f'```python\n{code}\n```')
        if d.get('output')=='false': continue
        for o in c.get('outputs', []):
            if o['output_type']=='stream': parts.append(f"```\n{_txt(o['text']).rstrip()}\n```"); continue
            data = o.get('data', {})
            if 'image/png' in data:
                imgs.mkdir(parents=True, exist_ok=True)
                n_img += 1
                fn = imgs/f'fig-{n_img}.png'
                fn.write_bytes(base64.b64decode(_txt(data['image/png'])))
                parts.append(f'![]({base}README_files/{fn.name})')
            elif 'text/markdown' in data: parts.append(_txt(data['text/markdown']).strip())
            elif 'text/html' in data: parts.append(_txt(data['text/html']).strip())
            elif 'text/plain' in data: parts.append(f"```\n{_txt(data['text/plain']).rstrip()}\n```")
    (out/'README.md').write_text('\n\n'.join(parts) + '\n')

if __name__=='__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--nb', default=str(ROOT/'nbs'/'index.ipynb'))
    ap.add_argument('--out', default=str(ROOT))
    a = ap.parse_args()
    build(a.nb, a.out)
