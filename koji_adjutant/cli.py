"""``koji-adjutant``: the command line.

    koji-adjutant worker [--force-lock] -c /etc/kojid/kojid.conf
                                                    the builder daemon (kojid's role)
    koji-adjutant image build [--force]             the local buildroot image
    koji-adjutant config -c FILE                    validate and show a worker config
"""

import argparse
import json
import logging
import sys

import koji_adjutant


def _load_config(path):
    """The validated worker config, or None after printing what is wrong."""
    from ansible_collections.koji_adjutant.builder.plugins.module_utils import config as config_lib
    try:
        return config_lib.load_config(path)
    except config_lib.ConfigError as exc:
        print("koji-adjutant: configuration error: %s" % exc, file=sys.stderr)
        return None


def _worker(args):
    from koji_adjutant.worker import daemon
    config = _load_config(args.config)
    if config is None:
        return 2
    if args.force_lock:
        config.force_lock = True
    level = args.log_level or config.log_level or "INFO"
    logging.basicConfig(level=getattr(logging, level.upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return daemon.run_worker(config, once=args.once)


def _config(args):
    config = _load_config(args.config)
    if config is None:
        return 2
    print(json.dumps(config.as_dict(), indent=2, sort_keys=True, default=str))
    return 0


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "image":
        from koji_adjutant.images import __main__ as images_main
        return images_main.main(argv[1:])
    parser = argparse.ArgumentParser(
        prog="koji-adjutant",
        description="A koji builder that runs every task in its own podman container "
                    "through Ansible. Subcommands: worker, config, image.")
    parser.add_argument("--version", action="version", version=koji_adjutant.__version__)
    sub = parser.add_subparsers(dest="command")
    worker = sub.add_parser("worker", help="run the builder daemon (kojid's role)")
    worker.add_argument("-c", "--config", default="/etc/kojid/kojid.conf",
                        help="kojid.conf with an optional [adjutant] section "
                             "(default: %(default)s)")
    worker.add_argument("--force-lock", action="store_true",
                        help="take the host's exclusive hub session over from an older one, "
                             "as kojid --force-lock does: a killed worker leaves its session "
                             "open (the same as [adjutant] force_lock = true)")
    worker.add_argument("--once", action="store_true",
                        help="take at most one task, run it to the end, then exit")
    worker.add_argument("--log-level", help="DEBUG, INFO, WARNING (default: log_level of "
                                            "the config, else INFO)")
    worker.set_defaults(func=_worker)
    show = sub.add_parser("config", help="validate a worker config and print it")
    show.add_argument("-c", "--config", default="/etc/kojid/kojid.conf")
    show.set_defaults(func=_config)
    sub.add_parser("image", help="build the local buildroot image (see 'image --help')")
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
