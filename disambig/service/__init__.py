"""The gRPC adapter: a thin servicer over the resolver, the engine and the registry."""
