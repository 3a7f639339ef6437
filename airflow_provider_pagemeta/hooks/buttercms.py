"""ButterCMS hook: connection, auth and the ButterCMS page calls, on the shared HTTP core."""

from __future__ import annotations

from typing import Any, ClassVar

from airflow_provider_pagemeta.core.hook import PageMetaHook


class ButterCMSHook(PageMetaHook):
    """Talks to the ButterCMS API with the token from the connection's password.

    :param buttercms_conn_id: the Airflow connection id (conn type ``buttercms``).
    """

    conn_name_attr = "buttercms_conn_id"
    default_conn_name = "buttercms_default"
    conn_type = "buttercms"
    hook_name = "ButterCMS"

    cms: ClassVar[str] = "buttercms"
    default_base_url: ClassVar[str | None] = "https://api.buttercms.com"
    auth_scheme: ClassVar[str] = "Token"
    cms_extras: ClassVar[dict[str, Any]] = {"read_token": None}

    def __init__(self, buttercms_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(buttercms_conn_id, **kwargs)
        self.buttercms_conn_id = buttercms_conn_id
