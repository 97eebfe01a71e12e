"""examples/gitops/pipeline.yml, run step by step as a runner would: a pull request's job in one
fresh checkout, the merge job in another, against the lab and a real PostgreSQL as the team's
state store. `run:` steps run verbatim under bash (GitHub's `bash -e -o pipefail`, with
GITHUB_PATH and RUNNER_TEMP); `uses:` steps are played by what they do here (checkout copies
the repository, artifacts are copied between the jobs, the comment and test-report actions
must find their files). Both jobs run on one runner machine: the merge job's Install step,
the same text as the pull request job's, is run once."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import xml.etree.ElementTree as ET
from pathlib import Path

import psycopg
import yaml

from fabric_helpers import REPO

PIPELINE = REPO / "examples/gitops/pipeline.yml"
NOT_IN_A_CHECKOUT = shutil.ignore_patterns(".git", ".venv", ".nr-apply", "__pycache__", "*.egg-info", "build",
                                           "tests", "benchmarks", ".pytest_cache")


class Runner:
    """One self-hosted runner: jobs share its machine, each job gets a fresh checkout."""

    def __init__(self, root: Path, lab, secrets: dict[str, str], state_url: str):
        self.root, self.lab, self.secrets, self.state_url = root, lab, secrets, state_url
        self.artifacts = root / "artifacts"
        self.artifacts.mkdir(parents=True)
        self.workflow = yaml.safe_load(PIPELINE.read_text())
        self.transcript: list[str] = []
        self.installed: set[str] = set()
        self.temp = root / "runner-temp"
        self.temp.mkdir()
        self.prepare_runner_temp(self.temp)
        self.github_path = self.temp / "github_path"
        self.github_path.touch()

    def checkout(self, job: str) -> Path:
        work = self.root / job / "fabric"
        shutil.copytree(REPO, work, symlinks=True, ignore=NOT_IN_A_CHECKOUT)
        plan = work / "plans/lossless-rollout.yaml"
        text = plan.read_text().replace("inventory: ../inventory", f"inventory: {self.lab.inventory_dir}")
        plan.write_text(text.replace("known_hosts: ../.nr-apply/lab/known_hosts",
                                     f"known_hosts: {self.lab.known_hosts}").replace("soak: 2s", "soak: 0.3s"))
        subprocess.run(["git", "init", "-q", str(work)], check=True)
        return work

    def expand(self, value: str, workspace: Path) -> str:
        def one(m: re.Match) -> str:
            expr = m.group(1).strip()
            if expr.startswith("secrets."):
                return self.secrets[expr.removeprefix("secrets.")]
            if expr == "github.workspace":
                return str(workspace)
            return {"github.event.pull_request.number": "42",
                    "github.event.pull_request.merge_commit_sha": "HEAD"}[expr]
        return re.sub(r"\$\{\{(.*?)\}\}", one, str(value))

    def prepare_runner_temp(self, temp: Path) -> None:
        """The runner's machine already has nr-apply's dependencies (a warm cache): the venv the
        install step creates sees them, so the step only builds nr-apply from the checkout."""
        venv = temp / "nr-apply"
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
        subprocess.run([venv / "bin/python", "-m", "ensurepip", "--default-pip"], check=True, capture_output=True)
        purelib = subprocess.run([venv / "bin/python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                 check=True, capture_output=True, text=True).stdout.strip()
        Path(purelib, "runner-cache.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    def run_job(self, name: str) -> Path:
        job = self.workflow["jobs"][name]
        temp, github_path = self.temp, self.github_path
        workspace = None
        for step in job["steps"]:
            uses, args = step.get("uses", ""), step.get("with", {})
            if uses.startswith("actions/checkout@"):
                workspace = self.checkout(name)
            elif uses.startswith("actions/upload-artifact@"):
                (self.artifacts / args["name"]).mkdir()
                shutil.copy(workspace / args["path"], self.artifacts / args["name"])
            elif uses.startswith(("actions/download-artifact@", "dawidd6/action-download-artifact@")):
                shutil.copytree(self.artifacts / args["name"], workspace / args["path"], dirs_exist_ok=True)
            elif uses.startswith("marocchino/sticky-pull-request-comment@"):
                assert (workspace / args["path"]).read_text().strip(), step
            elif uses.startswith("mikepenz/action-junit-report@"):
                assert "<testsuite" in (workspace / args["report_paths"]).read_text(), step
            elif "run" in step and step["run"] in self.installed:
                continue  # this runner ran this very Install step for the previous job
            elif "run" in step:
                env = {k: v for k, v in os.environ.items() if not k.startswith(("NR_APPLY_", "PG"))}
                env.update({k: self.expand(v, workspace) for k, v in {**self.workflow["env"], **job.get("env", {})}.items()})
                env["NR_APPLY_STATE"] = self.state_url  # the team's database, here the test server
                extra = [p for p in github_path.read_text().splitlines() if p]
                env.update(RUNNER_TEMP=str(temp), GITHUB_PATH=str(github_path), GITHUB_WORKSPACE=str(workspace),
                           PATH=os.pathsep.join([*reversed(extra), env["PATH"]]), NO_COLOR="1")
                script = self.expand(step["run"], workspace)
                proc = subprocess.run(["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", script],
                                      cwd=workspace, env=env, capture_output=True, text=True, timeout=600)
                self.transcript += [proc.stdout, proc.stderr]
                assert proc.returncode == 0, f"{name}: {step.get('name', script)}: {proc.stdout}{proc.stderr}"
                if step.get("name") == "Install":
                    self.installed.add(step["run"])
            else:
                raise AssertionError(f"the test does not know what {uses!r} does")
        return workspace


def test_pull_request_then_merge_applies_exactly_the_reviewed_plan(fresh_lab, tmp_path, postgres, pg_url):
    bare_url = pg_url.replace(f":{postgres.password}@", "@")
    secrets = {"NR_APPLY_USERNAME": fresh_lab.username, "NR_APPLY_PASSWORD": fresh_lab.password,
               "NR_APPLY_DB_PASSWORD": postgres.password}
    runner = Runner(tmp_path, fresh_lab, secrets, bare_url)

    review = runner.run_job("plan")
    saved = json.loads((runner.artifacts / "fabric-plan" / "fabric-plan.json").read_text())
    reviewed = {n["name"]: n["native"] for n in saved["nodes"]}
    assert json.loads((review / "validate.json").read_text())["valid"] is True
    comment = (review / "dry-run.md").read_text()
    assert "| field | before | after | ports |" in comment and "leaf1" in comment
    cases = list(ET.parse(review / "dry-run.xml").getroot().iter("testcase"))
    assert len([c for c in cases if c.get("classname").endswith(".nodes")]) == 14
    assert json.loads((review / "dry-run.json").read_text())["exit_code"] == 2
    assert reviewed and set(reviewed) <= {n["name"] for n in json.loads((review / "dry-run.json").read_text())["nodes"]}
    with psycopg.connect(pg_url) as conn:  # a dry-run does not even open the store
        assert conn.execute("SELECT to_regclass('runs')").fetchone() == (None,)

    merged = runner.run_job("apply")
    assert merged != review
    with psycopg.connect(pg_url) as conn:
        runs = conn.execute("SELECT id, status, exit_code, plan_path FROM runs").fetchall()
        applied = {node for (node,) in conn.execute("SELECT node FROM nodes WHERE state='confirmed'")}
        everything = repr(conn.execute("SELECT * FROM runs").fetchall() + conn.execute("SELECT * FROM events").fetchall())
    assert [(status, code, path) for _, status, code, path in runs] == [("succeeded", 0,
                                                                         "plans/lossless-rollout.yaml")]
    assert applied == set(reviewed)  # exactly the reviewed nodes, from the merge job's checkout
    applied_report = ET.parse(merged / "apply.xml").getroot()
    assert applied_report.get("failures") == "0" and int(applied_report.get("tests")) > 14  # nodes and gates
    # Each job keeps its HTML report as an artifact (the page is checked in a browser elsewhere).
    for artifact in ("dry-run-report/dry-run.html", "apply-report/apply.html"):
        page = (runner.artifacts / artifact).read_text()
        assert page.startswith("<!DOCTYPE html>") and 'id="report-data"' in page
        assert fresh_lab.password not in page
    converged = (merged / "converged.md").read_text()
    assert "— nothing pending" in converged and "| unchanged |\n|---:|\n| 14 |" in converged
    assert all(postgres.password not in text and fresh_lab.password not in text for text in runner.transcript)
    assert postgres.password not in everything
