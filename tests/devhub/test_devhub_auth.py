"""Sessions, logins, exclusive sessions and call numbers, as a koji client sees them."""

import threading
import time

import koji
import pytest

from koji_adjutant_devhub.testing import DevHub

from devhub_helpers import unique


def test_password_login(devhub):
    devhub.add_user('alice', 'wonderland')
    session = devhub.session('alice', 'wonderland')
    me = session.getLoggedInUser()
    assert me['name'] == 'alice'
    assert me['authtype'] == koji.AUTHTYPES['NORMAL']
    assert session.sinfo['header-auth'] is True
    assert session.getPerms() == []
    session.logout()
    assert not session.logged_in


def test_bad_password_and_unknown_user(devhub):
    devhub.add_user('bob', 'right')
    with pytest.raises(koji.AuthError):
        devhub.session('bob', 'wrong')
    with pytest.raises(koji.AuthError):
        devhub.session('nobody', 'whatever')


def test_blocked_user_cannot_log_in(devhub):
    devhub.add_user('mallory', 'pw')
    session = devhub.session('mallory', 'pw')
    devhub.admin_session().disableUser('mallory')
    with pytest.raises(koji.AuthError, match='not allowed'):
        devhub.session('mallory', 'pw')
    with pytest.raises(koji.AuthError, match='not allowed'):
        session.getLoggedInUser()
    devhub.admin_session().enableUser('mallory')
    assert devhub.session('mallory', 'pw').getLoggedInUser()['name'] == 'mallory'


def test_invalid_session_credentials(devhub):
    session = devhub.session('kojiadmin', 'kojiadmin')
    sinfo = {'session-id': session.sinfo['session-id'], 'session-key': 'not-the-key',
             'header-auth': True}
    forged = koji.ClientSession(devhub.url, sinfo=sinfo)
    with pytest.raises(koji.AuthError, match='Invalid session or bad credentials'):
        forged.getLoggedInUser()


def test_session_bound_to_client_ip(devhub):
    # a session created for another address is not valid from 127.0.0.1
    session = koji.ClientSession(devhub.url)
    sinfo = session.callMethod('login', 'kojiadmin', 'kojiadmin', opts={'hostip': '192.0.2.7'})
    session.setSession(sinfo)
    with pytest.raises(koji.AuthError, match='Invalid session'):
        session.getLoggedInUser()


def test_anonymous_calls(devhub):
    session = koji.ClientSession(devhub.url)
    assert session.getAPIVersion() == 1
    assert session.getKojiVersion() == '1.35.3'
    assert session.hub_version_str == '1.35.3'
    assert session.hello() == 'Hello World'
    assert session.echo(1, 'two', [3]) == [1, 'two', [3]]
    assert session.getLoggedInUser() is None
    methods = session.system.listMethods()
    for name in ('login', 'sslLogin', 'host.getTasks', 'host.closeTask', 'makeTask',
                 '_listapi'):
        assert name in methods
    api = dict((entry['name'], entry) for entry in session._listapi())
    assert api['getTaskInfo']['argdesc'] == '(task_id, request=False, strict=False)'
    assert api['host.updateHost']['args'] == ['task_load', 'ready', ['data', None]]


def test_unknown_method_and_wrong_arg_count(devhub):
    session = devhub.admin_session()
    with pytest.raises(koji.GenericError, match='Invalid method: noSuchCall'):
        session.noSuchCall()
    with pytest.raises(koji.ParameterError):
        session.getTaskInfo(1, False, False, 'too many')
    with pytest.raises(koji.ParameterError):
        session.getTaskInfo()
    with pytest.raises(koji.ParameterError):
        session.getTaskInfo(1, nosuchoption=True)


def test_multicall(devhub):
    session = devhub.admin_session()
    with session.multicall() as m:
        ok = m.getAPIVersion()
        bad = m.getTaskInfo(1, 2, 3, 4)
        missing = m.getTaskResult(999999)
    assert ok.result == 1
    with pytest.raises(koji.ParameterError):
        bad.result
    with pytest.raises(koji.GenericError):
        missing.result


def test_non_admin_cannot_make_task(devhub):
    devhub.add_user('carol', 'pw')
    session = devhub.session('carol', 'pw')
    with pytest.raises(koji.ActionNotAllowed, match='admin permission required'):
        session.makeTask('sleep', [1])
    with pytest.raises(koji.ActionNotAllowed):
        session.addHost('sneaky', ['x86_64'])


def test_host_calls_need_a_host_and_an_exclusive_session(devhub):
    name = unique('hostx')
    devhub.add_host(name, ['x86_64'], 'pw')
    plain = devhub.session(name, 'pw')
    with pytest.raises(koji.AuthError, match='This method requires an exclusive session'):
        plain.host.updateHost(0.0, True)
    user = devhub.session('kojiadmin', 'kojiadmin')
    with pytest.raises(koji.AuthError, match='is not a host'):
        user.host.getID()
    with pytest.raises(koji.AuthError, match='Not logged-in'):
        koji.ClientSession(devhub.url).host.getID()
    plain.exclusiveSession()
    assert plain.host.getID() == devhub.admin_session().getHost(name)['id']
    plain.host.updateHost(0.5, True, data={'methods': ['sleep'], 'maxjobs': 3})
    info = plain.host.getHost()
    assert info['ready'] is True and info['task_load'] == 0.5


def test_exclusive_session_lock_and_force(devhub):
    name = unique('hostlock')
    devhub.add_host(name, ['x86_64'], 'pw')
    first = devhub.host_session(name, 'pw')
    second = devhub.session(name, 'pw')
    with pytest.raises(koji.AuthLockError, match='Cannot get exclusive session'):
        second.exclusiveSession()
    # a session of a user locked by another exclusive session can do (almost) nothing
    with pytest.raises(koji.AuthLockError):
        second.getLoggedInUser()
    second.exclusiveSession(force=True)
    assert second.host.getID() == devhub.admin_session().getHost(name)['id']
    # the old exclusive session was closed
    with pytest.raises(koji.AuthError):
        first.host.getID()


def test_subsession_of_exclusive_session(devhub):
    name = unique('hostsub')
    devhub.add_host(name, ['x86_64'], 'pw')
    main = devhub.host_session(name, 'pw')
    child = main.subsession()
    assert child.host.getID() == main.host.getID()
    child_id = child.sinfo['session-id']
    main.logoutChild(child_id)
    with pytest.raises(koji.AuthError, match='Invalid session'):
        child.host.getID()
    # logging out the master closes its subsessions too
    child2 = main.subsession()
    main.logout()
    with pytest.raises(koji.AuthError):
        child2.host.getID()


def test_callnum_rules(devhub):
    name = unique('hostcall')
    devhub.add_host(name, ['x86_64'], 'pw')
    session = devhub.host_session(name, 'pw')
    session.getLoggedInUser()
    # replay the last call number: refused for ordinary methods ...
    session.callnum -= 1
    with pytest.raises(koji.RetryError, match='unable to retry call'):
        session.getLoggedInUser()
    # ... accepted for the idempotent host calls of koji's retry whitelist
    session.host.updateHost(0.0, True)
    session.callnum -= 1
    session.host.updateHost(0.0, True)
    # going backwards is a sequence error
    session.callnum -= 5
    with pytest.raises(koji.SequenceError):
        session.host.updateHost(0.0, True)


def test_expired_sessions_are_renewed(tmp_path):
    args = ['--session-renewal-timeout', '0.01']  # minutes
    with DevHub(topdir=str(tmp_path / 'koji'), extra_args=args) as hub:
        hub.add_host('renewer', ['x86_64'], 'pw')
        builder = koji.ClientSession(hub.url, opts={'user': 'renewer', 'password': 'pw'})
        builder.login()
        builder.exclusiveSession()
        host_id = builder.host.getID()
        child = builder.subsession()
        session_id = builder.sinfo['session-id']
        time.sleep(0.8)
        # AuthExpired: the client logs in again with renew=True (and exclusive=True)
        assert builder.host.getID() == host_id
        assert builder.sinfo['session-id'] == session_id
        assert child.host.getID() == host_id
        plain = hub.session('kojiadmin', 'kojiadmin')
        time.sleep(0.8)
        # what the client sees before renewing: AuthExpired
        raw = koji.ClientSession(hub.url, sinfo=dict(plain.sinfo))
        with pytest.raises(koji.xmlrpcplus.Fault) as exc:
            raw._sendCall(*raw._prepCall('getLoggedInUser', ()))
        assert exc.value.faultCode == koji.AuthExpired.faultCode


def test_concurrent_clients(devhub):
    errors = []

    def worker(n):
        try:
            session = devhub.session('kojiadmin', 'kojiadmin')
            for i in range(25):
                task_id = session.makeTask('sleep', [n, i])
                assert session.getTaskInfo(task_id)['id'] == task_id
                session.cancelTask(task_id)
        except Exception as e:  # collected for the main thread
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []


def test_ssl_login(pki, tmp_path):
    tls = {'cert': pki['server_crt'], 'key': pki['server_key'], 'ca': pki['ca']}
    with DevHub(topdir=str(tmp_path / 'koji'), tls=tls) as hub:
        hub.add_user('tlsuser', 'unused-password')
        hub.add_host('tlsbuilder', ['x86_64'], 'unused-password')
        session = koji.ClientSession(hub.tls_url, opts={'serverca': pki['ca']})
        session.ssl_login(cert=pki['client_pem'])
        me = session.getLoggedInUser()
        assert me['name'] == 'tlsuser'
        assert me['authtype'] == koji.AUTHTYPES['SSL']
        assert session.baseurl.startswith('https://')

        # the koji client turns an http:// hub URL into https:// on the same port
        builder = koji.ClientSession(hub.url, opts={'serverca': pki['ca']})
        builder.ssl_login(cert=pki['host_pem'])
        builder.exclusiveSession()
        assert builder.host.getID() == hub.admin_session().getHost('tlsbuilder')['id']

        # a certificate from another CA is refused
        rogue = koji.ClientSession(hub.tls_url, opts={'serverca': pki['ca']})
        with pytest.raises(koji.AuthError):
            rogue.ssl_login(cert=pki['rogue_pem'])

        # sslLogin without any client certificate
        anon = koji.ClientSession(hub.tls_url, opts={'serverca': pki['ca']})
        with pytest.raises(koji.AuthError, match='could not verify client'):
            anon.sslLogin()


def test_query_string_sessions(devhub):
    """Old clients put session-id/session-key/callnum in the URL instead of headers."""
    import urllib.parse
    import requests
    from koji.xmlrpcplus import dumps, loads
    session = devhub.session('kojiadmin', 'kojiadmin')
    args = {'session-id': session.sinfo['session-id'],
            'session-key': session.sinfo['session-key'], 'callnum': 100}
    url = '%s?%s' % (devhub.url, urllib.parse.urlencode(args))
    body = dumps((), 'getLoggedInUser').encode()
    reply = requests.post(url, data=body, headers={'Content-Type': 'text/xml'}, timeout=10)
    assert reply.status_code == 200 and reply.headers['Koji-Version'] == '1.35.3'
    assert loads(reply.content)[0][0]['name'] == 'kojiadmin'
    # the same call number again is a retry
    reply = requests.post(url, data=body, headers={'Content-Type': 'text/xml'}, timeout=10)
    with pytest.raises(koji.xmlrpcplus.Fault) as exc:
        loads(reply.content)
    assert exc.value.faultCode == koji.RetryError.faultCode
