"""The docs site as users read it: built from the notebooks (scripts/docs.py, incremental), served from _docs/ on
127.0.0.1, and opened page by page in headless Chromium (Debian's, or $CHROMIUM) driven by Playwright.

Every page must load (HTTP status below 400, its files too), decode its pictures (naturalWidth > 0), run without a
JavaScript error (uncaught or logged to the console), fetch nothing from outside the site but the theme's web font,
and link only to files and #anchors of the site that exist. Every public function, class and patched method has its
signature and doc on its module's page, and every public value is named somewhere; the sidebar lists every page;
search finds a class. The build itself must succeed, and nbdev must not have to re-run example cells for it.
Full-page screenshots of the home, workflow, benchmark and plot pages go to test_out/docs/ (the test prints where)."""
import ast,functools,importlib,importlib.util,json,os,re,shutil,subprocess,sys,threading,urllib.error,urllib.request
from http.server import SimpleHTTPRequestHandler,ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urldefrag,urlsplit
import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS,SHOTS = ROOT/'_docs',ROOT/'test_out'/'docs'
SCREENSHOTS = {'index.html': 'home.png', 'workflow.html': 'workflow.png', 'benchmark.html': 'benchmark.png', 'plot.html': 'plot.png'}
# Debian's Chromium, headless as root, with no network of its own (see ../shared notes); Playwright adds --headless.
FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage']

def _chromium():
    "The browser to drive: $CHROMIUM, else the first of chromium, chromium-browser, google-chrome on PATH"
    for c in (os.environ.get('CHROMIUM'), *map(shutil.which, ('chromium', 'chromium-browser', 'google-chrome'))):
        if c and Path(c).exists(): return c
    pytest.fail('No Chromium to open the docs with: `make browser` installs Debian\'s, or set CHROMIUM', pytrace=False)

def _docs_module():
    spec = importlib.util.spec_from_file_location('lrfind_docs', ROOT/'scripts'/'docs.py')
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m

def test_docs_build_reruns_no_example():
    "nbdev runs no example cell of a notebook again to build the docs: the pages show the notebooks' own outputs"
    docs = _docs_module()
    bad = [f'{nb.relative_to(ROOT)}: the cell starting `{line}`' for nb in docs.pages() for _,line in docs.rerun_cells(nb)]
    assert not bad, ('cells that mix imports with other code (nbdev runs them again while building the docs, and the '
                     'page shows that run; put their imports in a cell of their own):\n  ' + '\n  '.join(bad))

def test_sidebar_api_section():
    """nbs/sidebar.yml is what scripts/docs.py writes, and lists under API every notebook that exports a module (but the
    setups page, a tutorial), in notebook order: 08a_probes.ipynb too, after 08_finder.ipynb"""
    docs = _docs_module()
    txt = docs.sidebar()
    assert (ROOT/'nbs'/'sidebar.yml').read_text() == txt, 'nbs/sidebar.yml is stale: `python scripts/docs.py --sidebar` writes it'
    mods = [p.name for p in docs.pages() if '#| default_exp' in p.read_text() and p.stem not in docs.TUTORIALS]
    assert '08a_probes.ipynb' in mods
    assert re.findall(r'- (\S+\.ipynb)', txt.split('section: API')[1]) == mods

NO_SMALLDOCS = ("smalldocs, which renders the site here, is not installed (it needs Python 3.11 or later, so the dev "
                "install leaves it out on 3.10): the site is built and checked on 3.11 and later")

@pytest.fixture(scope='module')
def build():
    "Build _docs/ from the notebooks as they are now (only what changed since the last build is processed again)"
    pytest.importorskip('smalldocs', reason=NO_SMALLDOCS)
    try: _docs_module().build(quiet=True)
    except RuntimeError as e: return str(e)

def test_site_builds(build):
    assert build is None, f'the docs build failed: {build}'

def test_signatures_fixed_for_both_routes(site):
    """The show_doc fix is in nbdev's _proc/, which both routes render (Quarto on GitHub, smalldocs here): a class is
    written `class Snapshot(`, a property `@property`, in every block"""
    docs = _docs_module()
    mds = [''.join(o['data']['text/markdown']) for p in sorted((ROOT/'_proc').glob('*.ipynb'))
           for c in json.loads(p.read_text())['cells'] for o in c.get('outputs', []) if 'text/markdown' in o.get('data', {})]
    assert [m for m in mds if docs.fix_show_doc(m)!=m] == []
    assert any('class Snapshot(' in m for m in mds) and any('@property' in m for m in mds)

def test_skipped_without_smalldocs():
    "Where smalldocs can't be installed (Python 3.10), the site's tests are skipped and say why"
    code = ("import sys; sys.modules['smalldocs'] = None; import pytest; "
            f"sys.exit(pytest.main([{__file__!r}, '-k', 'site_builds', '-rs', '-q', '-p', 'no:cacheprovider']))")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0 and '1 skipped' in r.stdout and 'needs Python 3.11' in r.stdout, r.stdout[-2000:] + r.stderr[-2000:]

@pytest.fixture(scope='module')
def site(build):
    "_docs/, fresh; the tests that need it are skipped when the build failed (test_site_builds says why)"
    if build is not None: pytest.skip('the docs build failed (test_site_builds says why)')
    return DOCS

class _Handler(SimpleHTTPRequestHandler):
    def log_message(self, *args): pass

@pytest.fixture(scope='module')
def server(site):
    "The base URL of _docs/ served over HTTP on 127.0.0.1, on a free port"
    srv = ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(_Handler, directory=str(site)))
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    yield f'http://127.0.0.1:{srv.server_address[1]}/'
    srv.shutdown()
    srv.server_close()

_PAGE_JS = """async () => {
  // Pictures: load even the lazy ones, then each must have decoded to a real size
  const imgs = [...document.images];
  await Promise.all(imgs.map(i => { i.loading = 'eager'; return i.complete ? null : new Promise(r => { i.onload = i.onerror = r; setTimeout(r, 5000); }); }));
  const docs = [...document.querySelectorAll('.cell-output-markdown :is(h2,h3,h4)[id]')].map(h => {
    const out = h.closest('.cell-output-markdown');
    const sig = out.querySelector('pre');
    const doc = [...out.querySelectorAll('p')].map(p => p.innerText.trim()).filter(t => t && t !== 'source');
    return {id: h.id, name: h.innerText.trim(), sig: sig ? sig.innerText : '', doc: doc.join(' ')};
  });
  return {
    bad_imgs: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => (i.currentSrc || i.src || '').slice(0, 80)),
    n_imgs: imgs.length,
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    ids: [...document.querySelectorAll('[id]')].map(e => e.id).concat([...document.querySelectorAll('a[name]')].map(a => a.name)),
    sidebar: [...document.querySelectorAll('#quarto-sidebar a.sidebar-link[href]')].map(a => a.href),
    docs: docs,
    text: document.body.innerText,
  };
}"""

@pytest.fixture(scope='module')
def visits(server, site):
    "Open every page of the site once; what each showed, by path relative to _docs/"
    from playwright.sync_api import sync_playwright
    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob('*.html') if 'site_libs' not in p.parts)
    assert pages, '_docs/ has no pages'
    SHOTS.mkdir(parents=True, exist_ok=True)
    for f in SHOTS.glob('*.png'): f.unlink()
    res = {}
    with sync_playwright() as pw:
        br = pw.chromium.launch(executable_path=_chromium(), headless=True, args=FLAGS)
        ctx = br.new_context(viewport={'width': 1280, 'height': 900})
        outside = []
        # The site must work offline: nothing is fetched from outside it (such a request would fail here anyway)
        ctx.route(lambda url: not url.startswith(server) and not url.startswith('data:'),
                  lambda route: (outside.append(route.request.url), route.abort()))
        for name in pages:
            pg,r = ctx.new_page(),{'errors': [], 'bad_responses': [], 'outside': []}
            pg.on('pageerror', lambda e, r=r: r['errors'].append(f'uncaught: {e}'))
            pg.on('console', lambda m, r=r: _console(m, r, server))
            pg.on('response', lambda resp, r=r: resp.status>=400 and r['bad_responses'].append(f'{resp.status} {resp.url}'))
            n0 = len(outside)
            resp = pg.goto(server + name, wait_until='load')
            r['status'] = resp.status if resp else None
            pg.wait_for_load_state('networkidle')
            r.update(pg.evaluate(_PAGE_JS))
            r['outside'] = outside[n0:]
            if name in SCREENSHOTS: pg.screenshot(path=str(SHOTS/SCREENSHOTS[name]), full_page=True)
            if name=='index.html': r['search'] = _search(pg, 'LRCurve')
            res[name] = r
            pg.close()
        br.close()
    return res

def _search(pg, q):
    "The links the search box of the page offers for `q`"
    box = pg.locator('input[type=search], .smalldocs-search input, #quarto-search input').first
    box.fill(q)
    try: pg.wait_for_selector('a.search-result, .aa-Item a', timeout=5000)
    except Exception: return []
    return pg.eval_on_selector_all('a.search-result, .aa-Item a', 'els => els.map(a => a.href)')

def _console(m, r, server):
    "Keep a console error, but not the one Chromium logs for a request to outside the site that the test blocked"
    if m.type!='error': return
    url = (m.location or {}).get('url', '')
    if m.text.startswith('Failed to load resource') and url and not url.startswith(server): return
    r['errors'].append(f'console: {m.text}' + (f' ({url})' if url else ''))

def _fmt(bad): return '\n'.join(f'  {k}: {v}' for k,v in bad.items())

def test_every_page_loads(visits):
    bad = {k: f"HTTP {v['status']}" for k,v in visits.items() if not v['status'] or v['status']>=400}
    bad.update({k: ', '.join(v['bad_responses']) for k,v in visits.items() if v['bad_responses']})
    assert not bad, 'pages or their files that did not load:\n' + _fmt(bad)

def test_no_javascript_errors(visits):
    bad = {k: '; '.join(v['errors']) for k,v in visits.items() if v['errors']}
    assert not bad, 'JavaScript errors:\n' + _fmt(bad)

# The Bootswatch theme (cosmo, as Quarto's) asks Google for its web font; without it the page falls back to the
# system's sans-serif. Nothing else may come from outside: a picture on a page must be a notebook's output.
WEB_FONTS = ('fonts.googleapis.com', 'fonts.gstatic.com')

def test_nothing_fetched_from_outside(visits):
    bad = {k: ', '.join(u for u in v['outside'] if urlsplit(u).hostname not in WEB_FONTS) for k,v in visits.items()}
    bad = {k:v for k,v in bad.items() if v}
    assert not bad, 'pages that fetch from outside the site (the test blocks it: the site must work offline):\n' + _fmt(bad)

def test_images_decode(visits):
    bad = {k: ', '.join(v['bad_imgs']) for k,v in visits.items() if v['bad_imgs']}
    assert not bad, 'pictures that did not decode (naturalWidth 0):\n' + _fmt(bad)
    assert sum(v['n_imgs'] for v in visits.values()), 'no page of the site shows a picture'

@functools.lru_cache(maxsize=None)
def _status(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as r: return r.status
    except urllib.error.HTTPError as e: return e.code

def test_internal_links_resolve(visits, server):
    "Every link to a file of the site is served, and every #anchor it names exists on its page"
    bad = {}
    for name,v in visits.items():
        for href in sorted(set(v['links'])):
            if not href.startswith(server): continue
            url,frag = urldefrag(href)
            path = urlsplit(url).path[1:] or 'index.html'
            if path.endswith('/'): path += 'index.html'
            if (st := _status(url)) >= 400: bad.setdefault(name, []).append(f'{href} (HTTP {st})')
            elif frag and path.endswith('.html') and path in visits and frag not in visits[path]['ids']:
                bad.setdefault(name, []).append(f'{href} (no #{frag} on {path})')
    assert not bad, 'broken links:\n' + _fmt({k: ', '.join(v) for k,v in bad.items()})

def _modules():
    """(module, its source, its page) for each module of the package: the page is named after the notebook the module
    is exported from (its first lines say which), as nbdev names it (00_curve.ipynb: curve.html, 08a_probes.ipynb: probes.html)"""
    from nbdev.config import nbpath2html
    res = []
    for src in sorted((ROOT/'lrfind_ext').glob('*.py')):
        if src.name.startswith('_') and src.name!='__init__.py': continue
        m = re.search(r'File to edit: \S*?([^/\s]+)\.ipynb', src.read_text()[:2000])
        if not m: continue
        mod = 'lrfind_ext' if src.name=='__init__.py' else f'lrfind_ext.{src.stem}'
        res.append((mod, src, nbpath2html(m.group(1) + '.ipynb').name))
    return res

def _documented():
    """(module, name, page) of every public symbol nbdev gives a `show_doc` block: the functions and classes a
    module defines and exports (its `__all__`), and the public methods it patches onto classes"""
    res = []
    for mod,src,page in _modules():
        names = set(getattr(importlib.import_module(mod), '__all__', []))
        for node in ast.parse(src.read_text()).body:
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)): continue
            deco = [ast.unparse(x) for x in getattr(node, 'decorator_list', [])]
            if any(x.startswith('patch') for x in deco) and node.args.args and node.args.args[0].annotation is not None:
                if node.name.startswith('_'): continue
                res.append((mod, f'{ast.unparse(node.args.args[0].annotation)}.{node.name}', page))
            elif node.name in names: res.append((mod, node.name, page))
    return res

def _defined_values():
    "(module, name, page) of the names in a module's `__all__` that its source assigns rather than defines"
    res = []
    for mod,src,page in _modules():
        names = set(getattr(importlib.import_module(mod), '__all__', []))
        for node in ast.parse(src.read_text()).body:
            if isinstance(node, (ast.Assign, ast.AnnAssign)):
                for t in (node.targets if isinstance(node, ast.Assign) else [node.target]):
                    for n in ast.walk(t):
                        if isinstance(n, ast.Name) and n.id in names and n.id!='__all__': res.append((mod, n.id, page))
    return res

def test_every_public_symbol_documented(visits):
    "Each public function, class and patched method shows its name, signature and doc on its module's page"
    syms,bad = _documented(),[]
    assert len(syms) > 10, syms
    for mod,nm,page in syms:
        if page not in visits: bad.append(f'{mod}.{nm}: its page {page} is not in the site'); continue
        blk = next((o for o in visits[page]['docs'] if o['name']==nm), None) # show_doc's heading is the name
        if blk is None: bad.append(f'{mod}.{nm}: no show_doc block for it on {page}'); continue
        if nm.split('.')[-1] not in blk['sig']: bad.append(f'{mod}.{nm}: no signature on {page}#{blk["id"]}')
        if not blk['doc']: bad.append(f'{mod}.{nm}: no doc on {page}#{blk["id"]}')
    assert not bad, 'public symbols missing from the docs:\n  ' + '\n  '.join(bad)

def test_every_public_value_mentioned(visits):
    "A public name that is a value, not a function or class (so has no show_doc), is at least named in the docs"
    text = '\n'.join(v['text'] for v in visits.values())
    bad = [f'{mod}.{nm} (page {page})' for mod,nm,page in _defined_values() if nm not in text]
    assert not bad, "public names the docs never mention:\n  " + '\n  '.join(bad)

def test_sidebar_lists_every_page(visits, server):
    "The sidebar of the home page links to every page of the site, and to nothing else of it"
    side = {urlsplit(urldefrag(h)[0]).path[1:] or 'index.html' for h in visits['index.html']['sidebar'] if h.startswith(server)}
    assert set(visits) - {'404.html'} <= side, f'pages missing from the sidebar: {sorted(set(visits)-side)}'
    assert side <= set(visits), f'sidebar entries that are not pages: {sorted(side-set(visits))}'

def test_search_finds_a_class(visits, server):
    "Typing a class's name into the search box of the home page offers its page, and the result's link works"
    hits = visits['index.html'].get('search') or []
    assert any(urlsplit(h).path.endswith('/curve.html') for h in hits), f'searching LRCurve offered {hits}'
    assert all(_status(urldefrag(h)[0])<400 for h in hits if h.startswith(server))

def test_home_and_plot_pages(visits, capsys):
    "The two pages users see first exist, show a plot, and were photographed"
    for name,shot in SCREENSHOTS.items():
        assert name in visits, f'{name} is not in the site'
        assert (SHOTS/shot).stat().st_size > 10_000, f'{shot} looks empty'
    assert visits['index.html']['n_imgs'] >= 1, 'the home page shows no plot'
    with capsys.disabled(): print(f"\n  docs screenshots: {', '.join(str(SHOTS/s) for s in SCREENSHOTS.values())}")
