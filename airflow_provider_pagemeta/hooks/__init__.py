"""hooks of airflow-provider-pagemeta."""
