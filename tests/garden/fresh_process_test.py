"""The export checks' fresh interpreter: scripts run in turn in one process, failures name the
script and carry its traceback, and a process that dies says so."""
import os

import pytest

from garden.fresh_process import FreshProcess


def test_scripts_run_in_turn_in_one_process_with_their_arguments(tmp_path):
    out = tmp_path / "out.txt"
    with FreshProcess() as process:
        process.run("first", "import os, sys; sys.shared = os.getpid(); print('noise')")
        process.run("second", "import os, sys\nassert sys.shared == os.getpid()\n"
                              "open(sys.argv[1], 'w').write(sys.argv[0] + ' ' + sys.argv[2])",
                    out, 7)
        folder = process._folder.name
    assert out.read_text() == "second 7"
    assert not os.path.exists(folder)  # the scratch folder goes with the process


def test_a_failing_script_names_itself_and_the_process_goes_on():
    with FreshProcess() as process:
        with pytest.raises(RuntimeError, match=r"(?s)scoring x in a fresh process failed.*"
                                               r"ZeroDivisionError"):
            process.run("scoring x", "1 / 0")
        process.run("after", "pass")


def test_a_process_that_dies_says_so():
    with FreshProcess() as process:
        with pytest.raises(RuntimeError, match=r"(?s)the fresh process exited with status 3.*"
                                               r"dying now"):
            process.run("killer", "import os, sys; sys.stderr.write('dying now'); "
                                  "sys.stderr.flush(); os._exit(3)")
