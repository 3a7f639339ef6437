"""triggers of airflow-provider-pagemeta."""
