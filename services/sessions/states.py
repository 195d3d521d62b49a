"""Seed 000's session states, mapped from what the WAHA gateway says, and what each state asks a person to do.

WAHA's statuses (`STOPPED`, `STARTING`, `SCAN_QR_CODE`, `WORKING`, `FAILED`, and since 2026 `PASSKEY_REQUIRED`)
are the gateway's; the product speaks seed 000's (`INITIALIZING → QR_REQUIRED → READY`, plus `DISCONNECTED` and
`FAILED`). A status this table does not know is kept raw and read as `INITIALIZING`: the gateway is doing something
we cannot name, so nobody sends and nobody is told to scan, and the next probe looks again.

```
             start            QR shown            scanned
  (none) ─────────► INITIALIZING ─────► QR_REQUIRED ─────► READY
                        ▲   │                ▲               │  phone offline, stop,
                        │   │ gateway gives up│ logged out    │  gateway unreachable
                        │   ▼                 │               ▼
                        │  FAILED ◄───────────┴──────── DISCONNECTED
                        └── restart with backoff (probes) ◄──┘ start / restart
```
"""

from __future__ import annotations

from dataclasses import dataclass

from ..models import SessionState

WAHA_STATES: dict[str, SessionState] = {
    'STARTING': SessionState.INITIALIZING,
    'SCAN_QR_CODE': SessionState.QR_REQUIRED,
    # WAHA 2026: the phone must confirm a passkey; like a QR, only a person with the phone can do it.
    'PASSKEY_REQUIRED': SessionState.QR_REQUIRED,
    'WORKING': SessionState.READY,
    'STOPPED': SessionState.DISCONNECTED,
    'FAILED': SessionState.FAILED,
}

GATEWAY_UNREACHABLE = 'gateway_unreachable'  # our pseudo-status when the gateway does not answer
NOT_ON_GATEWAY = 'not_on_gateway'  # the gateway answered that it has no such session


def state_for(gateway_status: str) -> SessionState:
    """Our state for a gateway status; an unknown status (a newer WAHA) is INITIALIZING, never an error."""
    if gateway_status in (GATEWAY_UNREACHABLE, NOT_ON_GATEWAY):
        return SessionState.DISCONNECTED
    return WAHA_STATES.get(gateway_status.strip().upper(), SessionState.INITIALIZING)


@dataclass(frozen=True)
class Advice:
    """What a state means for someone who wants to use the session (seed 000's `/status` fields)."""

    connected: bool
    needs_qr: bool
    is_recoverable: bool  # without a person touching the phone
    recommended_action: str  # a short code other systems can switch on


def advice_for(state: SessionState | str, gateway_status: str = '') -> Advice:
    state = SessionState(state)  # rows read back from the database hold the plain string
    if state is SessionState.READY:
        return Advice(connected=True, needs_qr=False, is_recoverable=True, recommended_action='none')
    if state is SessionState.QR_REQUIRED:
        action = 'confirm_passkey' if gateway_status.upper() == 'PASSKEY_REQUIRED' else 'scan_qr'
        return Advice(connected=False, needs_qr=True, is_recoverable=False, recommended_action=action)
    if state is SessionState.INITIALIZING:
        return Advice(connected=False, needs_qr=False, is_recoverable=True, recommended_action='wait')
    if state is SessionState.FAILED:
        return Advice(connected=False, needs_qr=False, is_recoverable=True, recommended_action='restart')
    if gateway_status == GATEWAY_UNREACHABLE:
        return Advice(connected=False, needs_qr=False, is_recoverable=True, recommended_action='check_gateway')
    return Advice(connected=False, needs_qr=False, is_recoverable=True, recommended_action='start')


# What each gateway status means, for the admin reading a session's reason and history (Spanish, the product's
# language; the raw status stays beside it).
_REASONS = {
    'STARTING': 'el gateway está iniciando la sesión',
    'SCAN_QR_CODE': 'el gateway espera que se escanee el QR con el teléfono',
    'PASSKEY_REQUIRED': 'el gateway espera que se confirme la clave de acceso en el teléfono',
    'WORKING': 'conectada: el teléfono está vinculado',
    'STOPPED': 'detenida en el gateway',
    'FAILED': 'el gateway informa una falla de la sesión',
}


def reason_for(gateway_status: str) -> str:
    """The reason recorded when the gateway reports `gateway_status` (a new status is quoted as it came)."""
    return _REASONS.get(gateway_status.strip().upper(), f'el gateway informa {gateway_status}')
