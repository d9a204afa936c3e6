"""A real single-node SLURM cluster for the tests: munge, slurmctld and slurmd on this machine.

Everything lives in one private folder (config, state, spool, logs, the munge key and socket) and
the daemons are stopped on exit, so nothing of the host's own SLURM setup is touched. Commands
find the cluster through ``SLURM_CONF``, which :meth:`SlurmCluster.env` sets.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "squeue", "scancel", "sinfo", "srun")


def missing_tools() -> list[str]:
    """The SLURM/munge programs this machine lacks (``make test`` installs them with apt)."""
    return [t for t in DAEMONS + CLIENTS if shutil.which(t) is None]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SlurmCluster:
    """Start ``munged``, ``slurmctld`` and ``slurmd`` with one node (this machine) in one partition."""

    def __init__(self, workdir: str | os.PathLike, *, cpus: int = 2, memory_mb: int = 8000, partition: str = "debug",
                 gres_gpu: int = 0):
        self.dir = Path(workdir).resolve()
        self.cpus, self.memory_mb, self.partition = cpus, memory_mb, partition
        self.host = socket.gethostname().split(".")[0]
        self.gres_gpu = gres_gpu
        self.procs: list[subprocess.Popen] = []
        self.conf = self.dir / "slurm.conf"
        self.munge_socket = self.dir / "munge" / "munge.socket"

    # -- environment -------------------------------------------------------------------------
    def env(self, base: dict | None = None) -> dict:
        env = dict(os.environ if base is None else base)
        env["SLURM_CONF"] = str(self.conf)
        return env

    def run(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run(list(args), env=self.env(), capture_output=True, text=True, timeout=timeout, check=check)

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self, timeout: float = 60) -> "SlurmCluster":
        missing = missing_tools()
        if missing:
            raise RuntimeError(
                f"SLURM is not installed here (missing {', '.join(missing)}): apt-get install slurm-wlm munge"
            )
        munge = self.dir / "munge"
        for sub in ("munge", "state", "spool", "log"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(munge, 0o700)
        key = munge / "munge.key"
        key.write_bytes(os.urandom(1024))
        os.chmod(key, 0o400)
        self._spawn(["munged", "--foreground", "--force", f"--socket={self.munge_socket}", f"--key-file={key}",
                     f"--pid-file={munge / 'munged.pid'}", f"--log-file={self.dir / 'log' / 'munged.log'}",
                     f"--seed-file={munge / 'munged.seed'}"], "munged")
        self._wait(lambda: self.munge_socket.exists(), timeout, "munged did not create its socket")
        self.conf.write_text(self._config())
        if self.gres_gpu:
            (self.dir / "gres.conf").write_text(f"NodeName={self.host} Name=gpu File=/dev/null Count={self.gres_gpu}\n")
        self._spawn(["slurmctld", "-D", "-f", str(self.conf)], "slurmctld")
        self._spawn(["slurmd", "-D", "-f", str(self.conf)], "slurmd")
        self._wait(self._node_idle, timeout, "the SLURM node did not become idle")
        return self

    def stop(self) -> None:
        self.run("scancel", "--user", os.environ.get("USER", "root"), check=False, timeout=20) if self.conf.exists() else None
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in reversed(self.procs):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        self.procs.clear()
        # slurmd's job steps (slurmstepd) may outlive it for a moment; kill what is left in our spool.
        subprocess.run(["pkill", "-f", f"slurmstepd.*{self.dir}"], capture_output=True)

    def __enter__(self) -> "SlurmCluster":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- helpers -----------------------------------------------------------------------------
    def log(self, name: str) -> str:
        path = self.dir / "log" / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _spawn(self, args: list[str], name: str) -> None:
        out = open(self.dir / "log" / f"{name}.stdout", "wb")
        self.procs.append(subprocess.Popen(args, env=self.env(), stdout=out, stderr=subprocess.STDOUT,
                                           start_new_session=True))

    def _node_idle(self) -> bool:
        for proc in self.procs:
            if proc.poll() is not None:
                raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}:\n{self._tail(proc.args[0])}")
        out = self.run("sinfo", "-h", "-N", "-o", "%T", check=False, timeout=10)
        return out.returncode == 0 and out.stdout.strip().startswith("idle")

    def _tail(self, name: str) -> str:
        name = Path(name).name
        text = self.log(name) or (self.dir / "log" / f"{name}.stdout").read_text(errors="replace")
        return text[-2000:]

    @staticmethod
    def _wait(pred, timeout: float, what: str) -> None:
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if pred():
                return
            time.sleep(0.3)
        raise RuntimeError(f"{what} within {timeout:.0f} s")

    def _config(self) -> str:
        d = self.dir
        gres = f" Gres=gpu:{self.gres_gpu}" if self.gres_gpu else ""
        lines = [
            "ClusterName=mesoscale-test",
            f"SlurmctldHost={self.host}",
            "SlurmUser=root",
            "SlurmdUser=root",
            f"SlurmctldPort={_free_port()}",
            f"SlurmdPort={_free_port()}",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"AuthInfo=socket={self.munge_socket}",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core_Memory",
            "ReturnToService=2",
            "MpiDefault=none",
            "SwitchType=switch/none",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            "SchedulerType=sched/backfill",
            "SlurmctldTimeout=30",
            "SlurmdTimeout=30",
            "InactiveLimit=0",
            "KillWait=5",
            "MinJobAge=30",
            f"StateSaveLocation={d / 'state'}",
            f"SlurmdSpoolDir={d / 'spool'}",
            f"SlurmctldPidFile={d / 'slurmctld.pid'}",
            f"SlurmdPidFile={d / 'slurmd.pid'}",
            f"SlurmctldLogFile={d / 'log' / 'slurmctld.log'}",
            f"SlurmdLogFile={d / 'log' / 'slurmd.log'}",
            "SlurmctldDebug=info",
            "SlurmdDebug=info",
        ]
        if self.gres_gpu:
            lines.append("GresTypes=gpu")
        lines += [
            f"NodeName={self.host} NodeAddr=127.0.0.1 CPUs={self.cpus} RealMemory={self.memory_mb}{gres} State=UNKNOWN",
            f"PartitionName={self.partition} Nodes={self.host} Default=YES MaxTime=INFINITE State=UP",
        ]
        return "\n".join(lines) + "\n"
