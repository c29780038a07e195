"""The worker logs in with a client certificate (kojid's preferred login)."""

import koji

from e2e_support import HOST_NAME, WORKER_ID, WorkerProcess

from koji_adjutant.devhub.testing import DevHub, make_ca, make_cert


def test_worker_with_client_certificate_runs_a_task(tmp_path, buildroot_image):
    ca = make_ca(str(tmp_path), "test-ca")
    server_key, server_crt, _pem = make_cert(str(tmp_path), ca, "hub", "localhost", server=True)
    _key, _crt, client_pem = make_cert(str(tmp_path), ca, "builder", HOST_NAME)
    tls = {"cert": server_crt, "key": server_key, "ca": ca[1]}
    with DevHub(topdir=str(tmp_path / "koji"), tls=tls) as hub:
        hub.add_host(HOST_NAME, ["x86_64"], "unused-password")
        conf = tmp_path / "kojid.conf"
        conf.write_text(
            "[kojid]\nserver = %s\ntopurl = %s\ntopdir = %s\nworkdir = %s\n"
            "cert = %s\nserverca = %s\nsleeptime = 1\nminspace = 10\n"
            "[adjutant]\nstate_dir = %s/state\nlog_dir = %s/log\nworker_id = %s\n"
            % (hub.tls_url, hub.topurl, hub.topdir, tmp_path / "work", client_pem, ca[1],
               tmp_path, tmp_path, WORKER_ID))
        worker = WorkerProcess(str(conf), str(tmp_path / "worker.log")).start()
        try:
            task_id = hub.make_task("sleep", [0])
            info = hub.wait_task(task_id, ["CLOSED", "FAILED"], timeout=120)
            assert info["state"] == koji.TASK_STATES["CLOSED"], worker.log()[-2000:]
            host = hub.admin_session().getHost(HOST_NAME)
            assert info["host_id"] == host["id"]
        finally:
            worker.stop()
