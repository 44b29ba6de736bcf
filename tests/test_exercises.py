"The student version of the exercise notebooks: written without solutions, it runs top to bottom and reports, not crashes."
import json
from pathlib import Path
import pytest
from execnb.nbio import read_nb
from execnb.shell import CaptureShell
from histogan_nb.exercises import write_student_version, BEGIN, END, NOT_IMPLEMENTED, ANSWER_PLACEHOLDER

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = sorted((ROOT/'nbs'/'exercises').glob('*.ipynb'))

def _text(nb) -> str:
    "All the text a notebook's cells printed or displayed."
    out = []
    for c in nb.cells:
        for o in c.get('outputs', []):
            if o.get('output_type') == 'stream': out.append(''.join(o['text']) if isinstance(o['text'], list) else o['text'])
            elif 'data' in o and 'text/plain' in o['data']:
                t = o['data']['text/plain']; out.append(''.join(t) if isinstance(t, list) else t)
    return '\n'.join(out)

@pytest.fixture(scope='module')
def student_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp('student')
    written = write_student_version(ROOT/'nbs'/'exercises', d)
    assert [p.name for p in written] == [p.name for p in EXERCISES]
    return d

def test_at_least_six_exercises_plus_experiment():
    assert len(EXERCISES) >= 7

@pytest.mark.parametrize('src', EXERCISES, ids=[p.stem for p in EXERCISES])
def test_student_version_runs_and_reports(src, student_dir):
    dst = student_dir/src.name
    raw = dst.read_text()
    assert BEGIN not in raw and END not in raw, 'solution markers left in the student version'
    assert 'instructor' not in json.dumps([c.get('metadata', {}) for c in json.loads(raw)['cells']])
    nb = read_nb(dst)
    sh = CaptureShell(path=ROOT)
    sh.run_all(nb, exc_stop=True)  # raises if any cell of the unfilled student version crashes
    text = _text(nb)
    assert NOT_IMPLEMENTED in text, f'{src.name}: no checker reported "{NOT_IMPLEMENTED}"'
    assert '❌' in text and '✅' not in text, f'{src.name}: unfilled stubs must give ❌ lines only'
    assert ANSWER_PLACEHOLDER in raw or 'Think about it' not in src.read_text()

def test_solution_version_passes_every_checker():
    "The instructor version (with solutions) gives ✅ lines only."
    nb = read_nb(EXERCISES[0])
    for src in EXERCISES:
        nb = read_nb(src)
        CaptureShell(path=ROOT).run_all(nb, exc_stop=True)
        text = _text(nb)
        assert '✅' in text and '❌' not in text, f'{src.name}: {text[:500]}'
