"""The ffbp playground command: its start-up errors in one line, the message without the
extra, the web stack left unimported, and a real run served until Ctrl-C."""

from __future__ import annotations

import subprocess
import sys
import time

from conftest import require

require("starlette", "the playground's server is a Starlette app")
require("httpx", "the served page is fetched with httpx")


def one_line(text):
    assert text and "\n" not in text and "Traceback" not in text, text
    return text


def run_cli(argv, capsys):
    from ffbp.cli import main

    code = main(argv)
    return code, capsys.readouterr().err.strip()


def test_command_errors_are_one_line(tmp_path, capsys):
    code, err = run_cli(["playground", "--no-browser", "--data", str(tmp_path / "no.csv")],
                        capsys)
    assert code == 1 and "no such file" in one_line(err)
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\nx,y\n")
    code, err = run_cli(["playground", "--no-browser", "--data", str(bad)], capsys)
    assert code != 0 and err.startswith("ffbp: error:") and "bad.csv" in one_line(err)
    code, err = run_cli(["playground", "--no-browser", "--target", "y"], capsys)
    assert code == 2 and "--data" in one_line(err)
    code, err = run_cli(["playground", "--port", "http"], capsys)
    assert code == 2 and "port" in one_line(err)


def test_a_busy_port_is_one_line(capsys):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, err = run_cli(["playground", "--no-browser", "--port", str(port)], capsys)
    assert code == 1 and f"127.0.0.1:{port}" in one_line(err)


def test_without_the_extra_the_message_names_it(tmp_path):
    code = ("import sys\nsys.modules['starlette'] = None\nfrom ffbp.cli import main\n"
            "sys.exit(main(['playground', '--no-browser']))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=tmp_path, timeout=60)
    assert done.returncode == 2
    assert 'pip install "ffbp[playground]"' in one_line(done.stderr.strip())


def test_importing_the_package_leaves_the_web_stack_alone(tmp_path):
    code = ("import sys, ffbp.playground, ffbp.cli\n"
            "print(any(m in sys.modules for m in ('starlette', 'uvicorn')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=tmp_path, timeout=60)
    assert done.stdout.strip() == "False", done.stderr


def test_the_command_serves_the_page_until_ctrl_c(tmp_path):
    """ffbp playground end to end: the address line, the page, and Ctrl-C as a clean stop."""
    import signal
    import socket

    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "ffbp", "playground", "--no-browser",
                               "--port", str(port)], cwd=tmp_path, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert server.stdout.readline().strip() == \
            f"ffbp playground: http://127.0.0.1:{port}/  (Ctrl-C to stop)"
        page = None
        for _ in range(200):
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        assert page is not None and page.status_code == 200
        assert 'data-testid="play"' in page.text
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=20) == 0
        assert server.stderr.read() == ""
    finally:
        if server.poll() is None:
            server.kill()
