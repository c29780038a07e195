"""HTTP transport of the dev hub: XML-RPC calls, raw uploads, file serving, TLS.

Wire behaviour follows kojihub's ``kojixmlrpc`` module:

* ``POST <hub_path>`` (and ``<hub_path>/ssllogin``) with an XML-RPC body is a
  call; the answer is always HTTP 200 with a methodResponse or a Fault and a
  ``Koji-Version`` header;
* a POST with ``Content-Type: application/octet-stream`` is a fast upload
  chunk (``rawUpload``), its parameters in the query string;
* the session comes from the ``Koji-Session-Id``/``-Key``/``-Callnum``
  headers (or, for old clients, ``session-id``/``session-key``/``callnum``
  query arguments);
* ``GET <files_path>/...`` serves ``<topdir>`` read-only (the ``topurl``).

An optional TLS listener serves the same application and verifies client
certificates against a CA for ``sslLogin``.  The plain listener also accepts
TLS connections when TLS is configured, because the koji client switches an
``http://`` hub URL to ``https://`` on the same host and port for
``ssl_login``.
"""

import email.utils
import html
import logging
import mimetypes
import os
import socket
import ssl
import sys
import threading
import time
import traceback
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xmlrpc.client import Fault

import koji
import koji.util
from koji.xmlrpcplus import dumps, getparser

from . import auth
from . import context
from .config import KOJI_VERSION
from .exports import HandlerRegistry
from .uploads import RawUpload

logger = logging.getLogger('koji_adjutant_devhub')

MULTICALL_NAMES = ('multiCall', 'system.multicall')


def fault_from_exception(exc):
    """Turn an exception into the Fault a koji client will convert back."""
    if isinstance(exc, Fault):
        return exc
    if isinstance(exc, koji.GenericError):
        return Fault(getattr(exc, 'faultCode', 1000), str(exc))
    return Fault(getattr(exc, 'faultCode', 1), '%s: %s' % (type(exc), exc))


class Dispatcher(object):
    """Decodes requests, checks sessions, calls handlers, encodes answers."""

    def __init__(self, hub):
        self.hub = hub
        self.registry = HandlerRegistry(hub)

    # -- sessions ------------------------------------------------------------------

    @staticmethod
    def session_args(headers, query):
        """(id, key, callnum) from the Koji-Session-* headers or the query string."""
        if headers.get('Koji-Session-Id'):
            callnum = headers.get('Koji-Session-Callnum', headers.get('Koji-Callnum'))
            return headers.get('Koji-Session-Id'), headers.get('Koji-Session-Key'), callnum
        if query:
            args = urllib.parse.parse_qs(query)
            if 'session-id' in args:
                if 'session-key' not in args:
                    raise koji.AuthError("'session-key' not specified in session args")
                return (args['session-id'][0], args['session-key'][0],
                        args.get('callnum', [None])[0])
        return None, None, None

    def load_session(self, ctx, headers, query, method):
        sid, key, callnum = self.session_args(headers, query)
        ctx.session = auth.Session.load(self.hub, sid, key, callnum, method)
        ctx.callnum = ctx.session.callnum
        if method not in auth.LOCK_EXEMPT_METHODS:
            ctx.session.validate()

    # -- calls ---------------------------------------------------------------------

    def call(self, ctx, method, params):
        """Run one method in its own transaction and return its result."""
        func = self.registry.get(method)
        args, opts = koji.decode_args(*params)
        ctx.method = method
        start = time.time()
        try:
            with self.hub.db.transaction():
                result = koji.util.call_with_argcheck(func, args, opts)
                if hasattr(result, '__next__'):
                    result = list(result)
            return result
        finally:
            ctx.reset_event()
            logger.info('%s session=%s callnum=%s %.3fs', method, ctx.session.id,
                        ctx.session.callnum, time.time() - start)

    def multicall(self, ctx, calls):
        if not isinstance(calls, (list, tuple)):
            raise koji.ParameterError('multiCall expects a list of calls')
        results = []
        for call in calls:
            try:
                if not isinstance(call, dict) or 'methodName' not in call:
                    raise koji.ParameterError('Invalid multiCall entry: %r' % (call,))
                if call['methodName'] in MULTICALL_NAMES:
                    raise koji.GenericError('multiCall may not be nested')
                result = self.call(ctx, call['methodName'], call.get('params', ()))
            except Exception as e:
                if not isinstance(e, (Fault, koji.GenericError)):
                    logger.warning('error in multiCall entry:\n%s', traceback.format_exc())
                fault = fault_from_exception(e)
                entry = {'faultCode': fault.faultCode, 'faultString': fault.faultString}
                if not isinstance(e, (Fault, koji.GenericError)):
                    entry['traceback'] = traceback.format_exception(*sys.exc_info())
                results.append(entry)
            else:
                results.append([result])
        return results

    def handle_rpc(self, ctx, body, headers, query):
        """Answer one XML-RPC request body; returns the response text."""
        try:
            parser, unmarshaller = getparser()
            parser.feed(body)
            parser.close()
            params = unmarshaller.close()
            method = unmarshaller.getmethodname()
        except Exception as e:
            return dumps(Fault(koji.GenericError.faultCode, 'Invalid XML-RPC request: %s' % e))
        ctx.method = method
        try:
            self.load_session(ctx, headers, query, method)
            if method in MULTICALL_NAMES:
                if len(params) != 1:
                    raise koji.ParameterError('multiCall takes exactly one argument')
                ctx.method = method
                result = self.multicall(ctx, params[0])
            else:
                result = self.call(ctx, method, params)
            return dumps((result,), methodresponse=1, allow_none=1)
        except Exception as e:
            if not isinstance(e, (Fault, koji.GenericError)):
                logger.error('unexpected error in %s:\n%s', method, traceback.format_exc())
            else:
                logger.info('%s failed: %s', method, e)
            return dumps(fault_from_exception(e))

    def handle_upload(self, ctx, headers, query, reader, length):
        """Answer a fast upload chunk (rawUpload); returns the response text."""
        ctx.method = None
        start = time.time()
        remaining = [length]

        def read(n):
            n = min(n, remaining[0])
            if n <= 0:
                return b''
            data = reader(n)
            remaining[0] -= len(data)
            return data

        try:
            self.load_session(ctx, headers, query, None)
            try:
                args = urllib.parse.parse_qs(query or '', strict_parsing=True)
            except ValueError:
                raise koji.GenericError('Invalid upload arguments: %r' % query)
            with self.hub.db.transaction():
                upload = RawUpload(self.hub, args)
            result = upload.write(read, length)
            logger.info('rawUpload session=%s callnum=%s %.3fs %d bytes %s',
                        ctx.session.id, ctx.session.callnum, time.time() - start,
                        result['size'], upload.fn)
            return dumps((result,), methodresponse=1, allow_none=1)
        except Exception as e:
            if not isinstance(e, (Fault, koji.GenericError)):
                logger.error('unexpected error in upload:\n%s', traceback.format_exc())
            else:
                logger.info('rawUpload failed: %s', e)
            return dumps(fault_from_exception(e))
        finally:
            while remaining[0] > 0 and read(65536):
                pass


def _cert_common_name(cert):
    for rdn in cert.get('subject', ()):
        for key, value in rdn:
            if key == 'commonName':
                return value
    return None


class HubRequestHandler(BaseHTTPRequestHandler):
    """One HTTP connection to the dev hub (keep-alive, like koji's requests session)."""

    protocol_version = 'HTTP/1.1'
    server_version = 'koji-adjutant-devhub'
    timeout = 600
    # send each response (headers + body) in as few segments as possible
    disable_nagle_algorithm = True
    wbufsize = 1 << 16

    @property
    def app(self):
        return self.server.app

    def log_message(self, fmt, *args):
        logger.debug('%s - %s', self.address_string(), fmt % args)

    def _send(self, status, body, content_type='text/plain; charset=utf-8', extra=()):
        if isinstance(body, str):
            body = body.encode('utf-8')
        self.send_response(status)
        self.send_header('Content-Type', content_type)
        self.send_header('Content-Length', str(len(body)))
        for key, value in extra:
            self.send_header(key, value)
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(body)

    def _tls_info(self):
        sock = self.connection
        if not isinstance(sock, ssl.SSLSocket):
            return False, None, 'NONE'
        cert = sock.getpeercert()
        if not cert:
            return True, None, 'NONE'
        return True, _cert_common_name(cert), 'SUCCESS'

    def do_POST(self):
        app = self.app
        path, dummy, query = self.path.partition('?')
        path = path.rstrip('/')
        if path not in (app.hub_path, app.hub_path + '/ssllogin'):
            self._drain()
            self._send(404, 'Not Found\n')
            return
        try:
            length = int(self.headers.get('Content-Length', '0'))
        except ValueError:
            self._send(400, 'Bad Content-Length\n')
            return
        secure, cn, verify = self._tls_info()
        ctx = context.CallContext(app.hub, self.client_address[0], client_cert_user=cn,
                                  client_verify=verify, secure=secure)
        context.bind(ctx)
        try:
            ctype = (self.headers.get('Content-Type') or '').split(';')[0].strip()
            if ctype == 'application/octet-stream':
                response = app.dispatcher.handle_upload(ctx, self.headers, query,
                                                        self.rfile.read, length)
            else:
                if length > app.hub.config.max_request_length:
                    self._drain(length)
                    response = dumps(Fault(koji.GenericError.faultCode, 'Request too long'))
                else:
                    body = self.rfile.read(length)
                    response = app.dispatcher.handle_rpc(ctx, body, self.headers, query)
        finally:
            context.unbind()
        self._send(200, response, 'text/xml', extra=[('Koji-Version', KOJI_VERSION)])

    def _drain(self, length=None):
        if length is None:
            try:
                length = int(self.headers.get('Content-Length', '0'))
            except ValueError:
                return
        while length > 0:
            chunk = self.rfile.read(min(length, 65536))
            if not chunk:
                break
            length -= len(chunk)

    def do_GET(self):
        app = self.app
        path = urllib.parse.urlsplit(self.path).path
        if path.rstrip('/') == app.hub_path:
            self._send(405, 'Method Not Allowed\nThis is an XML-RPC server. Only POST '
                       'requests are accepted.\n', extra=[('Allow', 'POST')])
            return
        prefix = app.files_path + '/'
        if path == app.files_path:
            self._send(301, '', extra=[('Location', prefix)])
            return
        if not path.startswith(prefix):
            self._send(404, 'Not Found\n')
            return
        self._serve_file(urllib.parse.unquote(path[len(prefix):]), path)

    do_HEAD = do_GET

    def _serve_file(self, relpath, urlpath):
        topdir = os.path.realpath(self.app.hub.topdir)
        parts = [p for p in relpath.split('/') if p not in ('', '.')]
        if any(p == '..' for p in parts) or '\0' in relpath:
            self._send(403, 'Forbidden\n')
            return
        fullpath = os.path.realpath(os.path.join(topdir, *parts))
        if fullpath != topdir and not fullpath.startswith(topdir + os.sep):
            self._send(403, 'Forbidden\n')
            return
        if self._hidden(fullpath, parts):
            self._send(404, 'Not Found\n')
            return
        if os.path.isdir(fullpath):
            if not urlpath.endswith('/'):
                self._send(301, '', extra=[('Location', urlpath + '/')])
                return
            self._send(200, self._index(fullpath, urlpath), 'text/html; charset=utf-8')
            return
        if not os.path.isfile(fullpath):
            self._send(404, 'Not Found\n')
            return
        st = os.stat(fullpath)
        size = st.st_size
        start, end = 0, size - 1
        status = 200
        rng = self.headers.get('Range')
        if rng and rng.startswith('bytes=') and ',' not in rng:
            first, dummy, last = rng[6:].partition('-')
            try:
                if first:
                    start = int(first)
                    end = int(last) if last else size - 1
                else:
                    start = max(size - int(last), 0)
                end = min(end, size - 1)
                if start > end:
                    raise ValueError
                status = 206
            except ValueError:
                self._send(416, 'Requested Range Not Satisfiable\n',
                           extra=[('Content-Range', 'bytes */%d' % size)])
                return
        ctype = mimetypes.guess_type(fullpath)[0] or 'application/octet-stream'
        self.send_response(status)
        self.send_header('Content-Type', ctype)
        self.send_header('Content-Length', str(max(end - start + 1, 0)))
        self.send_header('Last-Modified', email.utils.formatdate(st.st_mtime, usegmt=True))
        self.send_header('Accept-Ranges', 'bytes')
        if status == 206:
            self.send_header('Content-Range', 'bytes %d-%d/%d' % (start, end, size))
        self.end_headers()
        if self.command == 'HEAD':
            return
        with open(fullpath, 'rb') as fo:
            fo.seek(start)
            remaining = end - start + 1
            while remaining > 0:
                chunk = fo.read(min(remaining, 1 << 20))
                if not chunk:
                    break
                self.wfile.write(chunk)
                remaining -= len(chunk)

    def _hidden(self, fullpath, parts=()):
        """Dot files (upload owner marks) and the hub database are never served."""
        if any(p.startswith('.') for p in parts):
            return True
        db_path = os.path.realpath(self.app.hub.config.db_path)
        return fullpath in (db_path, db_path + '-wal', db_path + '-shm', db_path + '-journal')

    def _index(self, fullpath, urlpath):
        title = html.escape(urllib.parse.unquote(urlpath))
        lines = ['<!DOCTYPE html>', '<html><head><title>Index of %s</title></head><body>' % title,
                 '<h1>Index of %s</h1><ul>' % title, '<li><a href="../">../</a></li>']
        for name in sorted(os.listdir(fullpath)):
            if self._hidden(os.path.realpath(os.path.join(fullpath, name)), (name,)):
                continue
            display = name + ('/' if os.path.isdir(os.path.join(fullpath, name)) else '')
            lines.append('<li><a href="%s">%s</a></li>'
                         % (urllib.parse.quote(display), html.escape(display)))
        lines.append('</ul></body></html>')
        return '\n'.join(lines) + '\n'


class _HubHTTPServer(ThreadingHTTPServer):
    """Threaded server; optionally wraps connections in TLS inside the worker thread."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address, app, ssl_context=None, sniff_tls=False):
        self.app = app
        self.ssl_context = ssl_context
        # plain listener: only wrap connections that start with a TLS handshake
        self.sniff_tls = sniff_tls
        ThreadingHTTPServer.__init__(self, address, HubRequestHandler)

    def finish_request(self, request, client_address):
        if self.ssl_context is not None:
            wrap = True
            if self.sniff_tls:
                try:
                    request.settimeout(HubRequestHandler.timeout)
                    first = request.recv(1, socket.MSG_PEEK)
                except OSError:
                    return
                wrap = first == b'\x16'
            if wrap:
                try:
                    request = self.ssl_context.wrap_socket(request, server_side=True)
                except (ssl.SSLError, OSError) as e:
                    logger.info('TLS handshake with %s failed: %s', client_address[0], e)
                    return
        ThreadingHTTPServer.finish_request(self, request, client_address)

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, ssl.SSLError, socket.timeout)):
            logger.debug('connection error from %s: %s', client_address[0], exc)
            return
        logger.error('error handling request from %s:\n%s', client_address[0],
                     traceback.format_exc())


def make_ssl_context(cert, key, ca):
    """Server TLS context that verifies (optional) client certificates against ca."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.load_verify_locations(cafile=ca)
    ctx.verify_mode = ssl.CERT_OPTIONAL
    return ctx


class DevHubServer(object):
    """The listeners of one dev hub: plain HTTP and, optionally, HTTPS."""

    def __init__(self, hub, host='127.0.0.1', port=8080, tls_port=None, tls_cert=None,
                 tls_key=None, tls_ca=None):
        self.hub = hub
        self.hub_path = hub.config.hub_path
        self.files_path = hub.config.files_path
        self.dispatcher = Dispatcher(hub)
        self.host = host
        self.ssl_context = None
        if tls_port is not None or tls_cert or tls_key or tls_ca:
            if not (tls_cert and tls_key and tls_ca):
                raise ValueError('TLS needs a certificate, its key and a CA for client certs')
            self.ssl_context = make_ssl_context(tls_cert, tls_key, tls_ca)
        self.servers = [_HubHTTPServer((host, port), self, self.ssl_context, sniff_tls=True)]
        self.tls_server = None
        if tls_port is not None:
            self.tls_server = _HubHTTPServer((host, tls_port), self, self.ssl_context)
            self.servers.append(self.tls_server)
        self._threads = []

    @property
    def port(self):
        return self.servers[0].server_address[1]

    @property
    def tls_port(self):
        return self.tls_server.server_address[1] if self.tls_server else None

    @property
    def url(self):
        return 'http://%s:%d%s' % (self.host, self.port, self.hub_path)

    @property
    def tls_url(self):
        if not self.tls_server:
            return None
        return 'https://%s:%s%s' % (self.host, self.tls_port, self.hub_path)

    @property
    def topurl(self):
        return 'http://%s:%d%s' % (self.host, self.port, self.files_path)

    def start(self):
        """Serve in background threads."""
        for server in self.servers:
            thread = threading.Thread(target=server.serve_forever, name='devhub-http',
                                      daemon=True)
            thread.start()
            self._threads.append(thread)

    def serve_forever(self):
        self.start()
        try:
            while all(t.is_alive() for t in self._threads):
                time.sleep(0.5)
        finally:
            self.shutdown()

    def shutdown(self):
        for server in self.servers:
            server.shutdown()
            server.server_close()
