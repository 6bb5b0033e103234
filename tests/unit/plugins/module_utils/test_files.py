# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the one atomic file write of the collection, and its reads."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

import pytest

from ansible_collections.nsforge.linux.plugins.module_utils import files
from ansible_collections.nsforge.linux.plugins.module_utils.errors import NsforgeError


def test_read_text_missing(tmp_path):
    assert files.read_text(str(tmp_path / 'nope')) is None


def test_write_atomic_keeps_mode_and_bytes(tmp_path):
    path = str(tmp_path / 'subuid')
    with open(path, 'wb') as handle:
        handle.write(b'old\n')
    os.chmod(path, 0o640)
    text = files.read_text(path) + 'caf\xe9 \udcff:1:2'       # a byte that is not UTF-8 survives
    files.write_atomic(path, text, None)  # None: an existing file keeps its mode
    with open(path, 'rb') as handle:
        assert handle.read() == b'old\ncaf\xc3\xa9 \xff:1:2'
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert files.read_text(path) == text
    assert sorted(os.listdir(str(tmp_path))) == ['subuid']


def test_write_atomic_new_file_and_symlink(tmp_path):
    path = str(tmp_path / 'subgid')
    files.write_atomic(path, 'a:1:2\n', mode=0o600)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    link = str(tmp_path / 'link')
    os.symlink(path, link)
    files.write_atomic(link, 'b:3:4\n')
    assert os.path.islink(link)
    assert files.read_text(path) == 'b:3:4\n'


def test_write_atomic_error_is_nsforge_error(tmp_path):
    with pytest.raises(NsforgeError) as info:
        files.write_atomic(str(tmp_path / 'missing-dir' / 'subuid'), 'x')
    assert 'cannot write' in info.value.msg


def test_write_atomic_sets_the_mode_and_makes_the_folder(tmp_path):
    path = str(tmp_path / 'a' / 'b' / 'record.json')
    files.write_atomic(path, '{}', 0o600, 0o700)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(str(tmp_path / 'a')).st_mode) == 0o700
    os.chmod(path, 0o644)
    files.write_atomic(path, '{"a": 1}', 0o600)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_put_none_removes(tmp_path):
    path = str(tmp_path / 'f')
    files.put(path, 'x')
    assert files.read_text(path) == 'x'
    files.put(path, None)
    assert not os.path.exists(path)
    files.put(path, None)  # a missing file is fine
