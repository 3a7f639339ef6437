"""operators of airflow-provider-pagemeta."""
