# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Names can never reach outside their folders: arbitrary strings to every name-to-path function."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.nsforge.linux.plugins.module_utils import layout, nsproc_records
from ansible_collections.nsforge.linux.plugins.module_utils.errors import NsforgeError

# function, the folder its paths must stay in, how many path components it adds below the node's name
FUNCTIONS = [
    (layout.netns_path, layout.NETNS_DIR),
    (layout.node_dir, layout.NODE_DIR),
    (layout.uts_path, layout.NODE_DIR),
    (layout.etc_dir, layout.ETC_NETNS_DIR),
    (layout.lock_path, layout.LOCK_DIR),
    (layout.mnt_dir, layout.NODE_DIR),
    (layout.mnt_path, layout.NODE_DIR),
    (layout.user_path, layout.NODE_DIR),
    (lambda name: layout.ns_handle(name, 'net'), layout.NETNS_DIR),
    (lambda name: layout.ns_handle(name, 'uts'), layout.NODE_DIR),
    (lambda name: layout.ns_handle(name, 'mnt'), layout.NODE_DIR),
    (lambda name: layout.ns_handle(name, 'user'), layout.NODE_DIR),
    (nsproc_records.record_path, layout.SERVICE_DIR),
]

TRICKY = ['..', '.', '../x', 'a/../../b', '/etc/passwd', 'a\x00b', 'a\nb', '', ' ', '-rf', '.hidden', 'a' * 256,
          'x/.', 'x/', '\u2024\u2024', 'a\u2215b', 'a\uff0fb', '\u0430', 'r1\n', '..\x00']


def check(func, folder, name):
    try:
        path = func(name)
    except NsforgeError:
        return None
    assert isinstance(path, str)
    assert os.path.normpath(path) == path, (name, path)
    assert path.startswith(folder + '/'), (name, path)
    # the name is exactly one component right below the folder
    first = path[len(folder) + 1:].split('/')[0]
    assert first in (name, name + '.lock', name + '.json'), (name, path)
    assert name not in ('.', '..') and '/' not in name and '\x00' not in name and '\n' not in name
    return path


@pytest.mark.parametrize('func, folder', FUNCTIONS)
@pytest.mark.parametrize('name', TRICKY)
def test_tricky_names(func, folder, name):
    check(func, folder, name)


@pytest.mark.parametrize('func, folder', FUNCTIONS)
def test_good_name_gives_a_path(func, folder):
    assert check(func, folder, 'r1.lab-2_x') is not None


def test_property_arbitrary_strings():
    hypothesis = pytest.importorskip('hypothesis')
    st = hypothesis.strategies
    names = st.one_of(
        st.text(),
        st.text(alphabet=st.sampled_from(list('./\x00\n -_aZ9') + ['\u2215', '\uff0f', '\u0430']), max_size=12),
        st.from_regex(r'\A[A-Za-z0-9_.-]{1,20}\Z'),
    )

    @hypothesis.settings(max_examples=400, deadline=None)
    @hypothesis.given(st.sampled_from(range(len(FUNCTIONS))), names)
    def run(idx, name):
        func, folder = FUNCTIONS[idx]
        check(func, folder, name)

    run()  # pylint: disable=no-value-for-parameter
