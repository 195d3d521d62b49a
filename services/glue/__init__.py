"""Where features meet: small pieces that connect the assistant, the VIN readings and the sales desk so that a
customer is never answered twice and no "sí" is lost (docs/integration.md). Each feature stays usable alone;
this package only wires their public functions together."""
