"Every notebook under nbs/ through nbdev's own tester (one pytest test each), and the library in step with them."
import os, shutil, subprocess, sys, tempfile
from pathlib import Path
import pytest
from nbdev.config import get_config
from nbdev.test import test_nb as run_nb_tests

ROOT = Path(__file__).resolve().parents[1]
# the exercise notebooks run in tests/test_exercises.py instead: nbgrader autogrades their reference solutions (every
# checker must pass, no cell may fail) and the student version must run unfilled
NBS = sorted(p for p in (ROOT/'nbs').rglob('*.ipynb') if '.ipynb_checkpoints' not in p.parts and p.parent.name != 'exercises')
# cells flagged with these tst_flags run only when HISTOGAN_TEST_FLAGS names them (e.g. "slow")
SKIP = [f for f in get_config().tst_flags.split() if f not in os.environ.get('HISTOGAN_TEST_FLAGS', '').split()]

@pytest.mark.parametrize('nb', NBS, ids=[str(p.relative_to(ROOT/'nbs')) for p in NBS])
def test_notebook(nb):
    ok, secs = run_nb_tests(nb, skip_flags=SKIP, showerr=True)
    assert ok, f'{nb.name} failed (see the traceback above)'

def test_library_in_step_with_notebooks():
    "nbdev_export on a copy of the repo must not change histogan_nb/."
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)/'repo'
        shutil.copytree(ROOT, tmp, ignore=shutil.ignore_patterns('.venv', '.git', 'data', 'runs', '__pycache__', '*.egg-info'))
        subprocess.run([sys.executable, '-c', 'from nbdev.doclinks import nbdev_export; nbdev_export()'],
                       cwd=tmp, check=True, capture_output=True)
        changed = [p.name for p in sorted((tmp/'histogan_nb').glob('*.py'))
                   if not (ROOT/'histogan_nb'/p.name).exists() or (ROOT/'histogan_nb'/p.name).read_text() != p.read_text()]
        assert not changed, f'histogan_nb/ is out of step with nbs/ for {changed}: run nbdev_export and commit'

def test_module_docstrings_are_whole_sentences():
    "Each module's docstring is its notebook's one-line description: a whole sentence, not a line cut mid-way."
    import ast
    cut = [p.name for p in sorted((ROOT/'histogan_nb').glob('*.py'))
           if (doc := ast.get_docstring(ast.parse(p.read_text()))) is not None and not doc.rstrip().endswith(('.', '!', '?'))]
    assert not cut, f'module docstrings cut mid-sentence (join the "> " lines of the notebook\'s title cell): {cut}'

def notebook_imports() -> dict:
    "For each numbered notebook: its module (`default_exp`) and the kit modules its code cells import."
    import json, re
    out = {}
    for nb in sorted((ROOT/'nbs').glob('[0-9]*.ipynb')):
        code = '\n'.join(''.join(c['source']) for c in json.loads(nb.read_text())['cells'] if c['cell_type'] == 'code')
        mod = re.search(r'#\|\s*default_exp\s+(\w+)', code)
        out[nb.stem] = (mod and mod[1], set(re.findall(r'histogan_nb\.(\w+)', code)) - {'_modidx'})
    return out

def test_notebooks_import_only_lower_numbers():
    "Reading in order never needs a later notebook: each numbered notebook imports only the modules of lower-numbered ones."
    nbs = notebook_imports()
    home = {mod: stem for stem, (mod, _) in nbs.items() if mod}
    later = [f'{stem} imports {m} ({home[m]})' for stem, (_, used) in nbs.items() for m in sorted(used)
             if m in home and home[m] >= stem and home[m] != stem]
    assert not later, f'notebooks that import a later one: {later}'
    assert len(set(s.split("_")[0] for s in nbs)) == len(nbs), 'two notebooks share a number'

ROOT_FILES = {'.ci', '.gitignore', 'Makefile', 'README.md', 'bench', 'data', 'figures', 'histogan_nb', 'nbs',
              'pyproject.toml', 'settings.ini', 'setup.py', 'tests'}

def test_repository_root_holds_only_known_files():
    "Nothing stray at the top of the checkout (such as the output of a shell redirect)."
    r = subprocess.run(['git', 'ls-files'], cwd=ROOT, capture_output=True, text=True)
    if r.returncode: pytest.skip('not a git checkout: the tracked files are unknown')
    top = {f.split('/')[0] for f in r.stdout.splitlines()} - {f.split('/')[0] for f in _deleted()}
    assert top <= ROOT_FILES, f"files at the repository root outside the allowed list: {sorted(top - ROOT_FILES)}"

def _deleted():
    r = subprocess.run(['git', 'ls-files', '--deleted'], cwd=ROOT, capture_output=True, text=True)
    return r.stdout.splitlines()
