#!/usr/bin/env python
"""Re-execute notebooks of nbs/ in place, so that they hold fresh outputs: the docs site shows them as they are.

With no argument, every notebook; otherwise the notebooks named. Slow cells run too. Stops at the first error."""
import argparse,os,subprocess,sys,time
from pathlib import Path
from execnb.shell import CaptureShell

ROOT = Path(__file__).resolve().parent.parent
NBS = ROOT/'nbs'

def run(nb):
    "Execute `nb` from its own folder and write it back with its outputs"
    nb,t,cwd = Path(nb).resolve(),time.time(),os.getcwd()
    os.chdir(nb.parent)
    try: CaptureShell().execute(nb, nb, exc_stop=True)
    finally: os.chdir(cwd)
    print(f"{nb.relative_to(ROOT)}: {time.time()-t:.0f}s", flush=True)

if __name__=='__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('nbs', nargs='*', help='notebooks to run (default: all of nbs/)')
    a = ap.parse_args()
    nbs = a.nbs or sorted(p for p in NBS.rglob('*.ipynb') if not any(q.startswith(('_','.')) for q in p.relative_to(NBS).parts))
    for nb in nbs: run(nb)
    for nb in nbs: subprocess.run([Path(sys.executable).parent/'nbdev-clean', '--fname', str(nb)], cwd=ROOT, check=True)
