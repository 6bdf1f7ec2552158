"""The tools a lab would otherwise use, started by the suite on 127.0.0.1 with their own config:
an OpenSSH server (for ``scp`` and ``rsync`` over ssh; host key, user key and sshd_config in the
work directory, on a free port) and ``python -m http.server`` (fetched with ``curl``)."""

from __future__ import annotations

import getpass
import os
import subprocess
import sys
import time
from pathlib import Path

from performance_test_project.common import HOST, find_binary, free_port, stop, wait_for_port


class SshServer:
    def __init__(self, workdir: Path) -> None:
        self.dir = workdir / "sshd"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.user = getpass.getuser()
        self.proc: subprocess.Popen | None = None
        self.sshd = find_binary("sshd", "openssh-server", sbin=True)
        find_binary("rsync", "rsync")
        find_binary("scp", "openssh-client")

    def start(self) -> None:
        host_key, user_key = self.dir / "host_ed25519", self.dir / "user_ed25519"
        for key in (host_key, user_key):
            if not key.exists():
                subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        authorized = self.dir / "authorized_keys"
        authorized.write_text((self.dir / "user_ed25519.pub").read_text())
        authorized.chmod(0o600)
        config = self.dir / "sshd_config"
        config.write_text(
            f"Port {self.port}\nListenAddress {HOST}\nHostKey {host_key}\nPidFile {self.dir}/sshd.pid\n"
            f"AuthorizedKeysFile {authorized}\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
            "PubkeyAuthentication yes\nUsePAM no\nStrictModes no\nPermitRootLogin prohibit-password\n"
            "AllowUsers " + self.user + "\nX11Forwarding no\nPrintMotd no\nSubsystem sftp internal-sftp\n"
            "LogLevel ERROR\n"
        )
        if os.geteuid() == 0:
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation directory
        log = (self.dir / "sshd.log").open("a")
        self.proc = subprocess.Popen(
            [self.sshd, "-D", "-e", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        wait_for_port(self.port, proc=self.proc)
        self.run(["ssh", *self.ssh_options(), f"{self.user}@{HOST}", "true"])

    def ssh_options(self, scp: bool = False) -> list[str]:
        return [
            "-P" if scp else "-p",
            str(self.port),
            "-i",
            str(self.dir / "user_ed25519"),
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            "LogLevel=ERROR",
        ]

    def ssh_command(self) -> str:
        return "ssh " + " ".join(self.ssh_options())

    @staticmethod
    def run(cmd: list[str]) -> float:
        started = time.perf_counter()
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
        if result.returncode:
            raise RuntimeError(f"{cmd[0]} failed ({result.returncode}): {result.stderr[-500:]}")
        return time.perf_counter() - started

    def scp_upload(self, source: Path, dest: Path) -> float:
        return self.run(["scp", "-q", *self.ssh_options(scp=True), str(source), f"{self.user}@{HOST}:{dest}"])

    def scp_download(self, source: Path, dest: Path) -> float:
        return self.run(["scp", "-q", *self.ssh_options(scp=True), f"{self.user}@{HOST}:{source}", str(dest)])

    def rsync_upload(self, source: Path, dest: Path) -> float:
        return self.run(["rsync", "-q", "-e", self.ssh_command(), str(source), f"{self.user}@{HOST}:{dest}"])

    def rsync_download(self, source: Path, dest: Path) -> float:
        return self.run(["rsync", "-q", "-e", self.ssh_command(), f"{self.user}@{HOST}:{source}", str(dest)])

    def stop(self) -> None:
        stop(self.proc)
        self.proc = None


class HttpServer:
    """``python -m http.server`` on a directory (GET only), fetched with ``curl``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.curl = find_binary("curl", "curl")

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "http.server", str(self.port), "--bind", HOST, "--directory", str(self.directory)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_for_port(self.port, proc=self.proc)

    def download(self, name: str, dest: Path) -> float:
        return SshServer.run([self.curl, "-sSf", "-o", str(dest), f"http://{HOST}:{self.port}/{name}"])

    def stop(self) -> None:
        stop(self.proc)
        self.proc = None
