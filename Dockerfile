# The official Airflow image with this project installed from its wheel: the Daily provider and the
# dial-in application, pinned by constraints.txt, with the extras this deployment uses: the Celery
# provider (CeleryExecutor), the PostgreSQL provider (the meetings database) and the emulator's server.
# The emulator and the demo are not in the wheel: they are copied to /opt/airflow/devtools (on
# PYTHONPATH) for the compose file's "emulator" profile only; a production image can drop those lines.
# Built by docker-compose.yaml (`docker compose build`); dags/ and plugins/ are baked in and also
# mounted by the compose file, so editing a DAG needs no rebuild.
FROM apache/airflow:3.3.2-python3.11

COPY --chown=airflow:0 pyproject.toml README.md constraints.txt /opt/airflow/project/
COPY --chown=airflow:0 include /opt/airflow/project/include
RUN pip install --no-cache-dir -c /opt/airflow/project/constraints.txt "/opt/airflow/project[celery,postgres,emulator]"
COPY --chown=airflow:0 include/daily_emulator /opt/airflow/devtools/daily_emulator
COPY --chown=airflow:0 include/daily_demo /opt/airflow/devtools/daily_demo
ENV PYTHONPATH=/opt/airflow/devtools

COPY --chown=airflow:0 dags /opt/airflow/dags
COPY --chown=airflow:0 plugins /opt/airflow/plugins
# named volumes start as copies of these: owned by the airflow user, so no service needs root
RUN mkdir -p /opt/airflow/config /opt/airflow/logs /opt/airflow/emulator
