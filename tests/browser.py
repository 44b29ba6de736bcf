"Headless Chromium for the browser tests: the system browser (Debian's `chromium`) driven by Playwright."
import contextlib, functools, http.server, os, shutil, socket, socketserver, threading
from pathlib import Path

def chromium_path() -> str:
    "The system Chromium; a clear failure when it is missing (`.ci/run` installs it with apt)."
    for name in (os.environ.get('HISTOGAN_CHROMIUM'), 'chromium', 'chromium-browser', 'google-chrome'):
        if name and shutil.which(name): return shutil.which(name)
    raise RuntimeError('the browser tests need Chromium: apt-get install chromium (or set HISTOGAN_CHROMIUM to its path)')

@contextlib.contextmanager
def browser():
    "A headless Chromium page factory, closed on exit."
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=['--no-sandbox', '--disable-gpu'])
        try: yield b
        finally: b.close()

def free_port() -> int:
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

@contextlib.contextmanager
def serve(folder: Path):
    "Serve `folder` over HTTP on 127.0.0.1 (a free port); yield the base URL."
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a): pass
    srv = socketserver.ThreadingTCPServer(('127.0.0.1', 0), functools.partial(Quiet, directory=str(folder)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try: yield f'http://127.0.0.1:{srv.server_address[1]}'
    finally: srv.shutdown(); srv.server_close()

def screenshot_dir(tmp_path: Path) -> Path:
    "Where screenshots go: $HISTOGAN_SCREENSHOTS if set (to keep them), else the test's temporary folder."
    d = Path(os.environ.get('HISTOGAN_SCREENSHOTS') or tmp_path/'screenshots'); d.mkdir(parents=True, exist_ok=True)
    return d
