"""deploy/ describes the same topology as `python -m stack up`, for real hosts: the Compose file and systemd units are
not run here, so these checks keep them from drifting (same processes, same balancer and pooler rules, files the
tools accept)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from stack.configs import deploy_configs
from stack.supervisor import process_names

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


class TestDeployFiles:
    @pytest.mark.parametrize("name", sorted(deploy_configs()))
    def test_configs_are_the_stacks_templates(self, name: str) -> None:
        assert (DEPLOY / name).read_text() == deploy_configs()[name], (
            f"deploy/{name} differs: python -m stack render-deploy"
        )

    def test_compose_runs_the_stacks_processes(self) -> None:
        compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
        services = compose["services"]
        assert set(services) == {*process_names(2), "migrate", "prometheus"}
        for worker in ("app-1", "app-2"):
            env = services[worker]["environment"]
            assert env["WALLET_DATABASE_URL"].endswith("@pgbouncer:6432/wallet?prepare_threshold=none")
            assert services[worker]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
            assert env["WALLET_METRICS_PORT"] == "9100"  # what deploy/prometheus/prometheus.yml scrapes
        for volume in ("weed-volume-1", "weed-volume-2"):
            assert "-mserver=weed-master:9333" in services[volume]["command"]
        assert "-defaultReplication=001" in services["weed-master"]["command"]

    def test_haproxy_accepts_the_balancer_config(self) -> None:
        haproxy = shutil.which("haproxy", path="/usr/sbin:/usr/bin")
        if haproxy is None:
            pytest.skip("haproxy is not installed (make system-deps)")
        checked = subprocess.run(
            [haproxy, "-c", "-f", str(DEPLOY / "haproxy" / "haproxy.cfg")], capture_output=True, text=True, check=False
        )
        assert checked.returncode == 0, checked.stderr

    def test_systemd_accepts_the_units(self) -> None:
        analyze = shutil.which("systemd-analyze")
        if analyze is None:
            pytest.skip("systemd-analyze is not installed")
        units = DEPLOY / "systemd"
        names = ["congdanso.target", "congdanso-migrate.service", "congdanso@8001.service"]
        names += ["seaweedfs-master.service", "seaweedfs-volume@1.service", "seaweedfs-filer.service"]
        names += ["seaweedfs-s3.service"]
        checked = subprocess.run(
            [analyze, "verify", "--man=no", *(f"{units}/{name}" for name in names)],
            capture_output=True,
            text=True,
            check=False,
            env={"SYSTEMD_LOG_LEVEL": "warning", "PATH": "/usr/bin:/bin"},  # unknown keys are warnings
        )
        # The binaries live on the hosts (/opt/congdanso, /usr/local/bin/weed), not here: only that may be missing.
        problems = [line for line in checked.stderr.splitlines() if "is not executable" not in line]
        assert problems == []
