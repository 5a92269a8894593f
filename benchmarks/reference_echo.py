"""The yardstick of `make bench`: the least a FastAPI JSON endpoint can do on this machine.

A POST handler reads the raw body, parses it with orjson and returns it; one uvicorn process
with uvloop and httptools, as `riskops serve` runs. Ratios to it cancel a noisy machine out.

    .venv/bin/python benchmarks/reference_echo.py --port 8099
"""

import argparse

import orjson
import uvicorn
from fastapi import FastAPI, Request, Response

app = FastAPI()


@app.post("/echo")
async def echo(request: Request) -> Response:
    document = orjson.loads(await request.body())
    return Response(orjson.dumps(document), media_type="application/json")


@app.get("/health")
async def health() -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
    )
