# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the netlink Session's sockets: at most its limit open per kind, the least recently used closed."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import resource

from ansible_collections.nsforge.linux.plugins.module_utils import netlink


class FakeSocket:
    opened = []

    def __init__(self):
        self.closed = False
        FakeSocket.opened.append(self)

    def close(self):
        self.closed = True


def test_least_recently_used_sockets_closed_beyond_the_limit(monkeypatch):
    entered = []
    monkeypatch.setattr(netlink.kernel, 'entered', lambda path, kind: contextlib.nullcontext(entered.append(path)))
    monkeypatch.setattr(netlink.rtnl, 'RawRoute', FakeSocket)
    FakeSocket.opened = []
    session = netlink.Session(limit=3)
    first = session.raw('/run/netns/a')
    assert session.raw('/run/netns/a') is first and entered == ['/run/netns/a']  # opened once, inside its namespace
    for name in 'bc':
        session.raw('/run/netns/' + name)
    session.raw('/run/netns/a')  # a is used again: b is now the least recently used
    session.raw('/run/netns/d')
    assert [s.closed for s in FakeSocket.opened] == [False, True, False, False]
    assert sum(not s.closed for s in FakeSocket.opened) == 3
    again = session.raw('/run/netns/b')  # opened again when needed
    assert again is not FakeSocket.opened[1] and entered.count('/run/netns/b') == 2
    session.close()
    assert all(s.closed for s in FakeSocket.opened)


def test_open_limit_within_the_descriptors(monkeypatch):
    for soft, expected in ((1024, 384), (20000, 1024), (64, 16), (resource.RLIM_INFINITY, 1024)):
        monkeypatch.setattr(netlink.resource, 'getrlimit', lambda kind, soft=soft: (soft, soft))
        assert netlink.open_limit() == expected
