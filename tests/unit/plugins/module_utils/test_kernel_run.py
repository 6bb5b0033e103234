# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""kernel.run: a command by fork and exec (the restore command has no AnsibleModule.run_command)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import sys

from ansible_collections.nsforge.linux.plugins.module_utils import kernel


def test_output_and_status():
    code, out, err = kernel.run([sys.executable, '-c', 'import sys; print("out"); sys.stderr.write("err"); sys.exit(3)'])
    assert (code, out, err) == (3, b'out\n', b'err')


def test_large_output_on_both_streams_does_not_block():
    script = 'import sys; sys.stdout.write("o" * 300000); sys.stderr.write("e" * 300000)'
    code, out, err = kernel.run([sys.executable, '-c', script])
    assert (code, len(out), len(err)) == (0, 300000, 300000)


def test_a_program_that_cannot_run():
    code, out, err = kernel.run(['/no/such/program-nsforge', 'x'])
    assert code == 127 and out == b''
    assert b'cannot run /no/such/program-nsforge' in err


def test_a_signal():
    code, _out, _err = kernel.run([sys.executable, '-c', 'import os, signal; os.kill(os.getpid(), signal.SIGKILL)'])
    assert code == 137
