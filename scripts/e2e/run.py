"""`make e2e`: every example DAG on a real multi-process Airflow (PostgreSQL, Redis, CeleryExecutor, triggerer).

``airflow dags test`` runs a DAG in one process and runs triggers inline, which hides the faults that
reach users in production: a trigger that does not serialise or import in a separate triggerer,
hook state that does not survive a hop between workers, a sync connection lookup inside the
triggerer's event loop, two workers writing to one rate-limited CMS at once. This script builds the
production shape on one machine from Debian and PyPI packages only, runs every DAG in
``dags_examples/`` through it, then judges the result from outside Airflow (the sandbox's request
log and state, the metadata DB, the log files) and stops everything it started, whatever happens.

The story of a run is ``execute`` below; the parts live beside this file:

- ``layout.py``     where the run keeps its files (``.e2e/``; PostgreSQL's folder outside the checkout)
- ``provision.py``  Debian and Python packages, the PostgreSQL account, a fresh file tree
- ``procs.py``      process groups, one-shot commands, signals (generic)
- ``services.py``   starting PostgreSQL, Redis, the sandbox and Airflow's components
- ``airflow_api.py`` asking the running Airflow: REST API (unpause, trigger), metadata DB; the run monitor
- ``hitl.py``       answering Human-in-the-loop tasks (the reviewed refresh's approval) through the REST API
- ``checks.py``     the verdicts and the summary; ``evidence.py`` and ``feature_evidence.py`` their pure,
                    unit-tested helpers
- ``object_store.py`` the S3 server the change journal is written to, and its checks
- ``dags/``         DAGs of the run only, linked into its DAG folder next to ``dags_examples/``

Everything is rebuilt on each run, so a run never depends on the previous one.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a script: the harness's modules are imported as scripts.e2e.*

from scripts.e2e import airflow_api, checks, hitl, object_store, provision, services  # noqa: E402
from scripts.e2e.layout import Tree, elapsed, log  # noqa: E402
from scripts.e2e.procs import ServiceGroup, ignore_interrupts, stopped_on_signals  # noqa: E402

#: The Human-in-the-loop tasks the harness answers as a person would. The review of the reviewed refresh
#: is approved once ``asset_seo_publish`` (which writes three of the same pages of the same site) has
#: ended, so the writes on those pages come in one order on every run.
APPROVALS = (hitl.Approval(checks.REVIEWED_DAG, "review", "Approve", after=("asset_seo_publish",)),)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--dags-folder", type=Path, default=ROOT / "dags_examples")
    parser.add_argument("--webflow-rate-limit", type=int, default=60,
                        help="sandbox Webflow requests per window: 240 pages at 60 per 15 s take about a minute")
    parser.add_argument("--webflow-rate-window", type=float, default=15.0, help="sandbox Webflow window (s)")
    parser.add_argument("--buttercms-apply-delay", type=float, default=45.0,
                        help="seconds before a ButterCMS 202 becomes readable: longer than the gap between the "
                             "publish task and the sensor's first check, so the sensor must defer (that gap is "
                             "mostly the wait for a free worker slot: 20 s was not always enough with every DAG "
                             "on four slots)")
    parser.add_argument("--webflow-publish-interval", type=float, default=90.0,
                        help="sandbox seconds between two successful publishes of one site (Webflow's: 60). Two "
                             "DAGs publish the demo site about 65 s apart here: 90 s makes the second meet the "
                             "limit and wait out its 429 on every run (a lower value would leave that path "
                             "unexercised), for about 15 s more in all")
    parser.add_argument("--run-timeout", type=float, default=600.0, help="bound on waiting for the DAG runs (s)")
    return parser.parse_args()


def dag_ids(dags: Path) -> list[str]:
    return sorted(p.stem for p in dags.glob("*.py") if not p.name.startswith("_"))


def execute(args: argparse.Namespace, tree: Tree, group: ServiceGroup, timings: dict[str, float]) -> int:
    """Install, start the deployment, run every DAG, judge the run from outside. Stopping is ``main``'s job."""
    dags = provision.dags_folder(tree, [args.dags_folder.resolve(), object_store.DAGS])
    ids = dag_ids(dags)
    log(f"DAGs: {', '.join(ids) or 'none'}")

    pg_bin = provision.ensure_system_packages(tree.logs)
    provision.ensure_python_packages(tree.logs)
    timings["install"] = elapsed()

    pg_user = provision.postgres_user()
    provision.hand_over(tree, pg_user)
    ports = services.Ports()
    log(f"postgres ({pg_bin}, user {pg_user or 'current'}, data in {tree.pg_scratch}) on {ports.postgres}, "
        f"redis on {ports.redis}")
    services.start_postgres(group, tree, pg_bin, pg_user, ports.postgres)
    services.start_redis(group, tree, ports.redis)
    services.start_sandbox(group, ports.sandbox, args)
    log(f"sandbox on {ports.sandbox_url} (webflow {args.webflow_rate_limit} req / {args.webflow_rate_window:g} s, "
        f"one publish per site per {args.webflow_publish_interval:g} s)")
    s3 = object_store.start(group, tree)
    log(f"s3 (moto) on {s3.url}; [pagemeta] journal_dir = {object_store.JOURNAL_DIR}")
    env = {**services.airflow_env(tree, ports, dags, args.webflow_rate_window), **s3.airflow_env()}
    # The checks read journals from the URIs the tasks' XComs name, as a user would: this process
    # needs the bucket's connection too.
    os.environ.update({k: v for k, v in s3.airflow_env().items() if k.startswith("AIRFLOW_CONN_")})
    airflow = services.start_airflow(group, tree, env, ports)
    import_errors = airflow_api.wait_parsed(airflow, ids, 240)
    log(f"DAGs parsed ({len(import_errors)} import error(s))")
    timings["start-up"] = elapsed() - timings["install"]

    runnable = [i for i in ids if i not in import_errors]
    observed = airflow_api.Observed()
    from airflow_provider_pagemeta.sandbox.control import SandboxControl

    sandbox = SandboxControl(ports.sandbox_url)
    approvals = [a for a in APPROVALS if a.dag_id in runnable]
    if runnable:
        object_store.prepare(tree, ports.sandbox_url)
        log("unpausing and triggering")
        airflow.unpause(runnable)
        run_ids = airflow.trigger(runnable)
        log(f"triggered {len(run_ids)} DAG(s) through the REST API")
        responder = hitl.Responder(airflow, approvals, lambda: len(sandbox.requests()), airflow.task_state, note=log)
        airflow_api.monitor(airflow, runnable, args.run_timeout, observed, note=log, on_poll=responder)
    timings["dag runs"] = observed.run_seconds

    ctx = checks.Context(tree=tree, dags=dags, ids=ids, import_errors=import_errors, observed=observed,
                         airflow=airflow, sandbox_url=ports.sandbox_url, log_entries=sandbox.requests(),
                         approvals=approvals, webflow_publish_interval=args.webflow_publish_interval,
                         webflow_rate_window=args.webflow_rate_window)
    keep_request_log(tree, ctx.log_entries)
    verdict = checks.judge(ctx)
    timings["total"] = elapsed()
    checks.print_summary(verdict, ctx, timings)
    return 0 if verdict.passed else 1


def keep_request_log(tree: Tree, entries: list[dict[str, object]]) -> None:
    """The sandbox's request log, kept beside the service logs: a failed check can be replayed from it."""
    target = tree.root / "sandbox-requests.json"
    target.write_text(json.dumps(entries, indent=1, default=str))
    log(f"sandbox request log ({len(entries)} request(s)) kept in {target}")


def main() -> int:
    args = parse_args()
    timings: dict[str, float] = {}
    code = 1
    tree = provision.fresh_tree()
    group = ServiceGroup(tree.logs, pidfile=tree.pidfile)
    with stopped_on_signals(log):
        try:
            code = execute(args, tree, group, timings)
        except Exception as exc:
            log(f"ERROR: {type(exc).__name__}: {exc}")
        finally:
            ignore_interrupts()
            log("stopping every service")
            leftovers = group.stop_all()
            if leftovers:
                log(f"LEFTOVER processes: {leftovers}; PostgreSQL's folder kept: {tree.pg_scratch}")
                code = 1
            else:
                provision.remove_tree_scratch(tree)
                log(f"stopped {len(group.services)} service(s); no process of ours left running; "
                    f"removed {tree.pg_scratch}")
    log(f"exit {code} after {elapsed():.0f} s")
    return code


if __name__ == "__main__":
    sys.exit(main())
