"""sensors of airflow-provider-pagemeta."""
