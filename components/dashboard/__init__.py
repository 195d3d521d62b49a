"""The manager dashboard's pieces (B3): the queue, the agents, the figures and their charts, and the live refresh."""
