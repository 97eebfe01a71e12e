"""examples/gitops/pipeline.yml, run step by step as a runner would: a pull request's job in one
fresh checkout, the merge job in another, against the lab and a real PostgreSQL as the team's
state store. `run:` steps run verbatim under bash (GitHub's `bash -e -o pipefail`, with
GITHUB_PATH, GITHUB_OUTPUT and RUNNER_TEMP), with the workflow's, the job's and the step's own
`env:`; a step's `if:` is evaluated as GitHub does for the expressions the pipeline uses, and a
failed step fails the job while later steps still run when their `if:` says so. `uses:` steps
are played by what they do here (checkout copies the repository, artifacts are copied between
the jobs, the comment and test-report actions must find their files). Both jobs run on one
runner machine: the merge job's Install step, the same text as the pull request job's, is run
once. The workflow itself is validated against GitHub's workflow schema (schemastore's, as
vendored by check-jsonschema: no network)."""

from __future__ import annotations

import json
from importlib import resources
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import psycopg
import pyeapi
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
        self.comments: list[str] = []
        self.steps_run: list[str] = []
        self.installed: set[str] = set()
        self.temp = root / "runner-temp"
        self.temp.mkdir()
        self.prepare_runner_temp(self.temp)
        self.github_path = self.temp / "github_path"
        self.github_path.touch()

    def checkout(self, job: str) -> Path:
        work = self.root / job / "fabric"
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(REPO, work, symlinks=True, ignore=NOT_IN_A_CHECKOUT)
        plan = work / "plans/lossless-rollout.yaml"
        # The plan's own known_hosts stays the lab default, which this checkout does not have:
        # the devices' keys come from the FABRIC_KNOWN_HOSTS secret.
        text = plan.read_text().replace("inventory: ../inventory", f"inventory: {self.lab.inventory_dir}")
        plan.write_text(text.replace("soak: 2s", "soak: 0.3s"))
        subprocess.run(["git", "init", "-q", str(work)], check=True)
        return work

    def context(self, expr: str, workspace: Path | None, outputs: dict) -> str:
        if expr.startswith("secrets."):
            return self.secrets[expr.removeprefix("secrets.")]
        if expr.startswith("steps."):
            _, step, _, name = expr.split(".")
            return outputs.get(step, {}).get(name, "")
        return {"github.workspace": str(workspace), "github.event.pull_request.number": "42",
                "github.event.pull_request.merge_commit_sha": "HEAD", "github.server_url": "https://github.com",
                "github.repository": "example/fabric", "github.sha": "0123abc"}[expr]

    def expand(self, value: str, workspace: Path | None, outputs: dict | None = None) -> str:
        return re.sub(r"\$\{\{(.*?)\}\}", lambda m: self.context(m.group(1).strip(), workspace, outputs or {}),
                      str(value))

    def condition(self, expr: str | None, job_ok: bool, outputs: dict) -> bool:
        """A step's `if:`, for the expressions the pipeline uses (status functions, step outputs,
        comparisons, && || !). No `if:` means success()."""
        if expr is None:
            return job_ok
        text = str(expr).strip()
        text = text[3:-2].strip() if text.startswith("${{") else text
        text = re.sub(r"steps\.[\w-]+\.outputs\.\w+", lambda m: repr(self.context(m.group(0), None, outputs)), text)
        text = (text.replace("!cancelled()", "True").replace("always()", "True").replace("success()", repr(job_ok))
                .replace("failure()", repr(not job_ok)).replace("&&", " and ").replace("||", " or ")
                .replace("!=", " __ne__ ").replace("!", " not ").replace(" __ne__ ", "!="))
        assert re.fullmatch(r"[\w\s'()=!.-]*", text), f"unknown expression {expr!r}"
        return bool(eval(text, {"__builtins__": {}}))  # noqa: S307 (the pipeline's own expressions)

    def prepare_runner_temp(self, temp: Path) -> None:
        """The runner's machine already has nr-apply's dependencies (a warm cache): the venv the
        install step creates sees them, so the step only builds nr-apply from the checkout."""
        venv = temp / "nr-apply"
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
        subprocess.run([venv / "bin/python", "-m", "ensurepip", "--default-pip"], check=True, capture_output=True)
        purelib = subprocess.run([venv / "bin/python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                 check=True, capture_output=True, text=True).stdout.strip()
        Path(purelib, "runner-cache.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    def run_job(self, name: str) -> tuple[Path, bool]:
        """(the job's checkout, whether the job succeeded)."""
        job = self.workflow["jobs"][name]
        temp, github_path = self.temp, self.github_path
        workspace = None
        job_ok = True
        outputs: dict[str, dict[str, str]] = {}
        for step in job["steps"]:
            if not self.condition(step.get("if"), job_ok, outputs):
                continue
            self.steps_run.append(f"{name}: {step.get('name', step.get('uses'))}")
            uses, args = step.get("uses", ""), {k: self.expand(v, workspace, outputs)
                                                 for k, v in step.get("with", {}).items()}
            if uses.startswith("actions/checkout@"):
                workspace = self.checkout(name)
            elif uses.startswith("actions/upload-artifact@"):
                target = self.artifacts / args["name"]
                assert args.get("overwrite") == "True" or not target.exists(), step
                target.mkdir(exist_ok=True)
                shutil.copy(workspace / args["path"], target)
            elif uses.startswith(("actions/download-artifact@", "dawidd6/action-download-artifact@")):
                shutil.copytree(self.artifacts / args["name"], workspace / args["path"], dirs_exist_ok=True)
            elif uses.startswith("marocchino/sticky-pull-request-comment@"):
                comment = (workspace / args["path"]).read_text()
                assert comment.strip(), step
                self.comments.append(comment)
            elif uses.startswith("mikepenz/action-junit-report@"):
                assert "<testsuite" in (workspace / args["report_paths"]).read_text(), step
            elif "run" in step and step["run"] in self.installed:
                continue  # this runner ran this very Install step for the previous job
            elif "run" in step:
                env = {k: v for k, v in os.environ.items() if not k.startswith(("NR_APPLY_", "PG"))}
                for scope in (self.workflow.get("env", {}), job.get("env", {}), step.get("env", {})):
                    env.update({k: self.expand(v, workspace, outputs) for k, v in scope.items()})
                env["NR_APPLY_STATE"] = self.state_url  # the team's database, here the test server
                extra = [p for p in github_path.read_text().splitlines() if p]
                output = temp / "github_output"
                output.write_text("")
                env.update(RUNNER_TEMP=str(temp), GITHUB_PATH=str(github_path), GITHUB_WORKSPACE=str(workspace),
                           GITHUB_OUTPUT=str(output), PATH=os.pathsep.join([*reversed(extra), env["PATH"]]),
                           NO_COLOR="1")
                script = self.expand(step["run"], workspace, outputs)
                proc = subprocess.run(["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", script],
                                      cwd=workspace, env=env, capture_output=True, text=True, timeout=600)
                self.transcript += [proc.stdout, proc.stderr]
                if "id" in step:
                    outputs[step["id"]] = dict(line.split("=", 1) for line in output.read_text().splitlines() if line)
                if proc.returncode != 0:
                    job_ok = False
                    self.transcript.append(f"{name}: {step.get('name')}: exit {proc.returncode}")
                if step.get("name") == "Install":
                    assert proc.returncode == 0, proc.stderr
                    self.installed.add(step["run"])
            else:
                raise AssertionError(f"the test does not know what {uses!r} does")
        return workspace, job_ok


def github_workflow_schema() -> dict:
    vendored = resources.files("check_jsonschema.builtin_schemas.vendor").joinpath("github-workflows.json")
    return json.loads(vendored.read_text())


def test_the_pipeline_is_a_valid_github_workflow_with_secrets_only_where_used():
    workflow = yaml.safe_load(PIPELINE.read_text())
    workflow["on"] = workflow.pop(True)  # YAML 1.1 reads the key `on` as true
    jsonschema.Draft7Validator(github_workflow_schema()).validate(workflow)
    assert "secrets." not in json.dumps(workflow["env"])
    for name, job in workflow["jobs"].items():
        assert "secrets." not in json.dumps(job.get("env", {})), name
        assert job["permissions"] and set(job["permissions"].values()) <= {"read", "write"}, name
        for step in job["steps"]:
            used = set(re.findall(r"secrets\.(\w+)", json.dumps(step)))
            named = json.dumps({k: v for k, v in step.items() if k not in ("env", "with")})
            assert not re.search(r"secrets\.", named), (name, step.get("name"))  # never inline in a script
            if used:
                assert "run" in step, (name, step.get("name"))
    apply = workflow["jobs"]["apply"]["concurrency"]
    assert apply["cancel-in-progress"] is False and apply["queue"] == "max"  # merges queue, none cancelled
    assert "known_hosts" not in PIPELINE.read_text().split("jobs:")[1].replace("RUNNER_TEMP/known_hosts", "")


def lab_secrets(lab, postgres) -> dict[str, str]:
    return {"NR_APPLY_USERNAME": lab.username, "NR_APPLY_PASSWORD": lab.password,
            "NR_APPLY_DB_PASSWORD": postgres.password, "FABRIC_KNOWN_HOSTS": Path(lab.known_hosts).read_text()}


def test_pull_request_then_merge_applies_exactly_the_reviewed_plan(fresh_lab, tmp_path, postgres, pg_url):
    bare_url = pg_url.replace(f":{postgres.password}@", "@")
    runner = Runner(tmp_path, fresh_lab, lab_secrets(fresh_lab, postgres), bare_url)

    review, ok = runner.run_job("plan")
    assert ok, runner.transcript
    saved = json.loads((runner.artifacts / "fabric-plan" / "fabric-plan.json").read_text())
    reviewed = {n["name"]: n["native"] for n in saved["nodes"]}
    assert json.loads((review / "validate.json").read_text())["valid"] is True
    comment = (review / "dry-run.md").read_text()
    assert runner.comments == [comment]
    assert "](https://github.com/example/fabric/blob/0123abc/docs/rules.md#" in comment
    assert "| field | before | after | ports |" in comment and "leaf1" in comment
    cases = list(ET.parse(review / "dry-run.xml").getroot().iter("testcase"))
    assert len([c for c in cases if c.get("classname").endswith(".nodes")]) == 15
    assert json.loads((review / "dry-run.json").read_text())["exit_code"] == 2
    assert reviewed and set(reviewed) <= {n["name"] for n in json.loads((review / "dry-run.json").read_text())["nodes"]}
    with psycopg.connect(pg_url) as conn:  # a dry-run does not even open the store
        assert conn.execute("SELECT to_regclass('runs')").fetchone() == (None,)

    merged, ok = runner.run_job("apply")
    assert ok, runner.transcript
    assert merged != review
    assert not any("Re-plan" in step for step in runner.steps_run)
    with psycopg.connect(pg_url) as conn:
        runs = conn.execute("SELECT id, status, exit_code, plan_path FROM runs").fetchall()
        applied = {node for (node,) in conn.execute("SELECT node FROM nodes WHERE state='confirmed'")}
        everything = repr(conn.execute("SELECT * FROM runs").fetchall() + conn.execute("SELECT * FROM events").fetchall())
    assert [(status, code, path) for _, status, code, path in runs] == [("succeeded", 0,
                                                                         "plans/lossless-rollout.yaml")]
    assert applied == set(reviewed)  # exactly the reviewed nodes, from the merge job's checkout
    applied_report = ET.parse(merged / "apply.xml").getroot()
    assert applied_report.get("failures") == "0" and int(applied_report.get("tests")) > 15  # nodes and gates
    # Each job keeps its HTML report as an artifact (the page is checked in a browser elsewhere).
    for artifact in ("dry-run-report/dry-run.html", "apply-report/apply.html"):
        page = (runner.artifacts / artifact).read_text()
        assert page.startswith("<!DOCTYPE html>") and 'id="report-data"' in page
        assert fresh_lab.password not in page
    converged = (merged / "converged.md").read_text()
    assert "— nothing pending" in converged and "| unchanged |\n|---:|\n| 15 |" in converged
    assert all(postgres.password not in text and fresh_lab.password not in text for text in runner.transcript)
    assert postgres.password not in everything


def test_a_stale_reviewed_plan_is_re_planned_commented_and_not_applied(fresh_lab, tmp_path, postgres, pg_url):
    runner = Runner(tmp_path, fresh_lab, lab_secrets(fresh_lab, postgres), pg_url.replace(f":{postgres.password}@", "@"))
    review, ok = runner.run_job("plan")
    assert ok, runner.transcript
    reviewed = json.loads((runner.artifacts / "fabric-plan" / "fabric-plan.json").read_text())
    # Between review and merge, someone changes leaf1 by hand.
    node = fresh_lab.node("leaf1")
    eapi = pyeapi.client.connect(transport="http", host=node.hostname, port=node.port, username=fresh_lab.username,
                                 password=fresh_lab.password)
    pyeapi.client.Node(eapi).config(["interface Ethernet1", "mtu 9000"])

    merged, ok = runner.run_job("apply")
    assert not ok  # the job stops for a review of the new plan
    assert "apply: Re-plan (the reviewed plan is stale)" in runner.steps_run
    assert "apply: Prove convergence" not in runner.steps_run
    assert "no longer matches the saved plan" in "".join(runner.transcript)
    new_plan = json.loads((runner.artifacts / "fabric-plan" / "fabric-plan.json").read_text())
    assert new_plan != reviewed  # the artifact is now the new plan
    leaf1 = next(n for n in new_plan["nodes"] if n["name"] == "leaf1")
    assert leaf1["state_digest"] != next(n for n in reviewed["nodes"] if n["name"] == "leaf1")["state_digest"]
    assert len(runner.comments) == 2 and "changes pending" in runner.comments[-1]
    with psycopg.connect(pg_url) as conn:  # nothing was applied
        assert conn.execute("SELECT count(*) FROM nodes WHERE state='confirmed'").fetchone() == (0,)


def test_a_failing_dry_run_still_posts_its_comment_and_fails_the_job(fresh_lab, tmp_path, postgres, pg_url):
    secrets = {**lab_secrets(fresh_lab, postgres), "NR_APPLY_PASSWORD": "not-the-password"}
    runner = Runner(tmp_path, fresh_lab, secrets, pg_url.replace(f":{postgres.password}@", "@"))
    review, ok = runner.run_job("plan")
    assert not ok
    assert "plan: Comment on the pull request" in runner.steps_run and "plan: Keep the reviewed plan" not in runner.steps_run
    # The dry-run failed (the login is refused): the comment still says so on the pull request.
    assert runner.comments and re.match(r"## nr-apply dry-run: `lossless-rollout` — \*\*(failed|invalid input)\*\*",
                                        runner.comments[0]), runner.comments
