"""A fresh Python interpreter for the export checks, importing TensorFlow and numpy only, as a
serving process would.

It runs the checks' scripts one after the other, so a retrieval run's two checks (the
SavedModel's scores and the top-K index) pay TensorFlow's import, about 4 s, once. It is
started when it is created, so that import overlaps whatever the caller does next (tracing the
export). It runs in a scratch folder, which it removes when closed.
"""
import json
import subprocess
import sys
import tempfile

# Reads one JSON request per line and answers one JSON line each. While a script runs its
# prints go to stderr, so they cannot break the replies.
_DRIVER = r"""
import json, sys, traceback
replies = sys.stdout
for line in sys.stdin:
    request = json.loads(line)
    sys.argv = [request["name"]] + request["args"]
    sys.stdout = sys.stderr
    try:
        exec(compile(request["script"], request["name"], "exec"), {"__name__": "__main__"})
        reply = {"ok": True}
    except BaseException:
        reply = {"ok": False, "error": traceback.format_exc()}
    sys.stdout = replies
    print(json.dumps(reply), flush=True)
"""


class FreshProcess:
    """with FreshProcess() as process: process.run(name, script, *args) runs `script` there
    with sys.argv[1:] = args, and raises RuntimeError with its traceback if it fails."""

    def __init__(self):
        self._folder = tempfile.TemporaryDirectory(prefix="garden-fresh-")
        self._stderr = tempfile.TemporaryFile(mode="w+")
        self._process = subprocess.Popen(
            [sys.executable, "-c", _DRIVER], cwd=self._folder.name, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self._stderr, text=True)

    def run(self, name, script, *args):
        try:
            self._process.stdin.write(json.dumps({"name": name, "script": script,
                                                  "args": [str(a) for a in args]}) + "\n")
            self._process.stdin.flush()
            line = self._process.stdout.readline()
        except BrokenPipeError:
            line = ""
        if not line:
            self._stderr.seek(0)
            raise RuntimeError(f"{name}: the fresh process exited with status "
                               f"{self._process.wait()}:\n{self._stderr.read()[-3000:]}")
        reply = json.loads(line)
        if not reply["ok"]:
            raise RuntimeError(f"{name} in a fresh process failed:\n{reply['error'][-3000:]}")

    def close(self):
        if self._process.poll() is None:
            self._process.stdin.close()
            try:
                self._process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._stderr.close()
        self._folder.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
