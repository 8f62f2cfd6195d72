"""The notebooks' own tests: nbdev's test of each page of nbs/ (its cells but the `#| slow` ones; all with --runslow),
one result per page, each page in a process of its own (tests/lrf_pages.py). The tutorial pages are run once, by
tests/test_tutorials.py, which runs their tests too."""
import pytest
from lrf_pages import pages,forked,nbdev_test
from test_tutorials import tutorials

@pytest.mark.parametrize('nb', sorted(set(pages())-set(tutorials())), ids=lambda p: p.stem)
def test_notebook(nb, request):
    ok,out = forked(nbdev_test, nb, request.config.getoption('--runslow'))
    assert ok, f'{nb.name}: its tests failed:\n{out}'
