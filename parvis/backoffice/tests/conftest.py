from parvis.testing.guichet import (  # noqa: F401 (fixtures)
    CSP,
    CSS,
    agent_client,
    commune,
    demo,
    enfance_agent,
    enfance_service,
    famille,
    make_agent,
    regie_service,
    text_of,
)
