"""One Airflow asset event per bulk run, listing the pages that really changed.

A downstream DAG (purge a CDN cache, rebuild a sitemap) should run when pages changed, not every
time the upstream task succeeds. An :class:`~airflow.sdk.Asset` put straight into ``outlets``
does not allow that: Airflow records an event for it on every successful run, so a rerun that
changed nothing would still trigger the consumer. An :class:`~airflow.sdk.AssetAlias` does: an
alias emits only the events the task adds to it at run time, and none when it adds nothing.

So a bulk operator given ``changed_pages_asset=Asset(...)`` puts an alias into its own
``outlets`` and, only when the run changed at least one page (and was not a dry run), adds one
event for that asset whose ``extra`` is ``{"cms": ..., "changed_pages": [...], ...}``. The
consumer schedules on the asset itself (``schedule=[asset]``) and reads the pages from
``triggering_asset_events``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import Asset, AssetAlias

from airflow_provider_pagemeta.core.validation import invalid

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator, Context

#: Prefix of the alias a bulk operator adds to its outlets; the rest is the asset's name.
ALIAS_PREFIX = "pagemeta-changed-pages:"


def as_asset(value: Asset | str | None, cms: str) -> Asset | None:
    """``changed_pages_asset`` as an Asset: a string is the asset's name (and URI)."""
    if value is None or isinstance(value, Asset):
        return value
    if isinstance(value, str) and value.strip():
        return Asset(value.strip())
    raise invalid(f"changed_pages_asset must be an Asset, its name, or None, got {value!r}", "changed_pages_asset", cms)


def alias_for(asset: Asset) -> AssetAlias:
    """The alias that carries ``asset``'s events; one per asset, shared by every task feeding it."""
    return AssetAlias(name=ALIAS_PREFIX + asset.name)


def changed_pages_extra(
    summary: Mapping[str, Any], cms: str, changed: Sequence[str] | None = None, **context_keys: Any
) -> dict[str, Any]:
    """The event's ``extra``: the changed pages only (all of them: ``changed`` when given, since the
    summary lists only the first ones), plus counts and where they came from."""
    pages = list(changed if changed is not None else summary.get("changed_pages") or [])
    extra: dict[str, Any] = {"cms": cms, "changed_pages": pages}
    extra.update({k: v for k, v in context_keys.items() if v is not None})
    extra["counts"] = {k: summary.get(k) for k in ("total", "updated", "unchanged", "failed", "skipped")}
    return extra


def add_alias_outlet(operator: BaseOperator, value: Asset | str | None, cms: str) -> Asset | None:
    """Check ``changed_pages_asset`` and put its alias into the operator's outlets (at DAG parse
    time, so Airflow registers the alias); returns the asset, or None when none was given."""
    asset = as_asset(value, cms)
    if asset is not None:
        alias = alias_for(asset)
        if alias not in operator.outlets:
            operator.outlets = [*operator.outlets, alias]
    return asset


def emit_changed_pages(
    operator: BaseOperator,
    context: Context,
    asset: Asset | None,
    summary: Mapping[str, Any],
    cms: str,
    changed: Sequence[str] | None = None,
    **extra: Any,
) -> bool:
    """Add the run's one event, or nothing when no page changed; returns whether it did."""
    if asset is None:
        return False
    changed = list(changed if changed is not None else summary.get("changed_pages") or [])
    if summary.get("dry_run") or not changed:
        operator.log.info("No page changed: no event for asset %r, so nothing downstream is triggered", asset.name)
        return False
    event_extra = changed_pages_extra(summary, cms, changed, **extra)
    context["outlet_events"][alias_for(asset)].add(asset, extra=event_extra)
    operator.log.info("Asset %r: one event listing %d changed page(s)", asset.name, len(changed))
    return True
