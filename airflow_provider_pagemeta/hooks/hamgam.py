"""Hamgam hook: connection, auth and the Hamgam page calls, on the shared HTTP core."""

from __future__ import annotations

from typing import Any, ClassVar

from airflow_provider_pagemeta.core.hook import PageMetaHook


class HamgamHook(PageMetaHook):
    """Talks to the Hamgam API with the token from the connection's password.

    :param hamgam_conn_id: the Airflow connection id (conn type ``hamgam``).
    """

    conn_name_attr = "hamgam_conn_id"
    default_conn_name = "hamgam_default"
    conn_type = "hamgam"
    hook_name = "Hamgam"

    cms: ClassVar[str] = "hamgam"
    default_base_url: ClassVar[str | None] = None
    auth_scheme: ClassVar[str] = "Token"

    def __init__(self, hamgam_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(hamgam_conn_id, **kwargs)
        self.hamgam_conn_id = hamgam_conn_id
