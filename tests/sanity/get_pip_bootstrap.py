"""Stand-in for the get-pip.py that ansible-test downloads from a host this network lacks.

ansible-test runs its pip bootstrapper as `python get_pip_<version>.py <pip args>` inside a
fresh virtual environment. This one installs the pip bundled with Python (ensurepip, no
network) and then lets that pip install what was asked for, from the package index the
machine's pip configuration names. tests/run.sh places it in ansible-test's cache.
"""

import subprocess
import sys

if __name__ == "__main__":
    # In a child process: ensurepip sets PIP_CONFIG_FILE=/dev/null in its own environment,
    # and the pip run below must read the machine's pip configuration (index, CA bundle).
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade"])
    args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
    sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", *args]))
