"""Settings of a dev hub instance."""

import os


# The hub version the dev hub claims to be (sent as the Koji-Version header and
# returned by getKojiVersion).  The koji client decides on protocol details from it.
KOJI_VERSION = '1.35.3'
API_VERSION = 1


class HubConfig(object):
    """All knobs of a dev hub.

    Defaults follow real koji where koji has a setting; the scheduler run
    interval is shorter (1 s instead of 60 s) so tests and local work do not
    wait a minute for a task to be assigned.
    """

    def __init__(self, topdir, db_path=None, hub_path='/kojihub', files_path='/kojifiles',
                 check_client_ip=True, scheduler_interval=1.0, ready_timeout=180.0,
                 assign_timeout=300.0, host_timeout=900.0, soft_refusal_timeout=900.0,
                 capacity_overcommit=5.0, maxjobs=15, max_request_length=4194304,
                 default_capacity=2.0, session_renewal_timeout=1440 * 60, repo_lag=3600,
                 repo_auto_lag=7200, repo_lag_window=600, max_repo_tasks=10, repo_retries=3,
                 request_clean_time=1440 * 60, repo_queue_user='kojira', allow_new_repo=True,
                 notification_tasks=False, email_domain=None, notify_on_success=True,
                 web_url='http://localhost.localdomain/koji', runroot_plugin=True,
                 runroot_channel='runroot', runroot_accept_list=False):
        # session_renewal_timeout: seconds after which a session expires and the
        # client must renew it (koji's SessionRenewalTimeout, 1440 minutes); 0: never
        self.topdir = os.path.abspath(topdir)
        self.db_path = db_path or os.path.join(self.topdir, 'devhub.sqlite')
        self.hub_path = '/' + hub_path.strip('/')
        self.files_path = '/' + files_path.strip('/')
        self.check_client_ip = check_client_ip
        # scheduler (kojihub/scheduler.py: RunInterval, ReadyTimeout, AssignTimeout,
        # HostTimeout, CapacityOvercommit, MaxJobs)
        self.scheduler_interval = float(scheduler_interval)
        self.ready_timeout = float(ready_timeout)
        self.assign_timeout = float(assign_timeout)
        self.host_timeout = float(host_timeout)
        self.soft_refusal_timeout = float(soft_refusal_timeout)
        self.capacity_overcommit = float(capacity_overcommit)
        self.maxjobs = int(maxjobs)
        self.max_request_length = int(max_request_length)
        self.default_capacity = float(default_capacity)
        self.session_renewal_timeout = session_renewal_timeout
        # repo requests (kojihub hub.conf: RepoLag, RepoAutoLag, RepoLagWindow, MaxRepoTasks,
        # RepoRetries, RequestCleanTime (here in seconds), RepoQueueUser, AllowNewRepo)
        self.repo_lag = int(repo_lag)
        self.repo_auto_lag = int(repo_auto_lag)
        self.repo_lag_window = max(1, int(repo_lag_window))
        self.max_repo_tasks = int(max_repo_tasks)
        self.repo_retries = int(repo_retries)
        self.request_clean_time = float(request_clean_time)
        self.repo_queue_user = repo_queue_user
        self.allow_new_repo = bool(allow_new_repo)
        # notifications (hub.conf DisableNotifications, EmailDomain, NotifyOnSuccess,
        # KojiWebURL): the dev hub records them and makes buildNotification /
        # tagNotification tasks only when notification_tasks is set
        self.notification_tasks = bool(notification_tasks)
        self.email_domain = email_domain
        self.notify_on_success = bool(notify_on_success)
        self.web_url = web_url
        # koji's runroot hub plugin (runroot_hub): loaded or not (hub.conf Plugins), the
        # channel of its tasks (fixed to 'runroot' in the plugin) and whether a command
        # given as a list is accepted (older plugins; the current one wants a string)
        self.runroot_plugin = bool(runroot_plugin)
        self.runroot_channel = runroot_channel
        self.runroot_accept_list = bool(runroot_accept_list)

    @property
    def workdir(self):
        return os.path.join(self.topdir, 'work')
