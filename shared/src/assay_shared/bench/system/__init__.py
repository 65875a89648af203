"""Whole-system benchmark: all five services under open-loop load, each service's lag, invariants by id.

    make bench-system                                   # rates 25,50,100,200,400,800 submissions/s, 60 s each
    make bench-system ARGS="--rates 25,50,100 --duration 30"
    uv run python -m assay_shared.bench.system --rates 10,20 --duration 10

It starts every service as `make up` does (web, worker, background process) on Postgres, RabbitMQ and Redis
(DATABASE_URL, BROKER_URL, REDIS_URL, else the local servers on 127.0.0.1) with databases and a bus prefix of
its own, creates one project (single choice, overlap 3, 5 % gold) and a webhook endpoint subscribed to every
event, pointing at a receiver process. Simulated annotators then offer next-task + submit at fixed rates,
step by step, and it prints per step what each service applied, its lag, the time to drain and CPU by
process; at the end it checks by submission id that every accepted submission reached every service once.
With --chaos a last step kills workers (kill -9) and cuts the broker for 20 s under load (chaos.py).
docs/bench-system.md says what each figure means.
"""
