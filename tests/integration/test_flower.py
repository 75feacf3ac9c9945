"""Stock Flower against the running stack sees our jobs under their task names."""

from __future__ import annotations

import pytest
import requests

from devstack.stack import free_port
from tests.integration.client import run_job, submit
from tests.integration.conftest import OpsStack

pytestmark = pytest.mark.integration


def test_flower_lists_our_tasks_with_names_and_final_states(ops_stack: OpsStack) -> None:
    pytest.importorskip("flower")  # the optional extra; ./dev installs it
    port = free_port()
    # Given Flower started from the Procfile against the stack's broker
    ops_stack.stack.start(
        "flower",
        extra_env={
            "FLOWER_PORT": str(port),
            "FLOWER_ADDRESS": "127.0.0.1",
            "FLOWER_UNAUTHENTICATED_API": "true",
        },
    )
    flower = f"http://127.0.0.1:{port}"
    try:

        def workers_known() -> bool:
            try:
                resp = requests.get(f"{flower}/api/workers", params={"refresh": "1"}, timeout=10)
            except requests.RequestException:
                return False
            return resp.status_code == 200 and set(ops_stack.workers) <= set(resp.json())

        ops_stack.wait_for(workers_known, timeout=60, what="Flower to see both workers")
        # When a report succeeds and a diagnostic job fails
        done, _ = run_job(ops_stack.base_url, "yearly-sales", {"year": 2022})
        failed = submit(ops_stack.base_url, "noop", {"steps": 1, "failAtStep": 1})
        failed_id = failed.headers["Location"].split("/")[3]

        # Then Flower's task list has both, by their task names, in their final states
        def tasks() -> dict | None:
            found = requests.get(f"{flower}/api/tasks", timeout=10).json()
            a, b = found.get(done["id"]), found.get(failed_id)
            if a and b and a["state"] == "SUCCESS" and b["state"] == "FAILURE":
                return found
            return None

        found = ops_stack.wait_for(tasks, timeout=60, what="both tasks in Flower")
        assert found[done["id"]]["name"] == "reports.yearly_sales"
        assert found[failed_id]["name"] == "reports.noop"
        assert found[done["id"]]["worker"] in ops_stack.workers
        assert "asked to fail" in found[failed_id]["exception"]
    finally:
        ops_stack.stack.stop("flower")
