from parvis.testing.guichet import agent_client, commune, enfance_agent  # noqa: F401 (fixtures)
