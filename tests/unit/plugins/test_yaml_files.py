# -*- coding: utf-8 -*-
# Copyright: nsforge developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every YAML file the collection ships parses: a plain scalar holding ': ' (a description's second line) is a
mapping to YAML, and Ansible only says so when the role runs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
FILES = sorted(f for pattern in ('roles/**/*.yml', 'playbooks/**/*.yml', 'meta/*.yml', 'changelogs/fragments/*.yml',
                                 'galaxy.yml')
               for f in glob.glob(os.path.join(ROOT, pattern), recursive=True))


def test_files_found():
    assert any(f.endswith('argument_specs.yml') for f in FILES)


@pytest.mark.parametrize('path', FILES, ids=lambda p: os.path.relpath(p, ROOT))
def test_parses(path):
    with open(path) as handle:
        yaml.safe_load(handle)
