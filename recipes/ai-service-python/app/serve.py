"""`python -m app.serve`: uvicorn on $HOST:$PORT (Cloud Run's contract; HOST defaults to
0.0.0.0 for containers, devloop's simulator sets 127.0.0.1), exiting 0 after a SIGTERM drain."""
import os
import signal
import sys

import uvicorn


def main() -> None:
    # On SIGTERM uvicorn stops accepting, lets in-flight requests finish (up to 8 s: Cloud Run
    # kills 10 s after SIGTERM), runs the lifespan shutdown, and then re-raises the signal under
    # the handler that was there before it started. With Python's default handler the process
    # would die by the signal (status 143), read as a crash; this one makes that last step exit 0.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    uvicorn.run("app.main:app", host=os.environ.get("HOST", "0.0.0.0"), port=int(os.environ.get("PORT", "8080")),
                access_log=False, timeout_graceful_shutdown=8)


if __name__ == "__main__":
    main()
