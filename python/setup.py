"""Records where the source checkout's build/ directory is, so that a
package installed from a checkout finds the libclgraph built there
(clgraph/_lib.py tries it last). The version is the CMake project's."""
import os
import re

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def cmake_version():
    try:
        with open(os.path.join(ROOT, 'CMakeLists.txt')) as f:
            m = re.search(r'project\(\s*clgraph\s+VERSION\s+([0-9.]+)', f.read())
    except OSError:
        m = None
    return m.group(1) if m else '0.0.0'


class BuildPy(build_py):
    def run(self):
        super().run()
        if os.path.exists(os.path.join(ROOT, 'CMakeLists.txt')):
            target = os.path.join(self.build_lib, 'clgraph', '_source.py')
            with open(target, 'w') as f:
                f.write('# Written by setup.py: the checkout this package was installed from.\n')
                f.write('BUILD_DIR = %r\n' % os.path.join(ROOT, 'build'))


setup(version=cmake_version(), cmdclass={'build_py': BuildPy})
