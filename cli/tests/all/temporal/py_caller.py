"""Temporal's Python SDK as another language's caller of soar-host's worker.

    py_caller.py workflow ADDRESS QUEUE INPUT     run_action_workflow, by name
    py_caller.py playbook ADDRESS QUEUE INPUT     run_playbook, by name
    py_caller.py containment ADDRESS QUEUE INPUT  examples/temporal/containment.py:
                                                  a Python workflow calling run_action by name

Prints one JSON object: {"ok": true, "result", "workflow_id"} or
{"ok": false, "failure": {"type", "non_retryable", "message", "details"}, "workflow_id"}.
"""

import asyncio
import json
import os
import sys
import uuid

from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "..", "examples", "temporal"))

from containment import ZoomContainment  # noqa: E402


def failure(error: BaseException) -> dict:
    """The innermost application error: the activity's own failure."""
    cause = error
    while cause is not None and not isinstance(cause, ApplicationError):
        cause = cause.__cause__ or getattr(cause, "cause", None)
    if cause is None:
        return {"type": None, "message": str(error), "chain": repr(error)}
    return {
        "type": cause.type,
        "non_retryable": cause.non_retryable,
        "message": cause.message,
        "details": cause.details[0] if cause.details else None,
    }


async def main(mode: str, address: str, queue: str, arg: dict) -> dict:
    client = await Client.connect(address, namespace="default")
    workflow_id = f"{mode}-{uuid.uuid4()}"
    try:
        if mode == "workflow":
            result = await client.execute_workflow(
                "run_action_workflow", arg, id=workflow_id, task_queue=queue, result_type=dict
            )
        elif mode == "playbook":
            result = await client.execute_workflow(
                "run_playbook", arg, id=workflow_id, task_queue=queue, result_type=dict
            )
        elif mode == "containment":
            py_queue = f"{queue}-py"
            async with Worker(client, task_queue=py_queue, workflows=[ZoomContainment]):
                result = await client.execute_workflow(
                    "zoom_containment",
                    {**arg, "task_queue": queue},
                    id=workflow_id,
                    task_queue=py_queue,
                    result_type=dict,
                )
        else:
            raise SystemExit(f"unknown mode {mode}")
    except WorkflowFailureError as e:
        return {"ok": False, "failure": failure(e), "workflow_id": workflow_id}
    return {"ok": True, "result": result, "workflow_id": workflow_id}


if __name__ == "__main__":
    mode, address, queue, arg = sys.argv[1:5]
    print(json.dumps(asyncio.run(main(mode, address, queue, json.loads(arg)))), flush=True)
    # The SDK's native runtime can abort while the interpreter finalizes
    # ("PyGILState_Release ... must be current"): everything is said, leave.
    os._exit(0)
