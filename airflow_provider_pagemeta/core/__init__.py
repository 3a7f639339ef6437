"""core of airflow-provider-pagemeta."""
