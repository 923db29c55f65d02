"""What the API and the workers share: settings, the request model, the tagger spec and its address
guard, the store (the one owner of the Redis key layout), queueing, stems and the separator registry.

Nothing here imports Flask, RQ's worker, TensorFlow or a model: the API imports only this and the engine.
"""
