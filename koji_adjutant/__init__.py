"""koji-adjutant: a koji builder that runs each task in a podman container via Ansible.

The Python package holds the worker daemon, the buildroot image builder and the command
line. The task logic shared with the Ansible modules lives in the ``koji_adjutant.builder``
collection's ``plugins/module_utils`` (one implementation), installed with this package as
``ansible_collections.koji_adjutant.builder`` and imported from there. Importing any module
of this package has no side effects.
"""

__version__ = "0.1.0"
