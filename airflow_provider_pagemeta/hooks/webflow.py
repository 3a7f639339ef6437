"""Webflow hook: connection, auth and the Webflow page calls, on the shared HTTP core."""

from __future__ import annotations

from typing import Any, ClassVar

from airflow_provider_pagemeta.core.hook import PageMetaHook


class WebflowHook(PageMetaHook):
    """Talks to the Webflow API with the token from the connection's password.

    :param webflow_conn_id: the Airflow connection id (conn type ``webflow``).
    """

    conn_name_attr = "webflow_conn_id"
    default_conn_name = "webflow_default"
    conn_type = "webflow"
    hook_name = "Webflow"

    cms: ClassVar[str] = "webflow"
    default_base_url: ClassVar[str | None] = "https://api.webflow.com"
    auth_scheme: ClassVar[str] = "Bearer"

    def __init__(self, webflow_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(webflow_conn_id, **kwargs)
        self.webflow_conn_id = webflow_conn_id
