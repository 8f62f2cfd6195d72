"`pip install .` into a fresh virtual environment that already has fastai installs lrfind_ext, whose import patches fastai."
import shutil,site,subprocess,sys,sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def test_pip_install_into_fresh_venv(tmp_path):
    src,venv = tmp_path/'src',tmp_path/'venv'
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns('.venv', '.git', '_docs', '_proc', '*.egg-info', 'build',
                                                             '__pycache__', 'demo_out', 'README_files'))
    subprocess.run([sys.executable, '-m', 'venv', '--without-pip', venv], check=True) # pip, too, comes from outside
    py = venv/'bin'/'python'
    # "Already has fastai": the new venv sees this environment's packages (fastai, torch...) through a .pth file;
    # the editable install of lrfind_ext there is not active in it (its .pth is not processed from a plain path).
    vsite = subprocess.run([py, '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'],
                           capture_output=True, text=True, check=True).stdout.strip()
    Path(vsite, 'outer_env.pth').write_text(sysconfig.get_paths()['purelib'] + '\n')
    r = subprocess.run([py, '-c', 'import lrfind_ext'], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode != 0, "lrfind_ext is importable before it is installed: the test would prove nothing"
    r = subprocess.run([py, '-m', 'pip', 'install', '--no-index', '--no-build-isolation', '.'], cwd=src,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    r = subprocess.run([py, '-W', 'ignore', '-c', '''
import lrfind_ext, os
from fastai.learner import Learner
assert Learner.lr_find.__module__ == "lrfind_ext.finder"
print(os.path.dirname(lrfind_ext.__file__), lrfind_ext.__version__)
'''], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    where,ver = r.stdout.split()
    assert Path(where).resolve().is_relative_to(venv.resolve()), f"imported from {where}, not the new venv"
    assert ver == __import__('lrfind_ext').__version__
