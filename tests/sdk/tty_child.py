"""Run a command with stdin as its controlling terminal, so Ctrl-C on the pty is SIGINT.

The parent starts this in a new session (no controlling terminal yet) with stdin,
stdout and stderr on the pty's slave end: TIOCSCTTY makes that pty the session's
terminal and this process group its foreground, as a shell would.
"""

import fcntl
import os
import sys
import termios

fcntl.ioctl(0, termios.TIOCSCTTY, 0)
os.execv(sys.argv[1], sys.argv[1:])
