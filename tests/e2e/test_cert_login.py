"""The worker logs in with a client certificate (kojid's preferred login)."""

import koji

from e2e_support import HOST_NAME, WorkerProcess, write_worker_config

from koji_adjutant_devhub.testing import DevHub, make_ca, make_cert


def test_worker_with_client_certificate_runs_a_task(tmp_path, buildroot_image):
    ca = make_ca(str(tmp_path), "test-ca")
    server_key, server_crt, _pem = make_cert(str(tmp_path), ca, "hub", "localhost", server=True)
    _key, _crt, client_pem = make_cert(str(tmp_path), ca, "builder", HOST_NAME)
    tls = {"cert": server_crt, "key": server_key, "ca": ca[1]}
    with DevHub(topdir=str(tmp_path / "koji"), tls=tls) as hub:
        hub.add_host(HOST_NAME, ["x86_64"], "unused-password")
        conf = write_worker_config(
            tmp_path / "kojid.conf", hub, tmp_path / "work",
            extra_kojid={"server": hub.tls_url, "user": "", "password": "",
                         "cert": client_pem, "serverca": ca[1]})
        worker = WorkerProcess(conf, str(tmp_path / "worker.log")).start()
        try:
            task_id = hub.make_task("sleep", [0])
            info = hub.wait_task(task_id, ["CLOSED", "FAILED"], timeout=120)
            assert info["state"] == koji.TASK_STATES["CLOSED"], worker.log()[-2000:]
            host = hub.admin_session().getHost(HOST_NAME)
            assert info["host_id"] == host["id"]
        finally:
            worker.stop()
