"What a reader sees says nothing of the machine that made it or of how the kit was built: README, tables, notebook prose."
import json, re
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
ABSOLUTE = re.compile(r'(?<![\w.~])/(?:work|home|root|Users|mnt|scratch)/[\w.-]+')   # /tmp/x in an example is fine
STALE = ('SPEC §', 'SPEC.md', 'lent', 'this stop', 'another change', 'the session', 'this session',
         'closing note', 'farm-')
NOT_STALE = re.compile(r'\b(?:silent|excellent|relent|relentless|violent|talent)\w*', re.I)

def texts():
    "(name, text) of the README, every Markdown table in figures/, and the prose cells of every notebook."
    yield 'README.md', (ROOT/'README.md').read_text()
    for f in sorted((ROOT/'figures').rglob('*.md')): yield str(f.relative_to(ROOT)), f.read_text()
    for f in sorted((ROOT/'nbs').rglob('*.ipynb')):
        if '.ipynb_checkpoints' in f.parts: continue
        cells = json.loads(f.read_text())['cells']
        yield str(f.relative_to(ROOT)), '\n'.join(''.join(c['source']) for c in cells if c['cell_type'] == 'markdown')

def stale_phrases(text: str) -> list:
    "The known phrases of a build log found in `text` (whole words; 'silent' is not 'lent')."
    text = NOT_STALE.sub('', text)
    end = lambda p: r'(?!\w)' if p[-1].isalnum() else ''
    return [p for p in STALE if re.search(rf'(?<![\w-]){re.escape(p)}{end(p)}', text, re.I)]

def test_the_checks_catch_what_they_should():
    assert ABSOLUTE.search('data /work/shared/data/pcam') and ABSOLUTE.search('(/home/ana/pcam)')
    assert not ABSOLUTE.search('../shared/data/pcam-jpeg-subset, runs/tmp/x, https://x.org/home/a, --out /tmp/site')
    assert stale_phrases('no GPU was lent to this task; see SPEC §3') == ['SPEC §', 'lent']
    assert stale_phrases('fails silently; an excellent message; a relentless test') == []

@pytest.mark.parametrize('name,text', list(texts()), ids=[n for n, _ in texts()])
def test_no_machine_paths_or_build_log_words(name, text):
    assert not ABSOLUTE.findall(text), (name, ABSOLUTE.findall(text)[:3])
    assert not stale_phrases(text), (name, stale_phrases(text))

SEPARATOR = re.compile(r'\|?(?:\s*:?-{3,}:?\s*\|)+\s*:?-*:?\s*')

def repeated_rows(text: str) -> list:
    "Body rows of Markdown tables that occur more than once in `text` (headers and separators may repeat)."
    lines = text.split('\n')
    body = [l for i, l in enumerate(lines) if l.startswith('|') and not SEPARATOR.fullmatch(l)
            and not (i + 1 < len(lines) and SEPARATOR.fullmatch(lines[i + 1]))]
    return sorted({l for l in body if body.count(l) > 1})

def test_repeated_rows_are_found():
    t = '| a | b |\n|---|---:|\n| 1 | 2 |\n\n| a | b |\n|---|---|\n| 3 | 4 |\n'
    assert repeated_rows(t) == []                                   # the same header twice is fine
    assert repeated_rows(t + 'X| 1 | 2 |\n| 1 | 2 |\n') == ['| 1 | 2 |']

def test_readme_repeats_no_table_row():
    "A row pasted twice (a table filled in from the wrong source) shows as a repeat."
    assert not repeated_rows((ROOT/'README.md').read_text()), repeated_rows((ROOT/'README.md').read_text())[:3]
