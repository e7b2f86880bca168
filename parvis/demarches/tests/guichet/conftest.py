from parvis.testing.guichet import (  # noqa: F401 (fixtures)
    agent_client,
    commune,
    enfance_agent,
    enfance_service,
    famille,
    regie_service,
)
