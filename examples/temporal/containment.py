"""A short containment sequence as a Temporal workflow, in Python.

Each step is one call of soar-host's generic activity `run_action`, by
name, on the task queue `soar-host worker` polls: sign the user out of
every Zoom client, deactivate the account, then list the meetings they
host (to review or delete next). The workflow names a resource (a file in
the workers' resources directory); it never holds a credential.

Its own worker (Python) runs it on a queue of its own, beside the
soar-host workers: `Worker(client, task_queue="soar-py",
workflows=[ZoomContainment])`, as cli/tests/all/temporal/py_caller.py does.
"""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy


@workflow.defn(name="zoom_containment")
class ZoomContainment:
    @workflow.run
    async def run(self, args: dict) -> dict:
        resource = args["resource"]
        user = args["user_id"]
        queue = args.get("task_queue", "soar")

        async def action(name: str, params: dict) -> dict:
            return await workflow.execute_activity(
                "run_action",
                {"resource": resource, "action": name, "params": params},
                task_queue=queue,
                start_to_close_timeout=timedelta(minutes=2),
                heartbeat_timeout=timedelta(seconds=10),
                # These three are idempotent: retrying a rate-limited or
                # failed call cannot act twice. (A non-idempotent action
                # such as create_meeting gets maximum_attempts=1.)
                retry_policy=RetryPolicy(maximum_attempts=5),
                result_type=dict,
            )

        revoked = await action("revoke_user_sessions", {"user_id": user})
        deactivated = await action("deactivate_user", {"user_id": user})
        meetings = await action("list_meetings", {"user_id": user})
        return {
            "revoked": revoked["data"],
            "deactivated": deactivated["data"],
            "meetings": meetings["data"],
        }
