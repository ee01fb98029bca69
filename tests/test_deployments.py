"""Deployment artifacts: prefect.yaml's entrypoints, and the ECS GPU pool's base job template rendered
by prefect-aws's own ECS worker code and registered against moto's ECS."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from uuid import uuid4

import boto3
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "deployments" / "ecs-gpu-job-template.json"


def test_every_deployment_points_at_a_flow_of_that_name():
    from prefect.flows import load_flow_from_entrypoint

    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    names = {d["name"] for d in spec["deployments"]}
    assert {"local", "gpu", "aws"} <= names
    for d in spec["deployments"]:
        flow = load_flow_from_entrypoint(str(ROOT / d["entrypoint"]))
        assert d["entrypoint"].split(":")[1] == flow.fn.__name__
    gpu = next(d for d in spec["deployments"] if d["name"] == "gpu")
    aws = next(d for d in spec["deployments"] if d["name"] == "aws")
    # The main flow's deployment sends transcription to the GPU flow's deployment.
    from podwhisperer.settings import Settings

    settings = Settings.model_validate(aws["parameters"]["settings"])
    assert settings.engine.engine == "whisperx-gpu"
    assert settings.gpu.deployment == f"gpu-transcribe/{gpu['name']}"


def test_the_template_keeps_prefect_aws_variables():
    from prefect_aws.workers.ecs_worker import ECSWorker

    ours = json.loads(TEMPLATE.read_text())
    theirs = ECSWorker.get_default_base_job_template()
    assert set(theirs["variables"]["properties"]) <= set(ours["variables"]["properties"])
    assert set(theirs["job_configuration"]) == set(ours["job_configuration"])


@pytest.fixture
def ecs(s3_server):
    return boto3.client("ecs", region_name="us-east-1")


def test_ecs_gpu_template_renders_a_gpu_task_definition(prefect_server, ecs):
    from prefect.client.schemas.objects import FlowRun
    from prefect_aws.workers.ecs_worker import ECSJobConfiguration, ECSWorker

    template = json.loads(TEMPLATE.read_text())
    job_variables = {"image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/podwhisperer-gpu:2026.11",
                     "execution_role_arn": "arn:aws:iam::123456789012:role/podwhisperer-ecs-execution",
                     "task_role_arn": "arn:aws:iam::123456789012:role/podwhisperer-gpu-task",
                     "cluster": "podwhisperer"}
    config = asyncio.run(ECSJobConfiguration.from_template_and_values(template, job_variables))
    worker = ECSWorker(work_pool_name="gpu-ecs")
    flow_run = FlowRun(flow_id=uuid4(), deployment_id=uuid4(), name="gpu-run")
    taskdef = worker._prepare_task_definition(config, "us-east-1", flow_run)

    (container,) = taskdef["containerDefinitions"]
    assert container["resourceRequirements"] == [{"type": "GPU", "value": "1"}]
    assert container["image"] == job_variables["image"]
    assert taskdef["requiresCompatibilities"] == ["EC2"] and "networkMode" not in taskdef
    assert {"name": "PODWHISPERER_MODELS_DIR", "value": "/models"} in container["environment"]
    assert {"name": "HF_HUB_OFFLINE", "value": "1"} in container["environment"]
    assert container["logConfiguration"]["logDriver"] == "awslogs"
    assert taskdef["taskRoleArn"] == job_variables["task_role_arn"]
    assert int(taskdef["memory"]) >= 16384 and int(taskdef["cpu"]) >= 4096

    # AWS accepts it (moto's ECS), and it keeps the GPU requirement.
    arn = ecs.register_task_definition(**taskdef)["taskDefinition"]["taskDefinitionArn"]
    registered = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
    assert registered["containerDefinitions"][0]["resourceRequirements"] == [{"type": "GPU", "value": "1"}]
    assert registered["containerDefinitions"][0]["image"] == job_variables["image"]

    # The run request goes to the GPU capacity provider (scales to zero), not Fargate.
    request = worker._prepare_task_run_request(config, taskdef, arn, True)
    assert request["capacityProviderStrategy"][0]["capacityProvider"] == "podwhisperer-gpu"
    assert "launchType" not in request and request["cluster"] == "podwhisperer"


def test_dockerfile_gpu_passes_the_linter_and_bakes_models_offline():
    import shutil
    import subprocess

    hadolint = shutil.which("hadolint") or str(Path(__import__("sys").executable).parent / "hadolint")
    result = subprocess.run([hadolint, str(ROOT / "Dockerfile.gpu")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    text = (ROOT / "Dockerfile.gpu").read_text()
    # Models are downloaded with the token as a build secret, then verified with the hubs offline.
    assert "--mount=type=secret,id=hf_token" in text and "ENV HF_HUB_OFFLINE=1" in text
    assert text.index("models download") < text.index("HF_HUB_OFFLINE=1") < text.index("models verify")
    assert '".[whisperx]"' in text and "PODWHISPERER_MODELS_DIR=/models" in text
