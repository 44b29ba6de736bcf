"JupyterLab for real: the server on 127.0.0.1, `03_class_projection` opened and run through the UI in headless Chromium."
import json, os, re, secrets, shutil, subprocess, sys, time, urllib.request
from pathlib import Path
import pytest
from browser import browser, free_port, screenshot_dir

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
NB = '03_class_projection.ipynb'

@pytest.fixture
def lab(tmp_path):
    "A JupyterLab server with its own settings and workspaces, serving a folder with a copy of the notebook."
    work = tmp_path/'work'; work.mkdir()
    shutil.copy(ROOT/'nbs'/NB, work/NB)
    raw = json.loads((work/NB).read_text()); raw['metadata'] = {}
    (work/'no_kernel.ipynb').write_text(json.dumps(raw))   # the control: what a notebook without its kernel does
    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(tmp_path/'settings'), JUPYTERLAB_WORKSPACES_DIR=str(tmp_path/'ws'),
               JUPYTER_RUNTIME_DIR=str(tmp_path/'runtime'), MPLBACKEND='module://matplotlib_inline.backend_inline')
    log = open(tmp_path/'lab.log', 'w')
    proc = subprocess.Popen([str(BIN/'jupyter'), 'lab', '--no-browser', '--ServerApp.ip=127.0.0.1', f'--ServerApp.port={port}',
                             '--ServerApp.port_retries=0', f'--IdentityProvider.token={token}', f'--ServerApp.root_dir={work}',
                             '--LabApp.news_url=', '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate']
                            + (['--allow-root'] if os.geteuid() == 0 else []),   # CI containers run as root
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f'http://127.0.0.1:{port}'
    try:
        for _ in range(120):
            if proc.poll() is not None: break
            try: urllib.request.urlopen(f'{url}/api/status?token={token}', timeout=2); break
            except OSError: time.sleep(0.5)
        else: raise RuntimeError('jupyter lab did not start: ' + (tmp_path/'lab.log').read_text()[-2000:])
        yield url, token, work
    finally:
        proc.terminate(); proc.wait(30); log.close()

def _kernel_idle(page, timeout=60000):
    page.wait_for_selector('.jp-Notebook-ExecutionIndicator[data-status="idle"]', timeout=timeout)

def test_jupyterlab_runs_class_projection(lab, tmp_path):
    url, token, work = lab
    with browser() as b:
        page = b.new_page(viewport={'width': 1400, 'height': 1000})
        page.goto(f'{url}/lab/tree/{NB}?token={token}')
        page.wait_for_selector('.jp-NotebookPanel .jp-Cell', timeout=60000)
        _kernel_idle(page)
        assert page.locator('.jp-Dialog').count() == 0, 'JupyterLab asked for a kernel'
        page.locator('.jp-NotebookPanel .jp-Cell').first.click()          # the notebook is the current widget
        page.locator('.lm-MenuBar-itemLabel', has_text='Run').first.click()
        item = page.locator('.lm-Menu-item:not(.lm-mod-disabled) .lm-Menu-itemLabel', has_text=re.compile('^Run All Cells$'))
        item.wait_for(timeout=30000); item.click()
        n_code = sum(c['cell_type'] == 'code' for c in json.loads((work/NB).read_text())['cells'])
        done = f"""() => [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
                        .filter(p => /^\\[\\d+\\]:$/.test(p.textContent.trim())).length"""
        try:
            page.wait_for_function(f'{done} > 0', timeout=180000)   # the run started (a kernel importing torch on a busy machine)
            page.wait_for_function(f'{done} === {n_code}', timeout=240000)   # and reached the last cell
        except Exception:
            page.screenshot(path=str(tmp_path/'failed.png')); raise AssertionError(f'run all did not finish: see {tmp_path/"failed.png"}')
        _kernel_idle(page)
        page.keyboard.press('Control+s')
        page.wait_for_function("() => !document.querySelector('.jp-mod-dirty')", timeout=30000)
        page.screenshot(path=str(screenshot_dir(tmp_path)/'jupyterlab-03_class_projection.png'))
        # the control, in a fresh workspace: without a recorded kernel JupyterLab asks which one
        page.goto(f'{url}/lab/workspaces/control/tree/no_kernel.ipynb?token={token}')
        page.wait_for_selector('.jp-Dialog', timeout=60000)
    saved = json.loads((work/NB).read_text())
    code = [c for c in saved['cells'] if c['cell_type'] == 'code']
    assert all(c['execution_count'] for c in code), 'some cells did not run'
    errors = [o for c in code for o in c['outputs'] if o['output_type'] == 'error']
    assert not errors, errors[0]
    assert any('image/png' in o.get('data', {}) for c in code for o in c['outputs']), 'the figure did not render'

def test_progress_bars_render_as_widgets():
    "With ipywidgets installed, the kit's tqdm.auto bars are widgets in a kernel, not a `TqdmWarning: IProgress not found`."
    import nbformat
    from nbclient import NotebookClient
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('from histogan_nb.run import tqdm\nfor _ in tqdm(range(3)): pass')])
    nb.metadata['kernelspec'] = {'name': 'python3', 'display_name': 'python3', 'language': 'python'}
    NotebookClient(nb, timeout=120).execute()
    outs = nb.cells[0].outputs
    assert not [o for o in outs if 'IProgress' in str(o.get('text', ''))], outs
    assert any('application/vnd.jupyter.widget-view+json' in o.get('data', {}) for o in outs), outs
