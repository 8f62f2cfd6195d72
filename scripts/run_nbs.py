#!/usr/bin/env python
"""Re-execute notebooks of nbs/ in place, so that they hold fresh outputs: the docs site shows them as they are.

With no argument, every notebook; otherwise the notebooks named. Slow cells run too. Each notebook runs in a fresh
Python process of its own, so that no page shows what another registered or patched. Stops at the first error."""
import argparse,os,subprocess,sys,time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NBS = ROOT/'nbs'

def run(nb):
    "Execute `nb` from its own folder and write it back with its outputs"
    from execnb.shell import CaptureShell
    nb = Path(nb).resolve()
    os.chdir(nb.parent)
    CaptureShell().execute(nb, nb, exc_stop=True)

if __name__=='__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('nbs', nargs='*', help='notebooks to run (default: all of nbs/)')
    ap.add_argument('--one', help=argparse.SUPPRESS) # run this one notebook in this process
    a = ap.parse_args()
    if a.one: run(a.one); sys.exit(0)
    nbs = a.nbs or sorted(p for p in NBS.rglob('*.ipynb') if not any(q.startswith(('_','.')) for q in p.relative_to(NBS).parts))
    for nb in nbs:
        t = time.time()
        subprocess.run([sys.executable, __file__, '--one', str(Path(nb).resolve())], check=True)
        print(f"{Path(nb).resolve().relative_to(ROOT)}: {time.time()-t:.0f}s", flush=True)
    for nb in nbs: subprocess.run([Path(sys.executable).parent/'nbdev-clean', '--fname', str(nb)], cwd=ROOT, check=True)
