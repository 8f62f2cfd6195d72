"The package's metadata: settings.ini is its one source; what pyproject.toml and the package repeat must agree."
import configparser,sys,tomllib
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent

@pytest.fixture(scope='module')
def ini():
    cfg = configparser.ConfigParser(delimiters=['='])
    cfg.read(ROOT/'settings.ini')
    return cfg['DEFAULT']

@pytest.fixture(scope='module')
def proj(): return tomllib.loads((ROOT/'pyproject.toml').read_text())

def test_name_agrees(ini, proj):
    assert proj['project']['name'] == ini['lib_name']
    assert proj['tool']['nbdev']['lib_path'] == ini['lib_path']

def test_paths_agree(ini, proj):
    nb = proj['tool']['nbdev']
    assert (nb['nbs_path'], nb['doc_path']) == (ini['nbs_path'], ini['doc_path'])

def test_urls_agree(ini, proj):
    urls = proj['project']['urls']
    assert urls['Repository'] == ini['git_url']
    assert urls['Documentation'].rstrip('/') == ini['doc_host'] + ini['doc_baseurl']

def test_pyproject_holds_no_other_metadata(proj):
    "Everything but name and urls is dynamic: setup.py takes it from settings.ini"
    static = set(proj['project']) - {'name', 'dynamic', 'urls'}
    assert not static, f"pyproject.toml repeats {static}: keep it in settings.ini"
    for k in 'version','description','dependencies','optional-dependencies','requires-python':
        assert k in proj['project']['dynamic']

def test_version_from_settings(ini):
    import lrfind_ext
    assert lrfind_ext.__version__ == ini['version'], "the installed metadata is stale: reinstall (make venv)"

def test_installed_requirements_match(ini):
    "The installed distribution's requirements are settings.ini's"
    from importlib.metadata import requires
    reqs = {r.split(';')[0].replace(' ', '') for r in requires('lrfind_ext')}
    for r in (ini['requirements']+' '+ini['dev_requirements']).split(): assert r.split(';')[0] in reqs # (its marker apart)

def test_requirements_are_the_four(ini):
    names = {r.split('>')[0].split('=')[0].split('<')[0] for r in ini['requirements'].split()}
    assert names == {'fastai', 'fastcore', 'torch', 'matplotlib'}


def test_docs_config_agrees(ini):
    "nbs/nbdev.yml (written by nbdev from pyproject.toml for Quarto and smalldocs) repeats settings.ini's facts"
    import yaml
    y = yaml.safe_load((ROOT/ini['nbs_path']/'nbdev.yml').read_text())
    web = y['website']
    assert y['project']['output-dir'] == ini['doc_path']
    assert web['title'] == ini['title']
    assert web['site-url'].rstrip('/') == ini['doc_host'] + ini['doc_baseurl']
    assert web['repo-url'] == ini['git_url']
    assert str(web['repo-branch']) == ini['branch']
    q = yaml.safe_load((ROOT/ini['nbs_path']/'_quarto.yml').read_text())
    assert {'nbdev.yml', 'sidebar.yml'} <= set(q['metadata-files'])

def test_readme_images_absolute(ini):
    "README.md's pictures are linked by absolute URL to the repository's raw files (the package index can't resolve relative ones), and exist"
    import re
    raw = ini['git_url'].replace('https://github.com/', 'https://raw.githubusercontent.com/') + f"/{ini['branch']}/"
    links = re.findall(r'!\[[^\]]*\]\(([^)]+)\)', (ROOT/'README.md').read_text())
    assert links, "README.md shows no picture"
    for l in links:
        assert l.startswith(raw), f"{l} is not under {raw}"
        assert (ROOT/l[len(raw):]).is_file(), l
