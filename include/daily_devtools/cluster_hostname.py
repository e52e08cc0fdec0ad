"""``[core] hostname_callable`` of the native cluster: the service's "container hostname".

In the compose deployment every service runs in its own container, so task instances record the
worker's container hostname. Natively all services share one machine; each gets ``HOSTNAME`` set
to its compose name (``airflow-worker-1``, ...) and this callable reports it.
"""

from __future__ import annotations

import os
import socket


def hostname() -> str:
    return os.environ.get("HOSTNAME") or socket.getfqdn()
