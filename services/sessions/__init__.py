"""WhatsApp-Web sessions through a WAHA gateway (SPEC M6): state (service.py, states.py), the gateway (control.py),
the probes (workers.py). Import from the modules: the webhook ingest imports `service` without the gateway client."""
