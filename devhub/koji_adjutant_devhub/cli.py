"""Command line of the dev hub: ``serve`` and ``init``.

Used as ``koji-adjutant-devhub ...`` and as ``python -m koji_adjutant_devhub ...``.
"""

import argparse
import logging
import os
import signal
import sys

from . import seed
from .config import HubConfig
from .hub import Hub
from .server import DevHubServer


def _add_common(parser):
    parser.add_argument('--topdir', required=True,
                        help='koji topdir served by the hub (created if missing)')
    parser.add_argument('--db', default=None,
                        help='SQLite database file (default: <topdir>/devhub.sqlite)')


def build_parser():
    parser = argparse.ArgumentParser(
        prog='koji-adjutant-devhub',
        description='A koji-compatible development hub (XML-RPC over HTTP, SQLite state).')
    sub = parser.add_subparsers(dest='command')
    sub.required = True

    serve = sub.add_parser('serve', help='run the hub')
    _add_common(serve)
    serve.add_argument('--host', default='127.0.0.1', help='address to listen on')
    serve.add_argument('--port', type=int, default=8080, help='HTTP port (0: pick a free one)')
    serve.add_argument('--hub-path', default='/kojihub', help='URL path of the XML-RPC hub')
    serve.add_argument('--files-path', default='/kojifiles',
                       help='URL path under which topdir is served (the topurl)')
    serve.add_argument('--tls-port', type=int, default=None,
                       help='also listen with TLS on this port (needs --tls-cert/key/ca)')
    serve.add_argument('--tls-cert', help='server certificate (PEM)')
    serve.add_argument('--tls-key', help='server private key (PEM)')
    serve.add_argument('--tls-ca', help='CA that signs client certificates (PEM)')
    serve.add_argument('--scheduler-interval', type=float, default=1.0,
                       help='minimum seconds between scheduler runs (koji: 60)')
    serve.add_argument('--ready-timeout', type=float, default=180.0,
                       help='mark hosts silent this long not ready')
    serve.add_argument('--assign-timeout', type=float, default=300.0,
                       help='free ASSIGNED tasks not opened within this time')
    serve.add_argument('--host-timeout', type=float, default=900.0,
                       help='free OPEN tasks of hosts silent this long')
    serve.add_argument('--session-renewal-timeout', type=float, default=1440.0,
                       metavar='MINUTES',
                       help='sessions expire after this long and are renewed by the client '
                            '(koji: 1440; 0 disables)')
    serve.add_argument('--repo-lag', type=int, default=3600, metavar='SECONDS',
                       help='repo requests without min_event accept repos this old '
                            '(koji RepoLag: 3600)')
    serve.add_argument('--max-repo-tasks', type=int, default=10,
                       help='newRepo tasks made for repo requests at one time (koji: 10)')
    serve.add_argument('--notification-tasks', action='store_true',
                       help='make buildNotification/tagNotification tasks as a stock hub '
                            'does (default: only record notifications)')
    serve.add_argument('--email-domain', default=None,
                       help='domain of notification addresses (koji EmailDomain)')
    serve.add_argument('--no-runroot', action='store_true',
                       help='run without the runroot hub plugin (koji runroot gets '
                            '"Invalid method: runroot", as from a hub without the plugin)')
    serve.add_argument('--runroot-channel', default='runroot',
                       help='channel of runroot tasks made without a channel (the plugin\'s '
                            'fixed default: runroot)')
    serve.add_argument('--runroot-accept-list', action='store_true',
                       help='accept a runroot command given as a list, as older plugins did '
                            '(the current plugin wants a string: koji runroot --use-shell)')
    serve.add_argument('--no-check-client-ip', action='store_true',
                       help='do not bind sessions to the client address')
    serve.add_argument('--log-level', default='INFO',
                       choices=('DEBUG', 'INFO', 'WARNING', 'ERROR'))
    serve.add_argument('--port-file', default=None,
                       help='write "<port> <tls_port>" to this file once listening')

    init = sub.add_parser('init', help='seed users, hosts, tags and repos (idempotent)')
    _add_common(init)
    init.add_argument('--admin', action='append', default=[], metavar='NAME:PASSWORD',
                      help='admin user (default kojiadmin:kojiadmin when none is given)')
    init.add_argument('--user', action='append', default=[], metavar='NAME:PASSWORD',
                      help='normal user')
    init.add_argument('--host', action='append', default=[], dest='hosts',
                      metavar='NAME:PASSWORD:ARCH[,ARCH]', help='build host')
    init.add_argument('--tag', action='append', default=[], dest='tags',
                      metavar='NAME:ARCH[,ARCH]', help='tag with arches')
    init.add_argument('--target', action='append', default=[], dest='targets',
                      metavar='NAME:BUILD_TAG:DEST_TAG', help='build target')
    init.add_argument('--make-repo', action='append', default=[], metavar='TAG',
                      help='make a READY repo of TAG (its current content) with createrepo_c')
    return parser


def _setup_logging(level):
    logging.basicConfig(level=getattr(logging, level),
                        format='%(asctime)s %(levelname)s %(name)s: %(message)s',
                        stream=sys.stderr)


def cmd_serve(args):
    _setup_logging(args.log_level)
    config = HubConfig(args.topdir, db_path=args.db, hub_path=args.hub_path,
                       files_path=args.files_path,
                       check_client_ip=not args.no_check_client_ip,
                       scheduler_interval=args.scheduler_interval,
                       ready_timeout=args.ready_timeout, assign_timeout=args.assign_timeout,
                       host_timeout=args.host_timeout,
                       session_renewal_timeout=args.session_renewal_timeout * 60,
                       repo_lag=args.repo_lag, max_repo_tasks=args.max_repo_tasks,
                       notification_tasks=args.notification_tasks,
                       email_domain=args.email_domain, runroot_plugin=not args.no_runroot,
                       runroot_channel=args.runroot_channel,
                       runroot_accept_list=args.runroot_accept_list)
    hub = Hub(config)
    server = DevHubServer(hub, host=args.host, port=args.port, tls_port=args.tls_port,
                          tls_cert=args.tls_cert, tls_key=args.tls_key, tls_ca=args.tls_ca)

    def stop(signum, frame):
        raise KeyboardInterrupt()

    signal.signal(signal.SIGTERM, stop)
    log = logging.getLogger('koji_adjutant_devhub')
    log.warning('dev hub at %s (files %s%s), topdir %s', server.url, server.topurl,
                ', TLS %s' % server.tls_url if server.tls_url else '', config.topdir)
    if args.port_file:
        tmp = args.port_file + '.tmp'
        with open(tmp, 'w') as fo:
            fo.write('%d %s\n' % (server.port, server.tls_port or ''))
        os.rename(tmp, args.port_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        hub.close()
    return 0


def cmd_init(args):
    _setup_logging('WARNING')
    hub = Hub(HubConfig(args.topdir, db_path=args.db))
    try:
        admins = args.admin or ['kojiadmin:kojiadmin']
        for spec in admins:
            name, password = seed.parse_spec(spec, 2, '--admin')
            seed.ensure_user(hub, name, password, perms=('admin',))
            print('admin user %s' % name)
        for spec in args.user:
            name, password = seed.parse_spec(spec, 2, '--user')
            seed.ensure_user(hub, name, password)
            print('user %s' % name)
        for spec in args.hosts:
            name, password, arches = seed.parse_spec(spec, 3, '--host')
            host_id = seed.ensure_host(hub, name, password, arches.split(','))
            print('host %s (id %d)' % (name, host_id))
        for spec in args.tags:
            name, arches = seed.parse_spec(spec, 2, '--tag')
            tag_id = seed.ensure_tag(hub, name, arches.split(','))
            print('tag %s (id %d)' % (name, tag_id))
        for spec in args.targets:
            name, build_tag, dest_tag = seed.parse_spec(spec, 3, '--target')
            seed.ensure_target(hub, name, build_tag, dest_tag)
            print('target %s' % name)
        for tag in args.make_repo:
            repo_id = seed.make_repo(hub, tag)
            print('repo %d for %s' % (repo_id, tag))
    except (ValueError, RuntimeError) as e:
        print('devhub init: %s' % e, file=sys.stderr)
        return 2
    except Exception as e:  # koji.GenericError and friends
        print('devhub init: %s: %s' % (type(e).__name__, e), file=sys.stderr)
        return 1
    finally:
        hub.close()
    return 0


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.command == 'serve':
        return cmd_serve(args)
    return cmd_init(args)


if __name__ == '__main__':
    sys.exit(main())
