"""The koji-compatible dev hub.

A small koji hub for development, tests and benchmarks: kojihub's XML-RPC wire
protocol and the rules of the calls a builder makes (sessions, exclusive host
sessions, tasks and their scheduler, uploads, packages, builds and rpms,
tagging, comps groups, repos with real content and repo requests,
buildroots), with its state in one SQLite file.  See docs/devhub.md.

Modules: ``server`` (HTTP/XML-RPC transport, TLS, file serving), ``exports``
(the API by method name), ``auth`` (sessions), ``users``, ``hosts``,
``tasks``, ``cancel`` (canceling tasks and builds), ``scheduler``,
``uploads``, ``tags``, ``packages`` (package lists), ``builds`` (builds,
rpms, imports), ``rpmbuilds`` (initBuild/completeBuild/failBuild),
``notifications``, ``policy``, ``tagging`` (tagged builds, tag change
events), ``groups`` (comps), ``repos`` (repoInit/repoDone and repo reads),
``repoqueue`` (repo requests, newRepo tasks: kojira's part), ``buildroots``,
``versioned`` (versioned tables), ``names`` (name tables, packages),
``query``, ``db`` (schema and SQLite access), ``seed``
(``koji-adjutant-devhub init``), ``cli``, ``testing`` (the ``DevHub``
helper for tests) and ``demo`` (``make demo``).

Imports between the modules go one way (tests/devhub/test_devhub_package.py).
"""
