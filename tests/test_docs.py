"Notebooks open ready (kernel recorded, papermill needs no -k/-l), and the docs site renders in headless Chromium."
import json, os, subprocess, sys, warnings
from pathlib import Path
import pytest
from histogan_nb.docs import build_site
from browser import browser, serve, screenshot_dir

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
NOTEBOOKS = sorted(p for p in (ROOT/'nbs').rglob('*.ipynb') if '.ipynb_checkpoints' not in p.parts)
SHOWN = ['index', '03_class_projection', '07_losses', 'repro-fig3']

@pytest.mark.parametrize('nb', NOTEBOOKS, ids=[str(p.relative_to(ROOT/'nbs')) for p in NOTEBOOKS])
def test_notebook_records_kernel_and_language(nb):
    meta = json.loads(nb.read_text())['metadata']
    assert meta.get('kernelspec', {}).get('name') == 'python3', f'{nb.name}: no kernelspec'
    assert meta.get('language_info', {}).get('name') == 'python', f'{nb.name}: no language_info'

# the notebooks the README runs with `papermill -p`: the studies and the reproduction's four
PAPERMILL_RUN = [p for p in NOTEBOOKS if p.name.startswith('17') or p.parent.name == 'repro']

@pytest.mark.parametrize('nb', PAPERMILL_RUN, ids=[str(p.relative_to(ROOT/'nbs')) for p in PAPERMILL_RUN])
def test_papermill_parameters_cell_is_tagged(nb):
    "Without a cell tagged `parameters`, papermill puts the -p values first and the notebook's defaults overwrite them."
    cells = json.loads(nb.read_text())['cells']
    tagged = [c for c in cells if 'parameters' in c.get('metadata', {}).get('tags', [])]
    assert len(tagged) == 1, f"{nb.name}: {len(tagged)} cells tagged 'parameters' (want 1)"

@pytest.mark.parametrize('nb', PAPERMILL_RUN, ids=[str(p.relative_to(ROOT/'nbs')) for p in PAPERMILL_RUN])
def test_papermill_infers_every_parameter(nb):
    "`papermill --help-notebook` lists each parameter: a line it cannot parse (an `=` in its comment) goes missing."
    import ast
    from papermill.translators import PythonTranslator
    cell = next(c for c in json.loads(nb.read_text())['cells']
                if 'parameters' in c.get('metadata', {}).get('tags', []))
    src = ''.join(cell['source'])
    names = [t.id for n in ast.parse(src).body if isinstance(n, ast.Assign) for t in n.targets]
    assert names, f"{nb.name}: the parameters cell assigns nothing"
    got = [p.name for p in PythonTranslator.inspect(dict(source=src))]
    assert got == names, f"{nb.name}: papermill infers {got}, the cell assigns {names}"

def test_papermill_help_notebook_needs_no_flags():
    "One notebook is enough: the test above checks that every notebook records the same kernel and language."
    r = subprocess.run([str(BIN/'papermill'), '--help-notebook', str(ROOT/'nbs'/'repro'/'table2.ipynb')],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and 'preset_name' in r.stdout and 'seeds' in r.stdout, r.stdout + r.stderr

@pytest.mark.parametrize('nb', NOTEBOOKS, ids=[str(p.relative_to(ROOT/'nbs')) for p in NOTEBOOKS])
def test_no_cell_mixes_imports_and_code(nb):
    "nbdev's docs rule: a non-export cell with an import is run on its own, so any other code in it fails there."
    from nbdev.process import NBProcessor
    from nbdev.processors import _do_eval
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        NBProcessor(nb, procs=[lambda cell: _do_eval(cell) and None]).process()
    mixed = [str(x.message).split('---')[1].strip()[:80] for x in w if 'imports and other code' in str(x.message)]
    assert not mixed, f'{nb.name}: split the imports into their own cell: {mixed}'

@pytest.fixture(scope='module')
def repro_out(tmp_path_factory):
    "Fig. 3 executed by the papermill command line with no -k/-l, as the README shows."
    out = tmp_path_factory.mktemp('repro')
    r = subprocess.run([str(BIN/'papermill'), str(ROOT/'nbs'/'repro'/'fig3.ipynb'), str(out/'fig3.ipynb'),
                        '-p', 'preset_name', 'smoke', '-p', 'out', str(out), '--no-progress-bar'],
                       capture_output=True, text=True, timeout=600,
                       env={k: v for k, v in os.environ.items() if k != 'MPLBACKEND'})   # a shell's environment: figures inline
    assert r.returncode == 0, r.stderr[-3000:]
    return out

def test_papermill_runs_a_notebook_with_no_kernel_flags(repro_out):
    nb = json.loads((repro_out/'fig3.ipynb').read_text())
    assert (repro_out/'fig3.png').exists()
    assert not [o for c in nb['cells'] for o in c.get('outputs', []) if o['output_type'] == 'error']

def test_docs_site_in_chromium(tmp_path, repro_out):
    site = tmp_path/'site'
    build_site(site, pages=SHOWN[1:], repro_out=repro_out, progress=False)
    shots, outside = screenshot_dir(tmp_path), []
    with serve(site) as url, browser() as b:
        page = b.new_page(viewport={'width': 1280, 'height': 900})
        page.on('request', lambda r: outside.append(r.url) if not r.url.startswith(url) and not r.url.startswith('data:') else None)
        for name in SHOWN:
            page.goto(f'{url}/{name}.html')
            page.wait_for_function('() => window.MathJax && MathJax.startup && MathJax.startup.promise', timeout=30000)
            page.evaluate('() => MathJax.startup.promise')   # typesetting done
            seen = page.evaluate("""() => ({
                math: document.querySelectorAll('mjx-container').length,
                errors: document.querySelectorAll('mjx-merror').length,
                rawTex: [...document.querySelectorAll('.jp-RenderedMarkdown')].some(e => /\\$\\$|\\\\frac|\\\\mathcal/.test(e.innerText)),
                images: [...document.images].map(i => i.complete && i.naturalWidth > 0),
                nav: document.querySelectorAll('nav.site-nav a').length,
                cut: [...document.querySelectorAll('.jp-InputArea-editor pre, .jp-OutputArea-output pre')].filter(e =>
                       e.scrollWidth > e.clientWidth + 1 &&
                       ![e, e.parentElement].some(x => ['auto', 'scroll'].includes(getComputedStyle(x).overflowX))).length,
                docMath: [...document.querySelectorAll('.jp-RenderedMarkdown li')].filter(e =>
                           e.innerText.startsWith('interpolate') && e.querySelector('mjx-container')).length})""")
            page.screenshot(path=str(shots/f'{name}.png'))
            assert seen['math'] > 0 and seen['errors'] == 0 and not seen['rawTex'], (name, seen)
            assert seen['images'] and all(seen['images']), (name, seen['images'])
            assert seen['nav'] == len(SHOWN), (name, seen['nav'])
            assert seen['cut'] == 0, (name, 'code cut off at the right edge', seen['cut'])
            if name == '07_losses': assert seen['docMath'] == 1, (name, 'docstring LaTeX not typeset')
    assert not outside, f'the site fetched from outside: {outside[:3]}'
