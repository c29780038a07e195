"""The dev hub's package structure: imports between its modules go one way, no module
reaches into another's private names, and the worker package does not import the dev hub."""

import ast
import os

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEVHUB_PACKAGE = "koji_adjutant_devhub"
DEVHUB_DIR = os.path.join(REPO_ROOT, "devhub", DEVHUB_PACKAGE)
WORKER_DIR = os.path.join(REPO_ROOT, "koji_adjutant")


def devhub_modules():
    return sorted(name[:-3] for name in os.listdir(DEVHUB_DIR) if name.endswith(".py"))


def parse(path):
    with open(path, encoding="utf-8") as handle:
        return ast.parse(handle.read(), filename=path)


def sibling_imports(module):
    """(sibling module, imported name or None) for every import of a dev hub module by
    ``module``, at any level of the file (functions included)."""
    siblings = set(devhub_modules())
    found = []
    for node in ast.walk(parse(os.path.join(DEVHUB_DIR, module + ".py"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == DEVHUB_PACKAGE and len(parts) > 1:
                    found.append((parts[1], None))
        elif isinstance(node, ast.ImportFrom):
            if node.level == 1:
                base = node.module
            elif node.level == 0 and (node.module or "").split(".")[0] == DEVHUB_PACKAGE:
                base = node.module.partition(".")[2] or None
            else:
                continue
            for alias in node.names:
                if base:  # from .tasks import Task
                    found.append((base.split(".")[0], alias.name))
                elif alias.name in siblings:  # from . import tasks
                    found.append((alias.name, None))
    return [(target, name) for target, name in found if target in siblings and target != module]


def test_the_module_list_is_read():
    assert {"server", "exports", "tasks", "repos", "repoqueue", "rpmbuilds"} <= set(
        devhub_modules())


def test_module_imports_have_no_cycle():
    graph = {module: sorted({target for target, _name in sibling_imports(module)})
             for module in devhub_modules()}
    done, path = set(), []

    def visit(module):
        if module in path:
            cycle = path[path.index(module):] + [module]
            pytest.fail("import cycle: %s" % " -> ".join(cycle))
        if module in done:
            return
        path.append(module)
        for target in graph[module]:
            visit(target)
        path.pop()
        done.add(module)

    for module in graph:
        visit(module)


def test_no_private_names_imported_from_siblings():
    private = []
    for module in devhub_modules():
        private.extend("%s: from %s import %s" % (module, target, name)
                       for target, name in sibling_imports(module)
                       if name is not None and name.startswith("_"))
        # and no ``sibling._name`` through an imported module
        modules = {target for target, name in sibling_imports(module) if name is None}
        for node in ast.walk(parse(os.path.join(DEVHUB_DIR, module + ".py"))):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and \
                    node.value.id in modules and node.attr.startswith("_") and \
                    not node.attr.startswith("__"):
                private.append("%s: %s.%s" % (module, node.value.id, node.attr))
    assert private == []


def test_worker_package_does_not_import_the_devhub():
    found = []
    for root, _dirs, files in os.walk(WORKER_DIR):
        for name in files:
            if not name.endswith(".py"):
                continue
            path = os.path.join(root, name)
            for node in ast.walk(parse(path)):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0:
                    names = [node.module or ""]
                else:
                    continue
                found.extend("%s: %s" % (os.path.relpath(path, REPO_ROOT), n) for n in names
                             if n.split(".")[0] == DEVHUB_PACKAGE)
    assert found == []
